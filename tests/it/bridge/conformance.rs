//! JSON-RPC 2.0 conformance of the bridge, in-process over `tokio::io::duplex`: malformed input, the
//! envelope rules, params checking, notifications, line framing, batches, duplicate ids, shutdown.

use std::time::Duration;

use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{self, bridge::Bridge, World};

fn invalid_request(id: Value, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": message}})
}

fn invalid_params(id: Value, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": message}})
}

/// A cheap request whose answer shows the bridge is still serving.
async fn still_serving(bridge: &mut Bridge, id: &str) -> Value {
    bridge
        .request(json!(id), "image/cancel", json!({"id": "nothing"}))
        .await;
    bridge.answer(&json!(id)).await
}

fn not_cancelled(id: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"cancelled": false}})
}

/// Closes the bridge's input and checks it ended cleanly, answered everything, and never started Codex.
async fn finish_without_codex(bridge: Bridge, world: &World) {
    bridge.finish_clean().await;
    assert_eq!(
        world.server_pids(),
        Vec::<i32>::new(),
        "nothing started Codex"
    );
}

#[tokio::test]
async fn malformed_lines_and_bad_envelopes_are_refused_and_serving_goes_on() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let lines: [&[u8]; 9] = [
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":",
        b"\xff\xfe not utf-8",
        br#"{"id":2,"method":"codex/doctor"}"#,
        br#"{"jsonrpc":"2.1","id":"two","method":"codex/doctor"}"#,
        br#"{"jsonrpc":2.0,"id":3,"method":"codex/doctor"}"#,
        br#"{"jsonrpc":"2.0","id":{"n":4},"method":"codex/doctor"}"#,
        br#"{"jsonrpc":"2.0","id":5}"#,
        br#""just a string""#,
        br#"{"jsonrpc":"2.0","id":6,"method":"codex/doctor","params":7}"#,
    ];
    let mut got = Vec::new();
    for line in lines {
        bridge.send_raw(line).await;
        bridge.send_raw(b"\n").await;
        got.push(bridge.next().await.expect("an answer"));
    }
    got.push(still_serving(&mut bridge, "after").await);
    let parse_error = |detail: &str| json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: not valid JSON ({detail})")}});
    assert_eq!(
        got,
        vec![
            parse_error("EOF while parsing a value at line 1 column 33"),
            parse_error("expected value at line 1 column 1"),
            invalid_request(
                json!(2),
                "invalid request: `jsonrpc` is missing; it must be \"2.0\""
            ),
            invalid_request(json!("two"), "invalid request: `jsonrpc` must be \"2.0\""),
            invalid_request(json!(3), "invalid request: `jsonrpc` must be \"2.0\""),
            invalid_request(
                Value::Null,
                "invalid request: `id` must be a string or an integer (null is not accepted)"
            ),
            invalid_request(json!(5), "invalid request: `method` is missing"),
            invalid_request(
                Value::Null,
                "invalid request: a request must be a JSON object"
            ),
            invalid_request(
                json!(6),
                "invalid request: `params` must be an object (or an array) when present"
            ),
            not_cancelled("after"),
        ]
    );
    finish_without_codex(bridge, &world).await;
}

