//! Output folders and bad image bytes through the CLI and `serve-stdio`, as real processes: an output
//! in a missing folder (`missing/dir/x.png`) is `output/invalid_target` before any turn, and nothing is
//! created; a folder removed while the turn runs keeps the paid image in the recovery folder (both
//! faces); an image
//! item with corrupt base64, bytes that are not an image or an empty `result` is `runtime/no_image`,
//! writes nothing, and the next request succeeds.

#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, entries, eventually,
    faults::images_sent,
    run::{OutputWithin as _, RUN_DEADLINE},
    serve::Serve,
    sha256, World,
};

const DEADLINE: Duration = Duration::from_secs(20);
const SCENARIOS: [&str; 3] = ["corrupt-base64", "not-an-image", "empty-result"];

fn recovered(world: &World) -> PathBuf {
    world.dir.path().join("state/recovered")
}

/// `codex-img generate PROMPT --json -o OUT` in `cwd`: exit code and the JSON line.
fn cli(world: &World, cwd: &Path, prompt: &str, out: &str) -> (Option<i32>, Value) {
    let output = world
        .command::<&str>(&[])
        .args(["generate", prompt, "--json", "-o", out])
        .current_dir(cwd)
        .env("CODEX_IMG_RECOVERY_DIR", recovered(world))
        .stdin(Stdio::null())
        .output_within(RUN_DEADLINE)
        .expect("run codex-img");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), report)
}

/// `serve-stdio` for `world`; its requests name absolute outputs.
fn stdio(world: &World) -> Serve {
    Serve::spawn_face(
        &[std::ffi::OsStr::new("serve-stdio")],
        world,
        &[],
        Stdio::null(),
    )
}

fn missing_message(target: &Path) -> String {
    format!(
        "cannot write to {}: the directory {} does not exist; create it first",
        target.display(),
        target.parent().expect("parent").display()
    )
}

#[test]
fn a_missing_output_folder_is_refused_before_any_turn_by_the_cli_and_serve_stdio() {
    let world = World::new();
    let cwd = world.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");

    let (code, report) = cli(&world, &cwd, "a fox [fake:complete]", "missing/dir/x.png");
    assert_eq!(
        (code, report),
        (
            Some(6),
            json!({"ok": false, "code": "output/invalid_target",
                "message": missing_message(Path::new("missing/dir/x.png")), "retryable": false})
        )
    );

    let target = cwd.join("missing/dir/x.png");
    let mut serve = stdio(&world);
    let answer = serve.ask(
        json!(1),
        "image/generate",
        json!({"prompt": "a fox [fake:complete]", "output": target}),
    );
    assert_eq!(
        answer["error"]["data"],
        json!({"ok": false, "code": "output/invalid_target",
            "message": missing_message(&target), "retryable": false})
    );
    assert_eq!(world.events("turn_inputs"), Vec::<Value>::new(), "no turn");
    assert_eq!(entries(&cwd), Vec::<String>::new(), "nothing created");

    // Both still generate.
    let fine = cwd.join("fine.png");
    let answer = serve.ask(
        json!(2),
        "image/generate",
        json!({"prompt": "a dog [fake:complete]", "output": fine}),
    );
    assert!(answer.get("result").is_some(), "{answer}");
    serve.close_ok(DEADLINE);
    let (code, report) = cli(&world, &cwd, "a cat [fake:complete]", "cat.png");
    assert_eq!((code, &report["ok"]), (Some(0), &json!(true)), "{report}");
    assert_eq!(
        entries(&cwd),
        vec!["cat.png".to_owned(), "fine.png".to_owned()]
    );
}

#[test]
fn serve_stdio_keeps_the_image_when_the_output_folder_is_removed_mid_turn() {
    // The turn waits 5 s before its image: ample time to remove the folder once it has started.
    let world = World::new().set("FAKE_DELAY_MS", "5000");
    let out = world.dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let target = out.join("fox.png");
    let mut serve = stdio(&world);
    serve.send(
        json!(1),
        "image/generate",
        json!({"prompt": "a fox [fake:slow]", "output": target, "returnBytes": true}),
    );
    let started = eventually(DEADLINE, || {
        (!world.events("turn_inputs").is_empty()).then_some(())
    });
    assert!(started.is_some(), "the turn did not start");
    std::fs::remove_dir_all(&out).expect("remove the folder mid-turn");
    let answer = serve
        .answer(&json!(1), Duration::from_secs(60))
        .expect("an answer");
    let data = &answer["error"]["data"];
    let kept = data["recovered_path"].as_str().unwrap_or_default();
    assert_eq!(data["code"], "output/invalid_target", "{answer}");
    assert!(Path::new(kept).starts_with(recovered(&world)), "{data}");
    let bytes = std::fs::read(kept).expect("kept");
    assert_eq!(vec![sha256(&bytes)], images_sent(&world, 1));
    let returned = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(data["base64"].as_str().unwrap_or_default())
            .expect("base64")
    };
    assert_eq!(returned, bytes, "the host that asked for bytes got them");
    assert!(!out.exists(), "nothing re-created the folder");
    serve.close_ok(DEADLINE);
}

