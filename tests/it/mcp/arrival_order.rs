//! `generate_image` calls written to `codex-img serve-mcp --concurrency 1` in one burst reach Codex in
//! the order they were written. rmcp runs every call on its own task, and tasks start in whatever order
//! the runtime's workers pick them up, so without the server's turnstile (`src/mcp/arrival.rs`) the
//! calls took their places in the queue out of order.
#![cfg(feature = "mcp")]

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::{
    child::{exit_code, line, next, spawn},
    World,
};

#[tokio::test]
async fn a_burst_of_generate_image_calls_is_served_in_arrival_order() {
    let world = World::new().set("FAKE_DELAY_MS", "300");
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let mut command = world.command(&["serve-mcp", "--concurrency", "1", "--root"]);
    command.arg(&root);
    let (mut child, mut stdin, mut stdout) = spawn(command);

    let initialize = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "burst", "version": "0"}}});
    stdin.write_all(&line(&initialize)).await.expect("write");
    stdin.flush().await.expect("flush");
    let answer = next(&mut stdout)
        .await
        .expect("the server stopped before answering every call");
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
        let v = next(&mut stdout)
            .await
            .expect("the server stopped before answering every call");
        if v.get("method").is_some() {
            continue;
        }
        assert_eq!(v["result"]["isError"], false, "{v}");
        answered.push(v["id"].clone());
    }
    drop(stdin);
    assert_eq!(exit_code(&mut child).await, Some(0));

    let served: Vec<String> = world.prompts();
    assert_eq!(served, prompts);
}
