//! The real coding agents as MCP clients of `codex-img serve-mcp`, each talking to a loopback stand-in
//! of its own model, and a record of exactly what the agent's model received.
//!
//! Two Codex installs take part when Codex is the agent, so everything is kept in two worlds:
//!
//! - **codex-img's side** ([`ImageSide`]): its own `CODEX_HOME` with a fake ChatGPT login, a loopback
//!   backend playing the image model (`Mode::Image`, or `Mode::UsageLimit`), and the folder images are
//!   saved in (`--root`). [`ImageSide::server_entry`] is the MCP server entry an agent is given:
//!   the built `codex-img` binary, `serve-mcp`, and the `-c` overrides and environment that point
//!   codex-img's Codex (0.171.0) at that backend.
//! - **the agent's side**: [`claude::run`] runs Claude Code 2.1.332 (`claude -p`) against an
//!   Anthropic Messages API stand-in; [`codex_agent::run`] runs Codex 0.171.0 (`codex exec`) with its
//!   own `CODEX_HOME` and a second loopback backend in `Mode::Agent`. Two backends rather than one:
//!   a backend's mode, usage window and request log are global to it, so one backend would make a
//!   usage limit for images also a usage limit for the agent, and would mix both Codexes' requests in
//!   one log that a test would have to tell apart by guessing.
//!
//! Both runners take a [`Script`] (search, call, say) and return [`Received`]: in order, what the
//! agent's model got back from each search and each tool call, with every image decoded, sniffed and
//! measured. Every process is started in its own process group and bounded by [`AGENT_TIMEOUT`];
//! afterwards no process with the agent's home or codex-img's `CODEX_HOME` may be left (the run fails
//! and kills them if one is), and every temporary folder goes with its owner.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use loopback_backend::{
    codex_command_env, ensure_codex, write_fake_chatgpt_login, Backend, BackendConfig, Block,
    Script, ToolReturn, NEWEST,
};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt as _;

/// The server's name in both agents' MCP configuration.
pub const SERVER: &str = "codex-img";
/// The most one agent run may take, start to exit, before it counts as hung and is killed.
pub const AGENT_TIMEOUT: Duration = Duration::from_secs(330);
/// How long the processes of a finished run may take to go away.
pub const EXIT_GRACE: Duration = Duration::from_secs(10);
/// codex-img's own deadline for one image: the most of what `mcp add` gives Codex (280) and Claude
/// Code (serve-mcp's default, 300).
pub const SERVER_TIMEOUT_SECS: u64 = 300;
/// The agents' tool timeouts, above it: Codex's `tool_timeout_sec` from `mcp add` is 300 with the
/// server's 280; Claude Code's `MCP_TOOL_TIMEOUT` (in seconds) is set here, as docs/mcp.md asks, above
/// 300.
pub const TOOL_TIMEOUT_SECS: u64 = 320;

/// Installs (or finds) Codex [`NEWEST`], off the async runtime; returns its launcher. Fails the test
/// when it cannot be installed.
async fn install_codex() -> PathBuf {
    tokio::task::spawn_blocking(|| ensure_codex(NEWEST))
        .await
        .expect("install task")
        .unwrap_or_else(|e| panic!("installing Codex {NEWEST}: {e}"))
}

// ---------------------------------------------------------------------------------------------------
// codex-img's side.

/// codex-img's world: its Codex, its `CODEX_HOME`, the backend that plays the image model, and the
/// folder the images are saved in.
pub struct ImageSide {
    /// The backend codex-img's Codex talks to.
    pub backend: Backend,
    /// codex-img's Codex (the newest tested release).
    pub launcher: PathBuf,
    dir: tempfile::TempDir,
}

