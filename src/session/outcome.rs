//! Reading the outcome of a turn: the bytes of an image item (inline, decoded inside the buffer the worker
//! read them into, or from `savedPath` when `result` is empty), and the error for a turn that ended
//! without one, mapped from Codex's `codexErrorInfo` into codex-img's taxonomy.

use std::path::Path;
use std::time::Duration;

use crate::image::{self, ImageInfo};
use crate::protocol::items::ImagePayload;
use crate::protocol::request::AccountRateLimitsRead;
use crate::protocol::{
    CodexErrorInfo, ImageGenerationThreadItem, SpentBucket, TurnError, TurnStatus,
};
use crate::rpc::codec::base64_in_place::decode_in_place;
use crate::session::live::Live;
use crate::types::error::Error;

/// The largest image read back from `savedPath` when `result` is empty.
const MAX_SAVED_IMAGE: u64 = 128 * 1024 * 1024;

pub(super) struct Found {
    pub bytes: Vec<u8>,
    pub info: ImageInfo,
    pub item_id: String,
    pub revised_prompt: Option<String>,
}

pub(super) enum ImageProblem {
    UsageLimit(SpentBucket),
    /// The tool failed and said no more (0.145 reports a spent images quota this way).
    ToolFailed,
    Unusable(String),
}

/// Takes the image out of `item`: its inline base64 is decoded in its own buffer, so `result` is left
/// empty.
pub(super) async fn take_image(
    item: &mut ImageGenerationThreadItem,
    live: &Live,
) -> std::result::Result<Found, ImageProblem> {
    if let Some(spent) = item.usage_limit() {
        return Err(ImageProblem::UsageLimit(spent));
    }
    if item.status == "failed"
        && item.payload() == ImagePayload::Missing
        && item.saved_path.is_none()
    {
        return Err(ImageProblem::ToolFailed);
    }
    let bytes = match item.payload() {
        ImagePayload::Inline(_) => {
            let text = item.result.take().unwrap_or_default();
            decode_in_place(text).map_err(|e| {
                ImageProblem::Unusable(format!("the image's base64 is invalid: {e}"))
            })?
        }
        ImagePayload::FileId(_) | ImagePayload::Missing => read_saved(item, live)
            .await
            .map_err(ImageProblem::Unusable)?,
    };
    let info = image::inspect(&bytes)
        .map_err(|e| ImageProblem::Unusable(format!("the image bytes are not an image: {e}")))?;
    Ok(Found {
        bytes,
        info,
        item_id: item.id.clone(),
        revised_prompt: item.revised_prompt.clone(),
    })
}

/// Whether a usage bucket is spent, read without spending anything: the bucket at 100% whose reset is
/// the latest (see `GetAccountRateLimitsResponse::spent`).
pub(super) async fn spent_window(live: &Live) -> Option<SpentBucket> {
    let read = live.conn.request::<AccountRateLimitsRead>(&());
    let limits = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?
        .ok()?;
    limits.spent()
}

/// The fallback when `result` is empty: the file Codex saved, but only from inside its own
/// `generated_images` folder.
async fn read_saved(
    item: &ImageGenerationThreadItem,
    live: &Live,
) -> std::result::Result<Vec<u8>, String> {
    let saved = item
        .saved_path
        .as_deref()
        .ok_or("the image item has neither bytes nor a saved path")?;
    let saved = Path::new(saved);
    let allowed = live.codex_home.as_ref().map(|h| h.join("generated_images"));
    if !allowed.is_some_and(|dir| saved.starts_with(dir))
        || saved.components().any(|c| c.as_os_str() == "..")
    {
        return Err(format!(
            "the image's saved path {} is outside Codex's generated_images folder",
            saved.display()
        ));
    }
    let meta = tokio::fs::symlink_metadata(saved)
        .await
        .map_err(|e| format!("cannot read the saved image: {e}"))?;
    if !meta.is_file() || meta.len() > MAX_SAVED_IMAGE {
        return Err("the saved image is not a regular file of a sensible size".to_owned());
    }
    tokio::fs::read(saved)
        .await
        .map_err(|e| format!("cannot read the saved image: {e}"))
}

