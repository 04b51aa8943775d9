//! Tool results. A generated image answers with a one-line summary, the image itself (or, above the
//! inline cap or when the call asked, a `resource_link` to the saved file), and `structuredContent`
//! holding the CLI's `--json` report; several images (`n > 1`) answer with a line and a block each and
//! the batch report. A failure answers `isError: true` with `error[<code>]: <message>`
//! and the CLI's `--json` error report (stable code, message, `retryable`, and the reset time of a usage
//! limit). The status tool answers with the doctor's lines and its JSON report.

use std::path::Path;

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, Resource};
use serde_json::Value;

use crate::error::Error;
use crate::output::GeneratedImage;
use crate::report::{BatchReport, DoctorReport, ErrorReport, ImageReport};
use crate::BatchOutcome;
use crate::{PreflightReport, Status};

/// The largest image sent inline, in bytes before base64: about what agents' clients take in one
/// content block without trouble. Larger images are linked.
pub const INLINE_MAX: usize = 2 * 1024 * 1024;

/// What `generate_image` made: with `n = 1` the image's own report (or its error), with more the
/// batch report. Images are attached in order while they fit in [`INLINE_MAX`] together and `inline`
/// holds; the others are linked. A batch is `isError` only when no image was delivered.
pub fn batch(outcome: &BatchOutcome, n: u32, inline: bool) -> CallToolResult {
    if n <= 1 {
        return match (outcome.delivered.first(), outcome.failed.first()) {
            (Some(d), _) => single(&d.image, d.path.as_deref(), inline),
            (None, Some(f)) => app_error(&f.error, unsaved(&f.error)),
            (None, None) => app_error(&Error::Cancelled, None),
        };
    }
    let mut budget = if inline { INLINE_MAX } else { 0 };
    let mut lines = vec![format!("Made {} of {n} images.", outcome.delivered.len())];
    let mut blocks = Vec::new();
    for d in &outcome.delivered {
        let (line, block) = delivered(&d.image, d.path.as_deref(), &mut budget, inline);
        lines.push(format!("{}. {line}", d.index));
        blocks.push(block);
    }
    for f in &outcome.failed {
        lines.push(format!(
            "{}. error[{}]: {}",
            f.index,
            f.error.code(),
            f.error
        ));
        if let Some(image) = unsaved(&f.error) {
            if image.bytes.len() <= budget {
                budget -= image.bytes.len();
                blocks.push(inline_image(image));
            }
        }
    }
    let mut content = vec![ContentBlock::text(lines.join("\n"))];
    content.extend(blocks);
    let mut result = if outcome.delivered.is_empty() {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    result.structured_content = Some(to_value(&BatchReport::new(outcome, false)));
    result
}

/// One saved image.
fn single(image: &GeneratedImage, saved: Option<&Path>, inline: bool) -> CallToolResult {
    let mut budget = if inline { INLINE_MAX } else { 0 };
    let (line, block) = delivered(image, saved, &mut budget, inline);
    let mut result = CallToolResult::success(vec![ContentBlock::text(line), block]);
    result.structured_content = Some(to_value(&ImageReport::new(image, saved)));
    result
}

/// The summary line of a delivered image and its content block: the image while `budget` lasts, else
/// a link to the file.
fn delivered(
    image: &GeneratedImage,
    saved: Option<&Path>,
    budget: &mut usize,
    inline: bool,
) -> (String, ContentBlock) {
    let attach = image.bytes.len() <= *budget || saved.is_none();
    let how = if attach {
        *budget = budget.saturating_sub(image.bytes.len());
        "The image is attached."
    } else if inline {
        "It is linked, not attached: attached images are kept to 2 MiB."
    } else {
        "It is linked, not attached, as asked."
    };
    let mut what = format!("{} {}x{}", image.format, image.width, image.height);
    if let (Some(fit), Some(original)) = (image.fit, image.original) {
        what.push_str(&format!(
            " ({} from {}x{})",
            fit.as_str(),
            original.width,
            original.height
        ));
    }
    what.push_str(&format!(", alpha {}", image.alpha.as_str()));
    let line = format!(
        "Saved {}: {what}, {} bytes, sha256 {}, {:.1}s. {how}",
        saved.map_or_else(|| "nowhere".to_owned(), |p| p.display().to_string()),
        image.bytes.len(),
        &image.sha256[..image.sha256.len().min(12)],
        image.timings.total.as_secs_f64(),
    );
    let block = match saved {
        Some(path) if !attach => link(image, path),
        _ => inline_image(image),
    };
    (line, block)
}

/// The image a failure still carries because it was paid for, when it was not kept on disk.
fn unsaved(e: &Error) -> Option<&GeneratedImage> {
    e.unsaved_image()
}

/// A failed call. When an image was made but could not be kept on disk, it is attached if it fits, so
/// what was paid for is not lost.
pub fn error(report: &ErrorReport, unsaved: Option<&GeneratedImage>) -> CallToolResult {
    let mut text = format!("error[{}]: {}", report.code, report.message);
    if let Some(hint) = hint(report) {
        text.push_str(&format!("\nhint: {hint}"));
    }
    let mut content = vec![ContentBlock::text(text)];
    if let Some(image) = unsaved.filter(|i| i.bytes.len() <= INLINE_MAX) {
        content.push(ContentBlock::text(
            "The image was generated but not saved; it is attached.",
        ));
        content.push(inline_image(image));
    }
    let mut result = CallToolResult::error(content);
    result.structured_content = Some(to_value(report));
    result
}

/// A codex-img error.
pub fn app_error(e: &Error, unsaved: Option<&GeneratedImage>) -> CallToolResult {
    error(&ErrorReport::from(e), unsaved)
}

/// The doctor report ([`DoctorReport`]: what `doctor --json` prints and the bridge's `codex/doctor`
/// returns). Not ready is a finding, not a failed call, so it is not `isError`.
pub fn status(report: &PreflightReport) -> CallToolResult {
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
    result.structured_content = Some(to_value(&DoctorReport::from(report)));
    result
}

fn inline_image(image: &GeneratedImage) -> ContentBlock {
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
pub fn file_uri(path: &Path) -> String {
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

fn hint(report: &ErrorReport) -> Option<String> {
    match (report.code, &report.resets_at_text) {
        ("runtime/usage_limit", Some(at)) => Some(format!(
            "the usage limit resets at {at}; do not call generate_image again before then"
        )),
        ("runtime/usage_limit", None) => {
            Some("wait for the usage window to reset; codex_status shows the quota".to_owned())
        }
        ("output/exists", _) => {
            Some("pass `overwrite: true` to replace it, or choose another `output`".to_owned())
        }
        ("runtime/timeout", _) => Some(
            "the turn may have spent quota; check before calling again, codex-img never retries it"
                .to_owned(),
        ),
        _ if report.retryable => Some("trying the same call again later may work".to_owned()),
        _ => None,
    }
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
    fn a_usage_limit_error_carries_code_reset_and_hint() {
        let e = Error::UsageLimit {
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: false,
        };
        let result = app_error(&e, None);
        assert_eq!(result.is_error, Some(true));
        assert_eq!(
            serde_json::to_value(&result.content).expect("json"),
            serde_json::json!([{"type": "text", "text": "error[runtime/usage_limit]: the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan\nhint: the usage limit resets at 2027-01-15T08:00:00Z; do not call generate_image again before then"}])
        );
        assert_eq!(
            result.structured_content,
            Some(
                serde_json::json!({"ok": false, "code": "runtime/usage_limit", "message": "the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan", "retryable": false, "resets_at": 1_800_000_000, "resets_at_text": "2027-01-15T08:00:00Z"})
            )
        );
    }
}
