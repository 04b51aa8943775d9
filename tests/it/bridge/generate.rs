//! Generations through the bridge, in-process over `tokio::io::duplex` against the fake app-server:
//! results shaped like the CLI's `--json`, progress, bytes in and out, application errors, 16 requests
//! at once, cancellation, doctor, and input closing with requests in flight.

use std::time::Duration;

use base64::Engine;
use codex_img::image::sha256_hex;
use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, b64,
    bridge::{app_error, stable_report, Bridge},
    png, World,
};

#[tokio::test]
async fn generate_saves_reports_like_the_cli_and_streams_progress() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("fox.png");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!(1),
            "image/generate",
            json!({"prompt": "a red fox", "output": target, "size": "1024x1024", "quality": "high"}),
        )
        .await;
    let answer = bridge.answer(&json!(1)).await;
    let saved = std::fs::read(&target).expect("the image was saved");
    assert_eq!(answer["result"]["sha256"], sha256_hex(&saved));
    let timings = &answer["result"]["timings"];
    for key in [
        "queue_wait_ms",
        "thread_start_ms",
        "time_to_image_ms",
        "total_ms",
        "process_start_ms",
    ] {
        assert!(timings[key].is_u64(), "{key} in {timings}");
    }
    assert_eq!(
        answer["result"]["ids"]["thread_id"],
        world.events("image")[0]["threadId"]
    );
    assert_eq!(
        stable_report(&answer["result"]),
        json!({
            "ok": true,
            "path": target,
            "format": "png",
            "mime": "image/png",
            "width": 64,
            "height": 48,
            "bytes": saved.len(),
            "sha256": "<varies>",
            "revised_prompt": format!("{}, revised", world.events("turn_inputs")[0]["params"]["input"][0]["text"].as_str().expect("text")),
            "codex_version": "<varies>",
            "ids": "<varies>",
            "timings": "<varies>",
            "alpha": "none",
            "requested": {"width": 1024, "height": 1024},
            "fit": null,
            "original": null,
        })
    );
    assert_eq!(answer["jsonrpc"], "2.0");
    // Every phase, in order, before the answer.
    assert_eq!(
        bridge.take_progress(&json!(1)),
        vec![
            "queued",
            "starting_process",
            "thread_started",
            "generating",
            "image_received",
            "done"
        ]
    );
    bridge.finish_clean().await;
}

#[tokio::test]
async fn progress_notifications_have_the_documented_shape() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!("p"),
            "image/generate",
            json!({"prompt": "a kite", "returnBytes": true}),
        )
        .await;
    let first = bridge.next().await.expect("a line");
    assert_eq!(
        first,
        json!({"jsonrpc": "2.0", "method": "image/progress", "params": {"id": "p", "phase": "queued", "elapsedMs": first["params"]["elapsedMs"]}})
    );
    assert!(first["params"]["elapsedMs"].is_u64());
    bridge.answer(&json!("p")).await;
    bridge.finish_ok().await;
}

