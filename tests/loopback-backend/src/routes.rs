//! Which handler answers which request.
//!
//! Codex calls a handful of backend paths; every release spells them under the configured
//! `chatgpt_base_url` (`/backend-api/...`) or `openai_base_url` (`/backend-api/codex/...`). The
//! routes match on the path's ending so both spellings land in the same place. A WebSocket
//! upgrade is refused with 426, which makes Codex 0.145+ fall back to HTTPS and SSE. Anything
//! unknown gets a 404, and is recorded like everything else, so a test can see what a new release
//! started calling.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::login::FAKE_ACCOUNT_ID;
use crate::record::RecordedRequest;
use crate::server::{lock, Mode, Shared, Transport};

/// An answer, before it becomes an HTTP response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: u16, value: serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }

    pub(crate) fn sse(body: String) -> Self {
        Self {
            status: 200,
            content_type: "text/event-stream",
            headers: vec![("cache-control".to_string(), "no-cache".to_string())],
            body: body.into_bytes(),
        }
    }
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) async fn answer(shared: &Shared, request: &RecordedRequest) -> Reply {
    let route = request.route();
    let method = request.method.as_str();

    if request
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    {
        return Reply::json(
            426,
            json!({"error": {"type": "upgrade_required", "message": "this backend serves HTTPS only"}}),
        );
    }

    match method {
        "POST" if route.ends_with("/responses") => crate::model::answer(shared, request).await,
        "POST" if route.ends_with("/images/generations") || route.ends_with("/images/edits") => {
            crate::images::answer(shared, request).await
        }
        "GET" if route.ends_with("/wham/accounts/check") => {
            Reply::json(200, accounts_check(&origin(shared, request)))
        }
        "GET" if route.ends_with("/wham/usage") => Reply::json(200, usage(shared)),
        "GET" if route.ends_with("/codex/models") => Reply::json(200, json!({"models": []})),
        "POST" if route.ends_with("/analytics-events/events") => Reply::json(200, json!({})),
        _ => Reply::json(
            404,
            json!({"error": {"type": "not_found", "message": format!("no route for {method} {route}")}}),
        ),
    }
}

/// This backend's own origin, as the request reached it (`https://127.0.0.1:PORT`).
fn origin(shared: &Shared, request: &RecordedRequest) -> String {
    let scheme = match lock(&shared.config).transport {
        Transport::Https => "https",
        Transport::Http => "http",
    };
    format!(
        "{scheme}://{}",
        request.header("host").unwrap_or("127.0.0.1")
    )
}

/// The account list, shaped like the real `/wham/accounts/check`: one personal account, the
/// same id the fake login carries. From 0.160 Codex routes the workspace's requests to
/// `workspace_backend_origin`, so that is this backend's own origin.
fn accounts_check(origin: &str) -> serde_json::Value {
    json!({
        "accounts": [{
            "id": FAKE_ACCOUNT_ID,
            "account_id": FAKE_ACCOUNT_ID,
            "name": null,
            "structure": "personal",
            "plan_type": "plus",
            "is_deactivated": false,
            "can_access_with_session": true,
            "sso_connection_name": null,
            "is_fedramp_compliant_workspace": false,
            "workspace_backend_origin": origin,
            "account_routing_override": "NO_CONSTRAINT",
            "profile_picture_url": null,
        }],
        "account_ordering": [FAKE_ACCOUNT_ID],
        "default_account_id": FAKE_ACCOUNT_ID,
    })
}

/// The plan's usage, shaped like the real `/wham/usage` (what `account/rateLimits/read` reads): the
/// main bucket (`rate_limit`, which Codex names `codex`) and, as the real backend meters images apart,
/// an `image_gen` bucket in `additional_rate_limits` (a 24-hour window; Codex names it by its
/// `metered_feature`). Normally plenty is left in both. [`Mode::ModelUsageLimit`] spends the main
/// bucket's window, [`Mode::UsageLimit`] the image bucket's (`used_percent: 100`, `limit_reached:
/// true`), each resetting at the mode's `resets_at`, or, when the mode gives none, at the backend's own
/// window reset ([`Backend::usage_window_resets_at`](crate::Backend::usage_window_resets_at)). So a
/// client that falls back to the rate limits when a usage-limit error carries no time finds a definite
/// answer, in the bucket that was spent.
fn usage(shared: &Shared) -> serde_json::Value {
    let mode = lock(&shared.config).mode.clone();
    let window_reset = shared.usage_window_resets_at;
    let (model, images) = match mode {
        Mode::ModelUsageLimit { resets_at } => {
            ((100, resets_at.unwrap_or(window_reset)), (1, window_reset))
        }
        Mode::UsageLimit { resets_at } => {
            ((1, window_reset), (100, resets_at.unwrap_or(window_reset)))
        }
        _ => ((1, window_reset), (1, window_reset)),
    };
    let status = |(used, reset): (i64, i64), seconds: i64| {
        json!({
            "allowed": used < 100,
            "limit_reached": used >= 100,
            "primary_window": {
                "used_percent": used,
                "limit_window_seconds": seconds,
                "reset_after_seconds": (reset - now_secs()).max(0),
                "reset_at": reset,
            },
            "secondary_window": null,
        })
    };
    json!({
        "plan_type": "plus",
        "rate_limit": status(model, 18000),
        "additional_rate_limits": [{
            "limit_name": "Image generation",
            "metered_feature": "image_gen",
            "rate_limit": status(images, 86400),
        }],
        "credits": null,
    })
}

/// Which quota is spent: the model's (`codex`) or the image tool's (`image_gen`).
#[derive(Clone, Copy)]
pub(crate) enum Limit {
    Model,
    Images,
}

/// The body and headers of a spent quota, as the real backend sends them with HTTP 429. The
/// images endpoint names its limit in `x-codex-active-limit: image_gen` with `x-image-gen-primary-*`
/// windows; Codex 0.150+ turns that into the item's `failure: {type: "usageLimitExceeded",
/// limitId: "image_gen", resetsAt}`.
pub(crate) fn usage_limit(limit: Limit, resets_at: Option<i64>) -> Reply {
    let (prefix, active, window) = match limit {
        Limit::Model => ("x-codex-primary", "codex", "300"),
        Limit::Images => ("x-image-gen-primary", "image_gen", "1440"),
    };
    let mut error = json!({
        "type": "usage_limit_reached",
        "message": "The usage limit has been reached",
        "plan_type": "plus",
    });
    let mut headers = vec![
        (String::from("x-codex-active-limit"), active.to_string()),
        (format!("{prefix}-used-percent"), "100".to_string()),
        (format!("{prefix}-window-minutes"), window.to_string()),
    ];
    if let Some(at) = resets_at {
        error["resets_at"] = json!(at);
        error["resets_in_seconds"] = json!((at - now_secs()).max(0));
        headers.push((format!("{prefix}-reset-at"), at.to_string()));
    }
    let mut reply = Reply::json(429, json!({ "error": error }));
    reply.headers = headers;
    reply
}
