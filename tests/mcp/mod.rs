//! Support for the MCP tests: runs `codex-img serve-mcp` (with the fake app-server) under the official
//! MCP Python SDK through `client.py`, and judges what happened through the SDK's view, the fake's
//! record, the files on disk and `/proc`.
//!
//! The SDK comes from the virtualenv that `.ci/run` creates (`.cache/venv`, with `mcp==2.3.0`), or from
//! `CODEX_IMG_MCP_PYTHON`. Without it the tests skip with a message, except under `CI=true`, where a
//! missing client is a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{self, World};

/// The SDK release the tests are written against.
pub const SDK_VERSION: &str = "2.3.0";

/// The Python with the MCP SDK, or `None` (after saying why) when the tests must skip.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("CODEX_IMG_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/venv/bin/python"));
    let version = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('mcp'))",
        ])
        .output();
    let problem = match version {
        Ok(out) if out.status.success() => {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if found == SDK_VERSION {
                return Some(python);
            }
            format!("{} has mcp {found}, not {SDK_VERSION}", python.display())
        }
        Ok(out) => format!(
            "{} cannot import the MCP SDK: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("no Python at {}: {e}", python.display()),
    };
    let fix = format!(
        "create it with `python3 -m venv .cache/venv && .cache/venv/bin/pip install mcp=={SDK_VERSION}` (as .ci/run does), or set CODEX_IMG_MCP_PYTHON"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the MCP Python SDK is required in CI: {problem}; {fix}");
    }
    eprintln!("SKIPPED: the MCP tests need the official MCP Python SDK: {problem}; {fix}");
    None
}

/// One MCP session: the server's arguments and the steps the client runs.
pub struct Session<'a> {
    pub world: &'a World,
    pub args: Vec<String>,
    pub steps: Vec<Value>,
    /// The server's working directory (default: the world's `cwd`, created empty).
    pub cwd: Option<PathBuf>,
}

/// What a session produced.
#[derive(Debug)]
pub struct Outcome {
    /// `initialize`'s result, as the SDK parsed it.
    pub initialize: Value,
    /// One entry per step, in order.
    pub steps: Vec<Value>,
    /// The server's stderr.
    pub stderr: String,
}

impl<'a> Session<'a> {
    pub fn new(world: &'a World, args: &[&str]) -> Self {
        Self {
            world,
            args: args.iter().map(|s| s.to_string()).collect(),
            steps: Vec::new(),
            cwd: None,
        }
    }

    pub fn step(mut self, step: Value) -> Self {
        self.steps.push(step);
        self
    }

    pub fn list_tools(self) -> Self {
        self.step(json!({"op": "list_tools"}))
    }

    /// A `tools/call`, with a progress token when `progress`.
    pub fn call(self, tool: &str, arguments: Value, progress: bool) -> Self {
        self.step(json!({"op": "call", "tool": tool, "arguments": arguments, "progress": progress}))
    }

    /// A `tools/call` that the client cancels once progress for `phase` arrives.
    pub fn cancel(self, tool: &str, arguments: Value, phase: &str) -> Self {
        self.step(
            json!({"op": "cancel", "tool": tool, "arguments": arguments, "after_phase": phase}),
        )
    }

