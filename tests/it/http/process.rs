//! `codex-img serve-http` as a real process: one line on stdout (the base URL), a generated key in a
//! private file whose path is printed, refusing a non-loopback address, and SIGTERM with a generation in
//! flight: the request is answered, its turn interrupted, the process exits 0 and no Codex process is
//! left (asked of the OS).
#![cfg(feature = "http")]

use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::support::{
    self,
    child::exit_code,
    http::{request, Raw, PATIENCE},
    position, World,
};

fn command(world: &World, args: &[&str]) -> Command {
    let mut command = Command::from(world.command::<&str>(&[]));
    command
        .arg("serve-http")
        .args(args)
        .env("XDG_CONFIG_HOME", world.dir.path().join("config"))
        .env_remove("CODEX_IMG_HTTP_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn sigterm_answers_the_request_in_flight_stops_codex_and_exits_0() {
    let world = World::new()
        .set("FAKE_DELAY_MS", "30000")
        .set("FAKE_SPAWN_HELPER", "1");
    let mut child = command(&world, &["--listen", "127.0.0.1:0"])
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut url = String::new();
    tokio::time::timeout(PATIENCE, stdout.read_line(&mut url))
        .await
        .expect("ready in time")
        .expect("read");
    let url = url.trim_end().to_owned();
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("not a base URL: {url:?}"))
        .to_owned();
    let mut note = String::new();
    stderr.read_line(&mut note).await.expect("stderr");
    let key_file = world.dir.path().join("config/codex-img/http-token");
    assert!(note.contains(&key_file.display().to_string()), "{note}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = std::fs::read_to_string(&key_file)
        .expect("key")
        .trim()
        .to_owned();
    assert!(!note.contains(&key), "the key was printed");

    let body =
        serde_json::to_vec(&serde_json::json!({"prompt": "a slow fox [fake:slow]"})).expect("json");
    let auth = format!("Bearer {key}");
    let mut conn = Raw::connect(addr.parse().expect("addr")).await;
    conn.send(&request(
        "POST",
        "/v1/images/generations",
        &[
            ("Host", &addr),
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body,
    ))
    .await;
    let started = world
        .wait_events("turn_inputs", 1, Duration::from_secs(30))
        .await;
    assert_eq!(started.len(), 1);
    let pids = world.server_pids();
    let helpers = world.helper_pids();
    assert!(!pids.is_empty() && !helpers.is_empty());

    let pid = child.id().expect("pid") as i32;
    // SAFETY: signalling our own child by its pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let reply = conn
        .response()
        .await
        .expect("the request in flight is answered");
    assert_eq!(reply.error_code(), (503, "runtime/cancelled".to_owned()));
    assert_eq!(reply.header("x-should-retry"), Some("false"));
    assert_eq!(exit_code(&mut child).await, Some(0));
    let interrupted = world
        .wait_events("interrupted", 1, Duration::from_secs(10))
        .await;
    assert_eq!(interrupted.len(), 1, "the turn was interrupted");
    let everyone: Vec<i32> = pids.iter().chain(helpers.iter()).copied().collect();
    assert!(
        support::all_gone(&everyone, Duration::from_secs(10)).await,
        "left running: {everyone:?}"
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.expect("stdout");
    assert_eq!(rest, "", "stdout carries only the base URL");
}

#[tokio::test]
async fn a_second_start_reuses_the_key_file_and_remote_addresses_need_allow_remote() {
    let world = World::new();
    let refused = tokio::time::timeout(
        PATIENCE,
        command(&world, &["--listen", "0.0.0.0:0"]).output(),
    )
    .await
    .expect("refused in time")
    .expect("run");
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("error[http/not_loopback]"), "{message}");
    assert_eq!(refused.stdout, b"");

    let mut keys = Vec::new();
    for _ in 0..2 {
        let mut child = command(&world, &["--listen", "127.0.0.1:0"])
            .spawn()
            .expect("spawn");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut url = String::new();
        tokio::time::timeout(PATIENCE, stdout.read_line(&mut url))
            .await
            .expect("ready in time")
            .expect("read");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        keys.push(
            std::fs::read_to_string(world.dir.path().join("config/codex-img/http-token"))
                .expect("key"),
        );
        let pid = child.id().expect("pid") as i32;
        // SAFETY: signalling our own child by its pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        assert_eq!(exit_code(&mut child).await, Some(0));
    }
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn concurrency_1_runs_one_generation_at_a_time() {
    let world = World::new().set("FAKE_DELAY_MS", "1500");
    let token = world.dir.path().join("token");
    std::fs::write(&token, "file-key-0123456789abcdef\n").expect("token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let token_arg = token.display().to_string();
    let mut child = command(
        &world,
        &[
            "--listen",
            "127.0.0.1:0",
            "--concurrency",
            "1",
            "--token-file",
            &token_arg,
        ],
    )
    .spawn()
    .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut url = String::new();
    tokio::time::timeout(PATIENCE, stdout.read_line(&mut url))
        .await
        .expect("ready in time")
        .expect("read");
    let addr = url
        .trim_end()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    let ask = |addr: String| async move {
        let body =
            serde_json::to_vec(&serde_json::json!({"prompt": "a fox [fake:slow]"})).expect("json");
        let mut conn = Raw::connect(addr.parse().expect("addr")).await;
        conn.send(&request(
            "POST",
            "/v1/images/generations",
            &[
                ("Host", &addr),
                ("Authorization", "Bearer file-key-0123456789abcdef"),
                ("Content-Type", "application/json"),
            ],
            &body,
        ))
        .await;
        conn.response().await.expect("answer").status
    };
    let (a, b) = tokio::join!(ask(addr.clone()), ask(addr.clone()));
    assert_eq!((a, b), (200, 200));
    // A generation holds its place until its image is in hand, and its `turn/interrupt` is queued
    // before the place is freed; the answer does not wait for the turn's end, which may overlap the
    // next turn. So Codex read, in this order: the first turn's image went out, its interrupt came
    // in, and only then the second turn's `turn/start`.
    let log = world.log();
    let at = |what: &dyn Fn(&serde_json::Value) -> bool| position(&log, what);
    let first = at(&|l| l["event"] == "turn_inputs");
    let first_turn = log[first]["turnId"].clone();
    let image = at(&|l| l["event"] == "image" && l["turnId"] == first_turn);
    let interrupt = at(&|l| {
        l["dir"] == "in"
            && l["msg"]["method"] == "turn/interrupt"
            && l["msg"]["params"]["turnId"] == first_turn
    });
    let second = at(&|l| l["event"] == "turn_inputs" && l["turnId"] != first_turn);
    assert!(
        first < image && image < interrupt && interrupt < second,
        "record order: first turn {first}, its image {image}, its interrupt {interrupt}, second turn {second}"
    );
    assert_eq!(world.events("turn_inputs").len(), 2);
    let pid = child.id().expect("pid") as i32;
    // SAFETY: signalling our own child by its pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(exit_code(&mut child).await, Some(0));
}
