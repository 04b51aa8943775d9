//! The lean turn, checked on every release: codex-img starts Codex with overrides that switch off what
//! the image path does not use and sends short base instructions on `thread/start`. Each release must
//! still start with them (a key it does not know must not break it), still offer the image tool, and
//! still make the image; and the lean turn must really be smaller than Codex's defaults.
//!
//! Per release, one client with the lean set (the default) and one with `lean(false)` each make two
//! images on one warm process; the second image is the one measured, so process start-up requests
//! (the login, the first models list) are not counted against it. For that image the test records the
//! model requests (their size decoded, and as sent on the wire, zstd from about 0.169), the tools the
//! model was offered, and every other backend request it caused (models list, analytics, settings,
//! plugins, ...; WebSocket upgrade attempts are counted apart). It prints one line per release, which
//! `BENCHMARKS.md` quotes, and asserts:
//!
//! - the image tool is offered in every model request and called (the image arrives; through code mode,
//!   with one images call), with the lean set;
//! - the lean model request is smaller than the default one, decoded and on the wire;
//! - the lean request offers no tool the default one does not, and no shell or web search tool; of
//!   `view_image`, `update_plan`, `request_user_input` (and `_async`) and `apply_patch`, top-level or
//!   inside code mode, it offers exactly the ones no key switches off on that release (an explicit
//!   table, [`no_key_on`]);
//! - the lean instructions are codex-img's short ones, and no `<environment_context>` is sent;
//! - the lean set causes no more side requests than the defaults, and no analytics request.

use codex_img::GenerateRequest;
use loopback_backend::{BackendConfig, RecordedRequest};
use pretty_assertions::assert_eq;

use crate::live_support::{over_releases, releases, Login, Rig};

const PROMPT: &str = "a red square on a white background";

/// What one measured image cost.
#[derive(Debug)]
struct Observed {
    /// The model requests of the measured image, in order.
    model: Vec<RecordedRequest>,
    /// Paths of the other backend requests it caused (WebSocket upgrades excluded).
    side: Vec<String>,
    /// How many WebSocket upgrades were tried (refused by the backend with 426).
    upgrades: usize,
    /// How many images endpoint calls it caused (code mode, 0.145+; the hosted tool makes none).
    images: usize,
}