#[tokio::test]
async fn bytes_in_and_out_without_any_file() {
    let world = World::new();
    let (primary, reference) = (png(8, 8, 1), png(9, 9, 2));
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!("b"),
            "image/generate",
            json!({
                "prompt": "make it blue",
                "returnBytes": true,
                "image": {"base64": b64(&primary)},
                "references": [{"base64": b64(&reference)}],
            }),
        )
        .await;
    let answer = bridge.answer(&json!("b")).await;
    let result = &answer["result"];
    assert_eq!(result["path"], Value::Null);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(result["base64"].as_str().expect("base64"))
        .expect("valid base64");
    assert_eq!(result["sha256"], sha256_hex(&bytes));
    assert_eq!(result["bytes"], bytes.len());
    let inputs = world.events("turn_inputs");
    let seen: Vec<&Value> = inputs[0]["localImages"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| &i["sha256"])
        .collect();
    assert_eq!(
        seen,
        vec![&json!(sha256_hex(&primary)), &json!(sha256_hex(&reference))]
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn failures_are_application_errors_with_the_cli_codes() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let existing = dir.path().join("taken.png");
    std::fs::write(&existing, b"keep me").expect("write");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let requests = [
        json!({"prompt": "a fox", "output": existing}),
        json!({"prompt": "   ", "returnBytes": true}),
        json!({"prompt": "a fox", "returnBytes": true, "image": {"base64": "not base64!"}}),
        json!({"prompt": "a fox", "output": dir.path().join("missing/x.png")}),
        json!({"prompt": "a fox", "output": ""}),
    ];
    let mut got = Vec::new();
    for (i, params) in requests.into_iter().enumerate() {
        bridge.request(json!(i), "image/generate", params).await;
        got.push(app_error(&bridge.answer(&json!(i)).await));
    }
    let error = |code: i64, data_code: &str, message: String| json!({"code": code, "message": message, "data": {"ok": false, "code": data_code, "message": message, "retryable": false}});
    assert_eq!(
        got,
        vec![
            error(-32005, "output/exists", format!("{} already exists; choose another path or ask to overwrite", existing.display())),
            error(-32002, "request/invalid_prompt", "invalid prompt: the prompt is empty; describe the image to generate".into()),
            error(-32002, "request/invalid_image", "invalid image input image: its base64 has a line break or a space (at character 4); send it on one line".into()),
            error(-32005, "output/invalid_target", format!("cannot write to {}: the directory {} does not exist; create it first", dir.path().join("missing/x.png").display(), dir.path().join("missing").display())),
            error(-32005, "output/invalid_target", "cannot write to : the path is empty; give a file path".into()),
        ]
    );
    // Bytes that are no image: the library's own check and wording.
    bridge
        .request(json!("junk"), "image/generate", json!({"prompt": "a fox", "returnBytes": true, "references": [{"base64": b64(b"not an image")}]}))
        .await;
    let junk = app_error(&bridge.answer(&json!("junk")).await);
    assert_eq!(
        (junk["code"].clone(), junk["data"]["code"].clone()),
        (json!(-32002), json!("request/invalid_image"))
    );
    assert!(
        junk["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid image reference 1: ")),
        "{junk}"
    );
    assert_eq!(std::fs::read(&existing).expect("read"), b"keep me");
    assert_eq!(
        world.events("turn_inputs"),
        Vec::<Value>::new(),
        "no quota spent on refusals"
    );

    // Failures Codex reports: no image is retryable; the usage limit carries its reset time (and,
    // being known, refuses later requests locally, so it comes last).
    bridge
        .request(
            json!("none"),
            "image/generate",
            json!({"prompt": "a fox [fake:no-image]", "returnBytes": true}),
        )
        .await;
    let none = app_error(&bridge.answer(&json!("none")).await);
    assert_eq!(
        (
            none["code"].clone(),
            none["data"]["code"].clone(),
            none["data"]["retryable"].clone()
        ),
        (json!(-32003), json!("runtime/no_image"), json!(true))
    );
    bridge
        .request(
            json!("limit"),
            "image/generate",
            json!({"prompt": "a fox [fake:usage-limit-item]", "returnBytes": true}),
        )
        .await;
    let limit = app_error(&bridge.answer(&json!("limit")).await);
    let resets_at = limit["data"]["resets_at"].as_i64().expect("resets_at");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    assert!((now + 7000..now + 7300).contains(&resets_at), "{limit}");
    assert_eq!(limit["code"], -32003);
    assert_eq!(limit["data"]["code"], "runtime/usage_limit");
    assert_eq!(limit["data"]["retryable"], false);
    assert!(
        limit["data"]["resets_at_text"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{limit}"
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn sixteen_requests_at_once_each_get_their_own_image() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let client = world.builder().concurrency(16).build();
    let mut bridge = Bridge::start(client, BridgeOptions::default());
    for i in 0..16 {
        bridge
            .request(
                json!(format!("r{i}")),
                "image/generate",
                json!({"prompt": format!("image number {i}"), "output": dir.path().join(format!("{i}.png"))}),
            )
            .await;
    }
    let mut hashes = std::collections::BTreeSet::new();
    for i in 0..16 {
        let answer = bridge.answer(&json!(format!("r{i}"))).await;
        let saved = std::fs::read(dir.path().join(format!("{i}.png"))).expect("saved");
        assert_eq!(answer["result"]["sha256"], sha256_hex(&saved), "{answer}");
        assert_eq!(
            answer["result"]["revised_prompt"],
            format!("image number {i}, revised")
        );
        hashes.insert(sha256_hex(&saved));
    }
    assert_eq!(hashes.len(), 16, "every request got its own image");
    assert_eq!(
        world.server_pids().len(),
        1,
        "one warm app-server served them all"
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn cancel_interrupts_the_turn_and_answers_the_generate_cancelled() {
    let world = World::new().set("FAKE_DELAY_MS", "20000");
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("never.png");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!(1),
            "image/generate",
            json!({"prompt": "slowly [fake:slow]", "output": target}),
        )
        .await;
    world
        .wait_events("turn_inputs", 1, Duration::from_secs(20))
        .await;
    bridge
        .request(json!(2), "image/cancel", json!({"id": 1}))
        .await;
    let cancelled = json!({"code": -32003, "message": "the generation was cancelled", "data": {"ok": false, "code": "runtime/cancelled", "message": "the generation was cancelled", "retryable": false}});
    assert_eq!(
        bridge.answer(&json!(1)).await,
        json!({"jsonrpc": "2.0", "id": 1, "error": cancelled})
    );
    assert_eq!(
        bridge.answer(&json!(2)).await,
        json!({"jsonrpc": "2.0", "id": 2, "result": {"cancelled": true}})
    );
    let interrupted = world
        .wait_events("interrupted", 1, Duration::from_secs(10))
        .await;
    assert_eq!(interrupted.len(), 1, "the turn was interrupted");
    // Too late now, and never for an unknown id.
    bridge
        .request(json!(3), "image/cancel", json!({"id": 1}))
        .await;
    assert_eq!(
        bridge.answer(&json!(3)).await["result"],
        json!({"cancelled": false})
    );

    // As a notification it works too, without an answer of its own.
    bridge
        .request(
            json!("n"),
            "image/generate",
            json!({"prompt": "slowly again [fake:slow]", "returnBytes": true}),
        )
        .await;
    world
        .wait_events("turn_inputs", 2, Duration::from_secs(20))
        .await;
    bridge
        .send(json!({"jsonrpc": "2.0", "method": "image/cancel", "params": {"id": "n"}}))
        .await;
    assert_eq!(
        bridge.answer(&json!("n")).await,
        json!({"jsonrpc": "2.0", "id": "n", "error": cancelled})
    );
    let rest = bridge.finish_ok().await;
    assert!(
        rest.iter().all(|v| v["method"] == "image/progress"),
        "{rest:?}"
    );
    assert!(!target.exists(), "a cancelled generation saves nothing");
}

#[tokio::test]
async fn doctor_returns_the_preflight_report_and_readiness() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge.request(json!("d"), "codex/doctor", json!({})).await;
    let result = bridge.answer(&json!("d")).await["result"].clone();
    assert_eq!(
        (
            result["ready"].clone(),
            result["blocking"].clone(),
            result["login"].clone(),
            result["version"].clone()
        ),
        (json!(true), Value::Null, json!("chatgpt"), json!("0.169.0"))
    );
    let names: Vec<&str> = result["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "binary",
            "version",
            "app_server",
            "login",
            "image_generation",
            "quota",
            "backend"
        ]
    );
    bridge.finish_ok().await;

    let world = World::new().set("FAKE_LOGIN", "apikey");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .send(json!({"jsonrpc": "2.0", "id": "d", "method": "codex/doctor"}))
        .await;
    let result = bridge.answer(&json!("d")).await["result"].clone();
    assert_eq!(result["ready"], false);
    assert_eq!(
        result["blocking"],
        json!({"ok": false, "code": "preflight/api_key_login", "message": "Codex is signed in with an API key, but image generation needs a ChatGPT login; run `codex logout`, then `codex login` and choose ChatGPT", "retryable": false})
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn closing_input_answers_every_request_cancelled_and_stops_codex() {
    let world = World::new()
        .set("FAKE_DELAY_MS", "30000")
        .set("FAKE_SPAWN_HELPER", "1");
    let client = world.builder().concurrency(3).build();
    let mut bridge = Bridge::start(client, BridgeOptions::default());
    let ids: Vec<Value> = (0..5).map(|i| json!(format!("in-flight-{i}"))).collect();
    for (i, id) in ids.iter().enumerate() {
        // Two queued behind the three slots, one turn that ignores interrupts.
        let scenario = if i == 0 { "hang" } else { "slow" };
        bridge
            .request(
                id.clone(),
                "image/generate",
                json!({"prompt": format!("request {i} [fake:{scenario}]"), "returnBytes": true}),
            )
            .await;
    }
    bridge
        .request(json!("doc"), "codex/doctor", json!({}))
        .await;
    world
        .wait_events("turn_inputs", 3, Duration::from_secs(20))
        .await;
    let started = std::time::Instant::now();
    let lines = bridge.finish_ok().await;
    let mut answered: Vec<(Value, Value)> = lines
        .iter()
        .filter(|v| v.get("method").is_none())
        .map(|v| (v["id"].clone(), v["error"]["data"]["code"].clone()))
        .collect();
    answered.sort_by_key(|(id, _)| id.to_string());
    let mut expected: Vec<(Value, Value)> = ids
        .iter()
        .map(|id| (id.clone(), json!("runtime/cancelled")))
        .collect();
    // The doctor either finished first or was cancelled with the rest.
    if let Some((_, code)) = answered.iter().find(|(id, _)| id == "doc") {
        expected.push((json!("doc"), code.clone()));
    }
    expected.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(answered, expected);
    let mut pids = world.server_pids();
    pids.extend(world.helper_pids());
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(
        support::all_gone(&pids, Duration::from_secs(5)).await,
        "a Codex process outlived the bridge: {pids:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
