//! A paid image is never lost when it cannot be saved: on a really full filesystem (a 64 KiB tmpfs,
//! filled) the save fails with `output/write_failed`, and the bytes the fake sent are kept, identical, in
//! the recovery folder named by `recovered_path`, through the library, the CLI and `serve-stdio`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use codex_img::{GenerateRequest, IfExists};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    all_gone, all_gone_blocking, entries,
    faults::FullFs,
    run::{OutputWithin as _, RUN_DEADLINE},
    sha256, World,
};

/// The sha256 of every image the fake sent.
fn sent(world: &World) -> Vec<String> {
    world
        .events("image")
        .iter()
        .map(|e| e["sha256"].as_str().expect("sha256").to_owned())
        .collect()
}

fn recovered(world: &World) -> PathBuf {
    world.dir.path().join("state/recovered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_the_image_in_the_recovery_folder_through_the_library() {
    let world = World::new();
    let full = FullFs::under(&world);
    let client = world.builder().recovery_dir(recovered(&world)).build();
    let image = client
        .generate(GenerateRequest::new("a cat [fake:complete]"))
        .await
        .expect("generate");
    let target = full.dir.join("out.png");
    let error = image
        .save_async(target.clone(), IfExists::Fail)
        .await
        .expect_err("the disk is full");
    let kept = recovered(&world).join(image.default_file_name());
    assert_eq!(
        (error.code(), error.recovered_path()),
        ("output/write_failed", Some(kept.as_path()))
    );
    let message = error.to_string();
    assert!(
        message.contains("No space left on device") && message.contains("the image was kept at"),
        "{message}"
    );
    let bytes = std::fs::read(&kept).expect("the kept image");
    assert_eq!(
        vec![sha256(&bytes)],
        sent(&world),
        "byte-identical to what the fake sent"
    );
    assert_eq!(bytes, image.bytes);
    // The output is absent, not partial, and no temp file is left on the full disk.
    assert_eq!(full.left_behind(), Vec::<String>::new());
    // The blocking save does the same.
    let again = image.save(&target, IfExists::Fail).expect_err("still full");
    assert_eq!(again.recovered_path(), Some(kept.as_path()));
    assert_eq!(entries(&recovered(&world)), vec![image.default_file_name()]);

    // The next request succeeds on the same client.
    let next = client
        .generate(GenerateRequest::new("a dog [fake:complete]"))
        .await
        .expect("the next request");
    let fine = world.dir.path().join("fine.png");
    next.save(&fine, IfExists::Fail).expect("a writable target");
    let pids = world.server_pids();
    client.shutdown().await;
    assert!(all_gone(&pids, Duration::from_secs(10)).await, "{pids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_recovery_folder_fails_too_the_error_says_so() {
    let world = World::new();
    let full = FullFs::under(&world);
    // A folder that cannot be created: its parent is a file.
    let blocker = world.dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").expect("write");
    let client = world
        .builder()
        .recovery_dir(blocker.join("recovered"))
        .build();
    let image = client
        .generate(GenerateRequest::new("a cat [fake:complete]"))
        .await
        .expect("generate");
    let error = image
        .save(&full.dir.join("out.png"), IfExists::Fail)
        .expect_err("the disk is full");
    assert_eq!(
        (error.code(), error.recovered_path()),
        ("output/write_failed", None)
    );
    let message = error.to_string();
    assert!(
        message.contains("failed too") && message.contains("not saved anywhere"),
        "{message}"
    );
    let report = codex_img::ErrorReport::from(&error);
    assert_eq!(report.recovered_path, None);
    client.shutdown().await;
}

#[test]
fn the_cli_names_the_recovered_file_in_its_json_error() {
    let world = World::new();
    let full = FullFs::under(&world);
    let target = full.dir.join("out.png");
    let out = world
        .command::<&str>(&[])
        .args(["generate", "a cat [fake:complete]", "--json", "-o"])
        .arg(&target)
        .env("CODEX_IMG_RECOVERY_DIR", recovered(&world))
        .stdin(Stdio::null())
        .output_within(RUN_DEADLINE)
        .expect("run codex-img");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let kept = report["recovered_path"].as_str().expect("recovered_path");
    assert_eq!(
        (out.status.code(), &report["code"], &report["retryable"]),
        (Some(6), &json!("output/write_failed"), &json!(false))
    );
    assert!(Path::new(kept).starts_with(recovered(&world)), "{kept}");
    assert!(
        report["message"]
            .as_str()
            .unwrap_or_default()
            .contains(kept),
        "{report}"
    );
    let bytes = std::fs::read(kept).expect("the kept image");
    assert_eq!(vec![sha256(&bytes)], sent(&world));
    assert_eq!(full.left_behind(), Vec::<String>::new());
    let pids = world.server_pids();
    assert!(
        all_gone_blocking(&pids, Duration::from_secs(10)),
        "{pids:?}"
    );

    // Without --json the person reads where the image is.
    let text = world
        .command::<&str>(&[])
        .args(["generate", "a dog [fake:complete]", "-o"])
        .arg(&target)
        .env("CODEX_IMG_RECOVERY_DIR", recovered(&world))
        .stdin(Stdio::null())
        .output_within(RUN_DEADLINE)
        .expect("run codex-img");
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert_eq!(text.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("error[output/write_failed]") && stderr.contains("the image was kept at"),
        "{stderr}"
    );
    assert_eq!(entries(&recovered(&world)).len(), 2);
}

/// `serve-stdio` as a real process: the error's `data` names the recovered file, and a host that asked
/// for the bytes gets them in `data.base64`.
#[test]
fn serve_stdio_reports_the_recovered_file_and_still_returns_the_bytes() {
    use std::io::{BufRead as _, BufReader, Write as _};
    let world = World::new();
    let full = FullFs::under(&world);
    let mut child = world
        .command::<&str>(&[])
        .arg("serve-stdio")
        .env("CODEX_IMG_RECOVERY_DIR", recovered(&world))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve-stdio");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let target = full.dir.join("out.png");
    let mut ask = |id: i64, prompt: &str, return_bytes: bool| -> Value {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "image/generate",
            "params": {"prompt": prompt, "output": target, "returnBytes": return_bytes}});
        writeln!(stdin, "{request}").expect("write");
        stdin.flush().expect("flush");
        loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).expect("read") > 0,
                "the bridge ended"
            );
            let v: Value = serde_json::from_str(&line).expect("json");
            if v["id"] == id {
                return v;
            }
        }
    };
    let with_bytes = ask(1, "a cat [fake:complete]", true);
    let data = &with_bytes["error"]["data"];
    let kept = data["recovered_path"].as_str().expect("recovered_path");
    assert_eq!(data["code"], "output/write_failed");
    let returned = base64::engine::general_purpose::STANDARD
        .decode(data["base64"].as_str().expect("base64"))
        .expect("valid base64");
    assert_eq!(std::fs::read(kept).expect("kept"), returned);
    assert_eq!(vec![sha256(&returned)], sent(&world));

    let without = ask(2, "a dog [fake:complete]", false);
    let data = &without["error"]["data"];
    assert_eq!(
        (
            data["code"].as_str(),
            data.get("base64"),
            data["recovered_path"].is_string()
        ),
        (Some("output/write_failed"), None, true)
    );
    assert_eq!(full.left_behind(), Vec::<String>::new());
    drop(stdin);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    let pids = world.server_pids();
    assert!(
        all_gone_blocking(&pids, Duration::from_secs(10)),
        "{pids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_folder_removed_mid_turn_keeps_the_image() {
    let world = World::new().set("FAKE_DELAY_MS", "1000");
    let out = world.dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let target = out.join("fox.png");
    codex_img::precheck_target(&target, IfExists::Fail).expect("writable before");
    let client = world.client();
    let pending = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .generate(GenerateRequest::new("a fox [fake:slow]"))
                .await
        }
    });
    let started = world
        .wait_events("turn_inputs", 1, Duration::from_secs(20))
        .await;
    assert_eq!(started.len(), 1);
    std::fs::remove_dir_all(&out).expect("remove the folder mid-turn");
    let image = pending.await.expect("join").expect("generate");
    let e = image
        .save(&target, IfExists::Fail)
        .expect_err("the folder is gone");
    let kept = e.recovered_path().expect("kept").to_path_buf();
    assert_eq!(e.code(), "output/invalid_target");
    assert_eq!(
        vec![sha256(&std::fs::read(kept).expect("read"))],
        sent(&world)
    );
    assert!(!out.exists(), "nothing re-created the folder");
    client.shutdown().await;
}

