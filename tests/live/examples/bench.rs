//! The benchmark: one program, one run, one table (issue 12). Against real Codex releases and the
//! loopback backend (no network, no quota), and the fake app-server where noted, it measures:
//!
//! 1. `codex exec --json` per image, the way exec-scraping tools work (the baseline of 1 to 3);
//! 2. a new app-server process per request (a new codex-img `Client` per image);
//! 3. codex-img warm and sequential, through the library and through the JSON-RPC bridge (`serve`, the
//!    code behind `serve-stdio`, over an in-process pipe), interleaved so noise falls on both alike;
//! 4. 8 at once against 1 alone, with a backend that takes 1 s per image and with the instant one;
//! 5. codex-img's own overhead against the fake app-server answering at once: p50 and p99 per
//!    generation, generations per second, and peak RSS with 8 generations of 8 MiB images in flight
//!    (in a child process of this program, so nothing else counts toward its peak);
//! 6. per image: model requests, other backend requests, and upstream bytes, with the lean turn and
//!    with Codex's defaults (`ClientBuilder::lean(false)`);
//! 7. the best warm peer, imagegen-bridge, when `CODEX_IMG_BENCH_PEER` names its binary
//!    (`tests/live/peer/build.sh`): warm p50/p95 interleaved with codex-img's, 4 at once, and its model
//!    requests per image (`bench/peer.rs`); without it the table says the rows were skipped.
//!
//! Every figure is printed with its ratio to a baseline from the same run.
//!
//! ```sh
//! CODEX_IMG_CODEX_CACHE=/work/codex-cache \
//!   cargo run --release -p codex-img-live --example bench -- [--peer-only] [N] [VERSION...]
//! ```
//!
//! N (default 12) is the number of images per series; the versions default to 0.171.0 and 0.122.0.
//! `--peer-only` runs only a warm codex-img client and the peer (7), for short runs.
//! CI does not run it: it prints figures and asserts nothing about time.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_img::{serve_bridge, BridgeOptions};
use codex_img::{Client, ClientBuilder, GenerateRequest};
use loopback_backend::{
    codex_command_env, ensure_codex, write_fake_chatgpt_login, Backend, BackendConfig,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

#[path = "bench/fake.rs"]
mod fake;
#[path = "bench/peer.rs"]
mod peer;

use fake::{fake_bin, peak_kib};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const PROMPT: &str = "a red square on a white background";
/// Enough stored-deflate pixels for an 8 MiB PNG from the fake app-server (3 × 1672² bytes + rows).
const BIG_IMAGE: &str = "1672x1672";

#[tokio::main]
async fn main() -> Res<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--rss-child") {
        return rss_child(Path::new(&args.nth(1).ok_or("--rss-child FAKE")?)).await;
    }
    let peer_only = args.peek().map(String::as_str) == Some("--peer-only");
    if peer_only {
        args.next();
    }
    let n: usize = match args.peek().and_then(|a| a.parse().ok()) {
        Some(n) => {
            args.next();
            n
        }
        None => 12,
    };
    let mut versions: Vec<String> = args.collect();
    if versions.is_empty() {
        versions = vec![
            loopback_backend::NEWEST.to_owned(),
            loopback_backend::FLOOR.to_owned(),
        ];
    }
    println!(
        "codex-img bench: {n} images per series; {} cores; load average {}",
        std::thread::available_parallelism()?.get(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut table = Table::default();
    if peer_only {
        for version in &versions {
            peer::only(version, n, &mut table).await?;
        }
        table.print();
        return Ok(());
    }
    for version in &versions {
        real_codex(version, n, &mut table).await?;
    }
    fake_overhead(n.max(50) * 4, &mut table).await?;
    table.print();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// The table.

#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    fn row(
        &mut self,
        what: impl Into<String>,
        value: impl Into<String>,
        ratio: impl Into<String>,
        base: &str,
    ) {
        self.rows
            .push([what.into(), value.into(), ratio.into(), base.to_owned()]);
    }

    fn print(&self) {
        println!();
        println!("| figure | value | ratio | baseline (same run) |");
        println!("|---|---|---|---|");
        for [a, b, c, d] in &self.rows {
            println!("| {a} | {b} | {c} | {d} |");
        }
    }
}