#[tokio::test]
async fn wrong_param_types_and_unknown_fields_are_invalid_params() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let requests = [
        ("image/generate", json!({"prompt": 5, "output": "a.png"})),
        (
            "image/generate",
            json!({"prompt": "a fox", "output": "a.png", "qualty": "high"}),
        ),
        (
            "image/generate",
            json!({"prompt": "a fox", "output": "a.png", "size": "big"}),
        ),
        (
            "image/generate",
            json!({"prompt": "a fox", "output": "a.png", "overwrite": "yes"}),
        ),
        (
            "image/generate",
            json!({"prompt": "a fox", "output": "a.png", "timeoutSecs": -1}),
        ),
        ("image/generate", json!({"prompt": "a fox"})),
        (
            "image/generate",
            json!({"prompt": "a fox", "returnBytes": true, "image": {"path": "a.png", "base64": "AA=="}}),
        ),
        (
            "image/generate",
            json!({"prompt": "a fox", "returnBytes": true, "references": {"path": "a.png"}}),
        ),
        ("image/generate", json!(["a fox", "a.png"])),
        ("image/cancel", json!({"id": 1.5})),
        ("image/cancel", json!({})),
        ("codex/doctor", json!({"verbose": true})),
        ("bridge/shutdown", json!({"now": true})),
    ];
    let mut got = Vec::new();
    for (i, (method, params)) in requests.into_iter().enumerate() {
        bridge.request(json!(i), method, params).await;
        got.push(bridge.next().await.expect("an answer"));
    }
    let generate = |i: usize, m: &str| {
        invalid_params(json!(i), &format!("invalid params for image/generate: {m}"))
    };
    assert_eq!(
        got,
        vec![
            generate(0, "invalid type: integer `5`, expected a string"),
            generate(1, "unknown field `qualty`, expected one of `prompt`, `output`, `returnBytes`, `image`, `references`, `size`, `aspect`, `quality`, `background`, `timeoutSecs`, `overwrite`, `format`, `compression`, `fit`, `key`, `n`, `sidecar`, `ignoreKnownUsageLimit`, `ignore_known_usage_limit`"),
            generate(2, "invalid size `big`; write it like 1024x1536"),
            generate(3, "invalid type: string \"yes\", expected a boolean"),
            generate(4, "`timeoutSecs` must be a positive number of seconds"),
            generate(5, "give `output` (a file, or a folder to write into) or `returnBytes: true`, or both"),
            generate(6, "the input image needs exactly one of `path` and `base64`"),
            generate(7, "invalid type: map, expected a sequence"),
            generate(8, "pass params by name, as an object"),
            invalid_params(json!(9), "invalid params for image/cancel: `id` must be the id (a string or an integer) of a request in flight, not 1.5"),
            invalid_params(json!(10), "invalid params for image/cancel: missing field `id`"),
            invalid_params(json!(11), "invalid params for codex/doctor: unknown field `verbose`, there are no fields"),
            invalid_params(json!(12), "invalid params for bridge/shutdown: unknown field `now`, there are no fields"),
        ]
    );
    // The refused shutdown did not shut anything down.
    assert_eq!(
        still_serving(&mut bridge, "after").await,
        not_cancelled("after")
    );
    finish_without_codex(bridge, &world).await;
}

#[tokio::test]
async fn an_unknown_method_is_method_not_found() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge.request(json!("m"), "image/edit", json!({})).await;
    bridge.request(json!(9), "rpc.discover", json!({})).await;
    let not_found = |id: Value, method: &str| json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("method not found: `{method}`; the bridge serves image/generate, image/cancel, codex/doctor and bridge/shutdown")}});
    assert_eq!(
        vec![bridge.next().await, bridge.next().await],
        vec![
            Some(not_found(json!("m"), "image/edit")),
            Some(not_found(json!(9), "rpc.discover"))
        ]
    );
    bridge.finish_clean().await;
}

#[tokio::test]
async fn a_notification_where_a_request_was_expected_is_ignored() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("never.png");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    for (method, params) in [
        (
            "image/generate",
            json!({"prompt": "a fox", "output": target.to_str().expect("utf-8")}),
        ),
        ("codex/doctor", json!({})),
        ("bridge/shutdown", json!({})),
        ("image/teleport", json!({})),
        ("image/cancel", json!({"id": 1.5})),
    ] {
        bridge
            .send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }
    // The first line out answers the request after the notifications: they got none.
    assert_eq!(
        still_serving(&mut bridge, "after").await,
        not_cancelled("after")
    );
    bridge.finish_clean().await;
    assert!(!target.exists());
    assert_eq!(
        world.server_pids(),
        Vec::<i32>::new(),
        "nothing started Codex"
    );
}

#[tokio::test]
async fn batches_are_refused_with_one_error() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .send(json!([
            {"jsonrpc": "2.0", "id": 1, "method": "image/cancel", "params": {"id": 7}},
            {"jsonrpc": "2.0", "id": 2, "method": "image/cancel", "params": {"id": 8}}
        ]))
        .await;
    bridge.send_raw(b"[]\n").await;
    assert_eq!(
        vec![bridge.next().await, bridge.next().await],
        vec![
            Some(invalid_request(
                Value::Null,
                "invalid request: batches are not supported; send one request per line"
            )),
            Some(invalid_request(
                Value::Null,
                "invalid request: an empty array is not a request"
            )),
        ]
    );
    assert_eq!(
        still_serving(&mut bridge, "after").await,
        not_cancelled("after")
    );
    bridge.finish_clean().await;
}

