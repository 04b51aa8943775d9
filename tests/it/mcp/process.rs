//! `codex-img serve-mcp` as a real process on real pipes, spoken to line by line: stdout carries only
//! MCP messages, and closing stdin with calls in flight (one of them on a turn that ignores interrupts)
//! stops every call, writes nothing, and exits 0 with no Codex process or helper left (asked of the
//! OS). The Python SDK tests cannot show this: the SDK cancels its calls before it closes stdin.


use crate::support;
use std::process::Stdio;
use std::time::Duration;

use crate::support::World;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdout, Command};

const PATIENCE: Duration = Duration::from_secs(60);

async fn next(stdout: &mut BufReader<ChildStdout>) -> Option<Value> {
    let mut line = String::new();
    let n = tokio::time::timeout(PATIENCE, stdout.read_line(&mut line))
        .await
        .expect("output in time")
        .expect("read");
    if n == 0 {
        return None;
    }
    let v: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("stdout carried a non-MCP line ({e}): {line:?}"));
    assert_eq!(v["jsonrpc"], "2.0", "{line}");
    Some(v)
}

#[tokio::test]
async fn closing_stdin_with_calls_in_flight_stops_them_exits_0_and_leaves_nothing_running() {
    let world = World::new()
        .set("FAKE_DELAY_MS", "30000")
        .set("FAKE_SPAWN_HELPER", "1");
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let mark = support::mcp::mark(&world);
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex-img"))
        .args(["serve-mcp", "--root"])
        .arg(&root)
        .env("CODEX_BIN", support::fake_bin())
        .env("CODEX_HOME", world.home())
        .env("FAKE_RECORD_DIR", world.record())
        .env("CODEX_IMG_TEST_MARK", &mark)
        .envs(world.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn codex-img serve-mcp");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
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
    for line in &lines {
        let mut bytes = serde_json::to_vec(line).expect("json");
        bytes.push(b'\n');
        stdin.write_all(&bytes).await.expect("write");
    }
    stdin.flush().await.expect("flush");
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
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("exited in time")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(
        support::all_gone(&[pids, helpers].concat(), Duration::from_secs(10)).await,
        "the app-server or its helper is still running"
    );
    assert_eq!(
        support::mcp::processes_marked(&mark, Duration::from_secs(10)),
        Vec::<i32>::new()
    );
    assert_eq!(support::mcp::files(&root), Vec::<String>::new());
    assert_eq!(world.generated_images(), Vec::<String>::new());
}
