//! `codex-img serve-mcp` as a real process on real pipes, spoken to line by line: stdout carries only
//! MCP messages, and closing stdin with calls in flight (one of them on a turn that ignores interrupts)
//! stops every call, writes nothing, and exits 0 with no Codex process or helper left (asked of the
//! OS). The Python SDK tests cannot show this: the SDK cancels its calls before it closes stdin.

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{
    self,
    child::{exit_code, next, send, spawn},
    World,
};

#[tokio::test]
async fn closing_stdin_with_calls_in_flight_stops_them_exits_0_and_leaves_nothing_running() {
    let world = World::new()
        .set("FAKE_DELAY_MS", "30000")
        .set("FAKE_SPAWN_HELPER", "1");
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let mark = support::mcp::mark(&world);
    let mut command = world.command(&["serve-mcp", "--root"]);
    command.arg(&root).env("CODEX_IMG_TEST_MARK", &mark);
    let (mut child, mut stdin, mut stdout) = spawn(command);
    let mut lines = vec![
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}),
    ];
    lines.push(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    for (id, scenario) in [(1, "hang"), (2, "slow")] {
        lines.push(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "generate_image",
            "arguments": {"prompt": format!("a fox [fake:{scenario}]"), "output": format!("{scenario}.png")},
            "_meta": {"progressToken": format!("p{id}")}}}));
    }
    for message in &lines {
        send(&mut stdin, message).await;
    }
    // Wait until both calls are generating.
    let mut generating = Vec::new();
    while generating.len() < 2 {
        let v = next(&mut stdout)
            .await
            .expect("the server's output ended early");
        if v["method"] == "notifications/progress"
            && v["params"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("generating:"))
        {
            generating.push(v["params"]["progressToken"].clone());
        }
        assert!(v.get("error").is_none(), "{v}");
        if v["id"] == 1 || v["id"] == 2 {
            panic!("a call was answered before stdin closed: {v}");
        }
    }
    let pids = world.server_pids();
    let helpers = world.helper_pids();
    assert_eq!((pids.len(), helpers.len()), (1, 1));
    drop(stdin);
    // Whatever else comes out is MCP too; the calls' answers have no reader and need not come.
    while next(&mut stdout).await.is_some() {}
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert!(
        support::all_gone(&[pids, helpers].concat(), Duration::from_secs(10)).await,
        "the app-server or its helper is still running"
    );
    assert_eq!(
        support::mcp::processes_marked(&mark, Duration::from_secs(10)),
        Vec::<i32>::new()
    );
    assert_eq!(support::entries(&root), Vec::<String>::new());
    assert_eq!(world.generated_images(), Vec::<String>::new());
}