#[test]
fn the_cli_keeps_the_image_when_the_output_folder_is_removed_mid_turn() {
    let world = World::new().set("FAKE_DELAY_MS", "5000");
    let out = world.dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let mut child = world
        .command::<&str>(&[])
        .args(["generate", "a fox [fake:slow]", "--json", "-o"])
        .arg(out.join("fox.png"))
        .env("CODEX_IMG_RECOVERY_DIR", recovered(&world))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run codex-img");
    let started = eventually(DEADLINE, || {
        (!world.events("turn_inputs").is_empty()).then_some(())
    });
    assert!(started.is_some(), "the turn did not start");
    std::fs::remove_dir_all(&out).expect("remove the folder mid-turn");
    let exited = eventually(Duration::from_secs(60), || child.try_wait().ok().flatten());
    let Some(status) = exited else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the CLI did not exit");
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("read");
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let kept = report["recovered_path"].as_str().unwrap_or_default();
    assert_eq!(
        (status.code(), &report["code"]),
        (Some(6), &json!("output/invalid_target")),
        "{report}"
    );
    assert!(Path::new(kept).starts_with(recovered(&world)), "{report}");
    assert_eq!(
        vec![sha256(&std::fs::read(kept).expect("kept"))],
        images_sent(&world, 1)
    );
    assert!(!out.exists(), "nothing re-created the folder");
}

#[test]
fn bytes_that_are_not_an_image_are_no_image_through_the_cli_and_serve_stdio() {
    let world = World::new();
    let cwd = world.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    let mut serve = stdio(&world);
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (i, scenario) in SCENARIOS.iter().enumerate() {
        let prompt = format!("a cat [fake:{scenario}]");
        let (code, report) = cli(&world, &cwd, &prompt, &format!("{scenario}.png"));
        got.push((
            "cli",
            *scenario,
            code,
            report["code"].clone(),
            report["retryable"].clone(),
            entries(&cwd),
        ));
        want.push((
            "cli",
            *scenario,
            Some(5),
            json!("runtime/no_image"),
            json!(true),
            Vec::<String>::new(),
        ));
        let id = json!(i);
        let answer = serve.ask(
            id,
            "image/generate",
            json!({"prompt": prompt, "output": cwd.join(format!("{scenario}.png")), "returnBytes": true}),
        );
        let data = &answer["error"]["data"];
        got.push((
            "serve-stdio",
            *scenario,
            None,
            data["code"].clone(),
            data["retryable"].clone(),
            entries(&cwd),
        ));
        want.push((
            "serve-stdio",
            *scenario,
            None,
            json!("runtime/no_image"),
            json!(true),
            Vec::<String>::new(),
        ));
        assert_eq!(data.get("base64"), None, "no bytes to return: {answer}");
        // The next request succeeds on both.
        let next = serve.ask(
            json!(format!("next-{i}")),
            "image/generate",
            json!({"prompt": "a dog [fake:complete]", "returnBytes": true}),
        );
        assert!(next.get("result").is_some(), "{next}");
        let (code, report) = cli(&world, &cwd, "a dog [fake:complete]", "dog.png");
        assert_eq!((code, &report["ok"]), (Some(0), &json!(true)), "{report}");
        std::fs::remove_file(cwd.join("dog.png")).expect("the next image was saved");
    }
    assert_eq!(got, want);
    serve.close_ok(DEADLINE);
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

/// When the recovery folder cannot be written either, a host that asked for the bytes (`returnBytes`)
/// still gets them in `data.base64`, from the image the error holds (`Error::unsaved_image`): there is
/// no recovered file to read them back from.
#[test]
fn when_the_recovery_copy_fails_too_a_host_that_asked_for_bytes_still_gets_them() {
    let world = World::new();
    let full = support::faults::FullFs::under(&world);
    let blocker = world.dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").expect("write");
    let recovery = blocker.join("recovered").into_os_string();
    let mut serve = Serve::spawn_face(
        &[std::ffi::OsStr::new("serve-stdio")],
        &world,
        &[("CODEX_IMG_RECOVERY_DIR", recovery.as_os_str())],
        Stdio::null(),
    );
    let answer = serve.ask(
        json!(1),
        "image/generate",
        json!({"prompt": "a cat [fake:complete]", "output": full.dir.join("out.png"), "returnBytes": true}),
    );
    let data = &answer["error"]["data"];
    assert_eq!(
        (&data["code"], data.get("recovered_path")),
        (&json!("output/write_failed"), None),
        "{answer}"
    );
    assert!(
        data["message"]
            .as_str()
            .unwrap_or_default()
            .contains("failed too"),
        "{data}"
    );
    let returned = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(data["base64"].as_str().unwrap_or_default())
            .expect("base64")
    };
    assert_eq!(
        vec![sha256(&returned)],
        images_sent(&world, 1),
        "the bytes came back"
    );
    serve.close_ok(DEADLINE);
}
