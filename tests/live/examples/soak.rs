//! The soak of issue 24 ("A server that runs for weeks"): each long-running face, `codex-img
//! serve-stdio`, `serve-mcp` and `serve-http`, as a separate process over real Codex and the loopback
//! backend (no network, no quota), makes N images (2000 by default) in bursts at its concurrency (4: four
//! sent at once, all four awaited, again), every answer checked against the backend's PNG (the file
//! written, or the base64 decoded). A table row every W images (200; plus rows after images 20 and 100)
//! gives the face's resident memory and open descriptors, the resident memory of its whole Codex process
//! tree, the window's latency, the files left in `$CODEX_HOME/generated_images`, and the recycles seen
//! three ways: distinct app-server processes among the face's children, the face's own log (`-v`), and,
//! where the face offers it, the doctor report's `app_server.recycles`. At the end it prints the ratios
//! the issue sets targets for, each of two figures of the same run, stops every face and checks that no
//! process of theirs is left.
//!
//! ```sh
//! cargo build --bin codex-img
//! CODEX_IMG_CODEX_CACHE=/work/main/.cache/codex \
//!   cargo run -p codex-img-live --example soak -- [VERSION] [N] [FACES] \
//!     [--window W] [--concurrency C] [--no-recycle] [--lull-every K --lull-ms MS]
//! ```
//!
//! `FACES` is a comma-separated list of `stdio`, `mcp` and `http` (default all three, one after
//! another). `--no-recycle` starts each face with `--recycle-after-images 0 --recycle-above-mib 0`, the
//! baseline without recycling. By default the bursts follow each other at once, so the face is never
//! idle; `--lull-every K --lull-ms MS` leaves it idle for MS milliseconds after every K images, the
//! quiet moments a recycle waits for. The `codex-img` binary is the workspace's
//! `target/debug/codex-img`, or `CODEX_IMG_BIN`.
//!
//! The face's descriptors are read at each row and after every burst; the row shows both the reading
//! and the fewest of the window, which a leak raises while a moment's extra descriptors (a successor's
//! pipes during a recycle) do not. The doctor report is asked for at each row, between two bursts.
//!
//! What counts as "a request that waited on a recycle": serve-stdio's answer and serve-mcp's
//! `structuredContent` (the server runs with `--structured`) carry `timings.process_start_ms`, set when
//! that request had to start an app-server; after the warm-up request, which starts the first one, it
//! must stay null. serve-http says nothing of the kind, so for it (and, for comparison, for the others)
//! the table also counts latency outliers: requests slower than 5 times their window's median.
//!
//! One warm-up image precedes the N and is not counted in the windows: it starts the first app-server.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use loopback_backend::{
    codex_command_env, ensure_codex, png_size, write_fake_chatgpt_login, Backend, BackendConfig,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long one request may take before it counts as failed.
const PATIENCE: Duration = Duration::from_secs(120);
/// How long a face may take to exit once asked to.
const EXIT_WITHIN: Duration = Duration::from_secs(60);
/// A request slower than this many times its window's median counts as an outlier.
const OUTLIER: f64 = 5.0;

#[tokio::main]
async fn main() -> Res<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let bin = match std::env::var_os("CODEX_IMG_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/codex-img"),
    };
    if !bin.is_file() {
        return Err(format!(
            "no {} (cargo build --bin codex-img, or set CODEX_IMG_BIN)",
            bin.display()
        )
        .into());
    }
    let codex = ensure_codex(&options.version)?;
    let config = BackendConfig::default();
    let expected = config.image_png.clone();
    let backend = Backend::start(config).await?;
    println!(
        "codex-img soak: {} images per face in bursts of {}, a row every {} images; codex {}, loopback backend; recycling {}",
        options.images,
        options.concurrency,
        options.window,
        options.version,
        if options.recycle { "on (the defaults: 100 images, 512 MiB)" } else { "off (--recycle-after-images 0 --recycle-above-mib 0)" },
    );
    if options.lull_every > 0 {
        println!(
            "lulls: nothing sent for {} ms after every {} images",
            options.lull.as_millis(),
            options.lull_every
        );
    }
    println!("date: {}", utc_now());
    println!("machine: {}", machine());
    println!("binary: {}", bin.display());
    let context = Context {
        bin,
        codex,
        backend,
        options,
        expected,
    };
    let mut results = Vec::new();
    for kind in context.options.faces.clone() {
        match soak_face(kind, &context).await {
            Ok(result) => results.push(result),
            Err(e) => {
                eprintln!("{}: the run broke off: {e}", kind.name());
                return Err(format!("{}: {e}", kind.name()).into());
            }
        }
    }
    println!();
    println!("## Against the targets");
    let mut clean = true;
    for result in &results {
        println!();
        result.print_ratios();
        clean &= result.clean();
    }
    drop(context);
    if !clean {
        return Err(
            "a face failed requests, left files or processes behind, or did not exit cleanly"
                .into(),
        );
    }
    Ok(())
}