/// What is known when a turn ends without an image.
pub(super) struct Ended {
    pub status: TurnStatus,
    pub error: Option<TurnError>,
    /// The model's last words, when it answered instead of calling the tool.
    pub message: Option<String>,
    /// An image item that came without usable bytes.
    pub unusable: Option<String>,
    /// A line of the turn's that could not be read (it may have been the image).
    pub unreadable: Option<String>,
}

impl Ended {
    pub(crate) fn into_error(self) -> Error {
        if let Some(error) = self.error {
            return from_turn_error(error);
        }
        if let Some(detail) = self.unusable {
            return Error::NoImage { detail };
        }
        if let Some(detail) = self.unreadable {
            return Error::InvalidMessage { detail };
        }
        let detail = match self.message {
            Some(text) => format!(
                "the model answered instead: {}",
                crate::rpc::process::redact(text.trim())
            ),
            None => format!("the turn ended ({}) without an image", self.status.as_str()),
        };
        Error::NoImage { detail }
    }
}

/// Maps a failed turn's error to codex-img's taxonomy. Codex's text is quoted with anything shaped
/// like a token or an email address masked, as its stderr is.
pub(crate) fn from_turn_error(error: TurnError) -> Error {
    let message = crate::rpc::process::redact(&error.message);
    match error.codex_error_info {
        // The turn's error names no bucket; the caller looks for the spent one.
        Some(CodexErrorInfo::UsageLimitExceeded) => Error::UsageLimit {
            limit_id: None,
            resets_at: None,
            message,
            refused_locally: false,
        },
        Some(
            CodexErrorInfo::CyberPolicy
            | CodexErrorInfo::BioPolicy
            | CodexErrorInfo::MisalignmentPolicyViolation
            | CodexErrorInfo::InferenceHookDenied,
        ) => Error::Refused { message },
        Some(CodexErrorInfo::BadRequest) if looks_like_refusal(&message) => {
            Error::Refused { message }
        }
        Some(ref info) if http_status(info) == Some(429) => Error::RateLimited { message },
        Some(
            CodexErrorInfo::HttpConnectionFailed(_)
            | CodexErrorInfo::ResponseStreamConnectionFailed(_)
            | CodexErrorInfo::ResponseStreamDisconnected(_)
            | CodexErrorInfo::ResponseTooManyFailedAttempts(_),
        ) => Error::BackendUnreachable { detail: message },
        Some(CodexErrorInfo::Unauthorized) => Error::NotSignedIn,
        Some(CodexErrorInfo::RateLimitExceeded) => Error::RateLimited { message },
        _ if looks_like_refusal(&message) => Error::Refused { message },
        _ => Error::NoImage { detail: message },
    }
}

/// The HTTP status a connection or stream failure carries, if any.
fn http_status(info: &CodexErrorInfo) -> Option<u16> {
    match info {
        CodexErrorInfo::HttpConnectionFailed(i) => i.http_status_code,
        CodexErrorInfo::ResponseStreamConnectionFailed(i) => i.http_status_code,
        CodexErrorInfo::ResponseStreamDisconnected(i) => i.http_status_code,
        CodexErrorInfo::ResponseTooManyFailedAttempts(i) => i.http_status_code,
        _ => None,
    }
}

fn looks_like_refusal(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["safety", "policy", "moderation", "rejected"]
        .iter()
        .any(|w| m.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn code_of(info: serde_json::Value) -> &'static str {
        let error: TurnError = serde_json::from_value(serde_json::json!({
            "message": "Too Many Requests", "codexErrorInfo": info, "additionalDetails": null
        }))
        .expect("decodes");
        from_turn_error(error).code()
    }

    #[test]
    fn a_429_is_a_rate_limit_and_other_statuses_are_not() {
        assert_eq!(
            code_of(serde_json::json!("rateLimitExceeded")),
            "runtime/rate_limited"
        );
        assert_eq!(
            code_of(serde_json::json!({"responseTooManyFailedAttempts": {"httpStatusCode": 429}})),
            "runtime/rate_limited"
        );
        assert_eq!(
            code_of(serde_json::json!({"httpConnectionFailed": {"httpStatusCode": 503}})),
            "preflight/backend_unreachable"
        );
        assert_eq!(
            code_of(serde_json::json!("usageLimitExceeded")),
            "runtime/usage_limit"
        );
    }
}
