//! Live tests: codex-img's library against real Codex CLI releases, end to end, with no network.
//!
//! Each scenario runs on each selected release against a fresh loopback backend
//! (`tests/loopback-backend`: HTTPS on 127.0.0.1 with a private CA, playing the model and the images
//! endpoints) and a fresh temporary `CODEX_HOME` holding a fake ChatGPT login, through a codex-img
//! [`Client`](codex_img::Client) whose `codex_bin` is the release's npm launcher. The real user's
//! `~/.codex` is never read or written.
//!
//! Releases: by default the CI pair, the floor and the newest (`CI_RELEASES`); `CODEX_IMG_LIVE_ALL=1`
//! runs every release in `RELEASES`; `CODEX_IMG_LIVE_ONLY=0.145.0,0.169.0` picks some. Releases are
//! installed once into `$CODEX_IMG_CODEX_CACHE` (default `<repo>/.cache/codex`).
//!
//! After every scenario the client is shut down and the OS is asked whether any process with that
//! scenario's `CODEX_HOME` in its environment or command line is left. A failure prints the backend's
//! request log and the tail of Codex's stderr; `RUST_LOG=codex_img=debug` also prints the library's
//! logs, Codex's stderr among them.
//!
//! Results across the whole matrix, and the per-release differences these tests pin, are in
//! `COMPATIBILITY.md`.

mod live_lean;
mod live_support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use codex_img::image::ImageFormat;
use codex_img::{Error, GenerateRequest, Phase, Status};
use live_support::{code_of, hosted_tool, over_releases, releases, sha256, Login, Rig};
use loopback_backend::{test_png, BackendConfig, Mode, BELOW_FLOOR, FLOOR};
use pretty_assertions::assert_eq;

const PROMPT: &str = "a red square on a white background";

fn backend_with(png: &[u8]) -> BackendConfig {
    BackendConfig {
        image_png: png.to_vec(),
        ..BackendConfig::default()
    }
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if let Ok(rel) = path.strip_prefix(base) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------------
// 1. Text to image.

async fn text_to_image(version: String) {
    let served = test_png(96, 64, 3);
    let rig = Rig::start(&version, backend_with(&served), Login::ChatGpt).await;
    // What Codex had saved under generated_images when codex-img got the image (before its cleanup),
    // so the "gone afterwards" check below is not vacuous.
    let saved_then = Arc::new(Mutex::new(None));
    let request = {
        let (saved_then, dir) = (saved_then.clone(), rig.home().join("generated_images"));
        GenerateRequest::new(PROMPT).on_progress(move |p| {
            if p.phase == Phase::ImageReceived {
                *saved_then.lock().unwrap() = Some(files_under(&dir));
            }
        })
    };
    let image = rig
        .client
        .generate(request)
        .await
        .unwrap_or_else(|e| panic!("{version}: text-to-image failed: {} ({e})", e.code()));
    let saved_then = saved_then.lock().unwrap().clone().unwrap_or_default();
    // Every release saves `<threadId>/<itemId>.png` (item ids: `ig_N` hosted, `exec-<uuid>` 0.145+).
    assert_eq!(
        saved_then,
        vec![format!("{}/{}.png", image.ids.thread_id, image.ids.item_id)],
        "{version}: Codex's own copy, before codex-img's cleanup"
    );

    assert_eq!(
        (
            image.sha256.as_str(),
            image.format,
            image.width,
            image.height
        ),
        (sha256(&served).as_str(), ImageFormat::Png, 96, 64),
        "{version}: the image is not the one the backend served"
    );
    assert_eq!(image.sha256, sha256(&image.bytes));
    assert_eq!(image.codex_version, version);
    // One image call reached the backend: the model's own (hosted) or the images endpoint.
    let images_calls = rig
        .backend
        .requests()
        .iter()
        .filter(|r| r.is_images_request())
        .count();
    assert_eq!(images_calls, usize::from(!hosted_tool(&version)));
    rig.assert_no_saved_images(Some(&image.ids.thread_id)).await;

    // What `codex-img doctor` shows for this working setup: every check passes, and it spends nothing.
    let model_requests = rig.backend.model_requests().len();
    let report = rig.client.preflight().await;
    let statuses: Vec<(&str, Status)> = report
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("binary", Status::Pass),
            ("version", Status::Pass),
            ("app_server", Status::Pass),
            ("login", Status::Pass),
            ("image_generation", Status::Pass),
            ("quota", Status::Pass),
            ("backend", Status::Pass),
        ],
        "{version}: preflight {:#?}",
        report.checks
    );
    assert!(report.ready(), "{version}");
    assert_eq!(
        (
            report.version.as_deref(),
            report.login.as_deref(),
            report.plan.as_deref()
        ),
        (Some(version.as_str()), Some("chatgpt"), Some("plus"))
    );
    assert_eq!(
        rig.backend.model_requests().len(),
        model_requests,
        "{version}: preflight reached the model"
    );
    rig.finish().await;
}