impl ImageSide {
    /// Installs (or finds) Codex [`NEWEST`], starts the image backend with `config`, and writes a fake
    /// ChatGPT login into a new `CODEX_HOME`.
    pub async fn start(config: BackendConfig) -> ImageSide {
        let launcher = install_codex().await;
        let backend = Backend::start(config)
            .await
            .expect("start the image backend");
        let dir = tempfile::Builder::new()
            .prefix("codex-img-agents-")
            .tempdir()
            .expect("tempdir");
        let side = ImageSide {
            backend,
            launcher,
            dir,
        };
        write_fake_chatgpt_login(&side.home(), "plus").expect("fake login");
        std::fs::create_dir_all(side.root()).expect("root");
        side
    }

    /// codex-img's `CODEX_HOME`.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("codex-home")
    }

    /// The folder images are saved in (`serve-mcp --root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("images")
    }

    /// The files saved in [`Self::root`], by name, sorted.
    pub fn saved(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.root())
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The MCP server entry the agents get, written into each agent's configuration by `codex-img mcp
    /// add` itself (the command docs/mcp.md tells users to run, with what it writes shown there): the
    /// built binary by its path, `serve-mcp` with the agent's timeouts, then `-c ...` and `--root ROOT`,
    /// and the environment that points codex-img's Codex at the image backend.
    pub fn server_entry(&self) -> ServerEntry {
        let env = codex_command_env(&self.backend, &self.home());
        let mut serve_args: Vec<String> = Vec::new();
        for o in &env.config_overrides {
            serve_args.extend(["-c".to_owned(), o.clone()]);
        }
        serve_args.extend(["--root".to_owned(), self.root().display().to_string()]);
        let mut vars = env.env.clone();
        vars.push(("CODEX_BIN".into(), self.launcher.display().to_string()));
        vars.push(("RUST_LOG".into(), "warn".into()));
        ServerEntry {
            command: crate::mcp_sdk::codex_img_bin(),
            args: Vec::new(),
            env: vars,
            codex_home: self.home(),
            codex_approve: true,
            mcp_add: Some(serve_args),
        }
    }

    /// Checks that no process with codex-img's `CODEX_HOME` is left and that Codex kept no copy of
    /// an image under `generated_images`.
    pub async fn finish(self) {
        check_no_processes(
            &[env_marker("CODEX_HOME", &self.home())],
            "codex-img's CODEX_HOME",
            &String::new,
        )
        .await;
        let generated = self.home().join("generated_images");
        let deadline = Instant::now() + EXIT_GRACE;
        let leftovers = loop {
            let left: Vec<String> = std::fs::read_dir(&generated)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            if left.is_empty() || Instant::now() >= deadline {
                break left;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            leftovers,
            Vec::<String>::new(),
            "Codex's copies left under {}",
            generated.display()
        );
    }
}

/// An MCP server entry as an agent's configuration holds it.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    /// The program.
    pub command: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment, on top of what the agent passes.
    pub env: Vec<(String, String)>,
    /// codex-img's `CODEX_HOME`, to find its processes.
    pub codex_home: PathBuf,
    /// Whether Codex's entry carries `default_tools_approval_mode = "approve"` (without it, `codex
    /// exec` refuses every tool that is not read-only).
    pub codex_approve: bool,
    /// `Some(serve-mcp arguments)`: `command` is codex-img, and each agent's configuration is written by
    /// `codex-img mcp add` with these arguments after `--` (and `env` as `--env`); `args` is unused.
    /// `None`: the entry is written as it is (another server, such as the self-check's).
    pub mcp_add: Option<Vec<String>>,
}

impl ServerEntry {
    /// The entry as Claude Code's `--mcp-config` file holds it.
    pub fn claude_json(&self) -> Value {
        let env: serde_json::Map<String, Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({"mcpServers": {SERVER: {
            "type": "stdio",
            "command": self.command,
            "args": self.args,
            "env": env,
        }}})
    }

