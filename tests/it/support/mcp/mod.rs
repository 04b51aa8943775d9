//! Support for the MCP tests: runs `codex-img serve-mcp` (with the fake app-server) under the official
//! MCP Python SDK through `client.py`, and judges what happened through the SDK's view, the fake's
//! record, the files on disk and `/proc`.
//!
//! The SDK itself, and how it is found, is in [`sdk`].
#![allow(dead_code)]

mod sdk;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{self, World};

pub use sdk::*;

/// One MCP session: the server's arguments and the steps the client runs. The server runs with
/// `--structured` (the shape programmatic clients opt into: `structuredContent` beside the text and
/// the image) unless the session is made with [`Session::for_agents`], the default shape that agents
/// get.
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
        let mut session = Self::for_agents(world, args);
        session.args.push("--structured".to_owned());
        session
    }

    /// A session with the server's default shape, made for agents: no `structuredContent`.
    pub fn for_agents(world: &'a World, args: &[&str]) -> Self {
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
            "CODEX_BIN": support::fake_bin(),
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
        ];
        args.extend(server_command());
        args.push("serve-mcp".to_owned());
        args.extend(self.args.iter().cloned());
        let plan = json!({
            "command": "/bin/sh",
            "args": args,
            "env": env,
            "cwd": cwd,
            "errlog": dir.join("server-stderr.log"),
            "steps": self.steps,
        });
        let errlog = dir.join("server-stderr.log");
        let server_stderr = || {
            format!(
                "--- server stderr ---\n{}",
                std::fs::read_to_string(&errlog).unwrap_or_default()
            )
        };
        let report = run_plan(python, &plan, &dir.join("plan.json"), &server_stderr);
        let stderr = std::fs::read_to_string(&errlog).unwrap_or_default();
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

/// How `codex-img` is started: this build's binary, or, when `CODEX_IMG_MCP_SERVER` holds a JSON array
/// of strings, that command and its leading arguments (an installed entry point such as `npx -y
/// codex-img`, so the same sessions test what users install).
pub fn server_command() -> Vec<String> {
    match std::env::var("CODEX_IMG_MCP_SERVER") {
        Ok(json) => {
            let command: Vec<String> = serde_json::from_str(&json).unwrap_or_else(|e| {
                panic!("CODEX_IMG_MCP_SERVER is not a JSON array of strings ({e}): {json}")
            });
            assert!(
                !command.is_empty(),
                "CODEX_IMG_MCP_SERVER is an empty array"
            );
            command
        }
        Err(_) => vec![env!("CARGO_BIN_EXE_codex-img").to_owned()],
    }
}

/// A value unique to this world, in the environment of every process it starts.
pub fn mark(world: &World) -> String {
    format!("codex-img-mcp-{}", world.dir.path().display())
}

/// Pids of live processes whose environment carries `mark`, once none is left or `within` passed.
pub fn processes_marked(mark: &str, within: Duration) -> Vec<i32> {
    support::processes_with_env("CODEX_IMG_TEST_MARK", mark.as_ref(), within)
}

/// The MIME type and the decoded bytes of an MCP `image` content block.
pub fn image_block(block: &Value) -> (String, Vec<u8>) {
    use base64::Engine as _;
    assert_eq!(block["type"], json!("image"), "not an image block: {block}");
    let data = base64::engine::general_purpose::STANDARD
        .decode(block["data"].as_str().expect("data"))
        .expect("base64");
    (
        block["mimeType"].as_str().expect("mimeType").to_owned(),
        data,
    )
}

/// The width and height of a JPEG, read from its header by the library's own reader.
pub fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    let info = codex_img::image::inspect(bytes).expect("an image");
    assert_eq!(info.format, codex_img::ImageFormat::Jpeg);
    (info.width, info.height)
}
