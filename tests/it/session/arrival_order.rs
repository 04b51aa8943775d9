//! Requests written to `codex-img serve-stdio --concurrency 1` in one burst reach Codex in the order
//! they were written: the bridge takes each one's place in the queue in its read loop, not in the
//! task it spawns for it (spawned tasks start in whatever order the runtime's workers pick them up).

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::{
    child::{exit_code, line, next, spawn},
    World,
};

#[tokio::test]
async fn a_burst_to_serve_stdio_is_served_in_arrival_order() {
    let world = World::new().set("FAKE_DELAY_MS", "300");
    let (mut child, mut stdin, mut stdout) =
        spawn(world.command(&["serve-stdio", "--concurrency", "1"]));

    // One write: a slow first request holds the only slot while seven more arrive behind it.
    let prompts: Vec<String> = std::iter::once("first [fake:slow]".to_owned())
        .chain((1..=7).map(|i| format!("queued {i}")))
        .collect();
    let mut burst = Vec::new();
    for (i, prompt) in prompts.iter().enumerate() {
        let request = json!({"jsonrpc": "2.0", "id": i, "method": "image/generate",
                             "params": {"prompt": prompt, "returnBytes": true}});
        burst.extend(line(&request));
    }
    stdin.write_all(&burst).await.expect("write");
    stdin.flush().await.expect("flush");

    let mut answered = 0;
    while answered < prompts.len() {
        let v = next(&mut stdout)
            .await
            .expect("the bridge stopped before answering every request");
        if v.get("id").is_some() && v.get("method").is_none() {
            assert!(v.get("result").is_some(), "{v}");
            answered += 1;
        }
    }
    drop(stdin);
    assert_eq!(exit_code(&mut child).await, Some(0));

    let served: Vec<String> = world.prompts();
    assert_eq!(served, prompts);
}
