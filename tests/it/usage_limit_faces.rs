//! `ignore_known_usage_limit` through serve-stdio and the CLI, against the fake app-server: after a
//! usage limit with a known reset, the next request is refused (`runtime/usage_limit`, with the same
//! `resets_at`) and the fake's record shows no new `turn/start`; a request that sets the option gets a
//! turn. (serve-mcp's are in `mcp::python`, serve-http's in `http::generate`.)

use std::process::Stdio;

use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    bridge::{app_error, Bridge},
    run::{OutputWithin as _, RUN_DEADLINE},
    World,
};

#[tokio::test]
async fn serve_stdio_refuses_after_a_limit_without_a_turn_unless_the_request_ignores_it() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let generate = |prompt: &str| json!({"prompt": prompt, "returnBytes": true});
    bridge
        .request(
            json!(1),
            "image/generate",
            generate("limit [fake:usage-limit-item]"),
        )
        .await;
    let limit = app_error(&bridge.answer(&json!(1)).await);
    let resets_at = world.events("usage_limit")[0]["resetsAt"].clone();
    // Codex's own answer: no `refused_locally`.
    assert_eq!(
        (
            limit["data"]["code"].clone(),
            limit["data"]["resets_at"].clone(),
            limit["data"]["refused_locally"].clone()
        ),
        (json!("runtime/usage_limit"), resets_at.clone(), Value::Null)
    );

    bridge
        .request(json!(2), "image/generate", generate("refused"))
        .await;
    let refused = app_error(&bridge.answer(&json!(2)).await);
    assert_eq!(
        (
            refused["code"].clone(),
            refused["data"]["code"].clone(),
            refused["data"]["resets_at"].clone(),
            refused["data"]["refused_locally"].clone()
        ),
        (
            json!(-32003),
            json!("runtime/usage_limit"),
            resets_at,
            json!(true)
        )
    );
    assert_eq!(world.prompts(), ["limit [fake:usage-limit-item]"]);

    // An explicit `false` is the default: still refused.
    let mut not_ignoring = generate("still refused");
    not_ignoring["ignoreKnownUsageLimit"] = json!(false);
    bridge
        .request(json!(3), "image/generate", not_ignoring)
        .await;
    assert_eq!(
        app_error(&bridge.answer(&json!(3)).await)["data"]["code"],
        "runtime/usage_limit"
    );

    let mut anyway = generate("anyway");
    anyway["ignoreKnownUsageLimit"] = json!(true);
    bridge.request(json!(4), "image/generate", anyway).await;
    let answer = bridge.answer(&json!(4)).await;
    assert_eq!(answer["result"]["ok"], true, "{answer}");
    // The library's own spelling works too.
    let mut snake = generate("anyway, spelled like the library");
    snake["ignore_known_usage_limit"] = json!(true);
    bridge.request(json!(5), "image/generate", snake).await;
    let answer = bridge.answer(&json!(5)).await;
    assert_eq!(answer["result"]["ok"], true, "{answer}");
    assert_eq!(
        world.prompts(),
        [
            "limit [fake:usage-limit-item]",
            "anyway",
            "anyway, spelled like the library"
        ]
    );
    bridge.finish_ok().await;
}

/// `codex-img generate` in a private world: its exit code and its one `--json` object.
fn generate(world: &World, args: &[&str]) -> (i32, Value) {
    let mut cmd = world.command::<&str>(&[]);
    cmd.arg("generate")
        .args(args)
        .args(["--json", "--concurrency", "1"])
        .current_dir(world.dir.path())
        .stdin(Stdio::null());
    let out = cmd.output_within(RUN_DEADLINE).expect("run codex-img");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

/// Each failed image's index, code and `refused_locally` (null when absent).
fn codes(report: &Value) -> Vec<(Value, Value, Value)> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["index"].clone(),
                e["code"].clone(),
                e["refused_locally"].clone(),
            )
        })
        .collect()
}

#[test]
fn generate_with_ignore_known_usage_limit_still_starts_the_turns_behind_a_limit() {
    // One slot: image 2 waits while image 1 reaches the limit. Without the flag it fails with the
    // limit and never reaches Codex; with it, it keeps its place and gets its own turn.
    let prompt = "a fox [fake:usage-limit-item]";
    let world = World::new();
    let out = world.dir.path().join("fox.png");
    let (code, report) = generate(
        &world,
        &[prompt, "-n", "2", "-o", out.to_str().expect("utf-8")],
    );
    assert_eq!(code, 5, "{report}");
    assert_eq!(
        codes(&report),
        [
            (json!(1), json!("runtime/usage_limit"), Value::Null),
            (json!(2), json!("runtime/usage_limit"), json!(true))
        ]
    );
    assert_eq!(world.prompts(), [prompt], "image 2 started no turn");

    let world = World::new();
    let out = world.dir.path().join("fox.png");
    let (code, report) = generate(
        &world,
        &[
            prompt,
            "-n",
            "2",
            "-o",
            out.to_str().expect("utf-8"),
            "--ignore-known-usage-limit",
        ],
    );
    assert_eq!(code, 5, "{report}");
    assert_eq!(
        codes(&report),
        [
            (json!(1), json!("runtime/usage_limit"), Value::Null),
            (json!(2), json!("runtime/usage_limit"), Value::Null)
        ]
    );
    assert_eq!(
        world.prompts(),
        [prompt, prompt],
        "image 2 had its own turn"
    );
}
