//! Faults through `codex-img serve-http` as a real process: secrets Codex plants in its error text and
//! stderr never reach an HTTP answer or the server's log; an image item whose bytes are not an image
//! is a 502 `runtime/no_image` marked not to be retried, and the next request on the same keep-alive
//! connection works; and, since this face never saves a file (images go back in the body), a full
//! filesystem under every folder it could write to changes nothing: the image comes back whole and
//! nothing is written.

#![cfg(all(feature = "cli", feature = "http"))]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self,
    faults::{assert_log_masked, secrets_in, was_sent, FullFs, EXITED_MESSAGE, STDERR_LINE},
    load::faces::{Conn, HttpProcess, HttpReply},
    sha256, World,
};

const KEY: &str = "faults-http-key-0123456789abcdef";
const PATIENCE: Duration = Duration::from_secs(60);

/// `serve-http` on a free loopback port for `world`, its stderr to `stderr`.
fn serve(world: &World, stderr: Stdio, env: &[(&str, &Path)]) -> HttpProcess {
    let mut command = world.command::<&str>(&[]);
    command
        .args(["serve-http", "--listen", "127.0.0.1:0"])
        .env("CODEX_IMG_HTTP_TOKEN", KEY)
        .env("XDG_CONFIG_HOME", world.dir.path().join("config"))
        .env(
            "CODEX_IMG_RECOVERY_DIR",
            world.dir.path().join("state/recovered"),
        )
        .env("RUST_LOG", "codex_img=trace")
        .stderr(stderr);
    for (k, v) in env {
        command.env(k, v);
    }
    HttpProcess::spawn(command, PATIENCE).expect("serve-http started")
}

fn generate(conn: &mut Conn, prompt: &str) -> HttpReply {
    conn.post_json("/v1/images/generations", KEY, &json!({"prompt": prompt}))
        .expect("send");
    conn.receive().expect("an answer")
}

/// `(status, x-should-retry, body)` of an answer.
fn seen(reply: &HttpReply) -> (u16, Option<String>, Value) {
    (
        reply.status,
        reply.header("x-should-retry").map(str::to_owned),
        reply.json().expect("json"),
    )
}

fn decoded_sha(reply: &HttpReply) -> String {
    let body = reply.json().expect("json");
    let b64 = body["data"][0]["b64_json"].as_str().expect("b64_json");
    sha256(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("valid base64"),
    )
}

#[test]
fn planted_secrets_never_reach_an_answer_or_the_log() {
    let world = World::new();
    let log = world.dir.path().join("stderr.log");
    let server = serve(
        &world,
        Stdio::from(std::fs::File::create(&log).expect("log")),
        &[],
    );
    let mut conn = Conn::connect(&server.addr, PATIENCE).expect("connect");
    let reply = generate(&mut conn, "a fox [fake:error-secrets]");
    let message = "Codex finished without an image: unexpected status 401: auth failed for [redacted] with Bearer [redacted] token=[redacted] key [redacted]";
    assert_eq!(
        seen(&reply),
        (
            502,
            Some("false".to_owned()),
            json!({"error": {"message": message, "type": "server_error", "param": null,
                "code": "runtime/no_image"}}),
        )
    );
    assert_eq!(
        secrets_in(&String::from_utf8_lossy(&reply.body)),
        Vec::<&str>::new()
    );
    // The same connection still generates.
    let next = generate(&mut conn, "a dog");
    assert_eq!(next.status, 200);
    drop(conn);
    let status = server.stop(Duration::from_secs(20)).expect("stops");
    assert!(status.success(), "{status}");
    assert_log_masked(&log);

    // Codex's stderr, quoted in the error when the process exits.
    let world = World::new()
        .set("FAKE_START_FAULT", "exit-on-thread-start")
        .set("FAKE_STDERR_LINE", STDERR_LINE);
    let log = world.dir.path().join("stderr.log");
    let server = serve(
        &world,
        Stdio::from(std::fs::File::create(&log).expect("log")),
        &[],
    );
    let mut conn = Conn::connect(&server.addr, PATIENCE).expect("connect");
    let reply = generate(&mut conn, "a fox");
    let message = EXITED_MESSAGE;
    // No turn had started, so the client may retry by itself: no `x-should-retry: false`.
    assert_eq!(
        seen(&reply),
        (
            502,
            None,
            json!({"error": {"message": message, "type": "server_error", "param": null,
                "code": "runtime/app_server_exited"}}),
        )
    );
    assert_eq!(
        secrets_in(&String::from_utf8_lossy(&reply.body)),
        Vec::<&str>::new()
    );
    drop(conn);
    let status = server.stop(Duration::from_secs(20)).expect("stops");
    assert!(status.success(), "{status}");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert_eq!(secrets_in(&logged), Vec::<&str>::new(), "{logged}");
    assert!(logged.contains("[redacted]"), "{logged}");
}

#[test]
fn bytes_that_are_not_an_image_are_502_no_image_and_the_next_request_works() {
    let world = World::new();
    let cwd = world.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    let server = serve(&world, Stdio::null(), &[]);
    let mut conn = Conn::connect(&server.addr, PATIENCE).expect("connect");
    let mut got = Vec::new();
    let mut want = Vec::new();
    for scenario in ["corrupt-base64", "not-an-image", "empty-result"] {
        let reply = generate(&mut conn, &format!("a cat [fake:{scenario}]"));
        let (status, retry, body) = seen(&reply);
        got.push((
            scenario,
            status,
            retry,
            body["error"]["code"].clone(),
            body["error"]["type"].clone(),
        ));
        want.push((
            scenario,
            502,
            Some("false".to_owned()),
            json!("runtime/no_image"),
            json!("server_error"),
        ));
        let next = generate(&mut conn, "a dog [fake:complete]");
        assert_eq!(next.status, 200, "{:?}", next.json());
        assert!(was_sent(&world, &decoded_sha(&next)), "the fake's bytes");
    }
    assert_eq!(got, want);
    drop(conn);
    let status = server.stop(Duration::from_secs(20)).expect("stops");
    assert!(status.success(), "{status}");
    assert_eq!(world.generated_images(), Vec::<String>::new());
    assert_eq!(support::entries(&cwd), Vec::<String>::new());
}

#[test]
fn a_full_disk_changes_nothing_because_the_image_goes_back_in_the_body() {
    let world = World::new();
    let full = FullFs::under(&world);
    let recovery = full.dir.join("recovered");
    // Every folder the face could write a file to is on the full disk.
    let server = serve(
        &world,
        Stdio::null(),
        &[
            ("HOME", &full.dir),
            ("XDG_CACHE_HOME", &full.dir),
            ("XDG_STATE_HOME", &full.dir),
            ("XDG_CONFIG_HOME", &full.dir),
            ("CODEX_IMG_RECOVERY_DIR", &recovery),
        ],
    );
    let mut conn = Conn::connect(&server.addr, PATIENCE).expect("connect");
    for prompt in ["a cat [fake:complete]", "a dog"] {
        let reply = generate(&mut conn, prompt);
        assert_eq!(reply.status, 200, "{:?}", reply.json());
        assert!(
            was_sent(&world, &decoded_sha(&reply)),
            "the answer carries the fake's bytes"
        );
    }
    drop(conn);
    let status = server.stop(Duration::from_secs(20)).expect("stops");
    assert!(status.success(), "{status}");
    assert_eq!(full.left_behind(), Vec::<String>::new(), "nothing written");
}
