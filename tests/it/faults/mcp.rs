//! Faults through `codex-img serve-mcp` as a real process on pipes: secrets Codex plants in its error
//! text and stderr never reach a tool result or the server's log; a paid image that cannot be saved
//! (a really full filesystem, a folder removed mid-turn) is kept in the recovery folder and named by
//! `recovered_path`; a missing output folder is refused before any turn; and an image item whose bytes
//! are not an image is `runtime/no_image`, writes nothing, and the next call works.

#![cfg(all(feature = "cli", feature = "mcp"))]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    entries, eventually,
    faults::{
        assert_log_masked, images_sent, secrets_in, was_sent, FullFs, EXITED_MESSAGE, STDERR_LINE,
    },
    serve::Serve,
    sha256, World,
};

const DEADLINE: Duration = Duration::from_secs(20);

fn recovered(world: &World) -> PathBuf {
    world.dir.path().join("state/recovered")
}

/// The retry line of an error that the same call would meet again.
const FAILS_AGAIN: &str =
    "Retry: the same call will fail the same way; change what the message names first.";

/// A tool result's `isError`, `structuredContent` and the text of its first block.
fn error_of(result: &Value) -> (Value, Value, String) {
    (
        result["isError"].clone(),
        result["structuredContent"].clone(),
        result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A good call after a fault: saved, with the fake's bytes.
fn assert_next_call_works(serve: &mut Serve, world: &World, output: &Path) {
    let result = serve.generate_image(
        "next",
        json!({"prompt": "a dog [fake:complete]", "output": output}),
    );
    assert_eq!(result["isError"], json!(false), "{result}");
    let bytes = std::fs::read(output).expect("the next image is saved");
    assert!(
        was_sent(world, &sha256(&bytes)),
        "byte-identical to what the fake sent"
    );
}

#[test]
fn planted_secrets_never_reach_a_tool_result_or_the_log() {
    let world = World::new();
    let log = world.dir.path().join("stderr.log");
    let trace = OsStr::new("codex_img=trace");
    let mut serve = Serve::mcp(
        &[],
        &world,
        &[("RUST_LOG", trace)],
        Stdio::from(std::fs::File::create(&log).expect("log")),
    );
    let out = world.dir.path().join("fox.png");
    let result = serve.generate_image(
        "secrets",
        json!({"prompt": "a fox [fake:error-secrets]", "output": out}),
    );
    let message = "Codex finished without an image: unexpected status 401: auth failed for [redacted] with Bearer [redacted] token=[redacted] key [redacted]";
    assert_eq!(
        error_of(&result),
        (
            json!(true),
            json!({"ok": false, "code": "runtime/no_image", "message": message, "retryable": true}),
            format!("error[runtime/no_image]: {message}\nRetry: the same call may work if tried again later."),
        )
    );
    assert_eq!(secrets_in(&result.to_string()), Vec::<&str>::new());
    assert!(!out.exists(), "nothing was written");
    serve.close_ok(DEADLINE);
    assert_log_masked(&log);

    // Codex's stderr, quoted in the error when the process exits.
    let world = World::new()
        .set("FAKE_START_FAULT", "exit-on-thread-start")
        .set("FAKE_STDERR_LINE", STDERR_LINE);
    let log = world.dir.path().join("stderr.log");
    let mut serve = Serve::mcp(
        &[],
        &world,
        &[("RUST_LOG", trace)],
        Stdio::from(std::fs::File::create(&log).expect("log")),
    );
    let result = serve.generate_image(
        "exit",
        json!({"prompt": "a fox", "output": world.dir.path().join("fox.png")}),
    );
    let message = EXITED_MESSAGE;
    assert_eq!(
        error_of(&result),
        (
            json!(true),
            json!({"ok": false, "code": "runtime/app_server_exited", "message": message, "retryable": true}),
            format!("error[runtime/app_server_exited]: {message}\nRetry: the same call may work if tried again later."),
        )
    );
    assert_eq!(secrets_in(&result.to_string()), Vec::<&str>::new());
    serve.close_ok(DEADLINE);
    let logged = std::fs::read_to_string(&log).expect("log");
    assert_eq!(secrets_in(&logged), Vec::<&str>::new(), "{logged}");
    assert!(logged.contains("[redacted]"), "{logged}");
}

/// `value` with the random part of every save's temp file name (`.codex-img-AbC123.tmp`) replaced by
/// `XXXXXX`, so a whole message can be compared.
fn without_temp_names(value: &Value) -> Value {
    let text = value.to_string();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(".codex-img-") {
        let (head, tail) = rest.split_at(at + ".codex-img-".len());
        out.push_str(head);
        match tail.find(".tmp") {
            Some(end) if end <= 16 => {
                out.push_str("XXXXXX");
                rest = &tail[end..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    serde_json::from_str(&out).expect("still JSON")
}

#[test]
fn a_full_disk_keeps_the_image_in_the_recovery_folder_and_names_it() {
    let world = World::new();
    let full = FullFs::under(&world);
    let mut serve = Serve::mcp(&[], &world, &[], Stdio::null());
    let target = full.dir.join("out.png");
    let result = serve.generate_image(
        "full",
        json!({"prompt": "a cat [fake:complete]", "output": target}),
    );
    let sent_sha = images_sent(&world, 1);
    assert_eq!(sent_sha.len(), 1);
    let kept = recovered(&world).join(format!("codex-img-{}.png", &sent_sha[0][..12]));
    let message = format!(
        "writing {} failed: No space left on device (os error 28) at path \"{}\"; the image was kept at {}; move it from there (codex-img never deletes it)",
        target.display(),
        full.dir.join(".codex-img-XXXXXX.tmp").display(),
        kept.display()
    );
    assert_eq!(
        without_temp_names(&result),
        json!({
            "content": [{"type": "text", "text": format!("error[output/write_failed]: {message}\n{FAILS_AGAIN}")}],
            "isError": true,
            "structuredContent": {"ok": false, "code": "output/write_failed", "message": message,
                "retryable": false, "recovered_path": kept},
        })
    );
    let bytes = std::fs::read(&kept).expect("the kept image");
    assert_eq!(vec![sha256(&bytes)], sent_sha, "byte-identical");
    assert_eq!(full.left_behind(), Vec::<String>::new(), "no partial file");
    assert_next_call_works(&mut serve, &world, &world.dir.path().join("fine.png"));
    serve.close_ok(DEADLINE);
}

/// When the recovery folder cannot be written either, the image the quota paid for is on no disk:
/// the error (`Error::unsaved_image`) still holds it, and the tool result attaches it.
#[test]
fn when_the_recovery_copy_fails_too_the_image_is_still_attached() {
    let world = World::new();
    let full = FullFs::under(&world);
    let blocker = world.dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").expect("write");
    let recovery = blocker.join("recovered").into_os_string();
    let mut serve = Serve::mcp(
        &[],
        &world,
        &[("CODEX_IMG_RECOVERY_DIR", recovery.as_os_str())],
        Stdio::null(),
    );
    let result = serve.generate_image(
        "lost",
        json!({"prompt": "a cat [fake:complete]", "output": full.dir.join("out.png")}),
    );
    let (is_error, report, text) = error_of(&result);
    assert_eq!(
        (is_error, &report["code"], report.get("recovered_path")),
        (json!(true), &json!("output/write_failed"), None)
    );
    assert!(text.contains("failed too"), "{text}");
    let attached: Vec<String> = result["content"]
        .as_array()
        .expect("content")
        .iter()
        .filter(|b| b["type"] == "image")
        .map(|b| {
            use base64::Engine as _;
            sha256(
                &base64::engine::general_purpose::STANDARD
                    .decode(b["data"].as_str().unwrap_or_default())
                    .expect("base64"),
            )
        })
        .collect();
    assert_eq!(
        attached,
        images_sent(&world, 1),
        "the paid image is attached"
    );
    serve.close_ok(DEADLINE);
}

#[test]
fn a_missing_output_folder_is_refused_before_any_turn_and_nothing_is_written() {
    let world = World::new();
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let root_arg = root.clone().into_os_string();
    let mut serve = Serve::mcp(
        &[OsStr::new("--root"), root_arg.as_os_str()],
        &world,
        &[],
        Stdio::null(),
    );
    let result = serve.generate_image(
        "missing",
        json!({"prompt": "a fox [fake:complete]", "output": "missing/dir/x.png"}),
    );
    let target = root.canonicalize().expect("root").join("missing/dir/x.png");
    let message = format!(
        "cannot write to {}: the directory {} does not exist; create it first",
        target.display(),
        target.parent().expect("parent").display()
    );
    assert_eq!(
        error_of(&result),
        (
            json!(true),
            json!({"ok": false, "code": "output/invalid_target", "message": message, "retryable": false}),
            format!("error[output/invalid_target]: {message}\n{FAILS_AGAIN}"),
        )
    );
    assert_eq!(world.events("turn_inputs"), Vec::<Value>::new(), "no turn");
    assert_eq!(entries(&root), Vec::<String>::new(), "nothing written");
    let result = serve.generate_image(
        "next",
        json!({"prompt": "a dog [fake:complete]", "output": "dog.png"}),
    );
    assert_eq!(result["isError"], json!(false), "{result}");
    assert_eq!(entries(&root), vec!["dog.png".to_owned()]);
    serve.close_ok(DEADLINE);
}

#[test]
fn an_output_folder_removed_mid_turn_keeps_the_image() {
    // The turn waits 5 s before its image: ample time to remove the folder once it has started.
    let world = World::new().set("FAKE_DELAY_MS", "5000");
    let out = world.dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let target = out.join("fox.png");
    let mut serve = Serve::mcp(&[], &world, &[], Stdio::null());
    serve.send(
        json!("removed"),
        "tools/call",
        json!({"name": "generate_image",
            "arguments": {"prompt": "a fox [fake:slow]", "output": target}}),
    );
    let started = eventually(DEADLINE, || {
        (!world.events("turn_inputs").is_empty()).then_some(())
    });
    assert!(started.is_some(), "the turn did not start");
    std::fs::remove_dir_all(&out).expect("remove the folder mid-turn");
    let answer = serve
        .answer(&json!("removed"), Duration::from_secs(60))
        .expect("an answer");
    let (is_error, report, _) = error_of(&answer["result"]);
    let kept = report["recovered_path"].as_str().unwrap_or_default();
    assert_eq!(
        (is_error, &report["code"]),
        (json!(true), &json!("output/invalid_target"))
    );
    assert!(Path::new(kept).starts_with(recovered(&world)), "{report}");
    assert_eq!(
        vec![sha256(&std::fs::read(kept).expect("kept"))],
        images_sent(&world, 1)
    );
    assert!(!out.exists(), "nothing re-created the folder");
    assert_next_call_works(&mut serve, &world, &world.dir.path().join("fine.png"));
    serve.close_ok(DEADLINE);
}

#[test]
fn bytes_that_are_not_an_image_are_no_image_and_the_next_call_works() {
    let world = World::new();
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let root_arg = root.clone().into_os_string();
    let mut serve = Serve::mcp(
        &[OsStr::new("--root"), root_arg.as_os_str()],
        &world,
        &[],
        Stdio::null(),
    );
    let mut got = Vec::new();
    let mut want = Vec::new();
    for scenario in ["corrupt-base64", "not-an-image", "empty-result"] {
        let result = serve.generate_image(
            scenario,
            json!({"prompt": format!("a cat [fake:{scenario}]"), "output": format!("{scenario}.png")}),
        );
        let (is_error, report, _) = error_of(&result);
        got.push((
            scenario,
            is_error,
            report["code"].clone(),
            report["retryable"].clone(),
            entries(&root),
        ));
        want.push((
            scenario,
            json!(true),
            json!("runtime/no_image"),
            json!(true),
            Vec::<String>::new(),
        ));
        // The next call on the same server succeeds.
        let next = serve.generate_image(
            &format!("{scenario}-next"),
            json!({"prompt": "a dog [fake:complete]", "output": "dog.png", "overwrite": true}),
        );
        assert_eq!(next["isError"], json!(false), "{next}");
        std::fs::remove_file(root.join("dog.png")).expect("the next image was saved");
    }
    assert_eq!(got, want);
    serve.close_ok(DEADLINE);
    assert_eq!(world.generated_images(), Vec::<String>::new());
}
