//! Any line-delimited face (`serve-stdio`, `serve-mcp`) as a [`Serve`] child with its own arguments,
//! the MCP handshake and tool call on it, and the planted secrets every face must mask.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::time::Duration;

use serde_json::{json, Value};

use super::Serve;

/// Fragments of the secrets the fake plants (its `error-secrets` scenario and [`STDERR_LINE`]): none
/// may reach an answer or a log line.
pub const PLANTED: &[&str] = &[
    "person@example.com",
    "abcdef0123456789",
    "eyJhbGciOiJIUzI1NiJ9",
    "eyJzdWIiOiIxMjM0NSJ9",
    "sk-proj-0123456789abcdef",
];

/// A stderr line for `FAKE_STDERR_LINE` carrying every planted secret.
pub const STDERR_LINE: &str = "fatal: refresh failed for person@example.com Bearer abcdef0123456789 token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl sk-proj-0123456789abcdef";

/// The error message when the fake, started with [`STDERR_LINE`] and `exit-on-thread-start`, exits:
/// its stderr tail quoted, every secret masked.
pub const EXITED_MESSAGE: &str =
    "the Codex app-server exited (exit status: 5); no turn had started, so no quota was spent: send the request again (a new app-server is started); its last output was:\n\
    fatal: refresh failed for [redacted] Bearer [redacted] token=[redacted] [redacted]\n\
    fatal: refresh failed for [redacted] Bearer [redacted] token=[redacted] [redacted]\n\
    fake-app-server: FAKE_START_FAULT=exit-on-thread-start: exiting with status 5";

/// How long to wait for the fake's record of an image: it writes the record just after the image's
/// line, so an answer built from that line can arrive first.
const RECORD_LAG: Duration = Duration::from_secs(20);

/// The sha256 of every image the fake sent, once at least `count` are recorded (whatever is there after
/// [`RECORD_LAG`] otherwise, so the caller's comparison fails with what was found).
pub fn images_sent(world: &crate::support::World, count: usize) -> Vec<String> {
    let read = || -> Vec<String> {
        world
            .events("image")
            .iter()
            .map(|e| e["sha256"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    super::eventually(RECORD_LAG, || {
        let found = read();
        (found.len() >= count).then_some(found)
    })
    .unwrap_or_else(read)
}

/// Whether the fake sent an image with this sha256, waiting up to [`RECORD_LAG`] for its record.
pub fn was_sent(world: &crate::support::World, sha256: &str) -> bool {
    super::eventually(RECORD_LAG, || {
        world
            .events("image")
            .iter()
            .any(|e| e["sha256"] == sha256)
            .then_some(())
    })
    .is_some()
}

/// The planted fragments found in `text`.
pub fn secrets_in(text: &str) -> Vec<&'static str> {
    PLANTED
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

impl Serve {
    /// Starts `codex-img <args>` (a line-delimited face) on the fake Codex of `world`.
    pub fn spawn_face(
        bin: &str,
        args: &[&OsStr],
        world: &crate::support::World,
        env: &[(&str, &OsStr)],
        stderr: std::process::Stdio,
    ) -> Self {
        use std::io::BufRead as _;
        let mut cmd = std::process::Command::new(bin);
        cmd.args(args)
            .env("CODEX_BIN", crate::support::fake_bin())
            .env("CODEX_HOME", world.home())
            .env("FAKE_RECORD_DIR", world.record())
            .env(
                "CODEX_IMG_RECOVERY_DIR",
                world.dir.path().join("state/recovered"),
            )
            .env("XDG_CACHE_HOME", world.dir.path().join("cache"))
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr);
        for (k, v) in &world.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn codex-img");
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the face wrote a non-JSON line ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            pending: Vec::new(),
        }
    }

    /// `serve-mcp` started with `args` after the subcommand, handshake done.
    pub fn mcp(
        bin: &str,
        args: &[&OsStr],
        world: &crate::support::World,
        env: &[(&str, &OsStr)],
        stderr: std::process::Stdio,
    ) -> Self {
        // The structured shape: these tests judge the report in `structuredContent`.
        let mut all: Vec<&OsStr> = vec![OsStr::new("serve-mcp"), OsStr::new("--structured")];
        all.extend_from_slice(args);
        let mut serve = Self::spawn_face(bin, &all, world, env, stderr);
        let answer = serve.ask(
            json!("init"),
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "faults", "version": "0"}}),
        );
        assert!(answer.get("result").is_some(), "initialize: {answer}");
        serve.notify("notifications/initialized");
        serve
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str) {
        use std::io::Write as _;
        let line = json!({"jsonrpc": "2.0", "method": method});
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write a notification");
        stdin.flush().expect("flush");
    }

    /// Calls `generate_image` with `arguments`; the tool result (`result` of the answer).
    pub fn generate_image(&mut self, id: &str, arguments: Value) -> Value {
        let answer = self.ask(
            json!(id),
            "tools/call",
            json!({"name": "generate_image", "arguments": arguments}),
        );
        assert!(answer.get("error").is_none(), "a protocol error: {answer}");
        answer["result"].clone()
    }

    /// Waits up to `deadline` for the child to exit after stdin closes, asserting exit 0.
    pub fn close_ok(&mut self, deadline: Duration) {
        let status = self
            .close(deadline)
            .expect("the face exits when stdin closes");
        assert!(status.success(), "{status}");
    }
}
