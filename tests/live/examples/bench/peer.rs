//! The best warm peer in the same run: imagegen-bridge (Crimsab/imagegen-bridge), a Rust bridge whose
//! `codex-app-server` provider keeps one supervised warm `codex app-server` child. It is built outside
//! this repository (`tests/live/peer/build.sh`) and found through `CODEX_IMG_BENCH_PEER`; when that is
//! unset, the table says the rows were skipped and no figure is printed.
//!
//! It is configured the way its docs give the app-server provider (`[providers.codex_app_server]` with
//! `executable` and `args` after `app-server`; requests routed to `codex-app-server`), pointed at the
//! same Codex binary, the same loopback backend (the same `-c` overrides and environment as codex-img's
//! children) and the same fake ChatGPT login (written into a home of its own, so what it leaves in
//! `generated_images` is its own and can be counted). It serves HTTP on 127.0.0.1; each image is one
//! `POST /v1/images` whose answer is checked (one image, base64 that decodes to a PNG of the stated
//! size and sha256), so a fast failure is never timed as speed.
//!
//! Sequential images alternate with codex-img's warm library call on the same backend, so the
//! machine's noise falls on both alike; the ratio is the issue's "warm p50 / the best warm peer's p50".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use codex_img::{Client, GenerateRequest};
use loopback_backend::{codex_command_env, write_fake_chatgpt_login};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{ms, x, Res, Stats, Table, World, PROMPT};

/// The environment variable naming the built peer binary.
const PEER_ENV: &str = "CODEX_IMG_BENCH_PEER";

/// Text of the peer's `developerInstructions`, present in every model request of its threads: how its
/// requests are told apart from codex-img's on the shared backend.
const PEER_MARKER: &str = "call image_gen.imagegen exactly once";

/// How long one image, or the peer's start-up, may take before the bench gives up.
const DEADLINE: Duration = Duration::from_secs(120);

/// The peer binary, or `None` (with the reason printed) when the bench should skip it.
fn binary() -> Option<PathBuf> {
    match std::env::var_os(PEER_ENV) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "the peer (imagegen-bridge) rows are skipped: {PEER_ENV} is unset; see BENCHMARKS.md, \"The peer\""
            );
            None
        }
    }
}

/// The table row that says the peer was not measured.
fn skipped_row(table: &mut Table, v: &str) {
    table.row(
        format!("{v}: imagegen-bridge warm, app-server provider"),
        format!("skipped: {PEER_ENV} is unset"),
        "",
        "",
    );
}

/// The peer's rows for one release, in a run that already has `world` and a warm `client`: measured,
/// or a row saying it was skipped (unset variable) or failed (its error, and the run goes on).
pub async fn section(world: &World, client: &Client, n: usize, v: &str, table: &mut Table) {
    let Some(bin) = binary() else {
        skipped_row(table, v);
        return;
    };
    if let Err(e) = rows(&bin, world, client, n, v, table).await {
        eprintln!("{v}: the peer failed: {e}");
        table.row(
            format!("{v}: imagegen-bridge warm, app-server provider"),
            format!("failed: {e:.300}"),
            "",
            "",
        );
    }
}

/// `--peer-only`: one warm codex-img client and the peer, nothing else, for short runs.
pub async fn only(version: &str, n: usize, table: &mut Table) -> Res<()> {
    let v = format!("Codex {version}");
    let world = World::start(version).await?;
    let client = world.builder().concurrency(8).build();
    client.generate(GenerateRequest::new("warm-up")).await?;
    section(&world, &client, n, &v, table).await;
    client.shutdown().await;
    Ok(())
}

