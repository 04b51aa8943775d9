//! serve-http with real clients codex-img did not write: the official `openai` Python SDK (from the
//! tests' virtualenv, `.cache/venv`) and Node SDK (`.cache/npm-clients`), against the fake
//! app-server. Each generates (the `b64_json` decodes to the fake's image), edits with a file upload (the
//! fake received the upload's bytes), asks for `n=2` in WebP, and meets a wrong key (`AuthenticationError`), bad input
//! (`BadRequestError`) and a usage limit (`RateLimitError` with `Retry-After`, and no retry by the SDK).
//! Then the limit is known: a plain request is refused with no turn, and one that sends
//! `ignore_known_usage_limit` as an extra body field (Python's `extra_body`) starts its turn.
//!
//! The SDKs are installed by the tests on first use (`support::clients`); a machine without `python3` or
//! `node` fails these tests, naming what to install.
#![cfg(feature = "http")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, clients,
    http::{start, KEY},
    sha256, World,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn run_client(
    world: &World,
    program: &Path,
    args: &[PathBuf],
    extra_env: &[(&str, &Path)],
) -> (Value, Vec<Value>) {
    let served = start(world).await;
    let input = support::png(24, 16, 9);
    let input_path = world.dir.path().join("photo of my family.png");
    std::fs::write(&input_path, &input).expect("write input");
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env("CODEX_IMG_BASE_URL", &served.url)
        .env("CODEX_IMG_KEY", KEY)
        .env("CODEX_IMG_INPUT", &input_path)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .kill_on_drop(true);
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the client finished in time")
        .expect("run the client");
    served.stop().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let turns = world.events("turn_inputs");
    // The edit's upload reached the backend byte for byte, under a neutral name.
    let edit_turn = turns
        .iter()
        .find(|t| {
            t["params"]["input"][0]["text"]
                .as_str()
                .is_some_and(|s| s.contains("make it night"))
        })
        .expect("the edit's turn");
    let staged = &edit_turn["localImages"][0];
    assert_eq!(staged["sha256"], json!(sha256(&input)));
    assert!(
        staged["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/input-1.png")),
        "{staged}"
    );
    (report, world.events("image"))
}

/// The images' sha256 in the fake's record, in order.
fn image_shas(images: &[Value]) -> Vec<String> {
    images
        .iter()
        .map(|i| i["sha256"].as_str().expect("sha").to_owned())
        .collect()
}

/// Turns started for prompts of the `complete` scenario: every call but the usage limit's.
fn complete_turns(world: &World) -> usize {
    world
        .events("turn_inputs")
        .iter()
        .filter(|t| t["scenario"] == "complete")
        .count()
}

/// After the usage limit, a plain request was refused with no turn and one sent with
/// `ignore_known_usage_limit` started one: generate, edit, two for n=2, and that one.
fn assert_known_limit_refused_then_tried(world: &World, shas: &[String], tried: &Value) {
    assert_eq!(complete_turns(world), 5, "turns for the `complete` prompts");
    assert_eq!(
        tried,
        &json!({"count": 1, "sha256": shas.last().expect("an image")})
    );
}

fn usage_limit_turns(world: &World) -> usize {
    world
        .events("turn_inputs")
        .iter()
        .filter(|t| t["scenario"] == "usage-limit-item")
        .count()
}

#[tokio::test]
async fn the_official_python_sdk_generates_edits_and_maps_errors() {
    let python = clients::venv_python();
    let world = World::new();
    let (report, images) = run_client(
        &world,
        &python,
        &[repo().join("tests/http_clients/openai_sdk.py")],
        &[],
    )
    .await;
    let shas = image_shas(&images);
    assert_eq!(report["version"], "3.57.0");
    assert_eq!(
        report["generate"],
        json!({"sha256": shas[0], "size": "64x48", "output_format": "png"})
    );
    assert_eq!(report["edit"], json!({"sha256": shas[1]}));
    assert_eq!(
        report["n2_webp"],
        json!({"count": 2, "webp": true, "distinct": true, "output_format": "webp"})
    );
    assert_eq!(report["wrong_key"], json!([401, "http/invalid_api_key"]));
    assert_eq!(
        report["bad_input"],
        json!([400, "request/unsupported_field", "response_format"])
    );
    let usage = report["usage_limit"].as_array().expect("a RateLimitError");
    assert_eq!(
        (&usage[0], &usage[1]),
        (&json!(429), &json!("runtime/usage_limit"))
    );
    assert!(
        usage[2]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s > 60),
        "{usage:?}"
    );
    assert_eq!(
        usage_limit_turns(&world),
        1,
        "the SDK did not retry the usage limit"
    );
    assert_eq!(report["known_limit"], json!([429, "runtime/usage_limit"]));
    assert_known_limit_refused_then_tried(&world, &shas, &report["tried_anyway"]);
}

#[tokio::test]
async fn the_official_node_sdk_generates_edits_and_maps_errors() {
    let npm_dir = clients::node_openai();
    let world = World::new();
    let (report, images) = run_client(
        &world,
        Path::new("node"),
        &[repo().join("tests/http_clients/openai_sdk.cjs")],
        &[("CODEX_IMG_NPM_DIR", &npm_dir)],
    )
    .await;
    let shas = image_shas(&images);
    assert_eq!(report["version"], "6.49.0");
    assert_eq!(
        report["generate"],
        json!({"sha256": shas[0], "size": "64x48", "output_format": "png"})
    );
    assert_eq!(report["edit"], json!({"sha256": shas[1]}));
    assert_eq!(
        report["n2_webp"],
        json!({"count": 2, "webp": true, "distinct": true, "output_format": "webp"})
    );
    assert_eq!(
        report["wrong_key"],
        json!([
            "AuthenticationError",
            401,
            "http/invalid_api_key",
            null,
            "wrong key"
        ])
    );
    assert_eq!(
        report["bad_input"],
        json!([
            "BadRequestError",
            400,
            "request/unsupported_field",
            null,
            "bad input"
        ])
    );
    let usage = report["usage_limit"].as_array().expect("a RateLimitError");
    assert_eq!(
        usage[0..3].to_vec(),
        vec![
            json!("RateLimitError"),
            json!(429),
            json!("runtime/usage_limit")
        ]
    );
    assert!(
        usage[3]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s > 60),
        "{usage:?}"
    );
    assert_eq!(
        usage_limit_turns(&world),
        1,
        "the SDK did not retry the usage limit"
    );
    let known = report["known_limit"].as_array().expect("a RateLimitError");
    assert_eq!(
        known[0..3].to_vec(),
        vec![
            json!("RateLimitError"),
            json!(429),
            json!("runtime/usage_limit")
        ]
    );
    assert_known_limit_refused_then_tried(&world, &shas, &report["tried_anyway"]);
}