struct Stats(Vec<Duration>);

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i.min(v.len() - 1)]
    }
    fn p50(&self) -> f64 {
        ms(self.pct(0.5))
    }
    fn p95(&self) -> f64 {
        ms(self.pct(0.95))
    }
    fn p99(&self) -> f64 {
        ms(self.pct(0.99))
    }
    fn pair(&self) -> String {
        format!("p50 {:.0} ms, p95 {:.0} ms", self.p50(), self.p95())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn x(a: f64, b: f64) -> String {
    format!("{:.2}×", a / b)
}

// ---------------------------------------------------------------------------------------------------
// Real Codex against the loopback backend.

struct World {
    bin: PathBuf,
    backend: Backend,
    home: tempfile::TempDir,
}

impl World {
    /// Release `version` (installed into the cache if needed), a fresh loopback backend and a home
    /// with the fake ChatGPT login.
    async fn start(version: &str) -> Res<Self> {
        let bin = {
            let v = version.to_owned();
            tokio::task::spawn_blocking(move || ensure_codex(&v)).await??
        };
        let world = World {
            bin,
            backend: Backend::start(BackendConfig::default()).await?,
            home: tempfile::tempdir()?,
        };
        write_fake_chatgpt_login(world.home.path(), "plus")?;
        Ok(world)
    }

    fn builder(&self) -> ClientBuilder {
        let env = codex_command_env(&self.backend, self.home.path());
        let mut b = Client::builder()
            .codex_bin(&self.bin)
            .codex_home(self.home.path())
            .request_timeout(Duration::from_secs(60));
        for o in env.config_overrides {
            b = b.config_override(o);
        }
        for (k, v) in env.env {
            b = b.env(k, v);
        }
        b
    }
}

async fn real_codex(version: &str, n: usize, table: &mut Table) -> Res<()> {
    let world = World::start(version).await?;
    let v = format!("Codex {version}");
    eprintln!("{v}: codex exec per image");

    // 1. `codex exec --json` per image.
    let exec = {
        let mut samples = Vec::new();
        for i in 0..n {
            samples.push(codex_exec(&world, &format!("{PROMPT} {i}")).await?);
        }
        Stats(samples)
    };
    let base = format!("`codex exec` p50, {v}");
    table.row(
        format!("{v}: `codex exec --json` per image"),
        exec.pair(),
        "1.00×",
        &base,
    );

    // 2. A new app-server per request.
    eprintln!("{v}: a new app-server per image");
    let cold = {
        let mut samples = Vec::new();
        for i in 0..n {
            let c = world.builder().concurrency(1).build();
            let t = Instant::now();
            c.generate(GenerateRequest::new(format!("{PROMPT} cold {i}")))
                .await?;
            samples.push(t.elapsed());
            c.shutdown().await;
        }
        Stats(samples)
    };
    table.row(
        format!("{v}: new app-server per request"),
        cold.pair(),
        x(cold.p50(), exec.p50()),
        &base,
    );

    // 3. Warm, sequential: library and bridge, interleaved.
    eprintln!("{v}: warm, library and bridge");
    let client = world.builder().concurrency(8).build();
    client.generate(GenerateRequest::new("warm-up")).await?;
    let mut host = Host::start(client.clone());
    host.generate("warm", json!({"prompt": "warm-up", "returnBytes": true}))
        .await?;
    let (mut lib, mut bridge) = (Vec::new(), Vec::new());
    for i in 0..n {
        let t = Instant::now();
        client
            .generate(GenerateRequest::new(format!("{PROMPT} warm {i}")))
            .await?;
        lib.push(t.elapsed());
        let t = Instant::now();
        host.generate(
            &format!("b{i}"),
            json!({"prompt": format!("{PROMPT} bridge {i}"), "returnBytes": true}),
        )
        .await?;
        bridge.push(t.elapsed());
    }
    let (lib, bridge) = (Stats(lib), Stats(bridge));
    table.row(
        format!("{v}: codex-img warm, library"),
        lib.pair(),
        x(lib.p50(), exec.p50()),
        &base,
    );
    table.row(
        format!("{v}: codex-img warm, bridge (`serve`)"),
        bridge.pair(),
        x(bridge.p50(), exec.p50()),
        &base,
    );

    // 4. 8 at once against 1 alone, instant and 1 s backends.
    for delay in [Duration::ZERO, Duration::from_secs(1)] {
        eprintln!("{v}: 8 at once, image delay {delay:?}");
        world.backend.set_image_delay(delay);
        let mut one = Vec::new();
        for i in 0..3 {
            let t = Instant::now();
            client
                .generate(GenerateRequest::new(format!("{PROMPT} alone {i}")))
                .await?;
            one.push(t.elapsed());
        }
        let one = Stats(one).p50();
        let t = Instant::now();
        let jobs: Vec<_> = (0..8)
            .map(|i| {
                let c = client.clone();
                tokio::spawn(async move {
                    c.generate(GenerateRequest::new(format!("{PROMPT} burst {i}")))
                        .await
                })
            })
            .collect();
        for job in jobs {
            job.await??;
        }
        let eight = ms(t.elapsed());
        let label = if delay.is_zero() { "instant" } else { "1 s" };
        table.row(
            format!("{v}: 8 at once, {label} backend (wall)"),
            format!("{eight:.0} ms (1 alone: {one:.0} ms)"),
            x(eight, one),
            &format!("1 alone, {label} backend, {v}"),
        );
    }
    world.backend.set_image_delay(Duration::ZERO);

    // 7. The best warm peer, on the same backend, interleaved with this warm client.
    peer::section(&world, &client, n, &v, table).await;
    // The bridge shuts its client down when it ends, so it stops only when the shared client is done.
    host.stop().await?;
    client.shutdown().await;

    // 6. Per image: model requests, side requests and upstream bytes, lean and defaults.
    eprintln!("{v}: lean against defaults");
    let lean = per_image(&world, true, &[], n.min(6)).await?;
    let defaults = per_image(&world, false, &[], n.min(6)).await?;
    let before = per_image(&world, false, BEFORE_LEAN, n.min(6)).await?;
    let vs = format!("Codex's defaults, {v}");
    table.row(
        format!("{v}: model requests per image (lean)"),
        format!("{:.2} (defaults {:.2})", lean.model, defaults.model),
        x(lean.model, defaults.model),
        &vs,
    );
    table.row(
        format!("{v}: other backend requests per image (lean)"),
        format!(
            "{:.2} (defaults {:.2}, before the lean turn {:.2}): {}",
            lean.side, defaults.side, before.side, lean.side_paths
        ),
        format!(
            "{} of defaults, {} of before",
            x(lean.side, defaults.side),
            x(lean.side, before.side)
        ),
        &format!("{vs}; codex-img before the lean turn (apps and plugins off)"),
    );
    table.row(
        format!("{v}: upstream bytes per model request (lean, as sent)"),
        format!(
            "{:.0} B sent, {:.0} B decoded (defaults {:.0} B, {:.0} B; before the lean turn {:.0} B, {:.0} B)",
            lean.wire, lean.decoded, defaults.wire, defaults.decoded, before.wire, before.decoded
        ),
        format!(
            "{} sent, {} decoded",
            x(lean.wire, defaults.wire),
            x(lean.decoded, defaults.decoded)
        ),
        &vs,
    );
    Ok(())
}

/// One `codex exec --json` run to its end; errors unless it exits 0 with an image item on stdout.
async fn codex_exec(world: &World, prompt: &str) -> Res<Duration> {
    let env = codex_command_env(&world.backend, world.home.path());
    let cwd = tempfile::tempdir()?;
    let mut cmd = tokio::process::Command::new(&world.bin);
    cmd.arg("exec")
        .arg("--json")
        .arg("--skip-git-repo-check")
        .args(env.config_args())
        .arg(prompt)
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    env.apply(&mut cmd);
    let t = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output()).await??;
    let took = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.contains("image") {
        return Err(format!("codex exec failed ({}): {:.400}", out.status, stdout).into());
    }
    Ok(took)
}

