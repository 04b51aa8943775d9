//! Tool results, shaped for the model that reads them.
//!
//! A generated image answers with a text block that says everything ([`summary`]) and, unless the call
//! asked for `inline: false`, a preview of each image made for a vision model (at most
//! [`PreviewSpec::max_side`] pixels and [`PreviewSpec::max_bytes`] bytes; the file itself when it is
//! already that small), while the full image is on disk at the path the text gives. Without a preview,
//! each file is linked (`resource_link`). A failure answers `isError: true` with the error's text.
//!
//! `structuredContent` (the CLI's `--json` report, declared as the tool's `outputSchema`) is added only
//! when the server runs with `--structured`, for programmatic MCP clients: with it present, Codex passes
//! its model only that JSON and Claude Code drops the text block, so by default it is left out.

use std::path::Path;

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, Resource};
use serde_json::Value;

use crate::api::report::{BatchReport, DoctorReport, ErrorReport, ImageReport};
use crate::face::answer::Answer;
use crate::image::{Preview, PreviewSpec};
use crate::types::error::Error;
use crate::types::output::GeneratedImage;
use crate::BatchOutcome;
use crate::{PreflightReport, Status};

use super::summary::{self, Attached};

/// The largest image attached to an error result, in bytes before base64: a paid image that could not
/// be saved anywhere goes back whole (it is the only copy) when it is at most this large.
pub(crate) const UNSAVED_MAX: usize = 2 * 1024 * 1024;

/// How a server shapes its results: fixed at start, except `inline`, which each call may turn off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Add `structuredContent` (and declare `outputSchema`).
    pub structured: bool,
    /// The size of the previews attached.
    pub preview: PreviewSpec,
    /// Attach previews at all (the call's `inline`).
    pub inline: bool,
}

/// What `generate_image` made: with `n = 1` the image (or its error), with more every image and every
/// failure. A batch is `isError` only when no image was delivered.
pub(crate) async fn batch(outcome: &BatchOutcome, n: u32, shape: Shape) -> CallToolResult {
    match Answer::of(outcome, n) {
        Answer::Image(d) => {
            let (text, block) = delivered(&d.image, d.path.as_deref(), shape).await;
            let mut result = CallToolResult::success(vec![ContentBlock::text(text), block]);
            if shape.structured {
                result.structured_content =
                    Some(to_value(&ImageReport::new(&d.image, d.path.as_deref())));
            }
            result
        }
        Answer::Failed(failed) => app_error(&failed, shape.structured),
        Answer::Batch(outcome) => several(outcome, n, shape).await,
    }
}

/// Several images: a line each, and each one's preview in turn.
async fn several(outcome: &BatchOutcome, n: u32, shape: Shape) -> CallToolResult {
    let mut lines = vec![format!("Made {} of {n} images.", outcome.delivered.len())];
    let mut blocks = Vec::new();
    for d in &outcome.delivered {
        let (text, block) = delivered(&d.image, d.path.as_deref(), shape).await;
        lines.push(format!("{}. {}", d.index, indent(&text)));
        blocks.push(block);
    }
    for f in &outcome.failed {
        let text = summary::error(&ErrorReport::from(&f.error));
        lines.push(format!("{}. {}", f.index, indent(&text)));
    }
    let mut content = vec![ContentBlock::text(lines.join("\n"))];
    content.extend(blocks);
    let mut result = if outcome.delivered.is_empty() {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    if shape.structured {
        result.structured_content = Some(to_value(&BatchReport::new(outcome, false)));
    }
    result
}

/// Later lines of a numbered entry, indented under its number.
fn indent(text: &str) -> String {
    text.replace('\n', "\n   ")
}

/// The text of a delivered image and its block: the preview, or a link to the file.
async fn delivered(
    image: &GeneratedImage,
    saved: Option<&Path>,
    shape: Shape,
) -> (String, ContentBlock) {
    // An image saved nowhere (not possible through this face today) can only go inline.
    let made = if shape.inline || saved.is_none() {
        Some(make_preview(image, shape.preview).await)
    } else {
        None
    };
    match (made, saved) {
        (Some(Ok(preview)), _) => (
            summary::image(image, saved, Attached::Preview(&preview)),
            preview_block(&preview),
        ),
        (Some(Err(reason)), Some(path)) => (
            summary::image(image, saved, Attached::Failed(&reason)),
            link(image, path),
        ),
        (None, Some(path)) => (
            summary::image(image, saved, Attached::NotAsked),
            link(image, path),
        ),
        (Some(Err(_)) | None, None) => (
            summary::image(image, None, Attached::NotAsked),
            whole_image(image),
        ),
    }
}

/// The preview of `image`, made off the async threads (it decodes and encodes pixels).
async fn make_preview(image: &GeneratedImage, spec: PreviewSpec) -> Result<Preview, String> {
    let bytes = image.bytes.clone();
    match tokio::task::spawn_blocking(move || crate::image::preview(&bytes, spec)).await {
        Ok(Ok(preview)) => Ok(preview),
        Ok(Err(e)) => {
            tracing::warn!("no preview of a {} image: {e}", image.format);
            Err(e.to_string())
        }
        Err(e) => Err(format!("the preview task failed: {e}")),
    }
}

/// A failed call: the error's text, and the report when structured. A paid image that could not be
/// kept on disk is attached whole when it fits, so a client that reads images does not lose it.
pub(crate) fn error(
    report: &ErrorReport,
    unsaved: Option<&GeneratedImage>,
    structured: bool,
) -> CallToolResult {
    let mut content = vec![ContentBlock::text(summary::error(report))];
    if let Some(image) = unsaved.filter(|i| i.bytes.len() <= UNSAVED_MAX) {
        content.push(ContentBlock::text(
            "The image was generated but not saved; it is attached.",
        ));
        content.push(whole_image(image));
    }
    let mut result = CallToolResult::error(content);
    if structured {
        result.structured_content = Some(to_value(report));
    }
    result
}

/// A codex-img error, with the image it still carries when it was paid for and kept nowhere.
pub(crate) fn app_error(e: &Error, structured: bool) -> CallToolResult {
    error(&ErrorReport::from(e), e.unsaved_image(), structured)
}

/// The doctor report ([`DoctorReport`]: what `doctor --json` prints and the bridge's `codex/doctor`
/// returns). Not ready is a finding, not a failed call, so it is not `isError`.
pub(crate) fn status(report: &PreflightReport, structured: bool) -> CallToolResult {
    let mut lines = String::new();
    for check in &report.checks {
        let mark = match check.status {
            Status::Pass => "[ok]",
            Status::Warn => "[warn]",
            Status::Fail => "[FAIL]",
            Status::Skipped => "[skip]",
        };
        lines.push_str(&format!("{mark:<6} {:<17} {}\n", check.name, check.detail));
        if let Some(code) = check.code {
            lines.push_str(&format!("       code: {code}\n"));
        }
        if let Some(fix) = &check.fix {
            lines.push_str(&format!("       fix:  {fix}\n"));
        }
    }
    match &report.blocking {
        None => lines.push_str("Ready: generate_image can make images with this Codex."),
        Some(e) => lines.push_str(&format!(
            "Not ready ({}): generate_image would fail; apply the fix above.",
            e.code()
        )),
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(lines)]);
    if structured {
        result.structured_content = Some(to_value(&DoctorReport::from(report)));
    }
    result
}