#[tokio::test]
async fn live_text_to_image() {
    over_releases("text_to_image", &releases(), text_to_image).await;
}

// ---------------------------------------------------------------------------------------------------
// 2. Image to image: a primary image and one reference from a folder whose name must not leak.

/// The `input_image` data URLs of the newest user message of a model request, decoded, in order.
fn model_input_images(body: &serde_json::Value) -> Vec<Vec<u8>> {
    let user = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|i| i["type"] == "message" && i["role"] == "user");
    let Some(user) = user else {
        return Vec::new();
    };
    user["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "input_image")
        .filter_map(|p| p["image_url"].as_str())
        .filter_map(|url| url.split_once("base64,").map(|(_, b)| b.to_owned()))
        .filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .collect()
}

async fn image_to_image(version: String) {
    let served = test_png(80, 80, 5);
    let rig = Rig::start(&version, backend_with(&served), Login::ChatGpt).await;
    let secret = "client-acme-secret";
    let folder = rig.scratch().join(secret).join("brand-assets");
    std::fs::create_dir_all(&folder).unwrap();
    let primary = test_png(40, 40, 11);
    let reference = test_png(30, 50, 12);
    let primary_path = folder.join("acme-logo-primary.png");
    let reference_path = folder.join("acme-style-reference.png");
    std::fs::write(&primary_path, &primary).unwrap();
    std::fs::write(&reference_path, &reference).unwrap();

    let image = rig
        .client
        .generate(
            GenerateRequest::new("make the first image in the style of the second")
                .image(primary_path.as_path())
                .reference(reference_path.as_path()),
        )
        .await
        .unwrap_or_else(|e| panic!("{version}: image-to-image failed: {} ({e})", e.code()));
    assert_eq!(image.sha256, sha256(&served));
    assert_eq!((image.width, image.height), (80, 80));

    if hosted_tool(&version) {
        // No edits endpoint before 0.145: the model itself gets the images, in the user message.
        let first = rig.backend.model_requests().first().cloned();
        let body = first
            .and_then(|r| r.json())
            .unwrap_or_else(|| panic!("{version}: no model request"));
        assert_eq!(
            model_input_images(&body),
            vec![primary.clone(), reference.clone()],
            "{version}: the model request does not carry both images, in order"
        );
    } else {
        let edits = rig.backend.edit_inputs();
        assert_eq!(edits.len(), 1, "{version}: one edits call expected");
        assert_eq!(
            edits[0].images,
            vec![primary.clone(), reference.clone()],
            "{version}: the edits endpoint did not get both images, in order"
        );
        assert_eq!(edits[0].media_types, vec!["image/png", "image/png"]);
    }

    // Neither the folder's name nor the files' names left the machine, in any request.
    for needle in [
        secret,
        "brand-assets",
        "acme-logo-primary",
        "acme-style-reference",
    ] {
        let leaked: Vec<String> = rig
            .backend
            .requests()
            .iter()
            .filter(|r| r.mentions(needle))
            .map(|r| r.summary())
            .collect();
        assert_eq!(
            leaked,
            Vec::<String>::new(),
            "{version}: `{needle}` appeared in requests"
        );
    }
    rig.assert_no_saved_images(Some(&image.ids.thread_id)).await;
    rig.finish().await;
}

#[tokio::test]
async fn live_image_to_image() {
    over_releases("image_to_image", &releases(), image_to_image).await;
}

// ---------------------------------------------------------------------------------------------------
// 3. Usage limits.