struct PerImage {
    model: f64,
    side: f64,
    side_paths: String,
    wire: f64,
    decoded: f64,
}

/// The overrides codex-img sent before the lean turn (besides `mcp_servers={}`), with no base
/// instructions: the issue's "today's" baseline.
const BEFORE_LEAN: &[&str] = &["features.apps=false", "features.plugins=false"];

async fn per_image(world: &World, lean: bool, extra: &[&str], n: usize) -> Res<PerImage> {
    let mut builder = world.builder().lean(lean);
    for o in extra {
        builder = builder.config_override(*o);
    }
    // Let the warm-up's own cleanup reach the backend before counting: shutting its client down waits
    // for it. A client is closed for good by its shutdown, so the counted images get a new one.
    let warm_up = builder.clone().build();
    warm_up.generate(GenerateRequest::new("warm-up")).await?;
    warm_up.shutdown().await;
    let client = builder.build();
    client.generate(GenerateRequest::new("warm-up 2")).await?;
    world.backend.clear_requests();
    for i in 0..n {
        client
            .generate(GenerateRequest::new(format!("{PROMPT} {i}")))
            .await?;
    }
    client.shutdown().await;
    let requests = world.backend.requests();
    let model: Vec<_> = requests.iter().filter(|r| r.is_model_request()).collect();
    let side: Vec<_> = requests.iter().filter(|r| r.is_side_request()).collect();
    let mut paths: Vec<String> = side.iter().map(|r| r.route().to_owned()).collect();
    paths.sort();
    paths.dedup();
    let first_turn: Vec<_> = model
        .iter()
        .filter(|r| {
            r.json()
                .and_then(|b| {
                    b["input"].as_array().map(|i| {
                        !i.iter()
                            .any(|it| it["type"].as_str().is_some_and(|t| t.ends_with("_output")))
                    })
                })
                .unwrap_or(true)
        })
        .collect();
    let k = first_turn.len().max(1) as f64;
    Ok(PerImage {
        model: model.len() as f64 / n as f64,
        side: side.len() as f64 / n as f64,
        side_paths: if paths.is_empty() {
            "none".into()
        } else {
            paths.join(", ")
        },
        wire: first_turn.iter().map(|r| r.wire_len).sum::<usize>() as f64 / k,
        decoded: first_turn.iter().map(|r| r.body.len()).sum::<usize>() as f64 / k,
    })
}

