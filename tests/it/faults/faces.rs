//! Faults at the faces, as real processes: SIGTERM and SIGINT mid-turn to `generate`, `serve-stdio`,
//! `serve-mcp` and `serve-http` (each exits in time with its code, the turn is interrupted before the
//! app-server's stdin closes, the stdio faces answer the request with `runtime/shutting_down`, no
//! app-server survives and nothing stays on disk), and secrets that Codex plants in its stderr or error
//! text (a JWT, a bearer token, an `sk-` key, an email address) never reach an answer or a log line.

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{
    all_gone_blocking, entries, eventually,
    faults::{work_folders, PLANTED, STDERR_LINE},
    serve::Serve,
    World,
};

const DEADLINE: Duration = Duration::from_secs(20);
const TOKEN: &str = "faults-test-key-0123456789abcdef";
fn face(world: &World, tmp: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = world.command::<&str>(&[]);
    cmd.args(args)
        .env("TMPDIR", tmp)
        .env("CODEX_IMG_HTTP_TOKEN", TOKEN)
        .env("XDG_CONFIG_HOME", world.dir.path().join("config"))
        .env(
            "CODEX_IMG_RECOVERY_DIR",
            world.dir.path().join("state/recovered"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn write_line(child: &mut Child, value: serde_json::Value) {
    let stdin = child.stdin.as_mut().expect("stdin");
    writeln!(stdin, "{value}").expect("write");
    stdin.flush().expect("flush");
}

/// Starts a slow turn on `which` face and returns the running child.
fn start_turn(which: &str, world: &World, tmp: &std::path::Path) -> Child {
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    match which {
        "generate" => face(
            world,
            tmp,
            &[
                "generate",
                "a fox [fake:slow]",
                "-o",
                root.join("fox.png").to_str().expect("utf-8"),
            ],
        )
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn"),
        "serve-stdio" => {
            let mut child = face(world, tmp, &["serve-stdio"]).spawn().expect("spawn");
            write_line(
                &mut child,
                json!({"jsonrpc": "2.0", "id": 1, "method": "image/generate",
                "params": {"prompt": "a fox [fake:slow]", "returnBytes": true}}),
            );
            child
        }
        "serve-mcp" => {
            let mut child = face(
                world,
                tmp,
                &["serve-mcp", "--root", root.to_str().expect("utf-8")],
            )
            .spawn()
            .expect("spawn");
            for line in [
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "faults", "version": "0"}}}),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                    "name": "generate_image",
                    "arguments": {"prompt": "a fox [fake:slow]", "output": "fox.png"}}}),
            ] {
                write_line(&mut child, line);
            }
            child
        }
        "serve-http" => {
            let mut child = face(world, tmp, &["serve-http", "--listen", "127.0.0.1:0"])
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn");
            let mut out = child.stdout.take().expect("stdout");
            let mut url = Vec::new();
            let mut byte = [0u8; 1];
            while out.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
                url.push(byte[0]);
            }
            let url = String::from_utf8(url).expect("utf-8");
            let addr = url
                .strip_prefix("http://")
                .and_then(|r| r.strip_suffix("/v1"))
                .unwrap_or_else(|| panic!("not a base URL: {url:?}"))
                .to_owned();
            let body = json!({"prompt": "a fox [fake:slow]"}).to_string();
            let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
            write!(conn, "POST /v1/images/generations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).expect("send");
            // The connection stays open in a thread until the server answers or closes it.
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = conn.read_to_end(&mut sink);
            });
            child
        }
        other => panic!("no face {other}"),
    }
}

/// The exit code each face gives for `signal`: the servers of the CLI exit 130 or 143 like `generate`;
/// `serve-http` treats a signal as its normal way to stop.
fn expected_exit(which: &str, signal: i32) -> i32 {
    match (which, signal) {
        ("serve-http", _) => 0,
        (_, libc::SIGINT) => 130,
        _ => 143,
    }
}

/// Whether the face's stdout answered the request in flight (id 1) with `runtime/shutting_down`. Only
/// the stdio faces are asked: `serve-http` answers its connection, read and dropped by a thread, and
/// `generate` prints no answer for a signal.
fn answered_shutting_down(which: &str, stdout: &str) -> Option<bool> {
    if !matches!(which, "serve-stdio" | "serve-mcp") {
        return None;
    }
    Some(stdout.lines().any(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|v| v["id"] == 1 && line.contains("runtime/shutting_down"))
    }))
}