    /// The entry as Codex's `config.toml` holds it: a tool timeout above one image plus a queue and,
    /// unless [`Self::codex_approve`] is off, the approval mode that lets `generate_image` run under
    /// `codex exec`. It is `required`: without that, `codex exec` sends its first model request without
    /// waiting for the server, and a server that has not listed its tools by then is not searchable in
    /// that turn (measured with a server that starts 8 s late: the search found nothing and the call
    /// was "unsupported"); with it, Codex waits up to `startup_timeout_sec`.
    pub fn codex_toml(&self) -> String {
        let quote = |s: &str| Value::String(s.to_owned()).to_string();
        let args: Vec<String> = self.args.iter().map(|a| quote(a)).collect();
        let approve = if self.codex_approve {
            "default_tools_approval_mode = \"approve\"\n"
        } else {
            ""
        };
        let mut toml = format!(
            "[mcp_servers.{SERVER}]\ncommand = {}\nargs = [{}]\nstartup_timeout_sec = 60\nrequired = true\ntool_timeout_sec = {TOOL_TIMEOUT_SECS}\n{approve}\n[mcp_servers.{SERVER}.env]\n",
            quote(&self.command.display().to_string()),
            args.join(", "),
        );
        for (k, v) in &self.env {
            toml.push_str(&format!("{k} = {}\n", quote(v)));
        }
        toml
    }
}

/// Runs `codex-img mcp add AGENT` for `entry` as a user would, in `home` (and, for Codex, its
/// `CODEX_HOME`), with `extra_path` first on `PATH` (where Claude Code's `claude` is). Fails the test
/// when the command fails; returns what it printed.
pub fn mcp_add(
    agent: &str,
    entry: &ServerEntry,
    home: &Path,
    codex_home: Option<&Path>,
    extra_path: Option<&Path>,
) -> String {
    let serve_args = entry.mcp_add.as_ref().expect("an entry written by mcp add");
    let mut command = std::process::Command::new(&entry.command);
    command.env_clear();
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let path = match extra_path {
        Some(dir) => format!("{}:{path}", dir.display()),
        None => path,
    };
    command.env("PATH", path).env("HOME", home);
    if let Some(codex_home) = codex_home {
        command.env("CODEX_HOME", codex_home);
    }
    command.args(["mcp", "add", agent, "--via", "path", "--name", SERVER]);
    for (k, v) in &entry.env {
        command.arg("--env").arg(format!("{k}={v}"));
    }
    command.arg("--").args(serve_args);
    let out = command.output().expect("run codex-img mcp add");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "codex-img mcp add {agent} failed ({}):\n{printed}",
        out.status
    );
    printed
}

/// A real-sized image, as Codex's image tool returns them: a 1254x1254 RGB PNG of about 2.4 MB (see
/// [`noisy_png`]).
pub fn real_sized_png() -> Vec<u8> {
    noisy_png(1254, 1254, 3)
}

/// A `width`x`height` RGB PNG, compressed: a smooth gradient with `noise_bits` low bits of
/// deterministic noise in each channel, so it compresses as a busy picture does rather than to
/// nothing (3 bits at 1254x1254 give about 2.4 MB, as real outputs weigh).
pub fn noisy_png(width: u32, height: u32, noise_bits: u32) -> Vec<u8> {
    use image::ImageEncoder as _;
    let noise_mask = (1u32 << noise_bits.min(8)) - 1;
    let mut state: u32 = 0x9e37_79b9;
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            for channel in 0..3u32 {
                // xorshift32: the same bytes on every run.
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let smooth = match channel {
                    0 => x * 255 / width.max(1),
                    1 => y * 255 / height.max(1),
                    _ => (x + y) * 255 / (width + height).max(1),
                };
                rgb.push(((smooth & !noise_mask) | (state & noise_mask)) as u8);
            }
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .expect("encode the PNG");
    png
}

// ---------------------------------------------------------------------------------------------------
// What the model received.

/// Which agent ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// Claude Code 2.1.332.
    ClaudeCode,
    /// Codex 0.171.0 under `codex exec`.
    Codex,
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Agent::ClaudeCode => "Claude Code",
            Agent::Codex => "Codex",
        })
    }
}

