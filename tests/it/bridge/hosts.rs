//! The example hosts in `examples/hosts/` against the built `codex-img serve-stdio` and the fake
//! app-server: each must exit 0 and leave exactly the image it generated in its output folder.
//! A missing `node` or `python3` fails the test: CI installs them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pretty_assertions::assert_eq;

use crate::support::{self, all_gone_blocking, entries, run::OutputWithin as _, World};

/// How long an example host may take: it starts codex-img, generates twice and stops it.
const HOST_DEADLINE: Duration = Duration::from_secs(120);

fn run_host(interpreter: &str, script: &str) {
    let world = World::new();
    let out = world.dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let output = Command::new(interpreter)
        .arg(&script)
        .arg(&out)
        .env("CODEX_IMG_BIN", support::BIN)
        .env("CODEX_BIN", support::fake_bin())
        .env("CODEX_HOME", world.home())
        .env("FAKE_RECORD_DIR", world.record())
        .stdin(std::process::Stdio::null())
        .output_within(HOST_DEADLINE)
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{interpreter}` ({e}); the host examples need it installed (CI installs Node.js and Python 3)"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        script.display(),
        output.status
    );
    let image = out.join("lighthouse.png");
    assert_eq!(
        entries(&out),
        vec!["lighthouse.png"],
        "exactly the image, no temp files"
    );
    let bytes = std::fs::read(&image).expect("read");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let sha = codex_img::image::sha256_hex(&bytes);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "codex 0.169.0, signed in with chatgpt".to_owned(),
            format!("saved {} (64x48 png, sha256 {})", image.canonicalize().expect("canonical").display(), &sha[..12]),
            format!("handled output/exists (JSON-RPC -32005, retryable: false): {} already exists; choose another path or ask to overwrite", image.canonicalize().expect("canonical").display()),
            "done".to_owned(),
        ]
    );
    for phase in ["queued", "generating", "done"] {
        assert!(
            stderr.contains(&format!("  {phase} after ")),
            "progress `{phase}` shown:\n{stderr}"
        );
    }
    assert!(
        all_gone_blocking(&world.server_pids(), Duration::from_secs(5)),
        "a Codex process outlived the host: {:?}",
        world.server_pids()
    );
}

#[test]
fn node_host() {
    run_host("node", "examples/hosts/node/client.mjs");
}

#[test]
fn python_host() {
    run_host("python3", "examples/hosts/python/client.py");
}
