//! `codex-img serve-stdio` as a real process on real pipes: stdout carries only protocol, closing stdin
//! with requests in flight answers each one and exits 0 with no Codex process left (asked of the OS),
//! and `bridge/shutdown` ends the process while stdin is still open.

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::support::{
    self,
    child::{self, exit_code, next, send},
    World,
};

/// `serve-stdio ARGS` in `world`, on pipes.
fn spawn(world: &World, args: &[&str]) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut command = world.command(&["serve-stdio"]);
    command.args(args);
    child::spawn(command)
}

#[tokio::test]
async fn closing_stdin_with_requests_in_flight_answers_each_exits_0_and_leaves_nothing_running() {
    let world = World::new()
        .set("FAKE_DELAY_MS", "30000")
        .set("FAKE_SPAWN_HELPER", "1");
    let (mut child, mut stdin, mut stdout) = spawn(&world, &[]);
    let ids: Vec<String> = (0..4).map(|i| format!("g{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let scenario = if i == 0 { "hang" } else { "slow" };
        send(
            &mut stdin,
            &json!({"jsonrpc": "2.0", "id": id, "method": "image/generate", "params": {"prompt": format!("{i} [fake:{scenario}]"), "returnBytes": true}}),
        )
        .await;
    }
    // Two run (the default concurrency), two wait in the queue.
    world
        .wait_events("turn_inputs", 2, Duration::from_secs(30))
        .await;
    drop(stdin);
    let mut answers = Vec::new();
    while let Some(v) = next(&mut stdout).await {
        if v.get("method").is_none() {
            answers.push((v["id"].clone(), v["error"]["data"]["code"].clone()));
        }
    }
    answers.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(
        answers,
        ids.iter()
            .map(|id| (json!(id), json!("runtime/cancelled")))
            .collect::<Vec<_>>()
    );
    assert_eq!(exit_code(&mut child).await, Some(0));
    let mut pids = world.server_pids();
    pids.extend(world.helper_pids());
    assert_eq!(pids.len(), 2, "one app-server and its helper: {pids:?}");
    assert!(
        support::all_gone(&pids, Duration::from_secs(5)).await,
        "a Codex process outlived the bridge: {:?}",
        pids.iter()
            .filter(|p| support::alive(**p))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn shutdown_ends_the_process_while_stdin_is_still_open() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_str().expect("utf-8").to_owned();
    let (mut child, mut stdin, mut stdout) = spawn(&world, &["--root", &root]);
    // A request split across many writes on a real pipe.
    let line = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 1, "method": "image/generate", "params": {"prompt": "a lighthouse", "output": "lighthouse.png"}})).expect("json");
    for chunk in line.chunks(5) {
        stdin.write_all(chunk).await.expect("write");
        stdin.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stdin.write_all(b"\n").await.expect("write");
    let answer = loop {
        let v = next(&mut stdout).await.expect("an answer");
        if v["id"] == 1 {
            break v;
        }
    };
    assert_eq!(
        answer["result"]["path"],
        json!(dir
            .path()
            .canonicalize()
            .expect("canonical")
            .join("lighthouse.png"))
    );
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "bridge/shutdown"}),
    )
    .await;
    assert_eq!(
        next(&mut stdout).await,
        Some(json!({"jsonrpc": "2.0", "id": 2, "result": {}}))
    );
    assert_eq!(next(&mut stdout).await, None, "stdout closed");
    assert_eq!(exit_code(&mut child).await, Some(0));
    drop(stdin);
    assert!(support::all_gone(&world.server_pids(), Duration::from_secs(5)).await);
}