/// The command line.
#[derive(Debug, Clone)]
struct Options {
    version: String,
    images: usize,
    faces: Vec<FaceKind>,
    window: usize,
    concurrency: usize,
    recycle: bool,
    /// After every `lull_every` images (0: never), nothing is sent for `lull`.
    lull_every: usize,
    lull: Duration,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Res<Self> {
        let mut positional = Vec::new();
        let mut window = 200;
        let mut concurrency = 4;
        let mut recycle = true;
        let (mut lull_every, mut lull_ms) = (0, 0);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> Res<usize> {
                let v = args.next().ok_or(format!("{name} needs a value"))?;
                Ok(v.parse().map_err(|e| format!("{name} {v}: {e}"))?)
            };
            match arg.as_str() {
                "--window" => window = value("--window")?,
                "--concurrency" => concurrency = value("--concurrency")?,
                "--no-recycle" => recycle = false,
                "--lull-every" => lull_every = value("--lull-every")?,
                "--lull-ms" => lull_ms = value("--lull-ms")?,
                other if other.starts_with("--") => {
                    return Err(format!("unknown option {other}").into())
                }
                _ => positional.push(arg),
            }
        }
        let mut positional = positional.into_iter();
        let version = positional
            .next()
            .unwrap_or_else(|| loopback_backend::NEWEST.to_owned());
        let images = match positional.next() {
            Some(n) => n.parse().map_err(|e| format!("N {n}: {e}"))?,
            None => 2000,
        };
        let faces = match positional.next() {
            Some(list) => list
                .split(',')
                .map(FaceKind::parse)
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![FaceKind::Stdio, FaceKind::Mcp, FaceKind::Http],
        };
        if let Some(extra) = positional.next() {
            return Err(format!("unexpected argument {extra}").into());
        }
        if images == 0 || window == 0 || concurrency == 0 {
            return Err("N, --window and --concurrency must be positive".into());
        }
        Ok(Self {
            version,
            images,
            faces,
            window,
            concurrency,
            recycle,
            lull_every,
            lull: Duration::from_millis(lull_ms as u64),
        })
    }
}

/// What every face's run shares.
struct Context {
    bin: PathBuf,
    codex: PathBuf,
    backend: Backend,
    options: Options,
    /// The PNG the backend serves, which every answer must carry.
    expected: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaceKind {
    Stdio,
    Mcp,
    Http,
}

impl FaceKind {
    fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "stdio" | "serve-stdio" => Ok(Self::Stdio),
            "mcp" | "serve-mcp" => Ok(Self::Mcp),
            "http" | "serve-http" => Ok(Self::Http),
            other => Err(format!("unknown face {other:?} (stdio, mcp or http)")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Stdio => "serve-stdio",
            Self::Mcp => "serve-mcp",
            Self::Http => "serve-http",
        }
    }

    /// Whether the face reports `timings.process_start_ms` and the doctor report.
    fn reports(self) -> bool {
        self != Self::Http
    }
}

/// A face's process, its client, and its process tree.
struct Face {
    child: Child,
    pid: u32,
    client: Client,
    /// Dropped on an early return, it kills every process group the face's tree had.
    tree: Tree,
    /// The face's stderr (`-v`).
    log: PathBuf,
}

