//! Live: one text-to-image through codex-img's Modly extension (`adapters/modly`), installed into a
//! private Modly folder and driven as Modly drives it (`adapters/modly/tests/host.py` and the
//! stand-in for Modly's runner), on real Codex releases (the CI pair by default; see
//! `live_support::releases`) against the loopback backend. The file in Modly's `outputs_dir` must be
//! byte-identical to what the backend served; afterwards no process with the scenario's `CODEX_HOME`
//! may be left and no copy under Codex's `generated_images`.
//!
//! The extension finds codex-img through `CODEX_IMG_BIN`, given here as a whole command (the binary
//! and the `-c` overrides that point Codex at the backend), as a user would give `npx -y codex-img`.
//! Needs `python3` besides what every live test needs; a missing one fails the test.

mod live_support;
#[path = "../../it/support/mcp/sdk.rs"]
mod mcp_sdk;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use live_support::{over_releases, releases, sha256, Login, Rig};
use loopback_backend::{codex_command_env, test_png, BackendConfig};

/// Within the scenario's own timeout (`live_support::SCENARIO_TIMEOUT`), with room for Codex's start.
const HOST_DEADLINE: Duration = Duration::from_secs(140);

/// `arg` quoted for a POSIX shell, which is how the extension splits CODEX_IMG_BIN there.
fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

async fn text_to_image(version: String) {
    let served = test_png(72, 48, 23);
    let config = BackendConfig {
        image_png: served.clone(),
        ..BackendConfig::default()
    };
    let rig = Rig::start(&version, config, Login::ChatGpt).await;
    let env = codex_command_env(&rig.backend, &rig.home());
    let mut command = vec![sh_quote(
        mcp_sdk::codex_img_bin().to_str().expect("utf-8 path"),
    )];
    for o in &env.config_overrides {
        command.push("-c".to_owned());
        command.push(sh_quote(o));
    }
    let mut host = Command::new("python3");
    host.arg(mcp_sdk::repo_root().join("adapters/modly/tests/host.py"))
        .args(["live_text_to_image", "--dir"])
        .arg(rig.scratch())
        .env("CODEX_IMG_BIN", command.join(" "))
        .env("CODEX_BIN", &rig.launcher)
        .env("EXPECT_SHA256", sha256(&served))
        .env("RUST_LOG", "warn,codex_img=info")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("FAKE_RECORD_DIR")
        .env_remove("EXTENSION_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &env.env {
        host.env(k, v);
    }
    for k in &env.env_remove {
        host.env_remove(k);
    }
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(host))
        .await
        .expect("the host task");
    assert!(
        ok,
        "{version}: the Modly text-to-image failed\nstdout:\n{out}\nstderr:\n{err}\n{}",
        rig.diagnostics()
    );
    eprintln!(
        "live modly text-to-image on Codex {version}: {}",
        out.lines().last().unwrap_or_default()
    );
    rig.finish().await;
}

/// Runs the host to the end, killing it after `HOST_DEADLINE`: success, stdout, stderr.
fn run(mut host: Command) -> (bool, String, String) {
    let mut child = host.spawn().unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}); the Modly extension's live test needs Python 3")
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let until = Instant::now() + HOST_DEADLINE;
    let success = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.success();
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (
        success,
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

#[tokio::test]
async fn live_modly_text_to_image() {
    over_releases("Modly text-to-image", &releases(), text_to_image).await;
}