/// Measures the peer against `client` (warm, on `world`) and adds its rows to the table.
async fn rows(
    bin: &Path,
    world: &World,
    client: &Client,
    n: usize,
    v: &str,
    table: &mut Table,
) -> Res<()> {
    eprintln!("{v}: the peer (imagegen-bridge), interleaved with codex-img warm");
    let peer = Peer::start(bin, world).await?;
    let measured = measure(&peer, world, client, n).await;
    let stopped = peer.stop().await;
    let m = measured?;
    stopped?;
    let name = format!("imagegen-bridge {}", m.version);
    table.row(
        format!("{v}: {name} warm, app-server provider"),
        format!(
            "{} (codex-img warm, interleaved: {})",
            m.peer.pair(),
            m.ours.pair()
        ),
        format!("{} (codex-img / it)", x(m.ours.p50(), m.peer.p50())),
        &format!("{name} warm p50, {v}, same run"),
    );
    table.row(
        format!("{v}: {name}, 4 at once (wall)"),
        format!(
            "{:.0} ms, {} of 4 images{} (codex-img 4 at once: {:.0} ms)",
            m.burst_wall, m.burst_ok, m.burst_errors, m.ours_burst_wall
        ),
        format!("{} (codex-img / it)", x(m.ours_burst_wall, m.burst_wall)),
        &format!("{name} 4 at once, {v}"),
    );
    table.row(
        format!("{v}: {name}, model requests per image"),
        format!(
            "{:.2} (codex-img, same window: {:.2}); files it left in CODEX_HOME/generated_images: {}",
            m.peer_model, m.ours_model, m.left_files
        ),
        format!("{} (codex-img / it)", x(m.ours_model, m.peer_model)),
        &format!("{name}, {v}"),
    );
    Ok(())
}

struct Measured {
    version: String,
    peer: Stats,
    ours: Stats,
    burst_wall: f64,
    burst_ok: usize,
    burst_errors: String,
    ours_burst_wall: f64,
    peer_model: f64,
    ours_model: f64,
    left_files: usize,
}

async fn measure(peer: &Peer, world: &World, client: &Client, n: usize) -> Res<Measured> {
    peer.generate("warm-up").await?;
    let from = world.backend.requests().len();
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    for i in 0..n {
        // Alternate which goes first, so neither always follows the other's cleanup.
        for turn in [i % 2, 1 - i % 2] {
            let t = Instant::now();
            if turn == 0 {
                peer.generate(&format!("{PROMPT} peer {i}")).await?;
                theirs.push(t.elapsed());
            } else {
                client
                    .generate(GenerateRequest::new(format!("{PROMPT} interleaved {i}")))
                    .await?;
                ours.push(t.elapsed());
            }
        }
    }
    // The peer answers only after `turn/completed`, so all of its model requests have landed; codex-img
    // interrupts before any follow-up, so its count is complete too.
    let window = world.backend.requests().split_off(from);
    let model: Vec<_> = window.iter().filter(|r| r.is_model_request()).collect();
    let peer_model = model.iter().filter(|r| r.mentions(PEER_MARKER)).count();
    let ours_model = model.len() - peer_model;

    let t = Instant::now();
    let jobs: Vec<_> = (0..4)
        .map(|i| {
            let (addr, started) = (peer.addr, Arc::clone(&peer.log));
            tokio::spawn(async move {
                generate_at(addr, &format!("{PROMPT} peer burst {i}"))
                    .await
                    .map_err(|e| format!("{e}; its log: {}", tail(&started)))
            })
        })
        .collect();
    let (mut ok, mut errors) = (0, Vec::new());
    for job in jobs {
        match job.await? {
            Ok(_) => ok += 1,
            Err(e) => errors.push(e),
        }
    }
    let burst_wall = ms(t.elapsed());
    for e in &errors {
        eprintln!("the peer lost an image at 4 at once: {e}");
    }

    let t = Instant::now();
    let jobs: Vec<_> = (0..4)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                c.generate(GenerateRequest::new(format!("{PROMPT} burst of 4 {i}")))
                    .await
            })
        })
        .collect();
    for job in jobs {
        job.await??;
    }
    let ours_burst_wall = ms(t.elapsed());

    Ok(Measured {
        version: peer.version.clone(),
        peer: Stats(theirs),
        ours: Stats(ours),
        burst_wall,
        burst_ok: ok,
        burst_errors: if errors.is_empty() {
            String::new()
        } else {
            format!(" ({} failed, first: {:.120})", errors.len(), errors[0])
        },
        ours_burst_wall,
        peer_model: peer_model as f64 / n as f64,
        ours_model: ours_model as f64 / n as f64,
        left_files: count_files(&peer.home.path().join("generated_images")),
    })
}

