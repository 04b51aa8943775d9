//! The step between "Codex returned an image" and "the caller has it": the options' post-processing,
//! run once in the library so every face delivers the same bytes and the same report.
//!
//! It measures the alpha from the pixels, keys a flat background out when asked and the image has no
//! alpha of its own, fits to the requested size when asked, and converts to the requested format; then
//! the image's `bytes`, `format`, `width`, `height` and `sha256` describe what is delivered, and
//! `alpha`, `requested`, `fit` and `original` say how it got there. Without `fit`, nothing is resized;
//! with nothing to do, the bytes are Codex's own, untouched.

use std::path::PathBuf;
use std::sync::Arc;

use crate::image::key::Keyed;
use crate::image::{self, Alpha};
use crate::session::generation::Made;
use crate::types::error::{Error, Result};
use crate::types::hints::Size;
use crate::types::options::Plan;
use crate::types::output::GeneratedImage;

/// Makes the delivered image from the one Codex returned: applies `plan`, and says how it got there.
/// `requested` is the size hint, reported as asked; `recovery_dir` is where the image is kept should
/// saving it fail.
///
/// A failure here comes after the turn, so the image was paid for: the error carries it back untouched
/// ([`Error::ProcessFailed`]) for the caller to keep.
pub(crate) async fn finish(
    made: Made,
    plan: &Plan,
    requested: Option<Size>,
    recovery_dir: Option<PathBuf>,
) -> Result<GeneratedImage> {
    let started = std::time::Instant::now();
    let processing = plan.processing;
    // Shared, not copied, with the blocking task: an image is megabytes, and several can finish at once.
    // Once the task is over (done, panicked or never run) its handle is gone and the bytes come back.
    let bytes = Arc::new(made.bytes);
    let shared = bytes.clone();
    let processed = tokio::task::spawn_blocking(move || image::process(&shared, &processing))
        .await
        .map_err(|e| image::ProcessError::Decode {
            reason: format!("the processing task failed: {e}"),
        })
        .and_then(|r| r);
    let bytes = Arc::try_unwrap(bytes).unwrap_or_else(|bytes| bytes.to_vec());
    let mut image = GeneratedImage {
        // Hashed once, for the bytes delivered: Codex's own, or the processed ones.
        sha256: String::new(),
        bytes,
        format: made.info.format,
        width: made.info.width,
        height: made.info.height,
        revised_prompt: made.revised_prompt,
        ids: made.ids,
        timings: made.timings,
        codex_version: made.codex_version,
        recovery_dir,
        // Not measured: the image is as Codex returned it.
        alpha: Alpha::None,
        requested,
        fit: None,
        original: None,
    };
    let processed = match processed {
        Ok(p) => p,
        Err(error) => {
            image.sha256 = image::sha256_hex(&image.bytes);
            return Err(Error::ProcessFailed {
                reason: error.to_string(),
                image: Box::new(image),
                kept: None,
            });
        }
    };
    if let Some(Keyed::Skipped { reason }) = &processed.keyed {
        tracing::info!("keying skipped: {reason}");
    }
    if !processed.passthrough {
        image.bytes = processed.bytes;
    }
    image.sha256 = image::sha256_hex(&image.bytes);
    image.format = processed.format;
    image.width = processed.width;
    image.height = processed.height;
    image.alpha = processed.alpha;
    image.fit = plan.fit;
    image.original = processed
        .original
        .map(|(width, height)| Size { width, height });
    // `total` runs from the call to the delivered image, post-processing included.
    image.timings.total += started.elapsed();
    Ok(image)
}
