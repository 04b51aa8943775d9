//! The bridge's overhead per request, against calling the library directly, in one run.
//!
//!     cargo run --release --example bench_bridge -- [N]
//!
//! Runs against the fake app-server (built on first use; `CODEX_BIN` overrides it), so it spends no quota.
//! For each image size, one warm client (one app-server process) serves N rounds; each round makes, in
//! turn:
//! - `direct file`: `client.generate` + `save_async` to a file (temp file, fsync, rename);
//! - `bridge file`: `image/generate` with `output` through `serve` over an in-process duplex pipe, the
//!   host side writing the request line and reading lines (progress included) until its answer;
//! - `direct bytes`: `client.generate` alone, the bytes in memory;
//! - `bridge bytes`: `image/generate` with `returnBytes: true` and no file, the host decoding the base64.
//!
//! Interleaving the four in every round spreads the machine's noise over all of them alike. It prints
//! per-request medians and p90s, and each bridge median as a ratio to its direct counterpart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use codex_img::{serve_bridge, BridgeOptions};
use codex_img::{Client, GenerateRequest, IfExists};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

const SIZES: [&str; 2] = ["64x48", "1024x1024"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 50,
    };
    let codex = match std::env::var_os("CODEX_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => fake_app_server::build()?,
    };
    println!(
        "bench_bridge: {rounds} sequential warm generations per mode, fake app-server {}",
        codex.display()
    );
    println!(
        "{:<10} {:<13} {:>11} {:>11} {:>16}",
        "image", "mode", "median ms", "p90 ms", "bridge / direct"
    );
    for size in SIZES {
        run_size(&codex, size, rounds).await?;
    }
    Ok(())
}

async fn run_size(
    codex: &Path,
    size: &str,
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let home = scratch.path().join("home");
    let out = scratch.path().join("out");
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&out)?;
    let client = Client::builder()
        .codex_bin(codex)
        .codex_home(&home)
        .env("FAKE_IMAGE_SIZE", size)
        .build();
    let mut host = Host::start(client.clone());

    // Warm up both paths: process start, first thread, allocations.
    direct(&client, &out.join("warm-direct.png")).await?;
    host.generate(
        "warm",
        json!({"prompt": "warm", "output": out.join("warm-bridge.png")}),
    )
    .await?;

    let (mut d, mut f, mut db, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        d.push(direct(&client, &out.join(format!("d{i}.png"))).await?);
        let started = Instant::now();
        host.generate(
            &format!("f{i}"),
            json!({"prompt": format!("bench {i}"), "output": out.join(format!("f{i}.png"))}),
        )
        .await?;
        f.push(started.elapsed());
        let started = Instant::now();
        let result = host
            .generate(
                &format!("b{i}"),
                json!({"prompt": format!("bench {i}"), "returnBytes": true}),
            )
            .await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(result["base64"].as_str().ok_or("no base64")?)?;
        if bytes.len() as u64 != result["bytes"].as_u64().unwrap_or(0) {
            return Err("the base64 does not match the reported size".into());
        }
        b.push(started.elapsed());
        let started = Instant::now();
        client
            .generate(GenerateRequest::new(format!("bench {i}")))
            .await?;
        db.push(started.elapsed());
    }
    host.stop().await?;
    client.shutdown().await;

    let (file_base, bytes_base) = (median(&mut d), median(&mut db));
    for (mode, samples, base) in [
        ("direct file", &mut d, file_base),
        ("bridge file", &mut f, file_base),
        ("direct bytes", &mut db, bytes_base),
        ("bridge bytes", &mut b, bytes_base),
    ] {
        let m = median(samples);
        println!(
            "{:<10} {:<13} {:>11.3} {:>11.3} {:>16.3}",
            size,
            mode,
            ms(m),
            ms(percentile(samples, 0.9)),
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}

async fn direct(client: &Client, target: &Path) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let image = client
        .generate(GenerateRequest::new("bench direct"))
        .await?;
    image
        .save_async(target.to_path_buf(), IfExists::Fail)
        .await?;
    Ok(started.elapsed())
}

/// The host side of an in-process bridge.
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

    async fn generate(
        &mut self,
        id: &str,
        params: Value,
    ) -> Result<Value, Box<dyn std::error::Error>> {
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

    async fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        drop(self.input);
        drop(self.output);
        Ok(self.served.await??)
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    percentile(samples, 0.5)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