#[test]
fn a_read_only_output_folder_is_refused_before_any_quota_is_spent() {
    let world = World::new();
    let ro = world.dir.path().join("ro");
    std::fs::create_dir_all(&ro).expect("ro");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
        .arg(&ro)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        mounted,
        "this test needs a read-only tmpfs, and none can be mounted here: run the tests as root"
    );
    let out = world
        .command::<&str>(&[])
        .args(["generate", "a fox [fake:complete]", "--json", "-o"])
        .arg(ro.join("fox.png"))
        .env("CODEX_IMG_RECOVERY_DIR", recovered(&world))
        .stdin(Stdio::null())
        .output_within(RUN_DEADLINE)
        .expect("run");
    let _ = Command::new("umount").arg("-l").arg(&ro).status();
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (out.status.code(), report["code"].as_str()),
        (Some(6), Some("output/invalid_target"))
    );
    assert!(
        world.events("turn_inputs").is_empty(),
        "no turn was started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_s_image_folder_missing_or_unwritable_does_not_fail_the_generation() {
    let world = World::new();
    // A file where Codex's generated_images folder would be: Codex cannot write its copy there.
    std::fs::write(world.home().join("generated_images"), b"not a folder").expect("write");
    let client = world.client();
    for prompt in ["a fox [fake:complete]", "a dog [fake:complete]"] {
        let image = client
            .generate(GenerateRequest::new(prompt))
            .await
            .expect("the bytes come in the item itself");
        assert_eq!(image.format, codex_img::ImageFormat::Png);
    }
    assert_eq!(
        std::fs::read(world.home().join("generated_images")).expect("read"),
        b"not a folder",
        "codex-img's cleanup left the file alone"
    );
    client.shutdown().await;
}