// ---------------------------------------------------------------------------------------------------
// The bridge, in process.

struct Host {
    input: DuplexStream,
    output: Lines<BufReader<DuplexStream>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Host {
    fn start(client: Client) -> Self {
        let (input, bridge_in) = tokio::io::duplex(1 << 20);
        let (bridge_out, output) = tokio::io::duplex(1 << 20);
        let served = tokio::spawn(serve_bridge(
            client,
            bridge_in,
            bridge_out,
            BridgeOptions::default(),
        ));
        Self {
            input,
            output: BufReader::new(output).lines(),
            served,
        }
    }

    async fn generate(&mut self, id: &str, params: Value) -> Res<Value> {
        let mut line = serde_json::to_vec(
            &json!({"jsonrpc": "2.0", "id": id, "method": "image/generate", "params": params}),
        )?;
        line.push(b'\n');
        self.input.write_all(&line).await?;
        loop {
            let line = self
                .output
                .next_line()
                .await?
                .ok_or("the bridge closed its output")?;
            let message: Value = serde_json::from_str(&line)?;
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    return Err(format!("bridge error: {error}").into());
                }
                return Ok(message["result"].clone());
            }
        }
    }

    async fn stop(self) -> Res<()> {
        drop(self.input);
        drop(self.output);
        Ok(self.served.await??)
    }
}