impl Face {
    /// Starts `kind` with its `CODEX_HOME` at `home` (and `--root` at `root` for the faces that save
    /// files), pointed at the loopback backend, and makes its client ready: the MCP handshake done,
    /// serve-http's address read.
    async fn spawn(
        kind: FaceKind,
        context: &Context,
        dir: &Path,
        home: &Path,
        root: &Path,
    ) -> Res<Self> {
        let options = &context.options;
        let log = dir.join("stderr.log");
        let key = format!("soak-key-{}-{}", std::process::id(), unix_secs());
        let env = codex_command_env(&context.backend, home);
        let mut command = Command::new(&context.bin);
        command.arg("-v").args(env.config_args()).arg(kind.name());
        match kind {
            FaceKind::Stdio => command.arg("--root").arg(root),
            FaceKind::Mcp => command.args(["--structured", "--root"]).arg(root),
            FaceKind::Http => command.args(["--listen", "127.0.0.1:0"]),
        };
        command.args(["--concurrency", &options.concurrency.to_string()]);
        if !options.recycle {
            command.args(["--recycle-after-images", "0", "--recycle-above-mib", "0"]);
        }
        command
            .env("CODEX_BIN", &context.codex)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("CODEX_IMG_HTTP_TOKEN", &key)
            .env_remove("RUST_LOG");
        for name in &env.env_remove {
            command.env_remove(name);
        }
        for (name, value) in &env.env {
            command.env(name, value);
        }
        command
            .stdin(if kind == FaceKind::Http {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let pid = child.id().ok_or("the face exited at once")?;
        // From here on, whatever happens, no process of this face outlives the run.
        let tree = Tree::new(pid);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let client = match kind {
            FaceKind::Http => Client::Http(Http::start(stdout, key, &mut child).await?),
            _ => {
                let stdin = child.stdin.take().ok_or("no stdin")?;
                Client::Rpc(Rpc::start(stdin, stdout))
            }
        };
        if let (FaceKind::Mcp, Client::Rpc(rpc)) = (kind, &client) {
            let (init, _) = rpc
                .call(
                    "init",
                    "initialize",
                    json!({"protocolVersion": "2025-11-25", "capabilities": {},
                        "clientInfo": {"name": "codex-img-soak", "version": "0"}}),
                )
                .await?;
            if init.get("result").is_none() {
                return Err(format!("initialize failed: {init}").into());
            }
            rpc.notify("notifications/initialized", json!({})).await?;
        }
        Ok(Self {
            child,
            pid,
            client,
            tree,
            log,
        })
    }

    /// Stops the face the way its hosts do (stdin closed; SIGTERM for serve-http), and waits for its
    /// exit and for every process of its tree to be gone.
    async fn stop(&mut self) -> Res<(Result<String, String>, Result<(), String>)> {
        match &self.client {
            Client::Rpc(rpc) => rpc.close().await,
            Client::Http(_) => {
                // SAFETY: kill(2) with a pid this program spawned and has not reaped.
                if unsafe { libc::kill(self.pid as i32, libc::SIGTERM) } != 0 {
                    let e = std::io::Error::last_os_error();
                    return Err(format!("SIGTERM to {}: {e}", self.pid).into());
                }
            }
        }
        let exit = match tokio::time::timeout(EXIT_WITHIN, self.child.wait()).await {
            Ok(status) => match status? {
                status if status.success() => Ok(status.to_string()),
                status => Err(status.to_string()),
            },
            Err(_) => Err(format!("did not exit within {EXIT_WITHIN:?}")),
        };
        let gone = self.tree.all_gone(Duration::from_secs(15)).await;
        Ok((exit, gone))
    }
}

/// Runs `kind` through the whole soak, prints its rows, and stops it.
async fn soak_face(kind: FaceKind, context: &Context) -> Res<FaceResult> {
    let options = &context.options;
    let dir = tempfile::Builder::new()
        .prefix("codex-img-soak-")
        .tempdir()?;
    let (home, root) = (dir.path().join("home"), dir.path().join("out"));
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&root)?;
    let root = root.canonicalize()?;
    write_fake_chatgpt_login(&home, "plus")?;
    let mut face = Face::spawn(kind, context, dir.path(), &home, &root).await?;
    let client = face.client.clone();
    let check = Arc::new(Check {
        kind,
        root: root.clone(),
        size: png_size(&context.expected).ok_or("the backend's image is no PNG")?,
        expected: context.expected.clone(),
    });

    println!();
    println!(
        "## {} ({} images, bursts of {}, recycling {}; load average {})",
        kind.name(),
        options.images,
        options.concurrency,
        if options.recycle { "on" } else { "off" },
        load_average()
    );
    let started = Instant::now();
    let warm = generate(client.clone(), check.clone(), "warm".to_owned(), 0).await;
    let warm_started = match &warm.result {
        Ok(started) => *started,
        Err(e) => return Err(format!("the warm-up failed: {e}").into()),
    };
    face.tree.sample();
    println!(
        "warm-up: {:.0} ms{}",
        warm.latency_ms,
        match warm_started {
            Some(true) => ", started the app-server",
            Some(false) => ", did not report a process start",
            None => "",
        }
    );
    println!("{}", Row::HEADER);
    println!("{}", Row::RULE);

    let marks = row_marks(options.images, options.window);
    let mut next_mark = 0;
    let mut latencies: Vec<f64> = Vec::with_capacity(options.images);
    let mut window: Vec<f64> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut waits: Vec<usize> = Vec::new();
    let mut outliers = 0;
    // The fewest descriptors the face held after any burst of the window: a leak raises it, while a
    // moment's extra descriptors (a successor's pipes during a recycle, a file being read) do not.
    let mut fewest_fds = usize::MAX;
    let mut rows = Vec::new();
    let mut done = 0;
    while done < options.images {
        let size = options.concurrency.min(options.images - done);
        let mut burst = JoinSet::new();
        for k in 1..=size {
            let i = done + k;
            burst.spawn(generate(
                client.clone(),
                check.clone(),
                format!("img-{i}"),
                i,
            ));
        }
        let mut outcomes = burst.join_all().await;
        outcomes.sort_by_key(|o| o.index);
        for outcome in outcomes {
            latencies.push(outcome.latency_ms);
            window.push(outcome.latency_ms);
            match outcome.result {
                Ok(Some(true)) => waits.push(outcome.index),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{}: failure: {e}", kind.name());
                    failures.push(e);
                }
            }
        }
        let before = done;
        done += size;
        face.tree.sample();
        if let Some(now) = probe(face.pid) {
            fewest_fds = fewest_fds.min(now.fds);
        }
        if let Some(status) = face.child.try_wait()? {
            return Err(format!("the face exited during the run ({status})").into());
        }
        if next_mark < marks.len() && done >= marks[next_mark] {
            while next_mark < marks.len() && marks[next_mark] <= done {
                next_mark += 1;
            }
            let window_outliers = count_outliers(&window);
            outliers += window_outliers;
            let row = Row {
                images: done,
                face: probe(face.pid).ok_or("the face is gone from /proc")?,
                fewest_fds: std::mem::replace(&mut fewest_fds, usize::MAX),
                tree: face.tree.sample(),
                tree_peak_kib: face.tree.take_peak(),
                latency: Latency::of(&window),
                left: count_files(&home.join("generated_images")),
                recycles_seen: face.tree.recycles(),
                recycles_logged: count_lines(&face.log, "the app-server was replaced"),
                doctor: doctor(&client, kind, done).await,
                waits: waits.len(),
                outliers,
                failures: failures.len(),
            };
            println!("{}", row.line(kind));
            rows.push(row);
            window.clear();
            // The backend keeps every request it saw; the soak needs none of them.
            context.backend.clear_requests();
        }
        let every = options.lull_every;
        if every > 0 && done / every > before / every && done < options.images {
            // Sampled through the lull, so a recycle's two processes side by side show in the peak.
            let until = Instant::now() + options.lull;
            while Instant::now() < until {
                tokio::time::sleep(
                    Duration::from_millis(250).min(until.saturating_duration_since(Instant::now())),
                )
                .await;
                face.tree.sample();
            }
        }
    }
    let elapsed = started.elapsed();

    let (exit, gone) = face.stop().await?;
    let left_after = count_files(&home.join("generated_images"));
    let recycles_logged = count_lines(&face.log, "the app-server was replaced");
    let lifecycle = lifecycle(&face.log);
    let result = FaceResult {
        kind,
        recycle: options.recycle,
        images: options.images,
        window: options.window,
        rows,
        latencies,
        failures,
        waits,
        outliers,
        warm_started,
        left_after,
        recycles_seen: face.tree.recycles(),
        recycles_logged,
        lifecycle,
        exit,
        gone,
        elapsed,
    };
    result.print_end();
    Ok(result)
}