/// What a release says about a spent quota, and where codex-img gets the reset time.
///
/// - Model-call limit (HTTP 429 on `/responses`), every release; and the images limit on the hosted
///   releases (≤ 0.140), where the image is made inside the model call: the turn fails with
///   `codexErrorInfo: "usageLimitExceeded"`, and the reset time is only in the message text, as a local
///   clock time. codex-img then reads `account/rateLimits/read` and reports the reset of the window
///   at 100 %, which the backend reports as the mode's `resets_at` (or its own window reset when the
///   429 carried none).
/// - Images-endpoint limit on 0.150+: the item's `failure {usageLimitExceeded, limitId: "image_gen",
///   resetsAt}` carries the 429's reset directly; with none, codex-img falls back to the rate limits.
/// - Images-endpoint limit on 0.145: the item is only `status: "failed"` with an empty `result` (no
///   `failure` field); codex-img stops at that item and finds the spent window in the rate limits.
///
/// Each error names its bucket: `codex` for the model's limit, `image_gen` for the images limit (from
/// the item's `failure.limitId`, else from the spent bucket in `rateLimitsByLimitId`, which every
/// release fills from the backend's `additional_rate_limits`).
async fn usage_limit(version: String) {
    let rig = Rig::start(&version, BackendConfig::default(), Login::ChatGpt).await;
    let window = rig.backend.usage_window_resets_at();
    let given = now_secs() + 2 * 3600 + 123;

    let cases = [
        (
            "model limit, reset given",
            Mode::ModelUsageLimit {
                resets_at: Some(given),
            },
            given,
            "codex",
        ),
        (
            "model limit, no reset",
            Mode::ModelUsageLimit { resets_at: None },
            window,
            "codex",
        ),
        (
            "images limit, reset given",
            Mode::UsageLimit {
                resets_at: Some(given),
            },
            given,
            "image_gen",
        ),
        (
            "images limit, no reset",
            Mode::UsageLimit { resets_at: None },
            window,
            "image_gen",
        ),
    ];
    let mut seen = Vec::new();
    let mut want = Vec::new();
    for (name, mode, expected, bucket) in cases {
        rig.backend.clear_requests();
        rig.backend.set_mode(mode);
        // Each mode must reach the backend: without the option, the limit learned from the first
        // case would refuse the rest locally.
        let request = GenerateRequest::new(PROMPT).ignore_known_usage_limit(true);
        let result = rig.client.generate(request).await;
        let error = result.as_ref().err();
        seen.push((
            name,
            code_of(&result),
            error.and_then(Error::resets_at),
            error.and_then(Error::limit_id).map(str::to_owned),
        ));
        want.push((
            name,
            "runtime/usage_limit".to_owned(),
            Some(expected),
            Some(bucket.to_owned()),
        ));
        rig.assert_no_saved_images(None).await;
    }
    assert_eq!(seen, want, "{version}: usage limits");
    rig.finish().await;
}

#[tokio::test]
async fn live_usage_limit() {
    over_releases("usage_limit", &releases(), usage_limit).await;
}

// ---------------------------------------------------------------------------------------------------
// 4. No image.

/// From 0.160 every `agentMessage` carries `questions: null`; it must decode, or the turn's end is
/// missed and a no-image turn runs into the deadline.
async fn no_image(version: String) {
    let rig = Rig::start(
        &version,
        BackendConfig {
            mode: Mode::NoImage,
            ..BackendConfig::default()
        },
        Login::ChatGpt,
    )
    .await;
    let result = rig
        .client
        .generate(GenerateRequest::new(PROMPT).timeout(Duration::from_secs(20)))
        .await;
    assert_eq!(code_of(&result), "runtime/no_image", "{version}");
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("I can only describe it"),
        "{version}: the error should quote the model's answer: {message}"
    );
    assert_eq!(rig.backend.model_requests().len(), 1);
    rig.finish().await;
}

#[tokio::test]
async fn live_no_image() {
    over_releases("no_image", &releases(), no_image).await;
}

// ---------------------------------------------------------------------------------------------------
// 5. Logins that cannot make images fail before any turn.

async fn wrong_logins(version: String) {
    for (login, code) in [
        (Login::ApiKey, "preflight/api_key_login"),
        (Login::None, "preflight/not_signed_in"),
    ] {
        let rig = Rig::start(&version, BackendConfig::default(), login).await;
        let result = rig.client.generate(GenerateRequest::new(PROMPT)).await;
        assert_eq!(code_of(&result), code, "{version}: {login:?}");
        let report = rig.client.preflight().await;
        assert_eq!(
            report.blocking.as_ref().map(|e| e.code()),
            Some(code),
            "{version}: preflight with {login:?}"
        );
        let spent: Vec<String> = rig
            .backend
            .requests()
            .iter()
            .filter(|r| r.is_model_request() || r.is_images_request())
            .map(|r| r.summary())
            .collect();
        assert_eq!(
            spent,
            Vec::<String>::new(),
            "{version}: {login:?} reached the model"
        );
        rig.finish().await;
    }
}

