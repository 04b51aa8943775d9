//! `generate_image` calls written to `codex-img serve-mcp --concurrency 1` in one burst reach Codex in
//! the order they were written. rmcp runs every call on its own task, and tasks start in whatever order
//! the runtime's workers pick them up, so without the server's turnstile (`src/mcp/arrival.rs`) the
//! calls took their places in the queue out of order.
#![cfg(feature = "mcp")]


use crate::support;
use std::process::Stdio;
use std::time::Duration;

use crate::support::World;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdout, Command};

const PATIENCE: Duration = Duration::from_secs(60);

async fn next(stdout: &mut BufReader<ChildStdout>) -> Value {
    let mut line = String::new();
    let n = tokio::time::timeout(PATIENCE, stdout.read_line(&mut line))
        .await
        .expect("output in time")
        .expect("read");
    assert!(n > 0, "the server stopped before answering every call");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

fn line(message: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(message).expect("json");
    bytes.push(b'\n');
    bytes
}

#[tokio::test]
async fn a_burst_of_generate_image_calls_is_served_in_arrival_order() {
    let world = World::new().set("FAKE_DELAY_MS", "300");
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex-img"))
        .args(["serve-mcp", "--concurrency", "1", "--root"])
        .arg(&root)
        .env("CODEX_BIN", support::fake_bin())
        .env("CODEX_HOME", world.home())
        .env("FAKE_RECORD_DIR", world.record())
        .envs(world.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn codex-img serve-mcp");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));

    let initialize = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "burst", "version": "0"}}});
    stdin.write_all(&line(&initialize)).await.expect("write");
    stdin.flush().await.expect("flush");
    let answer = next(&mut stdout).await;
    assert_eq!(answer["id"], "init", "{answer}");

    // One write: a slow first call holds the only slot while eleven more arrive behind it.
    let prompts: Vec<String> = std::iter::once("first [fake:slow]".to_owned())
        .chain((1..=11).map(|i| format!("queued {i}")))
        .collect();
    let mut burst = line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    for (i, prompt) in prompts.iter().enumerate() {
        burst.extend(line(
            &json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
            "name": "generate_image",
            "arguments": {"prompt": prompt, "output": format!("{i}.png"), "inline": false}}}),
        ));
    }
    stdin.write_all(&burst).await.expect("write");
    stdin.flush().await.expect("flush");

    let mut answered = Vec::new();
    while answered.len() < prompts.len() {
        let v = next(&mut stdout).await;
        if v.get("method").is_some() {
            continue;
        }
        assert_eq!(v["result"]["isError"], false, "{v}");
        answered.push(v["id"].clone());
    }
    drop(stdin);
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("exited in time")
        .expect("wait");
    assert_eq!(status.code(), Some(0));

    let served: Vec<String> = world
        .events("turn_inputs")
        .iter()
        .map(|t| {
            t["params"]["input"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(served, prompts);
}