/// One image the model received, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenImage {
    /// The media type the agent declared.
    pub media_type: String,
    /// The format sniffed from the bytes (`png`, `jpeg`, `webp`, `gif`, or `unknown`).
    pub format: &'static str,
    /// Width in pixels (0 when the bytes do not decode).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl SeenImage {
    fn new(media_type: &str, bytes: &[u8]) -> SeenImage {
        let format = match image::guess_format(bytes) {
            Ok(image::ImageFormat::Png) => "png",
            Ok(image::ImageFormat::Jpeg) => "jpeg",
            Ok(image::ImageFormat::WebP) => "webp",
            Ok(image::ImageFormat::Gif) => "gif",
            _ => "unknown",
        };
        let (width, height) = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_dimensions().ok())
            .unwrap_or((0, 0));
        SeenImage {
            media_type: media_type.to_owned(),
            format,
            width,
            height,
            bytes: bytes.to_vec(),
        }
    }

    /// `jpeg 1024x1024, 183211 bytes (declared image/jpeg)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}x{}, {} bytes (declared {})",
            self.format,
            self.width,
            self.height,
            self.bytes.len(),
            self.media_type
        )
    }
}

/// What the model got back from one search or one tool call.
#[derive(Debug, Clone)]
pub struct Return {
    /// The tool's name as the model called it (Claude Code: `ToolSearch`,
    /// `mcp__codex-img__generate_image`; Codex: `tool_search`, `mcp__codex_img.generate_image`).
    pub name: String,
    /// The call's arguments.
    pub input: Value,
    /// The agent's error flag, where it passes one (Claude Code); `None` for Codex.
    pub is_error: Option<bool>,
    /// The text blocks, in order.
    pub texts: Vec<String>,
    /// The images, in order.
    pub images: Vec<SeenImage>,
    /// The tools a search loaded, in order.
    pub tools: Vec<String>,
    /// Anything else the agent put in the result, as sent.
    pub other: Vec<Value>,
    /// The result exactly as the agent sent it to its model.
    pub raw: Value,
}

impl Return {
    fn from_tool_return(r: ToolReturn) -> Return {
        let mut out = Return {
            name: r.name,
            input: r.input,
            is_error: r.is_error,
            texts: Vec::new(),
            images: Vec::new(),
            tools: Vec::new(),
            other: Vec::new(),
            raw: r.raw,
        };
        for block in r.blocks {
            match block {
                Block::Text(t) => out.texts.push(t),
                Block::Image { media_type, data } => {
                    out.images.push(SeenImage::new(&media_type, &data))
                }
                Block::Tool(t) => out.tools.push(t),
                Block::Other(v) => out.other.push(v),
            }
        }
        out
    }

    /// Every text block, joined with newlines.
    pub fn text(&self) -> String {
        self.texts.join("\n")
    }

    /// The size of all text, in bytes.
    pub fn text_bytes(&self) -> usize {
        self.texts.iter().map(String::len).sum()
    }

    /// The first text block that is a JSON object, when the model got a JSON report (a tool's
    /// `structuredContent`, as the agents pass it) instead of prose. Codex's own `Wall time: …\nOutput:\n`
    /// preamble is skipped, whether it shares the block or has one of its own.
    pub fn json_report(&self) -> Option<Value> {
        self.texts.iter().find_map(|text| {
            let body = match text.split_once("\nOutput:\n") {
                Some((head, rest)) if head.starts_with("Wall time:") => rest,
                _ => text.as_str(),
            };
            serde_json::from_str::<Value>(body.trim())
                .ok()
                .filter(Value::is_object)
        })
    }

    /// The tools of codex-img a search found, by their bare names (`generate_image`), in order.
    pub fn found(&self) -> Vec<String> {
        self.tools
            .iter()
            .filter(|t| is_codex_img_tool(t))
            .map(|t| bare_tool_name(t).to_owned())
            .collect()
    }