fn preview_block(preview: &Preview) -> ContentBlock {
    ContentBlock::image(
        base64::engine::general_purpose::STANDARD.encode(&preview.bytes),
        preview.format.mime(),
    )
}

fn whole_image(image: &GeneratedImage) -> ContentBlock {
    ContentBlock::image(
        base64::engine::general_purpose::STANDARD.encode(&image.bytes),
        image.format.mime(),
    )
}

fn link(image: &GeneratedImage, saved: &Path) -> ContentBlock {
    let name = saved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| image.default_file_name());
    ContentBlock::resource_link(
        Resource::new(file_uri(saved), name)
            .with_mime_type(image.format.mime())
            .with_size(image.bytes.len() as u64),
    )
}

/// A `file://` URI for an absolute path, percent-encoding every byte outside RFC 3986's unreserved
/// set (and `/`).
pub(crate) fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut uri = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(
        |e| serde_json::json!({"ok": false, "message": format!("the report could not be serialized: {e}")}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn file_uris_encode_what_a_uri_cannot_hold() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/ünï#1.png")),
            "file:///tmp/a%20b/%C3%BCn%C3%AF%231.png"
        );
    }

    #[test]
    fn a_usage_limit_error_says_in_its_text_when_to_try_again() {
        let e = Error::UsageLimit {
            limit_id: None,
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: false,
        };
        let result = app_error(&e, false);
        assert_eq!(result.is_error, Some(true));
        assert_eq!(
            serde_json::to_value(&result.content).expect("json"),
            serde_json::json!([{"type": "text", "text": "error[runtime/usage_limit]: the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan\nRetry: not before 2027-01-15T08:00:00Z, when the usage limit resets; until then do not call generate_image again (calls are refused without spending quota unless ignore_known_usage_limit is set, which only the user should ask for)."}])
        );
        assert_eq!(result.structured_content, None);
        assert_eq!(
            app_error(&e, true).structured_content,
            Some(
                serde_json::json!({"ok": false, "code": "runtime/usage_limit", "message": "the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan", "retryable": false, "resets_at": 1_800_000_000, "resets_at_text": "2027-01-15T08:00:00Z"})
            )
        );
    }

    #[test]
    fn every_error_says_whether_a_retry_can_help() {
        let cases = [
            (Error::Cancelled, "Retry: only if the user still wants the image."),
            (
                Error::Timeout {
                    after: std::time::Duration::from_secs(300),
                    phase: "generating",
                },
                "Retry: not automatically: the turn may already have spent quota; ask the user before calling again (codex-img never retries it).",
            ),
        ];
        for (e, want) in cases {
            let text = summary::error(&ErrorReport::from(&e));
            assert_eq!(text.lines().nth(1), Some(want), "{text}");
        }
    }
}