/// The boundaries after which a row is printed: images 20 and 100, every `window`, and the last.
fn row_marks(images: usize, window: usize) -> Vec<usize> {
    let mut marks: BTreeSet<usize> = [20, 100].into_iter().filter(|m| *m < images).collect();
    marks.extend((1..=images / window).map(|k| k * window));
    marks.insert(images);
    marks.into_iter().collect()
}

/// What an answer must be.
struct Check {
    kind: FaceKind,
    root: PathBuf,
    expected: Vec<u8>,
    size: (u32, u32),
}

/// One generation's outcome: its latency, and whether it started an app-server (where the face says),
/// or why it failed.
struct Outcome {
    index: usize,
    latency_ms: f64,
    result: Result<Option<bool>, String>,
}

/// Sends generation `id` through the face and checks the answer.
async fn generate(client: Client, check: Arc<Check>, id: String, index: usize) -> Outcome {
    let prompt = format!("a soak fox, number {index}");
    let started = Instant::now();
    let result = match (&client, check.kind) {
        (Client::Rpc(rpc), FaceKind::Stdio) => {
            let params = json!({"prompt": prompt, "output": format!("{id}.png")});
            match rpc.call(&id, "image/generate", params).await {
                Ok((answer, latency)) => (
                    latency,
                    match answer.get("result") {
                        Some(report) => check_report(&id, report, &check),
                        None => Err(format!("{id}: {}", shorten(&answer["error"].to_string()))),
                    },
                ),
                Err(e) => (started.elapsed(), Err(format!("{id}: {e}"))),
            }
        }
        (Client::Rpc(rpc), _) => {
            let params = json!({"name": "generate_image",
                "arguments": {"prompt": prompt, "output": format!("{id}.png")}});
            match rpc.call(&id, "tools/call", params).await {
                Ok((answer, latency)) => (latency, check_mcp(&id, &answer, &check)),
                Err(e) => (started.elapsed(), Err(format!("{id}: {e}"))),
            }
        }
        (Client::Http(http), _) => {
            let body = json!({"prompt": prompt, "model": "gpt-image-1"});
            match http.post("/v1/images/generations", &body).await {
                Ok((reply, latency)) => (latency, check_http(&id, &reply, &check)),
                Err(e) => (started.elapsed(), Err(format!("{id}: {e}"))),
            }
        }
    };
    Outcome {
        index,
        latency_ms: result.0.as_secs_f64() * 1000.0,
        result: result.1,
    }
}

