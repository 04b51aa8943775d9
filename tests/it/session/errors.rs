//! Every way a generation fails against the fake app-server: the code it gets, whether a turn was spent,
//! and that nothing is left behind.

use std::time::Duration;

use codex_img::{Error, GenerateRequest};
use pretty_assertions::assert_eq;

use crate::support::{self, png, World};

async fn fail(world: &World, prompt: &str) -> Error {
    let client = world.client();
    let result = client.generate(GenerateRequest::new(prompt)).await;
    client.shutdown().await;
    match result {
        Ok(image) => panic!(
            "{prompt}: expected an error, got an image of {} bytes",
            image.bytes.len()
        ),
        Err(e) => e,
    }
}

#[tokio::test]
async fn login_problems_are_caught_before_any_turn() {
    for (login, code) in [
        ("apikey", "preflight/api_key_login"),
        ("none", "preflight/not_signed_in"),
        ("unreachable", "preflight/backend_unreachable"),
    ] {
        let world = World::new().set("FAKE_LOGIN", login);
        let e = fail(&world, "anything").await;
        assert_eq!(e.code(), code, "{login}: {e}");
        assert_eq!(
            world.events("turn_inputs").len(),
            0,
            "{login}: a turn was started"
        );
    }
}

#[tokio::test]
async fn image_generation_switched_off_is_reported_before_any_turn() {
    let world = World::new().set("FAKE_IMAGE_GENERATION", "0");
    let e = fail(&world, "anything").await;
    assert_eq!(e.code(), "preflight/image_generation_unavailable");
    assert_eq!(world.events("turn_inputs").len(), 0);
}

