//! Live: one `generate_image` through `codex-img serve-mcp`, driven by the official MCP Python SDK, on
//! real Codex releases (the CI pair by default; see `live_support::releases`) against the loopback
//! backend. The agent's view (the inline image, the report, the progress) must match what the backend
//! served, the file must be saved, and afterwards no process with the scenario's `CODEX_HOME` may be
//! left and no copy under Codex's `generated_images`.
//!
//! Needs the MCP Python SDK besides what every live test needs; the tests install it on first use (see
//! `tests/it/support/clients.rs`, which `tests/it/support/mcp/sdk.rs` brings in through the `#[path]`
//! below).

mod live_support;
#[path = "../../it/support/mcp/sdk.rs"]
mod mcp_sdk;

use base64::Engine as _;
use live_support::{over_releases, releases, sha256, Login, Rig};
use loopback_backend::{codex_command_env, test_png, BackendConfig};
use pretty_assertions::assert_eq;
use serde_json::json;

async fn generate_over_mcp(version: String) {
    let python = mcp_sdk::python();
    let served = test_png(80, 56, 11);
    let config = BackendConfig {
        image_png: served.clone(),
        ..BackendConfig::default()
    };
    let rig = Rig::start(&version, config, Login::ChatGpt).await;
    let env = codex_command_env(&rig.backend, &rig.home());
    let scratch = rig.scratch();
    let root = scratch.join("images");
    std::fs::create_dir_all(&root).expect("root");
    let mut args: Vec<String> = Vec::new();
    for o in &env.config_overrides {
        args.extend(["-c".to_owned(), o.clone()]);
    }
    args.extend(
        [
            "serve-mcp",
            "--structured",
            "--root",
            root.to_str().expect("utf-8"),
            "--timeout",
            "45",
        ]
        .map(String::from),
    );
    let mut server_env = serde_json::Map::new();
    for (k, v) in &env.env {
        server_env.insert(k.clone(), json!(v));
    }
    server_env.insert("CODEX_BIN".into(), json!(rig.launcher));
    server_env.insert("CODEX_HOME".into(), json!(rig.home()));
    server_env.insert("RUST_LOG".into(), json!("warn,codex_img=info"));
    let errlog = scratch.join("server-stderr.log");
    let plan = json!({
        "command": mcp_sdk::codex_img_bin(),
        "args": args,
        "env": server_env,
        "cwd": scratch,
        "errlog": errlog,
        "steps": [{"op": "call", "tool": "generate_image", "progress": true,
                   "arguments": {"prompt": "a red square on a white background", "output": "square.png"}}],
    });
    let report = {
        let plan_file = scratch.join("plan.json");
        tokio::task::spawn_blocking(move || {
            let context = || std::fs::read_to_string(&errlog).unwrap_or_default();
            mcp_sdk::run_plan(&python, &plan, &plan_file, &context)
        })
        .await
        .expect("the client task")
    };
    let step = &report["steps"][0];
    let result = mcp_sdk::result(step);
    assert_eq!(result["isError"], json!(false), "{version}: {step}");
    let structured = &result["structuredContent"];
    assert_eq!(
        (
            structured["sha256"].clone(),
            structured["width"].clone(),
            structured["height"].clone(),
            structured["codex_version"].clone(),
            structured["path"].clone()
        ),
        (
            json!(sha256(&served)),
            json!(80),
            json!(56),
            json!(version),
            json!(root.canonicalize().expect("canonical").join("square.png"))
        ),
        "{version}"
    );
    let inline = base64::engine::general_purpose::STANDARD
        .decode(result["content"][1]["data"].as_str().expect("inline image"))
        .expect("base64");
    assert_eq!(inline, served, "{version}: the inline image");
    assert_eq!(
        std::fs::read(root.join("square.png")).expect("saved"),
        served
    );
    let phases = mcp_sdk::phases(step);
    assert_eq!(
        phases.first().map(String::as_str),
        Some("queued"),
        "{version}: {phases:?}"
    );
    assert_eq!(
        phases.last().map(String::as_str),
        Some("done"),
        "{version}: {phases:?}"
    );
    assert!(
        phases.iter().any(|p| p == "generating"),
        "{version}: {phases:?}"
    );
    // The server's own app-server is gone with it; the rig's client never started one.
    rig.finish().await;
}

#[tokio::test]
async fn live_generate_image_over_mcp() {
    over_releases("generate_image over MCP", &releases(), generate_over_mcp).await;
}
