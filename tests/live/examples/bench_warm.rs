//! What the warm process buys, against real Codex and the loopback test backend (no network, no quota).
//!
//! Baseline: a new client, and so a new `codex app-server`, for every image (what a tool that spawns
//! Codex per request pays). Measured in the same run: one warm client serving images one after another,
//! and four at once. Prints medians and ratios against the baseline, plus the model requests per image.
//!
//! ```sh
//! cargo run --release -p codex-img-live --example bench_warm -- [VERSION] [N]
//! ```

use std::time::{Duration, Instant};

use codex_img::{Client, GenerateRequest};
use loopback_backend::{
    codex_command_env, ensure_codex, write_fake_chatgpt_login, Backend, BackendConfig,
};

fn client(
    bin: &std::path::Path,
    home: &std::path::Path,
    backend: &Backend,
    concurrency: usize,
) -> Client {
    let env = codex_command_env(backend, home);
    let mut b = Client::builder()
        .codex_bin(bin)
        .codex_home(home)
        .concurrency(concurrency);
    for o in env.config_overrides {
        b = b.config_override(o);
    }
    for (k, v) in env.env {
        b = b.env(k, v);
    }
    b.build()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let version = args
        .next()
        .unwrap_or_else(|| loopback_backend::NEWEST.to_owned());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(8);
    let bin = ensure_codex(&version)?;
    let backend = Backend::start(BackendConfig::default()).await?;
    let home = tempfile::tempdir()?;
    write_fake_chatgpt_login(home.path(), "plus")?;

    // Baseline: a fresh process per image.
    let mut cold = Vec::new();
    for i in 0..n {
        let c = client(&bin, home.path(), &backend, 1);
        let t = Instant::now();
        c.generate(GenerateRequest::new(format!("cold {i}")))
            .await?;
        cold.push(t.elapsed());
        c.shutdown().await;
    }

    // One warm process, sequential.
    let c = client(&bin, home.path(), &backend, 4);
    c.generate(GenerateRequest::new("warm-up")).await?;
    backend.clear_requests();
    let mut warm = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        c.generate(GenerateRequest::new(format!("warm {i}")))
            .await?;
        warm.push(t.elapsed());
    }
    let model_requests_per_image = backend.model_requests().len() as f64 / n as f64;

    // Four at once on the same process.
    let mut walls = Vec::new();
    for round in 0..3 {
        let t = Instant::now();
        let jobs: Vec<_> = (0..4)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move {
                    c.generate(GenerateRequest::new(format!("burst {round}.{i}")))
                        .await
                })
            })
            .collect();
        for job in jobs {
            job.await??;
        }
        walls.push(t.elapsed());
    }
    c.shutdown().await;
    let leftovers = std::fs::read_dir(home.path().join("generated_images"))
        .map(|d| d.count())
        .unwrap_or(0);

    let (cold_p50, warm_p50, wall_p50) = (median(cold), median(warm), median(walls));
    println!(
        "codex {version}, loopback backend, {n} images per series, {} cores",
        std::thread::available_parallelism()?.get()
    );
    println!(
        "cold  (new app-server per image)  p50 {:>7.1} ms   baseline",
        ms(cold_p50)
    );
    println!(
        "warm  (one app-server, sequential) p50 {:>7.1} ms   {:.2}x of baseline",
        ms(warm_p50),
        ms(warm_p50) / ms(cold_p50)
    );
    println!(
        "burst (4 at once, one app-server)  wall {:>7.1} ms   {:.2}x of 4 warm sequential, {:.2}x of 4 cold",
        ms(wall_p50),
        ms(wall_p50) / (4.0 * ms(warm_p50)),
        ms(wall_p50) / (4.0 * ms(cold_p50))
    );
    println!("model requests per warm image: {model_requests_per_image:.2}");
    println!("files left in CODEX_HOME/generated_images: {leftovers}");
    Ok(())
}
