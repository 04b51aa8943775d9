//! Requests written to `codex-img serve-stdio --concurrency 1` in one burst reach Codex in the order
//! they were written: the bridge takes each one's place in the queue in its read loop, not in the
//! task it spawns for it (spawned tasks start in whatever order the runtime's workers pick them up).


use crate::support;
use std::process::Stdio;
use std::time::Duration;

use crate::support::World;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn a_burst_to_serve_stdio_is_served_in_arrival_order() {
    let world = World::new().set("FAKE_DELAY_MS", "300");
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex-img"))
        .args(["serve-stdio", "--concurrency", "1"])
        .env("CODEX_BIN", support::fake_bin())
        .env("CODEX_HOME", world.home())
        .env("FAKE_RECORD_DIR", world.record())
        .envs(world.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn codex-img serve-stdio");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));

    // One write: a slow first request holds the only slot while seven more arrive behind it.
    let prompts: Vec<String> = std::iter::once("first [fake:slow]".to_owned())
        .chain((1..=7).map(|i| format!("queued {i}")))
        .collect();
    let mut burst = Vec::new();
    for (i, prompt) in prompts.iter().enumerate() {
        let request = json!({"jsonrpc": "2.0", "id": i, "method": "image/generate",
                             "params": {"prompt": prompt, "returnBytes": true}});
        burst.extend(serde_json::to_vec(&request).expect("json"));
        burst.push(b'\n');
    }
    stdin.write_all(&burst).await.expect("write");
    stdin.flush().await.expect("flush");

    let mut answered = 0;
    while answered < prompts.len() {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut line))
            .await
            .expect("output in time")
            .expect("read");
        assert!(n > 0, "the bridge stopped before answering every request");
        let v: Value = serde_json::from_str(&line).expect("json");
        if v.get("id").is_some() && v.get("method").is_none() {
            assert!(v.get("result").is_some(), "{v}");
            answered += 1;
        }
    }
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
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
