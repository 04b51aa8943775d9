//! A temp dir that cannot hold codex-img's private working directory is reported as that, not as a
//! missing Codex. It runs alone in a process of its own (`support::run::alone`), because it points
//! that process's `TMPDIR` somewhere missing.

use codex_img::GenerateRequest;
use pretty_assertions::assert_eq;

use crate::support::{run, World};

#[tokio::test]
async fn a_temp_dir_that_cannot_be_used_names_tmpdir_not_codex() {
    if !run::alone(
        module_path!(),
        "a_temp_dir_that_cannot_be_used_names_tmpdir_not_codex",
    ) {
        return;
    }
    let world = World::new();
    let missing = world.dir.path().join("no-such-tmp");
    // Alone in this process, so no other test sees the changed environment.
    std::env::set_var("TMPDIR", &missing);
    let client = world.client();
    let e = client
        .generate(GenerateRequest::new("x"))
        .await
        .expect_err("no working directory");
    client.shutdown().await;
    assert_eq!(
        (e.code(), e.retryable()),
        ("runtime/workdir_unavailable", false),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot create codex-img's private working directory under {}: ",
            missing.display()
        )) && message.ends_with("; check that TMPDIR exists, is writable and has free space"),
        "{message}"
    );
    assert!(world.server_pids().is_empty(), "no app-server was started");
}