impl Observed {
    fn first(&self) -> &RecordedRequest {
        &self.model[0]
    }
    fn body_len(&self) -> usize {
        self.first().body.len()
    }
    fn wire_len(&self) -> usize {
        self.first().wire_len
    }
    /// The base instructions: the `instructions` field, or (0.145+ with code mode) the first developer
    /// message.
    fn instructions(&self) -> String {
        let Some(body) = self.first().json() else {
            return String::new();
        };
        if let Some(text) = body["instructions"].as_str() {
            return text.to_owned();
        }
        body["input"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| item["type"] == "message" && item["role"] == "developer")
            .and_then(|item| item["content"][0]["text"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

async fn measure(version: &str, lean: bool) -> Observed {
    let rig = Rig::start_with(version, BackendConfig::default(), Login::ChatGpt, |b| {
        b.lean(lean)
    })
    .await;
    let warm_up = rig
        .client
        .generate(GenerateRequest::new(format!("{PROMPT}, warm-up")))
        .await;
    if let Err(e) = &warm_up {
        panic!(
            "{version} (lean {lean}): the warm-up image failed: {} ({e})",
            e.code()
        );
    }
    rig.backend.clear_requests();
    let image = rig.client.generate(GenerateRequest::new(PROMPT)).await;
    if let Err(e) = &image {
        panic!(
            "{version} (lean {lean}): the image failed: {} ({e})",
            e.code()
        );
    }
    // Shutting down waits for every cleanup, so whatever the image caused has reached the backend.
    rig.client.shutdown().await;
    let requests = rig.backend.requests();
    rig.finish().await;
    if let Some(out) = std::env::var_os("CODEX_IMG_LEAN_OUT").filter(|o| !o.is_empty()) {
        let out = std::path::PathBuf::from(out);
        std::fs::create_dir_all(&out).expect("CODEX_IMG_LEAN_OUT");
        let name = format!("{version}-{}", if lean { "lean" } else { "defaults" });
        for (n, r) in requests.iter().filter(|r| r.is_model_request()).enumerate() {
            std::fs::write(out.join(format!("{name}-model-{n}.json")), &r.body).expect("write");
        }
        let log: String = requests.iter().map(|r| r.summary() + "\n").collect();
        std::fs::write(out.join(format!("{name}-requests.txt")), log).expect("write");
    }
    let model: Vec<RecordedRequest> = requests
        .iter()
        .filter(|r| r.is_model_request())
        .cloned()
        .collect();
    assert!(
        !model.is_empty(),
        "{version} (lean {lean}): the image made no model request"
    );
    Observed {
        model,
        side: requests
            .iter()
            .filter(|r| r.is_side_request())
            .map(|r| format!("{} {}", r.method, r.route()))
            .collect(),
        upgrades: requests.iter().filter(|r| r.is_websocket_upgrade()).count(),
        images: requests.iter().filter(|r| r.is_images_request()).count(),
    }
}

/// Tools the image path does not use that a key in the lean set switches off on every release (code
/// mode's nested tools included: `web__run` is its web search). None of them may reach the model.
const ALWAYS_OFF: &[&str] = &[
    "shell",
    "exec_command",
    "write_stdin",
    "local_shell",
    "web_search",
    "web__run",
];

/// Tools the image path does not use that a key switches off only on some releases, or on none:
/// `view_image` (`features.view_image`, from 0.150), `update_plan` (`tools.update_plan.enabled`, from
/// 0.150), `request_user_input` (`tools.experimental_request_user_input.enabled`, from 0.140; the same
/// key removes `request_user_input_async` from 0.165) and `apply_patch` (no key on any release: it
/// follows the model's `apply_patch_tool_type` in Codex's model catalog; `include_apply_patch_tool` and
/// `features.apply_patch_freeform` only add it for a model without one, checked live).
const SOMETIMES_OFF: &[&str] = &[
    "view_image",
    "update_plan",
    "request_user_input",
    "request_user_input_async",
    "apply_patch",
];

/// Of [`SOMETIMES_OFF`], what the lean turn still offers on each release because no key switches it
/// off there (top-level or inside code mode). The test asserts this list exactly, so a release that
/// adds a key or drops a tool shows up here rather than being skipped. What the read-only sandbox does
/// with a call to these is in `tests/loopback-backend/NOTES.md` (`live_approval`).
fn no_key_on(version: &str) -> &'static [&'static str] {
    match version {
        "0.122.0" => &[
            "view_image",
            "update_plan",
            "request_user_input",
            "apply_patch",
        ],
        "0.140.0" | "0.145.0" => &["view_image", "update_plan", "apply_patch"],
        "0.160.0" => &["request_user_input_async", "apply_patch"],
        // 0.150.0, 0.165.0 to 0.171.0, and a newer release until it says otherwise.
        _ => &["apply_patch"],
    }
}

/// A tool's own name: `functions.exec` is `exec`, `exec.apply_patch` (declared inside code mode) is
/// `apply_patch`.
fn bare(tool: &str) -> &str {
    tool.rsplit('.').next().unwrap_or(tool)
}

async fn lean_turn(version: String) {
    let lean = measure(&version, true).await;
    let defaults = measure(&version, false).await;

    for (n, request) in lean.model.iter().enumerate() {
        assert!(
            request.offers_image_tool(),
            "{version}: lean model request {n} offers no image tool; tools: {:?}",
            request.offered_tools()
        );
    }
    // Called, not only offered: on the hosted releases the image comes back in the model's own
    // response (the image arrived, or `measure` panicked); through code mode, Codex calls the images
    // endpoint for it.
    let hosted = lean
        .first()
        .offered_tools()
        .iter()
        .any(|t| t == "image_generation");
    assert!(
        hosted || lean.images == 1,
        "{version}: the lean image made {} images calls, not 1",
        lean.images
    );
    let (lean_tools, default_tools) = (
        lean.first().offered_tools(),
        defaults.first().offered_tools(),
    );
    let extra: Vec<&String> = lean_tools
        .iter()
        .filter(|t| !default_tools.contains(t))
        .collect();
    assert_eq!(
        extra,
        Vec::<&String>::new(),
        "{version}: tools only the lean turn offers"
    );
    let nested: Vec<String> = lean
        .first()
        .code_mode_tools()
        .into_iter()
        .map(|t| format!("exec.{t}"))
        .collect();
    let offered: Vec<&str> = lean_tools.iter().chain(&nested).map(|t| bare(t)).collect();
    let bad: Vec<&str> = offered
        .iter()
        .copied()
        .filter(|t| ALWAYS_OFF.contains(t))
        .collect();
    assert_eq!(
        bad,
        Vec::<&str>::new(),
        "{version}: tools the lean turn must not offer"
    );
    let mut left: Vec<&str> = SOMETIMES_OFF
        .iter()
        .copied()
        .filter(|t| offered.contains(t))
        .collect();
    let mut expected = no_key_on(&version).to_vec();
    left.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        left, expected,
        "{version}: the unused tools the lean turn still offers (left) against `no_key_on` (right): \
         a tool only on the left is offered although a key should switch it off; one only on the \
         right is no longer offered, so its entry goes"
    );
    assert!(
        offered.contains(&"image_generation") || offered.contains(&"image_gen__imagegen"),
        "{version}: the lean turn's tools name no image tool: {offered:?}"
    );

    let instructions = lean.instructions();
    assert!(
        instructions.starts_with("You are an image generation agent"),
        "{version}: the lean instructions are not codex-img's: {:.200}",
        instructions
    );
    assert!(
        !lean.first().mentions("<environment_context>"),
        "{version}: the lean request still carries the environment context"
    );
    assert!(
        lean.body_len() < defaults.body_len() && lean.wire_len() < defaults.wire_len(),
        "{version}: the lean request is not smaller: {} B decoded / {} B sent, defaults {} / {}",
        lean.body_len(),
        lean.wire_len(),
        defaults.body_len(),
        defaults.wire_len()
    );
    let analytics: Vec<&String> = lean
        .side
        .iter()
        .filter(|p| p.contains("analytics"))
        .collect();
    assert_eq!(
        analytics,
        Vec::<&String>::new(),
        "{version}: analytics with the lean set"
    );
    assert!(
        lean.side.len() <= defaults.side.len(),
        "{version}: the lean set causes more side requests: {:?} against {:?}",
        lean.side,
        defaults.side
    );

    eprintln!(
        "lean {version}: model requests {} (defaults {}); first: {} B decoded, {} B sent \
         (defaults {} B, {} B: {:.2}x, {:.2}x); instructions {} B (defaults {} B); tools {} (defaults {}); \
         image tool offered: yes; side requests {} {:?} (defaults {} {:?}); websocket tries {} (defaults {})",
        lean.model.len(),
        defaults.model.len(),
        lean.body_len(),
        lean.wire_len(),
        defaults.body_len(),
        defaults.wire_len(),
        lean.body_len() as f64 / defaults.body_len() as f64,
        lean.wire_len() as f64 / defaults.wire_len() as f64,
        instructions.len(),
        defaults.instructions().len(),
        lean_tools.len(),
        default_tools.len(),
        lean.side.len(),
        lean.side,
        defaults.side.len(),
        defaults.side,
        lean.upgrades,
        defaults.upgrades,
    );
    eprintln!(
        "lean {version}: lean tools {lean_tools:?} (in exec: {nested:?}); default tools {default_tools:?} \
         (in exec: {:?}); unused tools left, no key on this release: {left:?}",
        defaults.first().code_mode_tools()
    );
}

#[tokio::test]
async fn live_lean_turn() {
    over_releases("lean_turn", &releases(), lean_turn).await;
}