#[tokio::test]
async fn an_over_long_line_is_refused_and_the_next_request_is_served() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let limit = codex_img::BRIDGE_MAX_LINE;
    let mut line =
        br#"{"jsonrpc":"2.0","id":1,"method":"image/generate","params":{"prompt":""#.to_vec();
    line.resize(limit + 1024, b'a');
    line.extend_from_slice(b"\",\"returnBytes\":true}}\n");
    bridge.send_raw(&line).await;
    let refused = bridge.next().await;
    assert_eq!(
        refused,
        Some(invalid_request(
            Value::Null,
            &format!("invalid request: a line longer than {limit} bytes was skipped; send large images by path")
        ))
    );
    assert_eq!(
        still_serving(&mut bridge, "after").await,
        not_cancelled("after")
    );
    bridge.finish_clean().await;
}

#[tokio::test]
async fn a_line_split_across_many_writes_is_one_request() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let line = serde_json::to_vec(&json!({
        "jsonrpc": "2.0",
        "id": "split",
        "method": "image/generate",
        "params": {"prompt": "a fox in pieces", "returnBytes": true}
    }))
    .expect("json");
    for chunk in line.chunks(3) {
        bridge.send_raw(chunk).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bridge.send_raw(b"\r\n").await;
    let answer = bridge.answer(&json!("split")).await;
    assert_eq!(answer["result"]["ok"], true, "{answer}");
    assert_eq!(
        answer["result"]["revised_prompt"],
        "a fox in pieces, revised"
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn a_duplicate_id_in_flight_is_refused_and_free_again_after_the_answer() {
    let world = World::new().set("FAKE_DELAY_MS", "1500");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!(1),
            "image/generate",
            json!({"prompt": "slowly [fake:slow]", "returnBytes": true}),
        )
        .await;
    bridge
        .request(json!(1), "image/cancel", json!({"id": 99}))
        .await;
    let duplicate = loop {
        let v = bridge.next().await.expect("a line");
        if v.get("error").is_some() {
            break v;
        }
    };
    assert_eq!(
        duplicate,
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "invalid request: the id 1 is already used by a request in flight", "data": {"id": 1}}})
    );
    let first = bridge.answer(&json!(1)).await;
    assert_eq!(first["result"]["ok"], true, "{first}");
    // Once answered, the id is free.
    bridge
        .request(json!(1), "image/cancel", json!({"id": 1}))
        .await;
    assert_eq!(
        bridge.answer(&json!(1)).await["result"],
        json!({"cancelled": false})
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn shutdown_answers_refuses_new_work_waits_for_requests_in_flight_and_returns() {
    let world = World::new().set("FAKE_DELAY_MS", "1500");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!("g"),
            "image/generate",
            json!({"prompt": "slowly [fake:slow]", "returnBytes": true}),
        )
        .await;
    // Wait until it runs, so the shutdown has something to wait for.
    world
        .wait_events("turn_inputs", 1, Duration::from_secs(20))
        .await;
    bridge
        .request(json!("s"), "bridge/shutdown", json!({}))
        .await;
    assert_eq!(
        bridge.answer(&json!("s")).await,
        json!({"jsonrpc": "2.0", "id": "s", "result": {}})
    );
    bridge
        .request(
            json!("late"),
            "image/generate",
            json!({"prompt": "too late", "returnBytes": true}),
        )
        .await;
    assert_eq!(
        bridge.answer(&json!("late")).await,
        json!({"jsonrpc": "2.0", "id": "late", "error": {"code": -32000, "message": "the bridge is shutting down and takes no new requests; start a new one", "data": {"ok": false, "code": "bridge/shutting_down", "message": "the bridge is shutting down and takes no new requests; start a new one", "retryable": false}}})
    );
    assert_eq!(still_serving(&mut bridge, "c").await, not_cancelled("c"));
    let generated = bridge.answer(&json!("g")).await;
    assert_eq!(generated["result"]["ok"], true, "{generated}");
    // The loop returns by itself, input still open, and the app-server is stopped.
    let served = tokio::time::timeout(support::bridge::PATIENCE, &mut bridge.task)
        .await
        .expect("serve returned after shutdown")
        .expect("no panic");
    assert!(served.is_ok(), "{served:?}");
    assert!(support::all_gone(&world.server_pids(), Duration::from_secs(5)).await);
}
