//! The agents people run, as MCP clients of `codex-img serve-mcp`: Claude Code 2.1.332 and Codex 0.171.0
//! (`codex exec`), each talking to a loopback stand-in of its own model, with codex-img's own Codex
//! (0.171.0) behind the server against the loopback image backend. Each test runs both agents and
//! asserts on what the agent's **model** received back (see `agents_support`), which is not what an
//! MCP SDK shows: each agent drops or reshapes parts of a tool result.
//!
//! Two kinds of assertions:
//!
//! - facts that hold for any result shape (the tool is found, the call runs, the file is saved with
//!   the served bytes, a read-only call spends nothing, no process is left) fail the test at once;
//! - **targets** for what the model must see (the image as a preview of at most 1024 px and 200 KiB,
//!   the report's facts as text, an error's code, retry advice and reset time as text, and no JSON
//!   report in place of prose) are collected, printed, and fail the test together at its end. With
//!   `CODEX_IMG_AGENTS_TARGETS=report` they are only printed, to measure a shape that does not meet
//!   them yet.
//!
//! Every test prints what each model received (`--nocapture` shows it). `CODEX_IMG_AGENTS_OUT=DIR` also
//! writes each stand-in's requests and each agent's output there. Needs npm (Claude Code and Codex are
//! installed from the registry into the cache, as `.ci/run` does ahead of time).
//!
//! ```text
//! nice -n 10 cargo test -p codex-img-live --test agents -- --nocapture
//! ```

mod agents_support;
#[path = "../../it/support/mcp/sdk.rs"]
mod mcp_sdk;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agents_support::{
    claude, codex_agent, real_sized_png, Agent, ImageSide, Received, Return, ServerEntry, SERVER,
};
use loopback_backend::{png_size, rfc3339, BackendConfig, Mode, Script, Step};
use serde_json::json;

/// The most a preview may weigh, in bytes (200 KiB).
const PREVIEW_MAX_BYTES: usize = 200 * 1024;
/// The longest side a preview may have, in pixels.
const PREVIEW_MAX_SIDE: u32 = 1024;

// ---------------------------------------------------------------------------------------------------
// Helpers.

/// Targets the model's view must meet; failures are collected and reported together.
struct Targets {
    test: &'static str,
    failed: Vec<String>,
}

impl Targets {
    fn new(test: &'static str) -> Targets {
        Targets {
            test,
            failed: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            let what = what.into();
            eprintln!("TARGET NOT MET ({}): {what}", self.test);
            self.failed.push(what);
        }
    }

    /// Fails the test when a target was not met, unless `CODEX_IMG_AGENTS_TARGETS=report`.
    fn finish(self) {
        if self.failed.is_empty() {
            eprintln!("{}: every target met", self.test);
            return;
        }
        let report_only = std::env::var("CODEX_IMG_AGENTS_TARGETS").is_ok_and(|v| v == "report");
        let message = format!(
            "{}: {} target(s) not met:\n- {}",
            self.test,
            self.failed.len(),
            self.failed.join("\n- ")
        );
        if report_only {
            eprintln!("{message}\n(reported only: CODEX_IMG_AGENTS_TARGETS=report)");
        } else {
            panic!("{message}");
        }
    }
}

/// Runs `script_for(agent)` on Claude Code and then on Codex, each with `entry` as its MCP server,
/// calling `before(agent)` ahead of each run; prints what each model received.
async fn on_both(
    entry: &ServerEntry,
    script_for: impl Fn(Agent) -> Script,
    before: impl Fn(Agent),
) -> Vec<Received> {
    let mut out = Vec::new();
    for agent in [Agent::ClaudeCode, Agent::Codex] {
        before(agent);
        let received = match agent {
            Agent::ClaudeCode => claude::run(entry, script_for(agent)).await,
            Agent::Codex => codex_agent::run(entry, script_for(agent)).await,
        };
        eprintln!("{}", received.report());
        out.push(received);
    }
    out
}

