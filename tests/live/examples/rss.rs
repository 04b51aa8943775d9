//! Peak memory of codex-img with 8 generations of 8 MiB images in flight (issue 12's RSS figure), on its
//! own, without the rest of the benchmark. Against the fake app-server (no Codex, no quota).
//!
//! ```sh
//! cargo run --release -p codex-img-live --example rss -- [RUNS]
//! RSS_TRACE=1 cargo run --release -p codex-img-live --example rss -- 1   # and every allocation >= 1 MiB
//! ```
//!
//! Each run is a fresh child process (this program with `--child FAKE`), so nothing else counts toward
//! its peak. The child warms a small client, then starts 8 generations of 1672×1672 stored-deflate PNGs
//! (8.0 MiB each, 10.7 MiB of base64 on the wire) on one client with `concurrency(8)`, and takes each
//! image as it completes and drops it, so the figure is what codex-img itself holds while the 8 are in
//! flight, not what a caller keeps. It prints the `VmHWM` before and after, and, from a counting global
//! allocator, the most heap bytes live at once: the gap between the two is memory the allocator kept
//! mapped, not memory codex-img held. The same child runs inside `bench` (`rss_child` there).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

use codex_img::{Client, GenerateRequest};

#[path = "bench/fake.rs"]
mod fake;

use fake::{fake_bin, peak_kib};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// 3 × 1672² bytes of stored-deflate pixels and their row filters: an 8.0 MiB PNG from the fake.
const BIG_IMAGE: &str = "1672x1672";
const IN_FLIGHT: usize = 8;

/// Counts live heap bytes and their high-water mark, and, when tracing, records every allocation of at
/// least [`BIG`] bytes (size and the live total after it) in a fixed table, so nothing allocates inside
/// the allocator.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TRACING: AtomicBool = AtomicBool::new(false);
const BIG: usize = 1 << 20;
const EVENTS: usize = 4096;
static EVENT_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Per event: the size (negative for a free, as two's complement) and the live total after it.
static EVENT_SIZE: [AtomicU64; EVENTS] = [const { AtomicU64::new(0) }; EVENTS];
static EVENT_LIVE: [AtomicU64; EVENTS] = [const { AtomicU64::new(0) }; EVENTS];

fn record(size: usize, freed: bool, live: usize) {
    if size < BIG || !TRACING.load(Relaxed) {
        return;
    }
    let i = EVENT_COUNT.fetch_add(1, Relaxed);
    if i < EVENTS {
        let signed = if freed {
            (size as u64).wrapping_neg()
        } else {
            size as u64
        };
        EVENT_SIZE[i].store(signed, Relaxed);
        EVENT_LIVE[i].store(live as u64, Relaxed);
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
    record(size, false, live);
}

fn shrank(size: usize) {
    let live = LIVE.fetch_sub(size, Relaxed) - size;
    record(size, true, live);
}

// SAFETY: every call is forwarded to `System` with the caller's own layout and pointer; the counters
// are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[tokio::main]
async fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--child") => {
            let fake = args.next().ok_or("--child FAKE")?;
            child(Path::new(&fake)).await
        }
        runs => parent(runs.map_or(Ok(3), str::parse)?),
    }
}

fn parent(runs: usize) -> Res<()> {
    let fake = fake_bin()?;
    let mib = |kib: f64| kib / 1024.0;
    let mut peaks = Vec::new();
    for run in 1..=runs {
        let out = std::process::Command::new(std::env::current_exe()?)
            .arg("--child")
            .arg(&fake)
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("run {run}: the child failed ({})", out.status).into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> Res<f64> {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .ok_or_else(|| format!("the child printed no {name}: {text}"))?
                .parse::<f64>()
                .map_err(Into::into)
        };
        let (idle, peak, bytes, heap) = (
            field("idle_kib=")?,
            field("peak_kib=")?,
            field("image_bytes=")?,
            field("heap_peak_bytes=")?,
        );
        println!(
            "run {run}: peak RSS {:.1} MiB (idle {:.1} MiB), most heap live at once {:.1} MiB, \
             {IN_FLIGHT} images of {:.1} MiB",
            mib(peak),
            mib(idle),
            heap / 1048576.0,
            bytes / IN_FLIGHT as f64 / 1048576.0
        );
        for line in text.lines().filter(|l| l.starts_with("alloc ")) {
            println!("  {line}");
        }
        peaks.push(mib(peak));
    }
    peaks.sort_by(f64::total_cmp);
    if let Some(median) = peaks.get(peaks.len() / 2) {
        println!("median peak RSS of {runs}: {median:.1} MiB (target 64 MiB)");
    }
    Ok(())
}

/// One measurement: prints `idle_kib= peak_kib= image_bytes= heap_peak_bytes=`, and with `RSS_TRACE`
/// set, one `alloc` line per allocation or free of at least 1 MiB while the 8 were in flight.
async fn child(fake: &Path) -> Res<()> {
    let home = tempfile::tempdir()?;
    let client = Client::builder()
        .codex_bin(fake)
        .codex_home(home.path())
        .env("FAKE_IMAGE_SIZE", BIG_IMAGE)
        .concurrency(IN_FLIGHT)
        .build();
    // A small warm-up starts a process; its peak is the idle figure.
    let warm = Client::builder()
        .codex_bin(fake)
        .codex_home(home.path())
        .build();
    warm.generate(GenerateRequest::new("warm-up")).await?;
    warm.shutdown().await;
    let idle = peak_kib();
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    TRACING.store(std::env::var_os("RSS_TRACE").is_some(), Relaxed);
    let mut jobs = tokio::task::JoinSet::new();
    for i in 0..IN_FLIGHT {
        let c = client.clone();
        // Each task hands back only the length: the image is dropped the moment it is delivered.
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
    TRACING.store(false, Relaxed);
    let peak = peak_kib();
    let heap = PEAK.load(Relaxed);
    client.shutdown().await;
    println!("idle_kib={idle} peak_kib={peak} image_bytes={bytes} heap_peak_bytes={heap}");
    let events = EVENT_COUNT.load(Relaxed).min(EVENTS);
    for i in 0..events {
        let size = EVENT_SIZE[i].load(Relaxed) as i64;
        let live = EVENT_LIVE[i].load(Relaxed);
        println!(
            "alloc {i:4} {:+9.2} MiB  live {:6.1} MiB",
            size as f64 / 1048576.0,
            live as f64 / 1048576.0
        );
    }
    Ok(())
}