    /// Runs the session with `python`, then checks that the server exited 0 on its own once the client
    /// closed its stdin, and that no process of this world is left.
    pub fn run(self, python: &Path) -> Outcome {
        let world = self.world;
        let dir = world.dir.path();
        let cwd = self.cwd.clone().unwrap_or_else(|| dir.join("cwd"));
        std::fs::create_dir_all(&cwd).expect("cwd");
        std::fs::create_dir_all(dir.join("cache")).expect("cache");
        let mark = mark(world);
        let exit_file = dir.join("server-exit");
        let _ = std::fs::remove_file(&exit_file);
        let mut env = json!({
            "PATH": std::env::var("PATH").unwrap_or_default(),
            "CODEX_BIN": common::fake_bin(),
            "CODEX_HOME": world.home(),
            "FAKE_RECORD_DIR": world.record(),
            "XDG_CACHE_HOME": dir.join("cache"),
            "RUST_LOG": "warn,codex_img=info",
            "CODEX_IMG_TEST_MARK": mark,
            "SERVER_EXIT_FILE": exit_file,
        });
        for (k, v) in &world.env {
            env[k] = json!(v);
        }
        // The SDK kills a server that is still running 2 s after its stdin closed; the wrapper records
        // the exit status only when the server ended by itself.
        let mut args = vec![
            "-c".to_owned(),
            r#""$0" "$@"; echo "$?" > "$SERVER_EXIT_FILE""#.to_owned(),
            env!("CARGO_BIN_EXE_codex-img").to_owned(),
            "serve-mcp".to_owned(),
        ];
        args.extend(self.args.iter().cloned());
        let plan = json!({
            "command": "/bin/sh",
            "args": args,
            "env": env,
            "cwd": cwd,
            "errlog": dir.join("server-stderr.log"),
            "steps": self.steps,
        });
        let plan_file = dir.join("plan.json");
        std::fs::write(&plan_file, serde_json::to_vec(&plan).expect("json")).expect("plan");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
        let out = Command::new(python)
            .arg(&script)
            .arg(&plan_file)
            .output()
            .expect("run the MCP client");
        let stderr = std::fs::read_to_string(dir.join("server-stderr.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "the MCP client failed ({}):\n{}\n--- server stderr ---\n{stderr}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "the client printed no report ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let exit = std::fs::read_to_string(&exit_file).unwrap_or_default();
        assert_eq!(
            exit.trim(),
            "0",
            "serve-mcp did not exit 0 by itself after stdin closed\n--- server stderr ---\n{stderr}"
        );
        let left = processes_marked(&mark, Duration::from_secs(10));
        assert_eq!(left, Vec::<i32>::new(), "processes left running\n{stderr}");
        Outcome {
            initialize: report["initialize"].clone(),
            steps: report["steps"].as_array().cloned().unwrap_or_default(),
            stderr,
        }
    }
}

/// A value unique to this world, in the environment of every process it starts.
pub fn mark(world: &World) -> String {
    format!("codex-img-mcp-{}", world.dir.path().display())
}

/// Pids of live processes whose environment carries `mark`, once none is left or `within` passed.
pub fn processes_marked(mark: &str, within: Duration) -> Vec<i32> {
    let needle = format!("CODEX_IMG_TEST_MARK={mark}\0");
    let until = std::time::Instant::now() + within;
    loop {
        let found: Vec<i32> = std::fs::read_dir("/proc")
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|pid| {
                        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                            env.windows(needle.len()).any(|w| w == needle.as_bytes())
                        }) && common::alive(*pid)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if found.is_empty() || std::time::Instant::now() >= until {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A call's result.
pub fn result(step: &Value) -> &Value {
    assert!(
        step.get("result").is_some(),
        "the call has no result: {step}"
    );
    &step["result"]
}

/// A failed call's error report (its `structuredContent`), checked to be a coded `isError` result whose
/// text names the code and message.
pub fn error_report(step: &Value) -> Value {
    let r = result(step);
    assert_eq!(r["isError"], json!(true), "{step}");
    let report = r["structuredContent"].clone();
    let text = r["content"][0]["text"].as_str().unwrap_or_default();
    let expected = format!(
        "error[{}]: {}",
        report["code"].as_str().unwrap_or_default(),
        report["message"].as_str().unwrap_or_default()
    );
    assert!(
        text.starts_with(&expected),
        "{text:?} does not start with {expected:?}"
    );
    report
}

/// The phase of each progress notification, from its message (`<phase>: ...`).
pub fn phases(step: &Value) -> Vec<String> {
    step["progress"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|n| {
                    let message = n["message"].as_str().unwrap_or_default();
                    message.split(':').next().unwrap_or_default().to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Files in a folder, by name, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