// ---------------------------------------------------------------------------------------------------
// 5. codex-img's own overhead, against the fake app-server.

async fn fake_overhead(n: usize, table: &mut Table) -> Res<()> {
    let fake = fake_bin()?;
    eprintln!("fake app-server: {n} sequential generations");
    let home = tempfile::tempdir()?;
    let client = Client::builder()
        .codex_bin(&fake)
        .codex_home(home.path())
        .concurrency(8)
        .build();
    client.generate(GenerateRequest::new("warm-up")).await?;
    let mut samples = Vec::new();
    let all = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        client
            .generate(GenerateRequest::new(format!("{PROMPT} {i}")))
            .await?;
        samples.push(t.elapsed());
    }
    let total = all.elapsed();
    client.shutdown().await;
    let s = Stats(samples);
    let target = "the issue's target, 1 ms";
    table.row(
        "fake app-server: overhead per generation, sequential",
        format!("p50 {:.2} ms, p99 {:.2} ms", s.p50(), s.p99()),
        x(s.p50(), 1.0),
        target,
    );
    table.row(
        "fake app-server: generations per second, sequential",
        format!("{:.0}/s", n as f64 / total.as_secs_f64()),
        "",
        "",
    );

    eprintln!("fake app-server: peak RSS, 8 × 8 MiB in flight");
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .arg("--rss-child")
        .arg(&fake)
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Res<f64> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .ok_or_else(|| format!("the RSS child printed no {name}: {text}"))?
            .parse::<f64>()
            .map_err(Into::into)
    };
    let (idle, peak, bytes) = (
        field("idle_kib=")?,
        field("peak_kib=")?,
        field("image_bytes=")?,
    );
    let mib = |kib: f64| kib / 1024.0;
    table.row(
        "fake app-server: peak RSS, 8 generations of 8 MiB in flight",
        format!(
            "{:.1} MiB (idle {:.1} MiB; images {:.1} MiB each)",
            mib(peak),
            mib(idle),
            bytes / 8.0 / 1048576.0
        ),
        x(mib(peak), 64.0),
        "the issue's target, 64 MiB",
    );
    Ok(())
}

/// The child of the RSS measurement: 8 generations of 8 MiB images at once; prints its peak resident
/// set before and after.
async fn rss_child(fake: &Path) -> Res<()> {
    let home = tempfile::tempdir()?;
    let client = Client::builder()
        .codex_bin(fake)
        .codex_home(home.path())
        .env("FAKE_IMAGE_SIZE", BIG_IMAGE)
        .concurrency(8)
        .build();
    // A small warm-up starts the process; its peak is the idle figure.
    let warm = Client::builder()
        .codex_bin(fake)
        .codex_home(home.path())
        .build();
    warm.generate(GenerateRequest::new("warm-up")).await?;
    warm.shutdown().await;
    let idle = peak_kib();
    // Each task hands back only the length, and the tasks are taken as they complete, so each image is
    // dropped as it arrives: the figure is what codex-img holds while the 8 are in flight (lines, base64,
    // decoded bytes), not what a caller keeps afterwards. `examples/rss.rs` runs the same child alone.
    let mut jobs = tokio::task::JoinSet::new();
    for i in 0..8 {
        let c = client.clone();
        jobs.spawn(async move {
            c.generate(GenerateRequest::new(format!("big {i}")))
                .await
                .map(|image| image.bytes.len())
        });
    }
    let mut bytes = 0;
    while let Some(done) = jobs.join_next().await {
        bytes += done??;
    }
    let peak = peak_kib();
    client.shutdown().await;
    println!("idle_kib={idle} peak_kib={peak} image_bytes={bytes}");
    Ok(())
}
