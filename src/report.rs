//! The machine-readable shapes every face prints: the CLI's `--json` object and the bridge's results and
//! error `data` are these, so a script that reads one reads the other.

use std::path::Path;

use serde::Serialize;

use crate::error::Error;
use crate::image::ImageFormat;
use crate::output::{CodexIds, GeneratedImage, TimingsMs};

/// A saved image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageReport {
    pub ok: bool,
    pub path: String,
    pub format: ImageFormat,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub sha256: String,
    pub revised_prompt: Option<String>,
    pub codex_version: String,
    pub ids: CodexIds,
    pub timings: TimingsMs,
}

impl ImageReport {
    pub fn new(image: &GeneratedImage, saved_to: &Path) -> Self {
        Self {
            ok: true,
            path: saved_to.display().to_string(),
            format: image.format,
            mime: image.format.mime(),
            width: image.width,
            height: image.height,
            bytes: image.bytes.len(),
            sha256: image.sha256.clone(),
            revised_prompt: image.revised_prompt.clone(),
            codex_version: image.codex_version.clone(),
            ids: image.ids.clone(),
            timings: image.timings.as_millis(),
        }
    }
}

/// A failure: the stable code, the message, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    pub ok: bool,
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
    /// For `runtime/usage_limit`: when the limit resets, as unix seconds and RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at_text: Option<String>,
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> Self {
        let resets_at = e.resets_at();
        Self {
            ok: false,
            code: e.code(),
            message: e.to_string(),
            retryable: e.retryable(),
            resets_at,
            resets_at_text: resets_at.map(crate::time::rfc3339),
        }
    }
}