#[tokio::test]
async fn a_version_below_the_floor_is_refused_before_spawning() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.116.0");
    match fail(&world, "anything").await {
        Error::UnsupportedVersion { found, floor } => {
            assert_eq!((found.as_str(), floor.as_str()), ("0.116.0", "0.122.0"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        world.server_pids(),
        Vec::<i32>::new(),
        "no app-server may be started"
    );
}

#[tokio::test]
async fn a_server_reporting_an_older_version_than_the_cli_is_refused_after_the_handshake() {
    let world = World::new().set("FAKE_USER_AGENT_VERSION", "0.121.0");
    let e = fail(&world, "anything").await;
    assert_eq!(e.code(), "preflight/unsupported_version");
    assert!(
        e.to_string().contains("0.121.0")
            && e.to_string()
                .contains("npm install -g @openai/codex@latest"),
        "{e}"
    );
    assert_eq!(world.events("turn_inputs").len(), 0);
}

#[tokio::test]
async fn usage_limit_on_the_item_carries_the_reset_time() {
    let world = World::new();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let e = fail(&world, "x [fake:usage-limit-item]").await;
    assert_eq!((e.code(), e.retryable()), ("runtime/usage_limit", false));
    let resets_at = e.resets_at().expect("a reset time");
    assert!(
        (before + 7190..=before + 7300).contains(&resets_at),
        "{resets_at} vs {before}"
    );
    assert!(e.to_string().contains("until 20"), "{e}");
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn usage_limit_on_the_turn_is_reported_with_codes_message() {
    let world = World::new();
    let e = fail(&world, "x [fake:usage-limit-turn]").await;
    match &e {
        Error::UsageLimit { message, .. } => assert!(message.contains("usage limit"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn turn_failures_map_to_codes() {
    for (scenario, code) in [
        ("no-image", "runtime/no_image"),
        ("refused", "runtime/refused"),
        ("cyber-policy", "runtime/refused"),
        ("stream-error", "preflight/backend_unreachable"),
        ("unknown-error-info", "runtime/no_image"),
        ("tool-failed", "runtime/no_image"),
    ] {
        let world = World::new();
        let e = fail(&world, &format!("x [fake:{scenario}]")).await;
        assert_eq!(e.code(), code, "{scenario}: {e}");
    }
}

#[tokio::test]
async fn no_image_says_what_the_model_said() {
    let world = World::new();
    let e = fail(&world, "x [fake:no-image]").await;
    assert_eq!(
        e.to_string(),
        "Codex finished without an image: the model answered instead: I can't create that image."
    );
}

#[tokio::test]
async fn a_crash_mid_turn_fails_that_turn_and_the_next_request_respawns() {
    let world = World::new();
    let client = world.client();
    let e = client
        .generate(GenerateRequest::new("x [fake:crash]"))
        .await
        .expect_err("crash");
    match &e {
        Error::AppServerExited {
            turn_started,
            status,
            ..
        } => {
            assert!(*turn_started);
            assert!(
                status.as_deref().is_some_and(|s| s.contains('3')),
                "{status:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !e.retryable(),
        "a turn that may have started must not be advertised as retryable"
    );
    let image = client
        .generate(GenerateRequest::new("after the crash"))
        .await
        .expect("respawned");
    assert_eq!(image.width, 64);
    assert_eq!(world.server_pids().len(), 2);
    // The crashed turn was not re-run: exactly one turn per process.
    assert_eq!(world.events("turn_inputs").len(), 2);
    client.shutdown().await;
}

#[tokio::test]
async fn a_hung_turn_hits_the_deadline_is_interrupted_and_never_retried() {
    let world = World::new();
    let client = world
        .builder()
        .request_timeout(Duration::from_millis(1500))
        .interrupt_grace(Duration::from_millis(500))
        .build();
    let started = std::time::Instant::now();
    let e = client
        .generate(GenerateRequest::new("x [fake:hang]"))
        .await
        .expect_err("timeout");
    let took = started.elapsed();
    assert_eq!((e.code(), e.retryable()), ("runtime/timeout", false));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let ignored = world
        .wait_events("interrupt_ignored", 1, Duration::from_secs(5))
        .await;
    assert_eq!(ignored.len(), 1, "the hung turn was sent turn/interrupt");
    assert_eq!(world.events("turn_inputs").len(), 1, "never retried");
    client.shutdown().await;
}

#[tokio::test]
async fn an_image_in_hand_is_returned_even_if_its_cleanup_outlasts_the_deadline() {
    let world = World::new();
    let client = world
        .builder()
        .request_timeout(Duration::from_millis(800))
        .interrupt_grace(Duration::from_millis(1500))
        .build();
    let image = client
        .generate(GenerateRequest::new("x [fake:image-then-hang]"))
        .await
        .expect("the paid-for image, not a timeout");
    assert_eq!(image.width, 64);
    // The interrupt is sent after the answer, by the cleanup that shutdown waits for.
    client.shutdown().await;
    assert_eq!(world.events("interrupt_ignored").len(), 1);
}

#[tokio::test]
async fn a_per_request_timeout_overrides_the_client_deadline() {
    let world = World::new().set("FAKE_DELAY_MS", "5000");
    let client = world.client();
    let e = client
        .generate(GenerateRequest::new("x [fake:slow]").timeout(Duration::from_millis(800)))
        .await
        .expect_err("timeout");
    assert_eq!(e.code(), "runtime/timeout");
    assert!(e.to_string().contains("generating"), "{e}");
    client.shutdown().await;
}

#[tokio::test]
async fn overload_on_thread_start_is_retried_but_not_forever() {
    let world = World::new().set("FAKE_OVERLOAD_THREAD_STARTS", "2");
    let client = world.client();
    client
        .generate(GenerateRequest::new("busy server"))
        .await
        .expect("image after retries");
    client.shutdown().await;

    let world = World::new().set("FAKE_OVERLOAD_THREAD_STARTS", "50");
    let e = fail(&world, "busy server").await;
    assert_eq!((e.code(), e.retryable()), ("runtime/overloaded", true));
    assert_eq!(world.events("turn_inputs").len(), 0);
}

#[tokio::test]
async fn bad_input_is_refused_before_codex_is_started() {
    let world = World::new();
    let client = world.client();
    let not_image = world.dir.path().join("notes.txt");
    std::fs::write(&not_image, b"hello").expect("write");
    let cases = [
        (GenerateRequest::new("   "), "request/invalid_prompt"),
        (
            GenerateRequest::new("x").image(not_image.clone()),
            "request/invalid_image",
        ),
        (
            GenerateRequest::new("x").image(world.dir.path().join("missing.png")),
            "request/invalid_image",
        ),
        (
            GenerateRequest::new("x").image(vec![0x89, b'P', b'N', b'G']),
            "request/invalid_image",
        ),
        (
            (0..5).fold(GenerateRequest::new("x"), |r, i| r.reference(png(4, 4, i))),
            "request/invalid_image",
        ),
    ];
    for (request, code) in cases {
        let e = client.generate(request).await.expect_err("invalid");
        assert_eq!(e.code(), code, "{e}");
    }
    assert_eq!(
        world.server_pids(),
        Vec::<i32>::new(),
        "bad input started Codex"
    );
}

#[tokio::test]
async fn a_missing_codex_says_how_to_install_it() {
    let client = codex_img::Client::builder()
        .codex_bin("/nonexistent/codex")
        .build();
    let e = client
        .generate(GenerateRequest::new("x"))
        .await
        .expect_err("missing");
    assert_eq!(e.code(), "preflight/codex_missing");
    assert!(
        e.to_string().contains("npm install -g @openai/codex"),
        "{e}"
    );
}

#[tokio::test]
async fn a_login_fixed_while_the_host_runs_is_seen_without_a_restart() {
    let world = World::new();
    // Codex reads the login when it starts; a wrapper gives each new fake process the login kind that
    // a file holds at that moment, as `codex login` rewrites auth.json.
    let login = world.dir.path().join("login-kind");
    std::fs::write(&login, "none").expect("write");
    let wrapper = world.dir.path().join("codex");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nFAKE_LOGIN=$(cat '{}') exec '{}' \"$@\"\n",
            login.display(),
            support::fake_bin().display()
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let client = world.builder().codex_bin(&wrapper).build();
    let e = client
        .generate(GenerateRequest::new("x"))
        .await
        .expect_err("not signed in");
    assert_eq!(e.code(), "preflight/not_signed_in");
    std::fs::write(&login, "chatgpt").expect("write");
    client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("the new login is used");
    assert_eq!(world.server_pids().len(), 2);
    client.shutdown().await;
}

#[tokio::test]
async fn a_private_directory_that_vanished_fails_staging_with_its_own_code_before_any_turn() {
    let world = World::new();
    let client = world.client();
    client
        .generate(GenerateRequest::new("warm up"))
        .await
        .expect("image");
    // The warm process runs in codex-img's private working directory; take it away under it.
    let pid = world.server_pids()[0];
    let workdir = std::fs::read_link(format!("/proc/{pid}/cwd")).expect("the server's cwd");
    assert!(
        workdir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("codex-img-")),
        "{}",
        workdir.display()
    );
    std::fs::remove_dir_all(&workdir).expect("remove the private directory");
    let e = client
        .generate(GenerateRequest::new("again").image(png(8, 8, 1)))
        .await
        .expect_err("nowhere to stage the input");
    client.shutdown().await;
    assert_eq!(
        (e.code(), e.retryable()),
        ("runtime/staging_failed", false),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message
            .starts_with("cannot stage the input images in codex-img's private working directory")
            && message.ends_with("check that TMPDIR is writable and has free space"),
        "{message}"
    );
    assert_eq!(
        world.events("turn_inputs").len(),
        1,
        "only the warm-up turn ran"
    );
}