#[tokio::test]
async fn live_wrong_logins_fail_before_any_turn() {
    over_releases("wrong_logins", &releases(), wrong_logins).await;
}

// ---------------------------------------------------------------------------------------------------
// 6. The model keeps working after the image: codex-img interrupts.

/// With `Mode::KeepWorking` the model answers every follow-up with another tool call, so the turn never
/// ends by itself and the model requests keep coming until the turn is interrupted.
///
/// codex-img sends `turn/interrupt` as soon as it holds the image, and `generate` returns only after the
/// turn ended (it waits for `turn/completed`, which says `interrupted`). What the backend can see:
///
/// - ≤ 0.140: the image and the model's next tool call arrive in the same (first) response; Codex may
///   run that call and send its output back before the interrupt lands.
/// - 0.145+: the image is made by a tool call; Codex sends the tool's output back to the model right
///   after the image, unless the interrupt lands first.
///
/// So at most one model request follows the one that produced the image (1 or 2 in all), and none is
/// made once `generate` returned: without the interrupt a new one would come every ~100 ms.
async fn keeps_working(version: String) {
    let served = test_png(64, 64, 9);
    let rig = Rig::start(
        &version,
        BackendConfig {
            mode: Mode::KeepWorking,
            ..backend_with(&served)
        },
        Login::ChatGpt,
    )
    .await;
    let image = rig
        .client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{version}: keep-working generation failed: {} ({e})",
                e.code()
            )
        });
    assert_eq!(image.sha256, sha256(&served));
    let at_return = rig.backend.model_requests().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = rig.backend.model_requests().len();
    assert_eq!(
        later, at_return,
        "{version}: the model was asked again after generate returned: the turn was not interrupted"
    );
    eprintln!("live keeps_working on Codex {version}: {at_return} model request(s) in all");
    assert!(
        (1..=2).contains(&at_return),
        "{version}: {at_return} model requests; expected the first and at most one follow-up"
    );
    rig.assert_no_saved_images(Some(&image.ids.thread_id)).await;
    rig.finish().await;
}

#[tokio::test]
async fn live_keeps_working_is_interrupted() {
    over_releases("keeps_working", &releases(), keeps_working).await;
}

// ---------------------------------------------------------------------------------------------------
// 7. Several generations on one warm process leave no saved image behind.

async fn saved_images_cleaned(version: String) {
    let served = test_png(48, 48, 21);
    let rig = Rig::start(&version, backend_with(&served), Login::ChatGpt).await;
    let mut threads = Vec::new();
    for n in 0..2 {
        let image = rig
            .client
            .generate(GenerateRequest::new(format!("{PROMPT}, number {n}")))
            .await
            .unwrap_or_else(|e| panic!("{version}: generation {n} failed: {} ({e})", e.code()));
        rig.assert_no_saved_images(Some(&image.ids.thread_id)).await;
        threads.push(image.ids.thread_id);
    }
    threads.dedup();
    assert_eq!(
        threads.len(),
        2,
        "{version}: each generation has its own thread"
    );
    rig.finish().await;
}

#[tokio::test]
async fn live_saved_images_are_removed() {
    over_releases("saved_images", &releases(), saved_images_cleaned).await;
}

// ---------------------------------------------------------------------------------------------------
// 8. The version gate.

#[tokio::test]
async fn live_below_the_floor_is_refused_before_spawning() {
    over_releases(
        "version_gate",
        &[BELOW_FLOOR.to_owned()],
        |version| async move {
            let rig = Rig::start(&version, BackendConfig::default(), Login::ChatGpt).await;
            let result = rig.client.generate(GenerateRequest::new(PROMPT)).await;
            match &result {
                Err(Error::UnsupportedVersion { found, floor }) => {
                    assert_eq!((found.as_str(), floor.as_str()), (BELOW_FLOOR, FLOOR));
                }
                other => panic!(
                    "{version}: expected preflight/unsupported_version, got {}",
                    code_of(other)
                ),
            }
            let report = rig.client.preflight().await;
            assert_eq!(
                report.blocking.as_ref().map(|e| e.code()),
                Some("preflight/unsupported_version")
            );
            // No app-server: no pid, no request to the backend, and no process with this CODEX_HOME.
            assert_eq!(rig.client.app_server_pid().await, None);
            assert_eq!(rig.backend.request_log(), "");
            assert_eq!(
                live_support::processes_with(&rig.home()),
                Vec::<String>::new()
            );
            rig.finish().await;
        },
    )
    .await;
}
