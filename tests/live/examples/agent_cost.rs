//! What an agent's model is sent per image: runs Claude Code 2.1.332 and Codex 0.171.0 as MCP clients of
//! `codex-img serve-mcp` (the same harness as `tests/agents.rs`, loopback stand-ins of both models and
//! of codex-img's image backend), has each call `generate_image` for three images, and prints what the
//! agent's model received for each: the images (format, dimensions, bytes) and the text (bytes). These
//! are the bytes the user's agent plan pays for.
//!
//! The three images: the loopback backend's tiny PNG (64x48), a 1254x1254 PNG just under 2 MiB, and a
//! real-sized 1254x1254 PNG of about 2.4 MB (what Codex's image tool typically returns).
//!
//! ```text
//! nice -n 10 cargo run -p codex-img-live --example agent_cost
//! ```
//!
//! It prints one Markdown table row per agent and image, ready for `BENCHMARKS.md`, with the bytes of the
//! image(s) the model received as a ratio to the image made in the same run.

#[path = "../tests/agents_support/mod.rs"]
mod agents_support;
#[path = "../../it/support/mcp/sdk.rs"]
mod mcp_sdk;

use std::time::Instant;

use agents_support::{
    claude, codex_agent, noisy_png, real_sized_png, Agent, ImageSide, Received, SERVER,
};
use loopback_backend::{png_size, BackendConfig, Script, Step};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let started = Instant::now();
    let side = ImageSide::start(BackendConfig::default()).await;
    let images: Vec<(&str, Vec<u8>)> = vec![
        ("tiny", side.backend.image_png()),
        ("under 2 MiB", noisy_png(1254, 1254, 2)),
        ("real-sized", real_sized_png()),
    ];
    let entry = side.server_entry();
    let mut rows = Vec::new();
    for agent in [Agent::ClaudeCode, Agent::Codex] {
        let tag = match agent {
            Agent::ClaudeCode => "claude",
            Agent::Codex => "codex",
        };
        let mut script: Script = vec![Step::Search("generate image".into())];
        for (index, _) in images.iter().enumerate() {
            script.push(Step::call(
                SERVER,
                "generate_image",
                json!({"prompt": "a red square on a white background",
                       "output": format!("{tag}-{index}.png")}),
            ));
        }
        script.push(Step::Say("Done.".into()));
        side.backend
            .queue_images(images.iter().map(|(_, png)| png.clone()));
        let received: Received = match agent {
            Agent::ClaudeCode => claude::run(&entry, script).await,
            Agent::Codex => codex_agent::run(&entry, script).await,
        };
        let calls = received.calls_of("generate_image");
        for ((what, served), seen) in images.iter().zip(calls) {
            let (w, h) = png_size(served).unwrap_or((0, 0));
            let seen_images = if seen.images.is_empty() {
                "none".to_owned()
            } else {
                seen.images
                    .iter()
                    .map(|i| {
                        format!(
                            "{} {}x{}, {} bytes",
                            i.format,
                            i.width,
                            i.height,
                            i.bytes.len()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let other = if seen.other.is_empty() {
                String::new()
            } else {
                format!(" (+{} other block(s))", seen.other.len())
            };
            // The ratio to the image made, in this run: what the model reads against what was paid for.
            let received: usize = seen.images.iter().map(|i| i.bytes.len()).sum();
            let ratio = received as f64 / served.len() as f64;
            rows.push(format!(
                "| {agent} | {what}: PNG {w}x{h}, {} bytes | {seen_images} | {ratio:.3} | {} bytes{other} |",
                served.len(),
                seen.text_bytes(),
            ));
        }
    }
    side.finish().await;
    println!("| agent | image made | image(s) the model received | image bytes received / made | text the model received |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!(
        "\n(measured in {:.1}s with Claude Code {} and Codex {} as the agents)",
        started.elapsed().as_secs_f64(),
        loopback_backend::CLAUDE_CODE,
        loopback_backend::NEWEST
    );
}