// ---------------------------------------------------------------------------------------------------
// The peer's process.

struct Peer {
    child: tokio::process::Child,
    /// Its process group (its own pid), until [`Peer::stop`] or the drop has ended it.
    pgid: Option<u32>,
    addr: SocketAddr,
    version: String,
    /// Its stderr, kept for error messages.
    log: Arc<Mutex<Vec<String>>>,
    home: tempfile::TempDir,
    _dir: tempfile::TempDir,
}

impl Peer {
    /// Writes its configuration, starts `imagegen-bridge serve` on a free loopback port in a process
    /// group of its own, and waits (with a deadline) for it to say where it listens. Its app-server
    /// child is spawned and initialized before that line, so the peer is warm once it is printed.
    async fn start(bin: &Path, world: &World) -> Res<Self> {
        let version = {
            let out = tokio::process::Command::new(bin)
                .arg("--version")
                .output()
                .await?;
            let text = String::from_utf8_lossy(&out.stdout);
            text.split_whitespace()
                .last()
                .ok_or_else(|| format!("{} --version printed nothing", bin.display()))?
                .to_owned()
        };
        let dir = tempfile::tempdir()?;
        let home = tempfile::tempdir()?;
        write_fake_chatgpt_login(home.path(), "plus")?;
        let env = codex_command_env(&world.backend, home.path());
        let config = dir.path().join("imagegen-bridge.toml");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work)?;
        std::fs::write(
            &config,
            config_toml(&world.bin, &env.config_args(), dir.path()),
        )?;

        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("--config")
            .arg(&config)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(&work)
            .env("IMAGEGEN_BRIDGE_NO_UPDATE_CHECK", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        env.apply(&mut cmd);
        let mut child = cmd.spawn()?;
        let stderr = child.stderr.take().ok_or("the peer has no stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut tx = Some(tx);
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(addr) = line.split("listening on http://").nth(1) {
                        if let (Some(tx), Ok(addr)) = (tx.take(), addr.trim().parse()) {
                            let _ = tx.send(addr);
                        }
                    }
                    if let Ok(mut log) = log.lock() {
                        log.push(line);
                    }
                }
            });
        }
        let addr: SocketAddr = match tokio::time::timeout(DEADLINE, rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let status = child.try_wait()?;
                let pgid = child.id();
                let _ = child.start_kill();
                let _ = child.wait().await;
                kill_group(pgid);
                return Err(format!(
                    "imagegen-bridge did not start listening ({status:?}): {}",
                    tail(&log)
                )
                .into());
            }
        };
        let peer = Self {
            pgid: child.id(),
            child,
            addr,
            version,
            log,
            home,
            _dir: dir,
        };
        Ok(peer)
    }

    async fn generate(&self, prompt: &str) -> Res<usize> {
        generate_at(self.addr, prompt)
            .await
            .map_err(|e| format!("{e}; its log: {}", tail(&self.log)).into())
    }

    /// SIGTERM (it stops its app-server child and exits), then, once it has exited, the rest of its
    /// process group: it kills only the npm launcher, and Codex's native process outlives it briefly.
    async fn stop(mut self) -> Res<()> {
        if let Some(pid) = self.child.id() {
            signal(&pid.to_string(), "TERM");
        }
        let exited = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        if exited.is_err() {
            self.child.start_kill()?;
            self.child.wait().await?;
        }
        kill_group(self.pgid.take());
        match exited {
            Ok(status) => {
                status?;
                Ok(())
            }
            Err(_) => Err("imagegen-bridge did not exit within 20 s of SIGTERM".into()),
        }
    }
}

impl Drop for Peer {
    /// On an early return, nothing of the peer outlives the bench (`kill_on_drop` reaches only its
    /// own process, not Codex under it).
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal(&format!("-{pgid}"), "KILL");
        }
    }
}

