//! The output options through the bridge, in-process against the fake app-server: the same names as
//! the CLI, `n` answered with the batch object, and option mistakes refused before any turn.

use base64::Engine;
use codex_img::image::decode::decode_rgba;
use codex_img::image::sha256_hex;
use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    bridge::{app_error, Bridge},
    World,
};

#[tokio::test]
async fn n_with_one_failure_answers_one_batch_object_and_keeps_the_others() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("cat.webp");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!(1),
            "image/generate",
            json!({"prompt": "a cat [fake:fail-every:3]", "output": target, "n": 3,
                   "aspect": "1:1", "fit": "contain", "sidecar": true}),
        )
        .await;
    let answer = bridge.answer(&json!(1)).await;
    let result = &answer["result"];
    assert_eq!(result["ok"], false, "{answer}");
    let errors = result["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{answer}");
    let failed = errors[0]["index"].as_u64().expect("index");
    assert_eq!(errors[0]["code"], "runtime/no_image");
    let images = result["images"].as_array().expect("images");
    assert_eq!(images.len(), 2);
    for (i, report) in (1..=3u64).filter(|i| *i != failed).zip(images) {
        let path = dir.path().join(format!("cat-{i}.webp"));
        assert_eq!(report["path"], json!(path), "{answer}");
        let bytes = std::fs::read(&path).expect("saved");
        assert_eq!(report["sha256"], sha256_hex(&bytes).as_str());
        // 64x48 padded to 1:1 at the native resolution, transparent padding, WebP.
        assert_eq!(
            (
                &report["format"],
                &report["width"],
                &report["height"],
                &report["fit"],
                &report["original"]
            ),
            (
                &json!("webp"),
                &json!(64),
                &json!(64),
                &json!("contain"),
                &json!({"width": 64, "height": 48})
            )
        );
        let img = decode_rgba(&bytes).expect("decode");
        assert_eq!((img.get_pixel(0, 0)[3], img.get_pixel(32, 32)[3]), (0, 255));
        let sidecar: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("cat-{i}.webp.json"))).expect("sidecar"),
        )
        .expect("json");
        assert_eq!(sidecar["sha256"], report["sha256"]);
    }
    assert!(!dir.path().join(format!("cat-{failed}.webp")).exists());
}

#[tokio::test]
async fn n_without_output_returns_every_image_as_base64() {
    let world = World::new();
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    bridge
        .request(
            json!("b"),
            "image/generate",
            json!({"prompt": "a cat", "returnBytes": true, "n": 2}),
        )
        .await;
    let answer = bridge.answer(&json!("b")).await;
    let result = &answer["result"];
    assert_eq!(
        (&result["ok"], &result["errors"]),
        (&json!(true), &json!([])),
        "{answer}"
    );
    let served: Vec<Value> = world
        .events("image")
        .iter()
        .map(|e| e["sha256"].clone())
        .collect();
    let mut got: Vec<Value> = result["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|r| {
            assert_eq!(r["path"], Value::Null);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(r["base64"].as_str().expect("base64"))
                .expect("valid base64");
            json!(sha256_hex(&bytes))
        })
        .collect();
    let mut served = served;
    got.sort_by_key(|v| v.to_string());
    served.sort_by_key(|v| v.to_string());
    assert_eq!(got, served);
}

#[tokio::test]
async fn option_mistakes_are_request_errors_before_any_turn() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bridge = Bridge::start(world.client(), BridgeOptions::default());
    let cases = [
        (
            json!({"prompt": "x", "output": dir.path().join("a.jpg"), "background": "transparent"}),
            "request/conflicting_options",
        ),
        (
            json!({"prompt": "x", "output": dir.path().join("a.bmp")}),
            "request/unsupported_format",
        ),
        (
            json!({"prompt": "x", "output": dir.path().join("a.png"), "format": "jpeg"}),
            "request/format_mismatch",
        ),
        (
            json!({"prompt": "x", "returnBytes": true, "n": 9}),
            "request/invalid_option",
        ),
        (
            json!({"prompt": "x", "returnBytes": true, "fit": "fill"}),
            "request/missing_option",
        ),
    ];
    for (i, (params, code)) in cases.into_iter().enumerate() {
        bridge.request(json!(i), "image/generate", params).await;
        let answer = bridge.answer(&json!(i)).await;
        assert_eq!(app_error(&answer)["data"]["code"], code, "{answer}");
    }
    // Bad values are invalid params, like any other malformed field.
    bridge
        .request(
            json!("k"),
            "image/generate",
            json!({"prompt": "x", "returnBytes": true, "key": "green"}),
        )
        .await;
    let answer = bridge.answer(&json!("k")).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert_eq!(
        world.server_pids(),
        Vec::<i32>::new(),
        "an app-server was started"
    );
}