    /// One line: the call, the error flag, the text size, each image.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} -> is_error {:?}, {} text block(s) of {} bytes",
            self.name,
            self.is_error,
            self.texts.len(),
            self.text_bytes()
        );
        for image in &self.images {
            out.push_str(&format!("; image {}", image.describe()));
        }
        if !self.tools.is_empty() {
            out.push_str(&format!("; tools {:?}", self.tools));
        }
        if !self.other.is_empty() {
            let shown: Vec<String> = self
                .other
                .iter()
                .map(|v| short(&v.to_string(), 200))
                .collect();
            out.push_str(&format!("; other {shown:?}"));
        }
        out
    }
}

/// Whether a tool name an agent uses names one of codex-img's tools (by the server's name in it).
pub fn is_codex_img_tool(name: &str) -> bool {
    name.contains("codex-img") || name.contains("codex_img")
}

/// `generate_image` from `mcp__codex-img__generate_image` or `mcp__codex_img.generate_image`.
pub fn bare_tool_name(name: &str) -> &str {
    let after_dot = name.rsplit('.').next().unwrap_or(name);
    after_dot.rsplit("__").next().unwrap_or(after_dot)
}

/// What an agent's model received in one run, and how the run went.
#[derive(Debug)]
pub struct Received {
    /// The agent that ran.
    pub agent: Agent,
    /// What the model got back from each search and call, in order.
    pub returns: Vec<Return>,
    /// How long the agent ran, start to exit.
    pub elapsed: Duration,
    /// The agent's stdout (Claude Code's stream-json, Codex's `--json` events).
    pub stdout: String,
    /// The tail of the agent's stderr.
    pub stderr: String,
    /// The stand-in's request log, one line a request.
    pub requests: String,
}

impl Received {
    /// The returns of calls to codex-img's `tool` (bare name), in order.
    pub fn calls_of(&self, tool: &str) -> Vec<&Return> {
        self.returns
            .iter()
            .filter(|r| is_codex_img_tool(&r.name) && bare_tool_name(&r.name) == tool)
            .collect()
    }

    /// The returns of searches, in order.
    pub fn searches(&self) -> Vec<&Return> {
        self.returns
            .iter()
            .filter(|r| r.name == "ToolSearch" || r.name == "tool_search")
            .collect()
    }

    /// Everything for a failure message.
    pub fn diagnostics(&self) -> String {
        format!(
            "---- {} ran {:.1}s; what its model received:\n{}\n---- its model stand-in's requests:\n{}---- stdout (tail):\n{}\n---- stderr (tail):\n{}",
            self.agent,
            self.elapsed.as_secs_f64(),
            self.returns.iter().map(Return::describe).collect::<Vec<_>>().join("\n"),
            self.requests,
            tail(&self.stdout, 6000),
            tail(&self.stderr, 4000)
        )
    }

    /// What the model received, one line a call, for the test output.
    pub fn report(&self) -> String {
        let mut out = format!("{} ({:.1}s):\n", self.agent, self.elapsed.as_secs_f64());
        for r in &self.returns {
            out.push_str(&format!("  {}\n", r.describe()));
            if !r.texts.is_empty() {
                out.push_str(&format!("    text: {}\n", short(&r.text(), 600)));
            }
        }
        out
    }
}