/// Ends what is left of the peer's process group (its own pid, from `process_group(0)`) and waits,
/// with a deadline, until nothing in it remains.
fn kill_group(pgid: Option<u32>) {
    let Some(pgid) = pgid else { return };
    let group = format!("-{pgid}");
    signal(&group, "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(&group) {
        if Instant::now() > deadline {
            signal(&group, "KILL");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(target: &str, name: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{name}"), "--", target])
        .stderr(Stdio::null())
        .status();
}

fn alive(target: &str) -> bool {
    std::process::Command::new("kill")
        .args(["-0", "--", target])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The peer's configuration: the app-server provider as its `config.example.toml` gives it, with the
/// executable and `-c` arguments of codex-img's own children, every path inside `dir`, its direct
/// Responses provider off (it would reach for chatgpt.com), and durable jobs off (the bench uses the
/// synchronous route).
fn config_toml(codex: &Path, args: &[String], dir: &Path) -> String {
    // A JSON string is a valid TOML basic string.
    let s = |v: &str| Value::String(v.to_owned()).to_string();
    let p = |name: &str| s(&dir.join(name).display().to_string());
    let args: Vec<String> = args.iter().map(|a| s(a)).collect();
    format!(
        r#"version = 1
default_provider = "codex-app-server"

[inputs]
local_roots = [{work}]

[artifacts]
root = {artifacts}

[providers.codex_app_server]
enabled = true
executable = {codex}
args = [{args}]
session_database = {state}

[providers.codex_responses]
enabled = false

[server]
bind = "127.0.0.1:0"

[server.jobs]
enabled = false
"#,
        work = p("work"),
        artifacts = p("artifacts"),
        codex = s(&codex.display().to_string()),
        args = args.join(", "),
        state = p("state.sqlite3"),
    )
}

// ---------------------------------------------------------------------------------------------------
// One image through its HTTP API.

/// `POST /v1/images` for one image, returned inline; errors unless the answer holds exactly one image
/// whose base64 decodes to a PNG of the stated byte count and sha256. Returns the byte count.
async fn generate_at(addr: SocketAddr, prompt: &str) -> Res<usize> {
    let body = serde_json::to_vec(&json!({
        "operation": "generate",
        "prompt": prompt,
        "routing": {"provider": "codex-app-server"},
    }))?;
    let (status, answer) = tokio::time::timeout(DEADLINE, post(addr, "/v1/images", &body))
        .await
        .map_err(|_| format!("no answer from imagegen-bridge within {DEADLINE:?}"))??;
    let answer: Value = serde_json::from_slice(&answer)
        .map_err(|e| format!("HTTP {status}, not JSON ({e}): {:.300}", lossy(&answer)))?;
    if status != 200 {
        return Err(format!("HTTP {status}: {:.400}", answer.to_string()).into());
    }
    let data = answer["data"].as_array().ok_or("the answer has no data")?;
    if data.len() != 1 {
        return Err(format!("{} images in the answer, not 1", data.len()).into());
    }
    let image = &data[0];
    let b64 = image["b64_json"]
        .as_str()
        .ok_or("the image has no b64_json")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64)?;
    let stated = image["bytes"]
        .as_u64()
        .ok_or("the image has no byte count")?;
    let sha = format!("{:x}", Sha256::digest(&bytes));
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.len() as u64 != stated
        || image["sha256"].as_str() != Some(sha.as_str())
    {
        return Err(format!(
            "the image is not the PNG it claims ({} bytes decoded, {stated} stated)",
            bytes.len()
        )
        .into());
    }
    Ok(bytes.len())
}

/// A minimal HTTP/1.1 POST over a new loopback connection (`Connection: close`): the status and the
/// body (by `Content-Length`, or de-chunked).
async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Res<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the HTTP answer has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {head:.100}"))?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse()?;
        rest.get(..len)
            .ok_or("the HTTP answer is shorter than its Content-Length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &[u8]) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or("a chunk is cut short")?);
        rest = rest.get(size + 2..).ok_or("a chunk has no end")?;
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last lines of the peer's stderr, for an error message.
fn tail(log: &Mutex<Vec<String>>) -> String {
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let from = log.len().saturating_sub(5);
    log[from..].join(" | ")
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_files(&path)
            } else {
                1
            }
        })
        .sum()
}