/// A file-name prefix for one agent's images, so both agents can save into one folder.
fn tag(agent: Agent) -> &'static str {
    match agent {
        Agent::ClaudeCode => "claude",
        Agent::Codex => "codex",
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The sha256 of `bytes`, hex, computed here.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// The prompt each images call carried (the revised prompt codex-img reports), in order.
fn image_prompts(side: &ImageSide) -> Vec<String> {
    side.backend
        .requests()
        .iter()
        .filter(|r| r.is_images_request())
        .filter_map(|r| r.json())
        .map(|b| b["prompt"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// How many requests reached the image backend's model and images endpoints (each one would spend
/// quota for real).
fn spending_requests(side: &ImageSide) -> usize {
    side.backend
        .requests()
        .iter()
        .filter(|r| r.is_model_request() || r.is_images_request())
        .count()
}

/// The one return for a call of codex-img's `tool`, or a failure that shows the run.
fn single<'a>(received: &'a Received, tool: &str, index: usize) -> &'a Return {
    let calls = received.calls_of(tool);
    calls.get(index).copied().unwrap_or_else(|| {
        panic!(
            "{}: no result for call {index} of {tool} reached the model\n{}",
            received.agent,
            received.diagnostics()
        )
    })
}

// ---------------------------------------------------------------------------------------------------
// (a) Found by plain searches.

/// The phrases a model would search with, and the tool each must find.
const SEARCHES: &[(&str, &str)] = &[
    ("generate image", "generate_image"),
    ("edit a picture", "generate_image"),
    ("transparent png", "generate_image"),
    ("check codex image quota status", "codex_status"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_searches_find_the_tools() {
    let started = Instant::now();
    let side = ImageSide::start(BackendConfig::default()).await;
    let entry = side.server_entry();
    let script = |_: Agent| -> Script {
        let mut steps: Script = SEARCHES
            .iter()
            .map(|(query, _)| Step::Search((*query).to_owned()))
            .collect();
        steps.push(Step::Say("Found them.".into()));
        steps
    };
    let runs = on_both(&entry, script, |_| {}).await;
    let mut targets = Targets::new("plain searches");
    for received in &runs {
        let searches = received.searches();
        assert_eq!(
            searches.len(),
            SEARCHES.len(),
            "{}: every search reached the model\n{}",
            received.agent,
            received.diagnostics()
        );
        for (search, (query, wanted)) in searches.iter().zip(SEARCHES) {
            let found = search.found();
            eprintln!(
                "{} search {query:?}: codex-img's tools found, in order: {found:?} (all results: {:?})",
                received.agent, search.tools
            );
            targets.check(
                found.iter().any(|t| t == wanted),
                format!(
                    "{}: searching {query:?} finds {wanted} (results: {:?}; text: {:?})",
                    received.agent,
                    search.tools,
                    search.text()
                ),
            );
            targets.check(
                found.is_empty() || found.first().is_some_and(|t| t == wanted),
                format!(
                    "{}: searching {query:?} ranks {wanted} first among codex-img's tools (found {found:?})",
                    received.agent
                ),
            );
        }
    }
    assert_eq!(spending_requests(&side), 0, "a search spent nothing");
    side.finish().await;
    eprintln!("plain searches: {:.1}s", started.elapsed().as_secs_f64());
    targets.finish();
}

// ---------------------------------------------------------------------------------------------------
// (b) codex_status runs, read-only.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_status_runs_and_spends_nothing() {
    let started = Instant::now();
    let side = ImageSide::start(BackendConfig::default()).await;
    let entry = side.server_entry();
    let script = |_: Agent| -> Script {
        vec![
            Step::Search("check codex image quota status".into()),
            Step::call(SERVER, "codex_status", json!({})),
            Step::Say("Ready.".into()),
        ]
    };
    let runs = on_both(&entry, script, |_| {}).await;
    let mut targets = Targets::new("codex_status");
    for received in &runs {
        let status = single(received, "codex_status", 0);
        assert_ne!(
            status.is_error,
            Some(true),
            "{}: codex_status failed\n{}",
            received.agent,
            received.diagnostics()
        );
        let text = status.text();
        assert!(
            text.to_lowercase().contains("ready"),
            "{}: the model is told whether codex-img is ready: {text}",
            received.agent
        );
        targets.check(
            status.json_report().is_none(),
            format!(
                "{}: codex_status reaches the model as the doctor's lines, not as a JSON report ({} bytes of JSON)",
                received.agent,
                status.text_bytes()
            ),
        );
    }
    assert_eq!(
        spending_requests(&side),
        0,
        "codex_status made a model or images request:\n{}",
        side.backend.request_log()
    );
    side.finish().await;
    eprintln!("codex_status: {:.1}s", started.elapsed().as_secs_f64());
    targets.finish();
}

/// Codex under `codex exec` (approval policy `never`) runs a read-only tool as configured, but refuses
/// `generate_image` unless the server's entry says `default_tools_approval_mode = "approve"`: this is
/// Codex's rule, and why the entry the tests use carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_refuses_generate_image_without_the_approval_mode() {
    let started = Instant::now();
    let side = ImageSide::start(BackendConfig::default()).await;
    let mut entry = side.server_entry();
    entry.codex_approve = false;
    let script = vec![
        Step::Search("generate image".into()),
        Step::call(SERVER, "codex_status", json!({})),
        Step::call(
            SERVER,
            "generate_image",
            json!({"prompt": "a red square on a white background", "output": "refused.png"}),
        ),
        Step::Say("Could not.".into()),
    ];
    let received = codex_agent::run(&entry, script).await;
    eprintln!("{}", received.report());
    let status = single(&received, "codex_status", 0);
    assert!(
        status.text().to_lowercase().contains("ready"),
        "codex_status runs without an approval setting\n{}",
        received.diagnostics()
    );
    let refused = single(&received, "generate_image", 0);
    eprintln!(
        "Codex's answer to generate_image without the approval mode: {:?}",
        refused.raw
    );
    assert!(
        refused.text().contains("requires approval"),
        "Codex refuses generate_image without the approval mode: {}\n{}",
        refused.text(),
        received.diagnostics()
    );
    assert_eq!(side.saved(), Vec::<std::path::PathBuf>::new());
    assert!(
        side.backend
            .requests()
            .iter()
            .all(|r| !r.is_images_request()),
        "no image was made"
    );
    side.finish().await;
    eprintln!("approval: {:.1}s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------------
// (c) generate_image: a tiny image and a real-sized one.

/// Checks what the model received for one generated image against the targets: one image, a
/// preview within the limits (JPEG, or the saved file itself when that is small enough) of the same
/// picture, and a text that carries the report's facts and says what the attachment is.
fn check_image_targets(
    targets: &mut Targets,
    agent: Agent,
    what: &str,
    seen: &Return,
    saved_path: &std::path::Path,
    saved: &[u8],
    revised_prompt: &str,
) {
    let (w, h) = png_size(saved).unwrap_or((0, 0));
    let label = format!("{agent}, {what} image ({w}x{h}, {} bytes)", saved.len());
    targets.check(
        seen.json_report().is_none(),
        format!("{label}: the model gets prose, not a JSON report in place of it"),
    );
    targets.check(
        seen.images.len() == 1,
        format!(
            "{label}: exactly one image reaches the model (got {})",
            seen.images.len()
        ),
    );
    if let Some(image) = seen.images.first() {
        let long = image.width.max(image.height);
        targets.check(
            long <= PREVIEW_MAX_SIDE,
            format!(
                "{label}: the attached image's long side is at most {PREVIEW_MAX_SIDE} px (got {})",
                image.describe()
            ),
        );
        targets.check(
            image.bytes.len() <= PREVIEW_MAX_BYTES,
            format!(
                "{label}: the attached image is at most {PREVIEW_MAX_BYTES} bytes (got {})",
                image.describe()
            ),
        );
        targets.check(
            image.format == "jpeg" || image.bytes == saved,
            format!(
                "{label}: the attached image is a JPEG preview or the saved file itself (got {})",
                image.describe()
            ),
        );
        let expected_long = w.max(h).min(PREVIEW_MAX_SIDE);
        let aspect = |a: u32, b: u32| f64::from(a) / f64::from(b.max(1));
        targets.check(
            long.abs_diff(expected_long) <= 1
                && (aspect(image.width, image.height) - aspect(w, h)).abs() < 0.02,
            format!(
                "{label}: the attached image is the picture at {expected_long} px on the long side, same aspect (got {})",
                image.describe()
            ),
        );
    }
    let text = seen.text();
    let lower = text.to_lowercase();
    let facts = [
        ("the absolute saved path", saved_path.display().to_string()),
        ("the format", "PNG".to_owned()),
        ("the dimensions", format!("{w}x{h}")),
        ("the byte size", saved.len().to_string()),
        ("the sha256", sha256(saved)),
        ("the revised prompt", revised_prompt.to_owned()),
    ];
    for (fact, needle) in facts {
        targets.check(
            text.contains(&needle),
            format!("{label}: the text holds {fact} ({needle})"),
        );
    }
    targets.check(
        lower.contains("alpha"),
        format!("{label}: the text holds the alpha"),
    );
    targets.check(
        lower.contains("preview") || lower.contains("attached"),
        format!("{label}: the text says what the attached image is"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_image_tiny_and_real_sized() {
    let started = Instant::now();
    let side = ImageSide::start(BackendConfig::default()).await;
    let tiny = side.backend.image_png();
    let large = real_sized_png();
    eprintln!(
        "served: tiny PNG {:?} {} bytes; real-sized PNG {:?} {} bytes",
        png_size(&tiny),
        tiny.len(),
        png_size(&large),
        large.len()
    );
    let entry = side.server_entry();
    let script = |agent: Agent| -> Script {
        vec![
            Step::Search("generate image".into()),
            Step::call(
                SERVER,
                "generate_image",
                json!({"prompt": "a red square on a white background",
                       "output": format!("{}-tiny.png", tag(agent))}),
            ),
            Step::call(
                SERVER,
                "generate_image",
                json!({"prompt": "a busy landscape", "output": format!("{}-large.png", tag(agent))}),
            ),
            Step::Say("Here they are.".into()),
        ]
    };
    let runs = on_both(&entry, script, |_| {
        side.backend.queue_images([tiny.clone(), large.clone()]);
    })
    .await;
    let prompts = image_prompts(&side);
    assert_eq!(
        prompts.len(),
        4,
        "two images per agent:\n{}",
        side.backend.request_log()
    );
    let mut targets = Targets::new("generate_image");
    for (index, received) in runs.iter().enumerate() {
        let agent = received.agent;
        for (which, (what, served)) in [("tiny", &tiny), ("real-sized", &large)]
            .into_iter()
            .enumerate()
        {
            let seen = single(received, "generate_image", which);
            assert_ne!(
                seen.is_error,
                Some(true),
                "{agent}: the {what} image failed\n{}",
                received.diagnostics()
            );
            let path = side.root().canonicalize().expect("root").join(format!(
                "{}-{}.png",
                tag(agent),
                if which == 0 { "tiny" } else { "large" }
            ));
            let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{agent}: the {what} image is not saved at {}: {e}",
                    path.display()
                )
            });
            assert!(
                on_disk == **served,
                "{agent}: the saved {what} image is the served one"
            );
            eprintln!(
                "FIGURES {agent} {what} ({} bytes served): the model received {} image(s) [{}] and {} bytes of text",
                served.len(),
                seen.images.len(),
                seen.images.iter().map(|i| i.describe()).collect::<Vec<_>>().join("; "),
                seen.text_bytes()
            );
            check_image_targets(
                &mut targets,
                agent,
                what,
                seen,
                &path,
                served,
                &prompts[index * 2 + which],
            );
        }
    }
    side.finish().await;
    eprintln!("generate_image: {:.1}s", started.elapsed().as_secs_f64());
    targets.finish();
}

// ---------------------------------------------------------------------------------------------------
// (d) An error: the plan's usage limit.

/// Checks what the model received for a usage limit against the targets: text (not a JSON report)
/// with the code as `error[runtime/usage_limit]`, the reset time in RFC 3339, and whether a retry can
/// help.
fn check_usage_limit_targets(targets: &mut Targets, agent: Agent, seen: &Return, reset_text: &str) {
    let text = seen.text();
    targets.check(
        seen.json_report().is_none(),
        format!("{agent}: the error reaches the model as text, not as a JSON report"),
    );
    targets.check(
        text.contains("error[runtime/usage_limit]"),
        format!("{agent}: the text holds the code as error[runtime/usage_limit]"),
    );
    targets.check(
        text.contains(reset_text),
        format!("{agent}: the text holds the reset time in RFC 3339 ({reset_text})"),
    );
    targets.check(
        text.to_lowercase().contains("retry"),
        format!("{agent}: the text says whether a retry can help"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_limit_reaches_the_model_as_text() {
    let started = Instant::now();
    // Three hours ahead, on a whole minute.
    let resets_at = (now_secs() / 60 + 180) * 60;
    let side = ImageSide::start(BackendConfig {
        mode: Mode::UsageLimit {
            resets_at: Some(resets_at),
        },
        ..BackendConfig::default()
    })
    .await;
    let entry = side.server_entry();
    let script = |agent: Agent| -> Script {
        vec![
            Step::Search("generate image".into()),
            Step::call(
                SERVER,
                "generate_image",
                json!({"prompt": "a red square on a white background",
                       "output": format!("{}-limited.png", tag(agent))}),
            ),
            Step::Say("No quota.".into()),
        ]
    };
    let runs = on_both(&entry, script, |_| {}).await;
    let reset_text = rfc3339(resets_at);
    let mut targets = Targets::new("usage limit");
    for received in &runs {
        let agent = received.agent;
        let seen = single(received, "generate_image", 0);
        let text = seen.text();
        eprintln!(
            "FIGURES {agent} usage limit: the model received {} bytes of text: {text}",
            seen.text_bytes()
        );
        assert!(
            text.contains("usage_limit"),
            "{agent}: the model learns it is a usage limit: {text}\n{}",
            received.diagnostics()
        );
        assert!(seen.images.is_empty(), "{agent}: no image");
        if agent == Agent::ClaudeCode {
            assert_eq!(
                seen.is_error,
                Some(true),
                "Claude Code marks the call failed"
            );
        }
        check_usage_limit_targets(&mut targets, agent, seen, &reset_text);
    }
    assert_eq!(
        side.saved(),
        Vec::<std::path::PathBuf>::new(),
        "nothing saved"
    );
    side.finish().await;
    eprintln!("usage limit: {:.1}s", started.elapsed().as_secs_f64());
    targets.finish();
}

/// The harness's own bounds: an agent run outlasts codex-img's deadline for one image, and so does
/// the agents' tool timeout.
const _: () = {
    assert!(agents_support::AGENT_TIMEOUT.as_secs() > agents_support::SERVER_TIMEOUT_SECS);
    assert!(agents_support::TOOL_TIMEOUT_SECS > agents_support::SERVER_TIMEOUT_SECS);
};

#[test]
fn rfc3339_is_utc() {
    assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
}

// ---------------------------------------------------------------------------------------------------
// The harness itself: the shape codex-img aims for meets the targets through both agents.

/// A JPEG preview of `png` of at most [`PREVIEW_MAX_SIDE`] px on the long side, at the best quality
/// that stays within [`PREVIEW_MAX_BYTES`].
fn jpeg_preview(png: &[u8]) -> Vec<u8> {
    let picture = image::load_from_memory(png).expect("decode the PNG");
    let picture = picture.resize(
        PREVIEW_MAX_SIDE,
        PREVIEW_MAX_SIDE,
        image::imageops::FilterType::Triangle,
    );
    let rgb = picture.to_rgb8();
    for quality in [85u8, 75, 60, 45, 30, 20] {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode_image(&rgb)
            .expect("encode the JPEG");
        if jpeg.len() <= PREVIEW_MAX_BYTES {
            return jpeg;
        }
    }
    panic!("no JPEG quality keeps the preview within {PREVIEW_MAX_BYTES} bytes");
}

/// The first `python3` on `PATH`.
fn python3() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("python3"))
        .find(|p| p.is_file())
        .expect("python3 on PATH")
}

/// Checks the harness and the targets, not codex-img: a small MCP server (`shaped_server.py`) answers
/// `generate_image` with the shape codex-img aims for (a text with every fact and a JPEG preview of
/// 1024 px within 200 KiB, no `structuredContent`) and `codex_status` with a usage-limit error as
/// text. Both agents must pass them to their models intact (the preview byte for byte) and every
/// target must be met, so a target that fails on codex-img is codex-img's shape, not the harness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aimed_shape_meets_every_target_through_both_agents() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("codex-img-agents-shaped-")
        .tempdir()
        .expect("tempdir");
    let saved = real_sized_png();
    let saved_path = dir.path().join("large.png");
    std::fs::write(&saved_path, &saved).expect("the saved image");
    let preview = jpeg_preview(&saved);
    let (pw, ph) = image::load_from_memory(&preview)
        .map(|i| (i.width(), i.height()))
        .expect("the preview decodes");
    let revised = "a red square on a white background";
    let summary = format!(
        "Saved {}: PNG 1254x1254, alpha none, {} bytes, sha256 {}. Revised prompt: {revised}. \
         Attached: a {pw}x{ph} JPEG preview ({} bytes) of the saved image; the full image is the file.",
        saved_path.display(),
        saved.len(),
        sha256(&saved),
        preview.len()
    );
    let resets_at = 1_800_000_000;
    let reset_text = rfc3339(resets_at);
    let error = format!(
        "error[runtime/usage_limit]: the ChatGPT plan's usage limit is reached until {reset_text}. \
         A retry before then cannot help."
    );
    let schema = json!({"type": "object", "properties": {"prompt": {"type": "string"}}});
    let plan = json!({
        "tools": [
            {"name": "generate_image", "inputSchema": schema,
             "description": "Generate an image or edit a picture (PNG, JPEG, WebP, transparent background)."},
            {"name": "codex_status", "inputSchema": {"type": "object", "properties": {}},
             "description": "Check codex image readiness and quota status."},
        ],
        "results": {
            "generate_image": {"content": [
                {"type": "text", "text": summary},
                {"type": "image", "mimeType": "image/jpeg",
                 "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &preview)},
            ]},
            "codex_status": {"isError": true, "content": [{"type": "text", "text": error}]},
        },
    });
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).expect("plan");
    let script_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/agents_support/shaped_server.py");
    let entry = ServerEntry {
        command: python3(),
        args: vec![
            script_path.display().to_string(),
            plan_path.display().to_string(),
        ],
        env: Vec::new(),
        codex_home: dir.path().join("no-codex-home"),
        codex_approve: true,
        mcp_add: None,
    };
    let script = |_: Agent| -> Script {
        vec![
            Step::Search("generate image".into()),
            Step::call(SERVER, "generate_image", json!({"prompt": revised})),
            Step::call(SERVER, "codex_status", json!({})),
            Step::Say("Done.".into()),
        ]
    };
    let runs = on_both(&entry, script, |_| {}).await;
    let mut targets = Targets::new("aimed shape");
    for received in &runs {
        let agent = received.agent;
        let seen = single(received, "generate_image", 0);
        assert_eq!(
            seen.images.first().map(|i| i.bytes.as_slice()),
            Some(preview.as_slice()),
            "{agent}: the preview reaches the model byte for byte\n{}",
            received.diagnostics()
        );
        assert!(
            seen.text().contains(&summary),
            "{agent}: the summary reaches the model whole\n{}",
            received.diagnostics()
        );
        check_image_targets(
            &mut targets,
            agent,
            "aimed-shape",
            seen,
            &saved_path,
            &saved,
            revised,
        );
        let failed = single(received, "codex_status", 0);
        if agent == Agent::ClaudeCode {
            assert_eq!(
                failed.is_error,
                Some(true),
                "Claude Code marks the call failed"
            );
        }
        check_usage_limit_targets(&mut targets, agent, failed, &reset_text);
    }
    eprintln!("aimed shape: {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        targets.failed.is_empty(),
        "the targets reject the shape they describe:\n- {}",
        targets.failed.join("\n- ")
    );
}