fn short(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

// ---------------------------------------------------------------------------------------------------
// Running an agent.

/// An agent process's outcome.
struct Run {
    status: Option<std::process::ExitStatus>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `command` in its own process group with no stdin, reading stdout and stderr, bounded by
/// [`AGENT_TIMEOUT`]: on the deadline the group is killed and the run reports no status.
async fn run_bounded(mut command: tokio::process::Command) -> Run {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().expect("start the agent");
    let pgid = child.id().expect("the agent's pid") as i32;
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let read_out = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf).await;
        buf
    });
    let read_err = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        buf
    });
    let status = match tokio::time::timeout(AGENT_TIMEOUT, child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            // SAFETY: signalling the process group this function created; no memory is involved.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            None
        }
    };
    let elapsed = started.elapsed();
    // The pipes close when every process holding them is gone; bounded, in case a grandchild keeps
    // one open.
    let collect = |task: tokio::task::JoinHandle<Vec<u8>>| async move {
        match tokio::time::timeout(EXIT_GRACE, task).await {
            Ok(Ok(buf)) => String::from_utf8_lossy(&buf).into_owned(),
            _ => String::from("(still open after the agent exited)"),
        }
    };
    let stdout = collect(read_out).await;
    let stderr = collect(read_err).await;
    Run {
        status,
        stdout,
        stderr,
        elapsed,
    }
}

/// A minimal environment for an agent: no variable of the machine's own except `PATH` and a locale,
/// so neither agent finds a real login, a proxy or a user's configuration.
fn base_env(command: &mut tokio::process::Command, home: &Path) {
    command.env_clear();
    command.env(
        "PATH",
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
    );
    command.env("HOME", home);
    command.env("LANG", "C.UTF-8");
    command.env("TMPDIR", std::env::temp_dir());
    command.env("NO_PROXY", "127.0.0.1,localhost");
    command.env("no_proxy", "127.0.0.1,localhost");
}

/// Waits for the processes of a finished run to go away: none with the agent's home or codex-img's
/// `CODEX_HOME` in its environment may be left. Kills and reports the ones that are.
async fn check_no_processes(markers: &[Vec<u8>], what: &str, diagnostics: &dyn Fn() -> String) {
    let left = wait_for_no_processes(markers, EXIT_GRACE).await;
    let killed = kill_all(&left);
    assert!(
        left.is_empty(),
        "{what}: processes outlived the agent (killed {killed}):\n{}\n{}",
        left.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        diagnostics()
    );
}

pub mod claude {
    //! Claude Code as the MCP client.

    use super::*;
    use loopback_backend::{ensure_claude_code, Messages};

    /// The prompt Claude Code is started with; the scripted model does not read it.
    pub const PROMPT: &str = "Make the picture the user asked for with the codex-img tools.";

    /// Runs Claude Code once with `entry` as its only MCP server (`--strict-mcp-config`), both of
    /// codex-img's tools allowed, against a Messages API stand-in that follows `script`; returns what
    /// its model received. Fails the test when Claude Code cannot be installed, hangs past
    /// [`AGENT_TIMEOUT`], or leaves a process behind.
    pub async fn run(entry: &ServerEntry, script: Script) -> Received {
        let claude = tokio::task::spawn_blocking(ensure_claude_code)
            .await
            .expect("install task")
            .unwrap_or_else(|e| panic!("installing Claude Code: {e}"));
        let model = Messages::start(script)
            .await
            .expect("start the Messages API stand-in");
        let dir = tempfile::Builder::new()
            .prefix("codex-img-claude-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&work).expect("work");
        let allowed = format!("mcp__{SERVER}__generate_image,mcp__{SERVER}__codex_status");
        // codex-img's own entry goes in through `codex-img mcp add claude-code`, which runs Claude Code's
        // `claude mcp add --scope user`; Claude Code then reads its own user configuration. Another
        // server is given with --mcp-config.
        let config = dir.path().join("mcp.json");
        let strict = if entry.mcp_add.is_some() {
            mcp_add("claude-code", entry, &home, None, claude.parent());
            None
        } else {
            std::fs::write(&config, entry.claude_json().to_string()).expect("mcp config");
            Some(&config)
        };

        let mut command = tokio::process::Command::new(&claude);
        base_env(&mut command, &home);
        command
            .env("ANTHROPIC_BASE_URL", model.base_url())
            .env("ANTHROPIC_API_KEY", "sk-ant-loopback-not-real")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("MCP_TIMEOUT", "60000")
            .env("MCP_TOOL_TIMEOUT", (TOOL_TIMEOUT_SECS * 1000).to_string())
            .current_dir(&work)
            .arg("-p")
            .arg(PROMPT);
        if let Some(config) = strict {
            command
                .arg("--mcp-config")
                .arg(config)
                .arg("--strict-mcp-config");
        }
        command.arg("--allowedTools").arg(&allowed).args([
            "--output-format",
            "stream-json",
            "--verbose",
        ]);
        let run = run_bounded(command).await;
        let received = Received {
            agent: Agent::ClaudeCode,
            returns: model
                .returns()
                .into_iter()
                .map(Return::from_tool_return)
                .collect(),
            elapsed: run.elapsed,
            stdout: run.stdout,
            stderr: run.stderr,
            requests: model.request_log(),
        };
        save_transcript(&received, &model.requests());
        check_no_processes(
            &[
                env_marker("HOME", &home),
                env_marker("CODEX_HOME", &entry.codex_home),
            ],
            "Claude Code",
            &|| received.diagnostics(),
        )
        .await;
        assert!(
            run.status.is_some_and(|s| s.success()),
            "Claude Code ended with {:?} (None: killed after {}s)\n{}",
            run.status,
            AGENT_TIMEOUT.as_secs(),
            received.diagnostics()
        );
        received
    }
}

pub mod codex_agent {
    //! Codex (`codex exec`) as the MCP client.

