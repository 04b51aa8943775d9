//! The text of a tool result: the part every agent passes to its model.
//!
//! Agents do not pass every part of a result on. Codex hands its model only `structuredContent` when it
//! is present, Claude Code drops the text block then, and both pass only the text of an `isError`
//! result. So the text carries every fact on its own: for an image, the absolute path of the saved file,
//! its format, size, alpha, bytes, full sha256 and the revised prompt, and what the attached image is;
//! for a failure, the code, the message, whether and when a retry can help, and where a paid image was
//! kept.

use std::fmt::Write as _;
use std::path::Path;

use crate::api::report::ErrorReport;
use crate::image::Preview;
use crate::types::output::GeneratedImage;

/// What is attached for one delivered image.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attached<'a> {
    /// A preview, or the file itself when the preview is the image byte for byte.
    Preview(&'a Preview),
    /// Nothing: the call asked for `inline: false`; the file is linked.
    NotAsked,
    /// Nothing: no preview could be made (the reason); the file is linked.
    Failed(&'a str),
}

/// The lines of one delivered image: where it is, what it is, what is attached.
pub(crate) fn image(
    image: &GeneratedImage,
    saved: Option<&Path>,
    attached: Attached<'_>,
) -> String {
    let mut what = format!("{} {}x{}", image.format, image.width, image.height);
    if let Some(note) = image.size_note() {
        let _ = write!(what, " ({note})");
    }
    let mut text = match saved {
        Some(path) => format!(
            "Saved the image to {}: {what}, alpha {}, {} bytes, sha256 {}.",
            path.display(),
            image.alpha.as_str(),
            image.bytes.len(),
            image.sha256
        ),
        None => format!(
            "The image was not saved: {what}, alpha {}, {} bytes, sha256 {}.",
            image.alpha.as_str(),
            image.bytes.len(),
            image.sha256
        ),
    };
    text.push('\n');
    text.push_str(&attachment(attached));
    if let Some(revised) = image
        .revised_prompt
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        let _ = write!(text, "\nRevised prompt: {}", revised.trim());
    }
    let _ = write!(
        text,
        "\nMade by Codex {} in {:.1} s.",
        image.codex_version,
        image.timings.total.as_secs_f64()
    );
    text
}

fn attachment(attached: Attached<'_>) -> String {
    match attached {
        Attached::Preview(p) if p.same_as_image => {
            "The attached image is the file itself.".to_owned()
        }
        Attached::Preview(p) => {
            let mut line = format!(
                "The attached image is a preview for viewing only ({} {}x{}, {} bytes",
                p.format,
                p.width,
                p.height,
                p.bytes.len()
            );
            if p.checkerboard {
                line.push_str("; transparent areas shown as a grey checkerboard");
            }
            line.push_str("); the saved file is the full image: give the user that path.");
            line
        }
        Attached::NotAsked => {
            "No image is attached, as asked (inline: false); the file is linked.".to_owned()
        }
        Attached::Failed(reason) => {
            format!("No preview could be made ({reason}); the file is linked.")
        }
    }
}

/// The text of a failure: `error[<code>]: <message>`, then what a retry would do, then where a paid
/// image went, each on its own line.
pub(crate) fn error(report: &ErrorReport) -> String {
    let mut text = format!("error[{}]: {}", report.code, report.message);
    let _ = write!(text, "\nRetry: {}", retry(report));
    if let Some(path) = report
        .recovered_path
        .as_ref()
        .filter(|path| !report.message.contains(path.as_str()))
    {
        let _ = write!(
            text,
            "\nThe image was made and kept at {path}; nothing needs to be generated again."
        );
    }
    text
}

/// Whether the same call can work later, and when: always said, so the model never has to guess
/// whether calling again spends quota for nothing.
fn retry(report: &ErrorReport) -> String {
    match (report.code, &report.resets_at_text) {
        ("runtime/usage_limit", Some(at)) => format!(
            "not before {at}, when the usage limit resets; until then do not call generate_image \
             again (calls are refused without spending quota unless ignore_known_usage_limit is set, \
             which only the user should ask for)."
        ),
        ("runtime/usage_limit", None) => {
            "only after the usage window resets; codex_status shows the quota.".to_owned()
        }
        ("output/exists", _) => {
            "yes, with overwrite: true to replace the file, or with another output.".to_owned()
        }
        ("runtime/timeout", _) => "not automatically: the turn may already have spent quota; \
                                   ask the user before calling again (codex-img never retries it)."
            .to_owned(),
        ("runtime/cancelled", _) => "only if the user still wants the image.".to_owned(),
        _ if report.retryable => "the same call may work if tried again later.".to_owned(),
        _ => "the same call will fail the same way; change what the message names first."
            .to_owned(),
    }
}
