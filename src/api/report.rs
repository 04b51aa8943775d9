//! The machine-readable shapes every face prints: the CLI's `--json` objects and the bridge's results and
//! error `data` are these typed structs, serialized as they are, so a script that reads one reads the
//! other. No face adds or patches fields: a field a face needs is added here, once.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;

use crate::api::batch::BatchOutcome;
use crate::image::{Alpha, Fit, ImageFormat};
use crate::types::error::Error;
use crate::types::hints::Size;
use crate::types::output::{CodexIds, GeneratedImage, TimingsMs};
use crate::types::preflight::PreflightReport;

/// A generated image: what it is, where it was saved, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageReport {
    /// Always `true`: tells an image report from an [`ErrorReport`] on the same stream.
    pub ok: bool,
    /// Where the image was saved; `null` when it was not saved (a host asked for the bytes only).
    pub path: Option<String>,
    /// The format, from the image's magic bytes: `png`, `jpeg`, `webp` or `gif`.
    pub format: ImageFormat,
    /// The MIME type of `format`.
    pub mime: &'static str,
    /// Width in pixels, from the image header.
    pub width: u32,
    /// Height in pixels, from the image header.
    pub height: u32,
    /// Size of the image in bytes.
    pub bytes: usize,
    /// Lowercase hex SHA-256 of the image bytes.
    pub sha256: String,
    /// The prompt the image tool actually used, when Codex reports it.
    pub revised_prompt: Option<String>,
    /// The Codex CLI version that made the image.
    pub codex_version: String,
    /// Codex's identifiers for the generation.
    pub ids: CodexIds,
    /// Where the time went, in milliseconds.
    pub timings: TimingsMs,
    /// Where the transparency came from, measured from the pixels: `native` (Codex returned real
    /// alpha), `keyed` (codex-img removed a key colour) or `none`.
    pub alpha: Alpha,
    /// The size asked for (`{width, height}`), or `null`. Without `fit` it is only a hint, and
    /// `width`/`height` say what really came back.
    pub requested: Option<Size>,
    /// How the image was fitted to the requested size or aspect (`cover`, `contain`, `fill`), or `null`
    /// when it was not resized at all.
    pub fit: Option<Fit>,
    /// The size Codex returned (`{width, height}`), when the delivered size differs; else `null`.
    pub original: Option<Size>,
    /// The image bytes in standard base64, only when asked for ([`with_base64`](Self::with_base64));
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

impl ImageReport {
    /// The report of `image`, saved at `saved_to` (or not saved, when `None`), without the bytes.
    pub fn new(image: &GeneratedImage, saved_to: Option<&Path>) -> Self {
        Self {
            ok: true,
            path: saved_to.map(|p| p.display().to_string()),
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
            alpha: image.alpha,
            requested: image.requested,
            fit: image.fit,
            original: image.original,
            base64: None,
        }
    }

    /// Adds `image`'s bytes as base64 (the image the report was made from).
    pub fn with_base64(mut self, image: &GeneratedImage) -> Self {
        self.base64 = Some(base64::engine::general_purpose::STANDARD.encode(&image.bytes));
        self
    }
}

/// What a request for several images (`n > 1`) prints and returns: every finished image, and every
/// failure by index. `ok` is true only when every image was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// True when every image was delivered.
    pub ok: bool,
    /// The delivered images, in index order.
    pub images: Vec<ImageReport>,
    /// The images that failed, in index order.
    pub errors: Vec<BatchError>,
}

/// One failed image of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchError {
    /// Which image (from 1, the number in its file name).
    pub index: u32,
    /// The stable `category/name` code.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// Whether trying that image again can help.
    pub retryable: bool,
    /// As in [`ErrorReport::refused_locally`]: that image was refused by codex-img itself, from a
    /// usage limit, without a model request. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refused_locally: bool,
    /// When the image was made but could not be saved as asked: the file it was kept in instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_path: Option<PathBuf>,
    /// The image itself, when the bytes were asked for and it is on no disk (its save and its recovery
    /// copy both failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