    use super::*;
    use loopback_backend::Mode;

    /// The prompt `codex exec` is started with; the scripted model does not read it.
    pub const PROMPT: &str = "Make the picture the user asked for with the codex-img tools.";

    /// Runs `codex exec` (Codex [`NEWEST`]) once with `entry` in its own `CODEX_HOME`'s `config.toml`
    /// (with `default_tools_approval_mode = "approve"` and `tool_timeout_sec = 300`), against a
    /// second loopback backend whose model follows `script`; returns what its model received.
    pub async fn run(entry: &ServerEntry, script: Script) -> Received {
        let launcher = install_codex().await;
        let model = Backend::start(BackendConfig {
            mode: Mode::Agent(script),
            ..BackendConfig::default()
        })
        .await
        .expect("start the agent's backend");
        let dir = tempfile::Builder::new()
            .prefix("codex-img-codex-agent-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        let codex_home = dir.path().join("codex-home");
        let work = dir.path().join("work");
        for d in [&home, &codex_home, &work] {
            std::fs::create_dir_all(d).expect("agent folders");
        }
        write_fake_chatgpt_login(&codex_home, "plus").expect("fake login");
        let config = codex_home.join("config.toml");
        if entry.mcp_add.is_some() {
            mcp_add("codex", entry, &home, Some(&codex_home), None);
            if !entry.codex_approve {
                // The one setting whose absence is under test, taken out of what mcp add wrote.
                let written = std::fs::read_to_string(&config).expect("config.toml");
                let without: String = written
                    .lines()
                    .filter(|l| !l.starts_with("default_tools_approval_mode"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                assert_ne!(written, without, "mcp add wrote the approval mode");
                std::fs::write(&config, without).expect("config.toml");
            }
        } else {
            std::fs::write(&config, entry.codex_toml()).expect("config.toml");
        }
        let env = codex_command_env(&model, &codex_home);

        let mut command = tokio::process::Command::new(&launcher);
        base_env(&mut command, &home);
        for (k, v) in &env.env {
            command.env(k, v);
        }
        command.current_dir(&work).arg("exec");
        // The overrides that point Codex at its backend; not `mcp_servers={}`, which would drop the
        // server entry.
        for o in env
            .config_overrides
            .iter()
            .filter(|o| !o.starts_with("mcp_servers"))
        {
            command.args(["-c", o]);
        }
        command
            .args(["--skip-git-repo-check", "--ephemeral", "--json", "-C"])
            .arg(&work)
            .arg(PROMPT);
        let run = run_bounded(command).await;
        let received = Received {
            agent: Agent::Codex,
            returns: model
                .agent_returns()
                .into_iter()
                .map(Return::from_tool_return)
                .collect(),
            elapsed: run.elapsed,
            stdout: run.stdout,
            stderr: run.stderr,
            requests: model.request_log(),
        };
        save_transcript(&received, &model.requests());
        check_no_processes(
            &[
                env_marker("CODEX_HOME", &codex_home),
                env_marker("HOME", &home),
                env_marker("CODEX_HOME", &entry.codex_home),
            ],
            "Codex",
            &|| received.diagnostics(),
        )
        .await;
        assert!(
            run.status.is_some_and(|s| s.success()),
            "codex exec ended with {:?} (None: killed after {}s)\n{}",
            run.status,
            AGENT_TIMEOUT.as_secs(),
            received.diagnostics()
        );
        received
    }
}

/// With `CODEX_IMG_AGENTS_OUT` set, writes the stand-in's requests (one JSON line each, bodies as
/// JSON where they are) and the agent's stdout there, for a person to read.
fn save_transcript(received: &Received, requests: &[loopback_backend::RecordedRequest]) {
    let Some(out) = std::env::var_os("CODEX_IMG_AGENTS_OUT").filter(|o| !o.is_empty()) else {
        return;
    };
    let out = PathBuf::from(out);
    let _ = std::fs::create_dir_all(&out);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let name = match received.agent {
        Agent::ClaudeCode => "claude",
        Agent::Codex => "codex",
    };
    let mut lines = String::new();
    for r in requests {
        let body = r
            .json()
            .unwrap_or_else(|| json!(String::from_utf8_lossy(&r.body)));
        let line = json!({"method": r.method, "path": r.path, "status": r.status, "headers": r.headers, "body": body});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let _ = std::fs::write(out.join(format!("{name}-{stamp}-requests.jsonl")), lines);
    let _ = std::fs::write(
        out.join(format!("{name}-{stamp}-stdout.jsonl")),
        &received.stdout,
    );
    let _ = std::fs::write(
        out.join(format!("{name}-{stamp}-stderr.txt")),
        &received.stderr,
    );
}

// ---------------------------------------------------------------------------------------------------
// Processes.

/// A process found by its environment.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its pid.
    pub pid: i32,
    /// Its command line.
    pub cmdline: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}: {}", self.pid, self.cmdline)
    }
}

/// `NAME=<path>` as bytes, to look for in a process's environment.
pub fn env_marker(name: &str, path: &Path) -> Vec<u8> {
    let mut marker = format!("{name}=").into_bytes();
    marker.extend_from_slice(path.as_os_str().as_encoded_bytes());
    marker
}

/// Processes (other than this one) whose environment holds one of `markers` exactly.
pub fn processes_with(markers: &[Vec<u8>]) -> Vec<Found> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ
            .split(|b| *b == 0)
            .any(|var| markers.iter().any(|m| var == m.as_slice()))
        {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(Found {
                pid,
                cmdline: String::from_utf8_lossy(&cmdline).replace('\0', " "),
            });
        }
    }
    found
}

/// Polls until no process matches, or `within` passes; returns what is left.
pub async fn wait_for_no_processes(markers: &[Vec<u8>], within: Duration) -> Vec<Found> {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_with(markers);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kills each process (by pid: they are this run's own, found by the private homes this harness
/// made); returns how many signals were sent.
fn kill_all(found: &[Found]) -> usize {
    let mut sent = 0;
    for p in found {
        // SAFETY: a plain signal to a pid this run started (its environment holds a private path).
        if unsafe { libc::kill(p.pid, libc::SIGKILL) } == 0 {
            sent += 1;
        }
    }
    sent
}