/// A saved-image report (serve-stdio's result, serve-mcp's `structuredContent`): the file at
/// `root/<id>.png` holds exactly the backend's PNG and the report's size; the file is then removed.
fn check_report(id: &str, report: &Value, check: &Check) -> Result<Option<bool>, String> {
    let path = report["path"]
        .as_str()
        .ok_or_else(|| format!("{id}: no path in {}", shorten(&report.to_string())))?;
    let want = check.root.join(format!("{id}.png"));
    if Path::new(path) != want {
        return Err(format!("{id}: saved at {path}, not {}", want.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{id}: reading {path}: {e}"))?;
    if bytes != check.expected {
        return Err(format!(
            "{id}: {path} holds {} bytes that are not the backend's {}-byte PNG",
            bytes.len(),
            check.expected.len()
        ));
    }
    let stated = (
        report["bytes"].as_u64(),
        report["width"].as_u64(),
        report["height"].as_u64(),
    );
    let real = (
        Some(bytes.len() as u64),
        Some(u64::from(check.size.0)),
        Some(u64::from(check.size.1)),
    );
    if stated != real {
        return Err(format!(
            "{id}: the report says {stated:?}, the file is {real:?}"
        ));
    }
    std::fs::remove_file(path).map_err(|e| format!("{id}: removing {path}: {e}"))?;
    Ok(Some(!report["timings"]["process_start_ms"].is_null()))
}

fn check_mcp(id: &str, answer: &Value, check: &Check) -> Result<Option<bool>, String> {
    let result = answer
        .get("result")
        .ok_or_else(|| format!("{id}: {}", shorten(&answer["error"].to_string())))?;
    if result["isError"] == json!(true) {
        return Err(format!(
            "{id}: {}",
            shorten(&result["structuredContent"].to_string())
        ));
    }
    check_report(id, &result["structuredContent"], check)
}

fn check_http(id: &str, reply: &HttpReply, check: &Check) -> Result<Option<bool>, String> {
    let body: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| format!("{id}: {} with a body that is not JSON ({e})", reply.status))?;
    if reply.status != 200 {
        return Err(format!(
            "{id}: {} {}",
            reply.status,
            shorten(&body["error"].to_string())
        ));
    }
    let data = body["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let [image] = data else {
        return Err(format!("{id}: {} images in data", data.len()));
    };
    if body.get("errors").is_some() {
        return Err(format!(
            "{id}: errors {}",
            shorten(&body["errors"].to_string())
        ));
    }
    let b64 = image["b64_json"]
        .as_str()
        .ok_or_else(|| format!("{id}: no b64_json"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("{id}: b64_json does not decode: {e}"))?;
    if bytes != check.expected {
        return Err(format!(
            "{id}: b64_json decodes to {} bytes that are not the backend's {}-byte PNG",
            bytes.len(),
            check.expected.len()
        ));
    }
    let size = format!("{}x{}", check.size.0, check.size.1);
    if body["size"] != json!(size) {
        return Err(format!("{id}: size {} for a {size} image", body["size"]));
    }
    Ok(None)
}

/// The doctor report's `app_server`, where the face offers it: `codex/doctor`, or `codex_status`.
async fn doctor(client: &Client, kind: FaceKind, images: usize) -> Option<Value> {
    let Client::Rpc(rpc) = client else {
        return None;
    };
    let id = format!("doctor-{images}");
    let answer = match kind {
        FaceKind::Stdio => rpc.call(&id, "codex/doctor", json!({})).await,
        _ => {
            rpc.call(
                &id,
                "tools/call",
                json!({"name": "codex_status", "arguments": {}}),
            )
            .await
        }
    };
    let report = match answer {
        Ok((answer, _)) => match kind {
            FaceKind::Stdio => answer["result"].clone(),
            _ => answer["result"]["structuredContent"].clone(),
        },
        Err(e) => {
            eprintln!("{}: doctor: {e}", kind.name());
            return None;
        }
    };
    match report.get("app_server") {
        Some(state) if state.is_object() => Some(state.clone()),
        _ => {
            eprintln!(
                "{}: no app_server in the doctor report: {}",
                kind.name(),
                shorten(&report.to_string())
            );
            None
        }
    }
}

/// A face's client: JSON-RPC lines over stdio (serve-stdio, serve-mcp), or HTTP (serve-http).
#[derive(Clone)]
enum Client {
    Rpc(Rpc),
    Http(Http),
}

/// Line-delimited JSON-RPC over the face's stdin and stdout; answers are matched to requests by id
/// and time-stamped as their line arrives.
#[derive(Clone)]
struct Rpc {
    stdin: Arc<tokio::sync::Mutex<Option<ChildStdin>>>,
    pending: Arc<Mutex<Pending>>,
}

/// The requests waiting for an answer, by id; each gets the answer and when its line arrived.
type Pending = HashMap<String, oneshot::Sender<(Value, Instant)>>;

impl Rpc {
    fn start(stdin: ChildStdin, stdout: ChildStdout) -> Self {
        let rpc = Self {
            stdin: Arc::new(tokio::sync::Mutex::new(Some(stdin))),
            pending: Arc::default(),
        };
        let pending = rpc.pending.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("reading the face's stdout: {e}");
                        break;
                    }
                };
                let at = Instant::now();
                let value: Value = match serde_json::from_str(&line) {
                    Ok(value) => value,
                    Err(e) => {
                        eprintln!("not JSON on the face's stdout ({e}): {}", shorten(&line));
                        continue;
                    }
                };
                if value.get("method").is_some() {
                    // Progress and other notifications; the faces send no requests to this client.
                    if value.get("id").is_some() {
                        eprintln!("a request from the face, unanswered: {}", shorten(&line));
                    }
                    continue;
                }
                let id = match &value["id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match lock(&pending).remove(&id) {
                    Some(waiter) => {
                        let _ = waiter.send((value, at));
                    }
                    None => eprintln!("an answer nobody waits for: {}", shorten(&line)),
                }
            }
            // Every waiter sees its sender dropped: the stream ended.
            lock(&pending).clear();
        });
        rpc
    }

    /// Sends a request and waits for its answer; gives the answer and the time it took.
    async fn call(
        &self,
        id: &str,
        method: &str,
        params: Value,
    ) -> Result<(Value, Duration), String> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.to_owned(), tx);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let sent = Instant::now();
        if let Err(e) = self.write(&message).await {
            lock(&self.pending).remove(id);
            return Err(e);
        }
        match tokio::time::timeout(PATIENCE, rx).await {
            Ok(Ok((value, at))) => Ok((value, at.saturating_duration_since(sent))),
            Ok(Err(_)) => Err("the face's stdout ended before the answer".to_owned()),
            Err(_) => {
                lock(&self.pending).remove(id);
                Err(format!("no answer within {PATIENCE:?}"))
            }
        }
    }

    async fn notify(&self, method: &str, params: Value) -> Result<(), String> {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    async fn write(&self, message: &Value) -> Result<(), String> {
        let mut line = serde_json::to_vec(message).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let stdin = stdin.as_mut().ok_or("stdin is closed")?;
        stdin
            .write_all(&line)
            .await
            .map_err(|e| format!("writing to the face: {e}"))?;
        stdin
            .flush()
            .await
            .map_err(|e| format!("writing to the face: {e}"))
    }

    /// Closes the face's stdin: its signal to answer what is in flight, stop Codex and exit.
    async fn close(&self) {
        self.stdin.lock().await.take();
    }
}

/// An HTTP/1.1 client with a pool of keep-alive connections: a request takes an idle one or opens
/// one, and gives it back after the answer.
#[derive(Clone)]
struct Http {
    addr: String,
    key: String,
    idle: Arc<Mutex<Vec<BufReader<TcpStream>>>>,
    opened: Arc<AtomicUsize>,
}

/// One answer off the wire.
struct HttpReply {
    status: u16,
    close: bool,
    body: Vec<u8>,
}

impl Http {
    /// Reads the base URL serve-http prints when ready, and keeps draining its stdout after that.
    async fn start(stdout: ChildStdout, key: String, child: &mut Child) -> Res<Self> {
        let mut lines = BufReader::new(stdout).lines();
        let first = match tokio::time::timeout(PATIENCE, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                let status = child.wait().await?;
                return Err(format!("serve-http printed no URL and exited ({status})").into());
            }
            Ok(Err(e)) => return Err(format!("reading serve-http's stdout: {e}").into()),
            Err(_) => return Err(format!("serve-http printed no URL within {PATIENCE:?}").into()),
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = first
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix("/v1"))
            .ok_or_else(|| format!("not a base URL: {first:?}"))?;
        Ok(Self {
            addr: addr.to_owned(),
            key,
            idle: Arc::default(),
            opened: Arc::default(),
        })
    }

    /// `POST path` with a JSON body; gives the answer and the time from the request's first byte to
    /// the answer's last.
    async fn post(&self, path: &str, body: &Value) -> Result<(HttpReply, Duration), String> {
        let pooled = lock(&self.idle).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                self.opened.fetch_add(1, Ordering::SeqCst);
                let stream = TcpStream::connect(&self.addr)
                    .await
                    .map_err(|e| format!("connecting to {}: {e}", self.addr))?;
                BufReader::new(stream)
            }
        };
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            self.key,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        let sent = Instant::now();
        let exchange = async {
            let stream = conn.get_mut();
            stream
                .write_all(&request)
                .await
                .map_err(|e| format!("writing the request: {e}"))?;
            stream
                .flush()
                .await
                .map_err(|e| format!("writing the request: {e}"))?;
            receive(&mut conn).await
        };
        let reply = match tokio::time::timeout(PATIENCE, exchange).await {
            Ok(reply) => reply?,
            Err(_) => return Err(format!("no answer within {PATIENCE:?}")),
        };
        let latency = sent.elapsed();
        if !reply.close {
            lock(&self.idle).push(conn);
        }
        Ok((reply, latency))
    }
}