#[test]
fn sigterm_and_sigint_mid_turn_stop_every_face_and_leave_nothing() {
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for which in ["generate", "serve-stdio", "serve-mcp", "serve-http"] {
        for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
            let world = World::new()
                .set("FAKE_DELAY_MS", "30000")
                .set("FAKE_SPAWN_HELPER", "1");
            let tmp = world.dir.path().join("tmp");
            std::fs::create_dir_all(&tmp).expect("tmp");
            let mut child = start_turn(which, &world, &tmp);
            let started = eventually(DEADLINE, || {
                (!world.events("turn_inputs").is_empty()).then_some(())
            });
            assert!(started.is_some(), "{which}: the turn did not start");
            let everyone: Vec<i32> = [world.server_pids(), world.helper_pids()].concat();
            // SAFETY: signalling our own child by its pid.
            assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
            let status = eventually(DEADLINE, || child.try_wait().ok().flatten());
            if status.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = out.read_to_string(&mut stdout);
            }
            // Read from the record once the process is gone: the interrupt must be there already,
            // before the app-server's stdin closed.
            let log = world.log();
            let turn = world.events("turn_inputs")[0]["turnId"].clone();
            let interrupt = log.iter().position(|e| {
                e["msg"]["method"] == "turn/interrupt" && e["msg"]["params"]["turnId"] == turn
            });
            let eof = log.iter().position(|e| e["event"] == "stdin_eof");
            let interrupted_first = interrupt.is_some()
                && world.events("interrupted").len() == 1
                && (eof.is_none() || interrupt < eof);
            let gone = all_gone_blocking(&everyone, Duration::from_secs(10));
            let root = world.dir.path().join("root");
            let clean = eventually(Duration::from_secs(5), || {
                (work_folders(&tmp).is_empty()
                    && world.generated_images().is_empty()
                    && entries(&root).is_empty())
                .then_some(())
            })
            .is_some();
            let answered = answered_shutting_down(which, &stdout);
            let row = (
                which,
                name,
                status.and_then(|s| s.code()),
                interrupted_first,
                gone,
                clean,
                answered,
            );
            let want = (
                which,
                name,
                Some(expected_exit(which, signal)),
                true,
                true,
                true,
                answered.map(|_| true),
            );
            if row != want {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                eprintln!(
                    "{which} {name}: interrupt at {interrupt:?}, stdin closed at {eof:?}\nstdout:\n{stdout}\nstderr:\n{err}"
                );
            }
            rows.push(row);
            expected.push(want);
        }
    }
    assert_eq!(
        rows, expected,
        "(face, signal, exit code, turn/interrupt before stdin closed, no process left, nothing left on disk, answered runtime/shutting_down)"
    );
}

fn assert_clean(what: &str, text: &str) {
    for secret in PLANTED {
        assert!(!text.contains(secret), "{what} carries `{secret}`:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_are_redacted_in_the_library_s_errors() {
    let stderr_line = STDERR_LINE;
    // Codex's error text of a failed turn.
    let world = World::new();
    let client = world.client();
    let e = client
        .generate(codex_img::GenerateRequest::new(
            "a fox [fake:error-secrets]",
        ))
        .await
        .expect_err("the turn fails");
    assert_clean("a failed turn's error", &e.to_string());
    client.shutdown().await;
    // Codex's stderr, quoted when it exits.
    let world = World::new()
        .set("FAKE_START_FAULT", "exit-on-thread-start")
        .set("FAKE_STDERR_LINE", stderr_line);
    let client = world.client();
    let e = client
        .generate(codex_img::GenerateRequest::new("a fox"))
        .await
        .expect_err("the process exits");
    assert_eq!(e.code(), "runtime/app_server_exited");
    let message = e.to_string();
    assert!(
        message.contains("fatal: refresh failed for [redacted]"),
        "{message}"
    );
    assert_clean("an exit's stderr tail", &message);
    client.shutdown().await;
}

#[test]
fn planted_secrets_never_reach_serve_stdio_s_answers_or_logs() {
    let world = World::new().set(
        "FAKE_STDERR_LINE",
        "login ok for person@example.com with Bearer abcdef0123456789",
    );
    let tmp = world.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let log = world.dir.path().join("stderr.log");
    let file = std::fs::File::create(&log).expect("log file");
    let tmp_os = tmp.clone().into_os_string();
    let debug = std::ffi::OsString::from("codex_img=trace");
    let mut serve = Serve::spawn(
        &world,
        &[
            ("TMPDIR", tmp_os.as_os_str()),
            ("RUST_LOG", debug.as_os_str()),
        ],
        Stdio::from(file),
    );
    let answer = serve.ask(
        json!(1),
        "image/generate",
        json!({"prompt": "a fox [fake:error-secrets]", "returnBytes": true}),
    );
    assert!(answer.get("error").is_some(), "{answer}");
    assert_clean("serve-stdio's answer", &answer.to_string());
    let status = serve.close(DEADLINE).expect("exits when stdin closes");
    assert!(status.success());
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(
        logged.contains("[redacted]"),
        "the planted line was logged, masked:\n{logged}"
    );
    assert_clean("serve-stdio's log", &logged);
}