impl BatchReport {
    /// The report of `outcome`; `with_base64` adds each image's bytes.
    pub fn new(outcome: &BatchOutcome, with_base64: bool) -> Self {
        let images = outcome
            .delivered
            .iter()
            .map(|d| {
                let report = ImageReport::new(&d.image, d.path.as_deref());
                if with_base64 {
                    report.with_base64(&d.image)
                } else {
                    report
                }
            })
            .collect();
        let errors = outcome
            .failed
            .iter()
            .map(|f| BatchError {
                index: f.index,
                code: f.error.code(),
                message: f.error.to_string(),
                retryable: f.error.retryable(),
                refused_locally: f.error.refused_locally(),
                recovered_path: f.error.recovered_path().map(Path::to_path_buf),
                base64: f
                    .error
                    .unsaved_image()
                    .filter(|_| with_base64)
                    .map(|image| base64::engine::general_purpose::STANDARD.encode(&image.bytes)),
            })
            .collect();
        Self {
            ok: outcome.ok(),
            images,
            errors,
        }
    }
}

/// A failure: the stable code, the message, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// Always `false`: tells an error report from an [`ImageReport`] on the same stream.
    pub ok: bool,
    /// The stable `category/name` code, as in the error table of docs/errors.md.
    pub code: &'static str,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// Whether the same request can succeed if tried again as it is.
    pub retryable: bool,
    /// For `runtime/usage_limit`: when the limit resets, as unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<i64>,
    /// `resets_at` as RFC 3339 in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at_text: Option<String>,
    /// For `runtime/usage_limit`: the usage bucket that is spent, as Codex names it (`image_gen` for
    /// image generation, `codex` for the model every turn uses, or another), when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_id: Option<String>,
    /// For `runtime/usage_limit`: `true` when codex-img refused the request itself, without a model
    /// request, from a limit Codex reported earlier (`ignore_known_usage_limit` sends it anyway).
    /// Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refused_locally: bool,
    /// When an image could not be saved as asked: the file it was kept in instead (the recovery
    /// folder). Absent otherwise, and when keeping a copy failed too (the message says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_path: Option<String>,
    /// The image bytes in standard base64, when a host asked for them and the save failed
    /// ([`with_base64`](Self::with_base64)); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

impl ErrorReport {
    /// A face's own refusal that is not a library [`Error`] (`bridge/shutting_down`, a tool's bad
    /// arguments): not retryable as it is, and with no optional field set.
    pub fn refusal(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            ok: false,
            code,
            message: message.into(),
            retryable: false,
            resets_at: None,
            resets_at_text: None,
            limit_id: None,
            refused_locally: false,
            recovered_path: None,
            base64: None,
        }
    }

    /// Adds the bytes of `image`, the image that was generated but not saved.
    pub fn with_base64(self, image: &GeneratedImage) -> Self {
        self.with_bytes(&image.bytes)
    }

    /// Adds `bytes`, an image that was generated but not saved, as base64.
    pub fn with_bytes(mut self, bytes: &[u8]) -> Self {
        self.base64 = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        self
    }
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
            resets_at_text: resets_at.map(crate::types::time::rfc3339),
            limit_id: e.limit_id().map(str::to_owned),
            refused_locally: e.refused_locally(),
            recovered_path: e.recovered_path().map(|p| p.display().to_string()),
            base64: None,
        }
    }
}

/// What `codex-img doctor --json` prints and the bridge's `codex/doctor` returns: every field of the
/// [`PreflightReport`], then `ready`, then `blocking` (`null` when ready).
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// The checks and what they found.
    #[serde(flatten)]
    pub preflight: PreflightReport,
    /// True when a generation would not fail on any check.
    pub ready: bool,
    /// When not ready, the first blocking problem, as the error a generation would give.
    pub blocking: Option<ErrorReport>,
}

impl From<&PreflightReport> for DoctorReport {
    fn from(report: &PreflightReport) -> Self {
        Self {
            preflight: report.clone(),
            ready: report.ready(),
            blocking: report.blocking.as_deref().map(ErrorReport::from),
        }
    }
}
