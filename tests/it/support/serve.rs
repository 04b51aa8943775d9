//! A line-delimited face (`codex-img serve-stdio`, `serve-mcp`) as a real child process of the test,
//! its stdout read on a thread so every wait has a deadline; the MCP handshake and tool call on it.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{eventually, World};

/// `codex-img serve-stdio` as a real child process, read on a thread so every wait has a deadline.
pub struct Serve {
    pub child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<Value>,
    pending: Vec<Value>,
}

impl Serve {
    /// Starts `serve-stdio` on the fake Codex of `world`, with `env` on top; stderr goes to `stderr`.
    pub fn spawn(world: &World, env: &[(&str, &OsStr)], stderr: std::process::Stdio) -> Self {
        Self::spawn_face(&[OsStr::new("serve-stdio")], world, env, stderr)
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    /// Sends a request without waiting for its answer.
    pub fn send(&mut self, id: Value, method: &str, params: Value) {
        use std::io::Write as _;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{request}").expect("write a request");
        stdin.flush().expect("flush");
    }

    /// The answer to `id` (result or error) within `deadline`; `None` if none came (or output ended).
    pub fn answer(&mut self, id: &Value, deadline: Duration) -> Option<Value> {
        let is_answer =
            |v: &Value| &v["id"] == id && (v.get("result").is_some() || v.get("error").is_some());
        if let Some(pos) = self.pending.iter().position(is_answer) {
            return Some(self.pending.remove(pos));
        }
        let until = Instant::now() + deadline;
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            let v = self.lines.recv_timeout(left).ok()?;
            if is_answer(&v) {
                return Some(v);
            }
            self.pending.push(v);
        }
    }

    /// Sends a request and waits up to a minute for its answer.
    pub fn ask(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(id.clone(), method, params);
        self.answer(&id, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("no answer to {id} within a minute"))
    }

    /// Closes stdin and waits up to `deadline` for the process to exit; its status, or `None`.
    pub fn close(&mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        self.stdin = None;
        self.wait(deadline)
    }

    /// Waits up to `deadline` for the process to exit.
    pub fn wait(&mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        eventually(deadline, || self.child.try_wait().ok().flatten())
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid this test started and still holds (not yet reaped).
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.pid());
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Serve {
    /// Starts `codex-img <args>` (a line-delimited face) on the fake Codex of `world`.
    pub fn spawn_face(
        args: &[&OsStr],
        world: &World,
        env: &[(&str, &OsStr)],
        stderr: std::process::Stdio,
    ) -> Self {
        use std::io::BufRead as _;
        let mut cmd = world.command(args);
        cmd.env(
            "CODEX_IMG_RECOVERY_DIR",
            world.dir.path().join("state/recovered"),
        )
        .env("XDG_CACHE_HOME", world.dir.path().join("cache"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr);
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
        args: &[&OsStr],
        world: &World,
        env: &[(&str, &OsStr)],
        stderr: std::process::Stdio,
    ) -> Self {
        // The structured shape: these tests judge the report in `structuredContent`.
        let mut all: Vec<&OsStr> = vec![OsStr::new("serve-mcp"), OsStr::new("--structured")];
        all.extend_from_slice(args);
        let mut serve = Self::spawn_face(&all, world, env, stderr);
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