/// Reads one response with a `Content-Length` body (serve-http sends no other kind).
async fn receive(conn: &mut BufReader<TcpStream>) -> Result<HttpReply, String> {
    let mut status_line = String::new();
    let n = conn
        .read_line(&mut status_line)
        .await
        .map_err(|e| format!("reading the status line: {e}"))?;
    if n == 0 {
        return Err("the server closed the connection before answering".to_owned());
    }
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let (mut length, mut close) = (None, false);
    loop {
        let mut line = String::new();
        conn.read_line(&mut line)
            .await
            .map_err(|e| format!("reading a header: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
    }
    let length = length.ok_or("an answer without Content-Length")?;
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body)
        .await
        .map_err(|e| format!("reading a {length}-byte body: {e}"))?;
    Ok(HttpReply {
        status,
        close,
        body,
    })
}

/// A process as `/proc/<pid>/stat` describes it.
struct Proc {
    pid: u32,
    ppid: u32,
    pgrp: i32,
}

/// Every process now.
fn processes() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            // Processes come and go while the folder is read; one that is gone is skipped.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The name (field 2) may hold spaces and parentheses: count fields after its end.
            let rest: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
            Some(Proc {
                pid,
                ppid: rest.get(1)?.parse().ok()?,
                pgrp: rest.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// `VmRSS` and open descriptors of one process.
#[derive(Debug, Clone, Copy)]
struct Probe {
    rss_kib: u64,
    fds: usize,
}

fn probe(pid: u32) -> Option<Probe> {
    Some(Probe {
        rss_kib: vm_rss_kib(pid)?,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count(),
    })
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The face's process tree, followed through the run: the app-server roots seen among its children
/// (a recycle adds one), every process group seen (for the check that nothing is left), and the peak
/// of the tree's resident memory since the last row.
struct Tree {
    face: u32,
    roots: BTreeSet<u32>,
    groups: BTreeSet<i32>,
    peak_kib: u64,
    /// Cleared once every group is seen gone; until then, dropping this kills what is left.
    armed: bool,
}

/// The tree's resident memory (every descendant of the face, summed) and how many processes it has.
#[derive(Debug, Clone, Copy)]
struct TreeNow {
    rss_kib: u64,
    procs: usize,
}

impl Tree {
    fn new(face: u32) -> Self {
        Self {
            face,
            roots: BTreeSet::new(),
            // The face leads its own group (it was spawned with `process_group(0)`).
            groups: BTreeSet::from([face as i32]),
            peak_kib: 0,
            armed: true,
        }
    }

    /// Every descendant of the face now.
    fn descendants(&self) -> Vec<Proc> {
        let all = processes();
        let mut children: HashMap<u32, Vec<&Proc>> = HashMap::new();
        for p in &all {
            children.entry(p.ppid).or_default().push(p);
        }
        let mut found = Vec::new();
        let mut stack = vec![self.face];
        while let Some(pid) = stack.pop() {
            for child in children.get(&pid).into_iter().flatten() {
                stack.push(child.pid);
                found.push(Proc {
                    pid: child.pid,
                    ppid: child.ppid,
                    pgrp: child.pgrp,
                });
            }
        }
        found
    }

    /// Reads the tree now, notes its app-server roots and groups, and keeps the peak.
    fn sample(&mut self) -> TreeNow {
        let descendants = self.descendants();
        let mut rss_kib = 0;
        for p in &descendants {
            self.groups.insert(p.pgrp);
            if p.ppid == self.face && !self.roots.contains(&p.pid) {
                let cmdline = std::fs::read(format!("/proc/{}/cmdline", p.pid)).unwrap_or_default();
                if cmdline.split(|b| *b == 0).any(|arg| arg == b"app-server") {
                    self.roots.insert(p.pid);
                }
            }
            rss_kib += vm_rss_kib(p.pid).unwrap_or(0);
        }
        self.peak_kib = self.peak_kib.max(rss_kib);
        TreeNow {
            rss_kib,
            procs: descendants.len(),
        }
    }

    /// The peak since the last call.
    fn take_peak(&mut self) -> u64 {
        std::mem::take(&mut self.peak_kib)
    }

    /// Distinct app-server processes seen, less the first.
    fn recycles(&self) -> usize {
        self.roots.len().saturating_sub(1)
    }

    /// Waits up to `within` until no process of any group seen is left.
    async fn all_gone(&mut self, within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        loop {
            let left: Vec<u32> = processes()
                .into_iter()
                .filter(|p| self.groups.contains(&p.pgrp))
                .map(|p| p.pid)
                .collect();
            if left.is_empty() {
                self.armed = false;
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!(
                    "processes {left:?} of groups {:?} still ran {within:?} after the face exited",
                    self.groups
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for group in &self.groups {
            // SAFETY: kill(2) on a process group this run started (the face's, or one of its Codex
            // processes'); a group that is gone gives ESRCH and nothing happens.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
}

/// The latency of a window's requests.
#[derive(Debug, Clone, Copy)]
struct Latency {
    count: usize,
    p50_ms: f64,
    mean_ms: f64,
    max_ms: f64,
}

impl Latency {
    fn of(window: &[f64]) -> Self {
        let mut sorted = window.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            count: sorted.len(),
            p50_ms: median(&sorted),
            mean_ms: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
            max_ms: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Requests slower than [`OUTLIER`] times the window's median.
fn count_outliers(window: &[f64]) -> usize {
    let mut sorted = window.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = median(&sorted);
    window.iter().filter(|ms| **ms > OUTLIER * median).count()
}

/// One row of a face's table.
struct Row {
    images: usize,
    face: Probe,
    /// The fewest descriptors after any burst of the window.
    fewest_fds: usize,
    tree: TreeNow,
    tree_peak_kib: u64,
    latency: Latency,
    left: usize,
    recycles_seen: usize,
    recycles_logged: usize,
    /// The doctor report's `app_server`, where the face offers it.
    doctor: Option<Value>,
    waits: usize,
    outliers: usize,
    failures: usize,
}

impl Row {
    const HEADER: &'static str = "| images | codex-img RSS | fds (fewest in window) | Codex tree RSS (peak in window) | tree procs | window p50 | window mean | window max | generated_images now | recycles: pids / log / doctor | doctor: images on this process, tree | waits on a process start | > 5x median | failures |";
    const RULE: &'static str = "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

    fn line(&self, kind: FaceKind) -> String {
        let (doctor_recycles, doctor_state) = match &self.doctor {
            Some(state) => (
                state["recycles"].to_string(),
                format!(
                    "{}, {}",
                    state["images"],
                    state["tree_rss_bytes"]
                        .as_u64()
                        .map_or("n/a".to_owned(), |b| mib(b / 1024))
                ),
            ),
            None if kind.reports() => ("?".to_owned(), "?".to_owned()),
            None => ("n/a".to_owned(), "n/a".to_owned()),
        };
        format!(
            "| {} | {} | {} ({}) | {} ({}) | {} | {:.0} ms | {:.0} ms | {:.0} ms | {} | {} / {} / {} | {} | {} | {} | {} |",
            self.images,
            mib(self.face.rss_kib),
            self.face.fds,
            self.fewest_fds,
            mib(self.tree.rss_kib),
            mib(self.tree_peak_kib),
            self.tree.procs,
            self.latency.p50_ms,
            self.latency.mean_ms,
            self.latency.max_ms,
            self.left,
            self.recycles_seen,
            self.recycles_logged,
            doctor_recycles,
            doctor_state,
            if kind.reports() {
                self.waits.to_string()
            } else {
                "n/a".to_owned()
            },
            self.outliers,
            self.failures,
        )
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Everything one face's run measured.
struct FaceResult {
    kind: FaceKind,
    recycle: bool,
    images: usize,
    window: usize,
    rows: Vec<Row>,
    /// Every request's latency, in order.
    latencies: Vec<f64>,
    failures: Vec<String>,
    /// The images (1-based) whose request started an app-server.
    waits: Vec<usize>,
    outliers: usize,
    warm_started: Option<bool>,
    left_after: usize,
    recycles_seen: usize,
    recycles_logged: usize,
    /// What the face's log says its app-servers did.
    lifecycle: String,
    exit: Result<String, String>,
    gone: Result<(), String>,
    elapsed: Duration,
}

impl FaceResult {
    fn row(&self, images: usize) -> Option<&Row> {
        self.rows.iter().find(|r| r.images == images)
    }

    fn clean(&self) -> bool {
        self.failures.is_empty()
            && self.left_after == 0
            && self.exit.is_ok()
            && self.gone.is_ok()
            && self.waits.is_empty()
    }

    fn print_end(&self) {
        let rate = self.images as f64 / self.elapsed.as_secs_f64();
        println!(
            "{}: {} images in {:.0} s ({rate:.2}/s); {} failures; recycles: {} by pid, {} in the log; exit: {}; processes left: {}; load average {}",
            self.kind.name(),
            self.images,
            self.elapsed.as_secs_f64(),
            self.failures.len(),
            self.recycles_seen,
            self.recycles_logged,
            match &self.exit {
                Ok(s) | Err(s) => s,
            },
            match &self.gone {
                Ok(()) => "none".to_owned(),
                Err(e) => e.clone(),
            },
            load_average()
        );
        println!("{}: the log: {}", self.kind.name(), self.lifecycle);
        if !self.waits.is_empty() {
            println!(
                "{}: requests that started an app-server after the warm-up: {:?}",
                self.kind.name(),
                self.waits
            );
        }
    }

    fn print_ratios(&self) {
        let n = self.images;
        println!(
            "### {} (recycling {}, N = {n})",
            self.kind.name(),
            if self.recycle { "on" } else { "off" }
        );
        println!();
        println!("| figure | measured | ratio | target | |");
        println!("|---|---|---|---|---|");
        let ratio_line = |name: &str,
                          at: Option<f64>,
                          base: Option<f64>,
                          shown: &dyn Fn(f64) -> String,
                          target: f64| {
            match (at, base) {
                (Some(at), Some(base)) if base > 0.0 => {
                    let r = at / base;
                    println!(
                        "| {name} | {} against {} | {r:.2} | ≤ {target} | {} |",
                        shown(at),
                        shown(base),
                        if r <= target { "met" } else { "missed" }
                    );
                }
                _ => println!("| {name} | not measured (N too small) | | ≤ {target} | |"),
            }
        };
        let kib = |v: f64| mib(v as u64);
        let count = |v: f64| format!("{v:.0}");
        let ms = |v: f64| format!("{v:.0} ms");
        let at_n = self.row(n);
        let at_100 = self.row(100).filter(|_| n > 100);
        let at_20 = self.row(20).filter(|_| n > 20);
        ratio_line(
            &format!("codex-img RSS, image {n} / image 100"),
            at_n.map(|r| r.face.rss_kib as f64),
            at_100.map(|r| r.face.rss_kib as f64),
            &kib,
            1.1,
        );
        ratio_line(
            &format!("codex-img fds (at the row), image {n} / image 100"),
            at_n.map(|r| r.face.fds as f64),
            at_100.map(|r| r.face.fds as f64),
            &count,
            1.1,
        );
        ratio_line(
            &format!("codex-img fds (fewest in the window), image {n} / image 100"),
            at_n.map(|r| r.fewest_fds as f64),
            at_100.map(|r| r.fewest_fds as f64),
            &count,
            1.1,
        );
        ratio_line(
            &format!("Codex tree RSS, after {n} / after 20"),
            at_n.map(|r| r.tree.rss_kib as f64),
            at_20.map(|r| r.tree.rss_kib as f64),
            &kib,
            1.5,
        );
        let peak = self.rows.iter().map(|r| r.tree_peak_kib).max().unwrap_or(0);
        if let Some(base) = at_20.map(|r| r.tree.rss_kib).filter(|b| *b > 0) {
            // Not a target: while a recycle runs, the old tree drains beside the new one.
            println!(
                "| Codex tree RSS, highest seen (after each burst and through lulls) / after 20 | {} against {} | {:.2} | (none: a recycle holds both trees for a moment) | |",
                mib(peak),
                mib(base),
                peak as f64 / base as f64
            );
        }
        let w = self.window.min(n);
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        let (first, last) = (&self.latencies[..w], &self.latencies[n - w..]);
        if n >= 2 * w {
            ratio_line(
                &format!("mean latency, images {}–{n} / images 1–{w}", n - w + 1),
                Some(mean(last)),
                Some(mean(first)),
                &ms,
                1.1,
            );
        } else {
            println!("| mean latency, last window / first window | the windows overlap (N < 2W) | | ≤ 1.1 | |");
        }
        if let (Some(first_row), Some(last_row)) = (self.rows.first(), self.rows.last()) {
            ratio_line(
                &format!(
                    "mean latency, the last row's window ({} images) / the first row's ({} images)",
                    last_row.latency.count, first_row.latency.count
                ),
                Some(last_row.latency.mean_ms),
                Some(first_row.latency.mean_ms),
                &ms,
                1.1,
            );
        }
        let zero = |name: &str, v: String, is_zero: bool| {
            println!(
                "| {name} | {v} | | 0 | {} |",
                if is_zero { "met" } else { "missed" }
            );
        };
        zero(
            "failures",
            self.failures.len().to_string(),
            self.failures.is_empty(),
        );
        zero(
            "files left in CODEX_HOME/generated_images (after shutdown)",
            self.left_after.to_string(),
            self.left_after == 0,
        );
        if self.kind.reports() {
            zero(
                "requests that waited on a process start (`timings.process_start_ms` set), after the warm-up",
                self.waits.len().to_string(),
                self.waits.is_empty(),
            );
        } else {
            println!(
                "| requests that waited on a process start | not reported by serve-http | | 0 | |"
            );
        }
        println!(
            "| latency outliers (> {OUTLIER}x the window's median; serve-http's only sign of a wait) | {} | | 0 | {} |",
            self.outliers,
            if self.outliers == 0 { "met" } else { "see the rows" }
        );
        println!(
            "| recycles | {} by app-server pid, {} in the log{} | | | |",
            self.recycles_seen,
            self.recycles_logged,
            at_n.and_then(|r| r.doctor.as_ref())
                .map_or(String::new(), |d| format!(
                    ", {} in the doctor report",
                    d["recycles"]
                ))
        );
        println!(
            "| exit, processes left | {}; {} | | exit 0, none | {} |",
            match &self.exit {
                Ok(s) | Err(s) => s,
            },
            match &self.gone {
                Ok(()) => "none left".to_owned(),
                Err(e) => e.clone(),
            },
            if self.exit.is_ok() && self.gone.is_ok() {
                "met"
            } else {
                "missed"
            }
        );
        if self.warm_started == Some(false) {
            println!("(the warm-up request, the first, reported no process start)");
        }
    }
}

/// Files under `dir`, recursively; 0 when it does not exist.
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => count_files(&entry.path()),
            _ => 1,
        })
        .sum()
}

/// How many times the face's log (`-v`) says an app-server was started, a recycle began, a successor
/// took over (warm, or before its first thread was ready), a successor failed to start, and an
/// app-server stopped.
fn lifecycle(log: &Path) -> String {
    [
        ("started codex app-server", "started"),
        ("replacing the idle app-server", "recycles begun"),
        ("the app-server was replaced", "taken over"),
        (
            "takes over all the same",
            "taken over before a thread was ready",
        ),
        ("did not start", "successors that did not start"),
        ("app-server stopped", "stopped"),
    ]
    .iter()
    .map(|(needle, what)| format!("{} {what}", count_lines(log, needle)))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Lines of `file` that contain `needle`.
fn count_lines(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file)
        .map(|text| text.lines().filter(|l| l.contains(needle)).count())
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The CPU model, cores, memory and kernel, from `/proc`.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {mem_gib:.0} GiB, Linux {}; load average {}",
        kernel.trim(),
        load_average()
    )
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Now as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let stamp = loopback_backend::rfc3339(unix_secs() as i64);
    format!("{} {} UTC", &stamp[..10], &stamp[11..16])
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 300 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(300).collect::<String>())
    }
}

/// Every lock here guards values each operation leaves consistent, so a poisoned one is still good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
