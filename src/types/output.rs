//! What a generation returns: the verified bytes, what they are, where they came from, how they were
//! post-processed, and how long each phase took. Saving them is [`super::save`]'s.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::hints::Size;
use crate::image::{Alpha, Fit, ImageFormat};

/// A generated image, checked by its magic bytes and measured from its bytes.
///
/// These are the delivered bytes: exactly what the image tool produced unless an option
/// ([`Options`](crate::Options)) converted, keyed or fitted them; then `format`, `width`, `height` and
/// `sha256` describe the result, and `original` the size Codex returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// The format, from the magic bytes.
    pub format: ImageFormat,
    /// Width in pixels, from the image header.
    pub width: u32,
    /// Height in pixels, from the image header.
    pub height: u32,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The prompt the image tool actually used, when Codex reports it.
    pub revised_prompt: Option<String>,
    /// Codex's identifiers for the generation.
    pub ids: CodexIds,
    /// Where the time went.
    pub timings: Timings,
    /// The Codex CLI version that made it.
    pub codex_version: String,
    /// Where [`save`](Self::save) keeps the bytes when the target cannot be written (see
    /// [`Recovery`](crate::Recovery)); the client sets it from its settings. `None`: no copy can be kept.
    pub recovery_dir: Option<PathBuf>,
    /// Where the transparency came from, measured from the delivered pixels.
    pub alpha: Alpha,
    /// The size that was asked for (the `size` hint), if any.
    pub requested: Option<Size>,
    /// How the image was fitted to the requested size or aspect; `None` means it was never resized.
    pub fit: Option<Fit>,
    /// The size Codex returned, when the delivered size differs.
    pub original: Option<Size>,
}

/// Codex's identifiers for the generation, for logs and support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodexIds {
    /// The ephemeral thread the generation ran in.
    pub thread_id: String,
    /// The turn that called the image tool.
    pub turn_id: String,
    /// The image-generation item.
    pub item_id: String,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Waiting for a concurrency slot.
    pub queue_wait: Duration,
    /// Spawning and handshaking a new app-server, when this request had to start one.
    pub process_start: Option<Duration>,
    /// `thread/start` round trip.
    pub thread_start: Duration,
    /// From `turn/start` to the image item.
    pub time_to_image: Duration,
    /// From the call to the result.
    pub total: Duration,
}

/// Timings in milliseconds, as the CLI's `--json` and the bridge report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimingsMs {
    /// [`Timings::queue_wait`].
    pub queue_wait_ms: u64,
    /// [`Timings::process_start`]; `null` when a warm process was used.
    pub process_start_ms: Option<u64>,
    /// [`Timings::thread_start`].
    pub thread_start_ms: u64,
    /// [`Timings::time_to_image`].
    pub time_to_image_ms: u64,
    /// [`Timings::total`].
    pub total_ms: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Timings {
    /// The same timings in whole milliseconds (saturating), for reports.
    pub fn as_millis(&self) -> TimingsMs {
        TimingsMs {
            queue_wait_ms: ms(self.queue_wait),
            process_start_ms: self.process_start.map(ms),
            thread_start_ms: ms(self.thread_start),
            time_to_image_ms: ms(self.time_to_image),
            total_ms: ms(self.total),
        }
    }
}

impl GeneratedImage {
    /// A small image for tests elsewhere in the crate.
    #[cfg(test)]
    pub(crate) fn sample() -> Self {
        Self {
            bytes: Vec::new(),
            format: ImageFormat::Png,
            width: 1,
            height: 1,
            sha256: String::new(),
            revised_prompt: None,
            ids: CodexIds {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "i".into(),
            },
            timings: Timings::default(),
            codex_version: "0.171.0".into(),
            alpha: Alpha::None,
            requested: None,
            fit: None,
            original: None,
            recovery_dir: None,
        }
    }

    /// How the delivered size came about, for a summary to write in parentheses after the size:
    /// `cover from 64x48` (the fit and the size Codex returned) when `fit` resized the image, else
    /// `asked 1024x1024; a hint` when a size hint was given and the delivered size differs; `None`
    /// when there is nothing to say.
    pub fn size_note(&self) -> Option<String> {
        if let (Some(fit), Some(original)) = (self.fit, self.original) {
            return Some(format!("{fit} from {}x{}", original.width, original.height));
        }
        self.requested
            .filter(|asked| (asked.width, asked.height) != (self.width, self.height))
            .map(|asked| format!("asked {}x{}; a hint", asked.width, asked.height))
    }

    /// Where saving to `target` writes: `target` itself, or, when it is an existing directory, a file in
    /// it named by [`default_file_name`](Self::default_file_name).
    pub fn resolve_target(&self, target: &Path) -> PathBuf {
        match std::fs::symlink_metadata(target) {
            Ok(meta) if meta.is_dir() => target.join(self.default_file_name()),
            _ => target.to_path_buf(),
        }
    }

    /// A file name for this image in a directory chosen by the caller: `codex-img-<sha12>.<ext>`.
    pub fn default_file_name(&self) -> String {
        format!(
            "codex-img-{}.{}",
            &self.sha256[..self.sha256.len().min(12)],
            self.format.extension()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_note_says_how_the_size_came_about() {
        let size = |width, height| Some(Size { width, height });
        let mut image = GeneratedImage {
            width: 32,
            height: 32,
            ..GeneratedImage::sample()
        };
        assert_eq!(image.size_note(), None);
        image.requested = size(32, 32);
        assert_eq!(image.size_note(), None);
        image.requested = size(1024, 1024);
        assert_eq!(
            image.size_note().as_deref(),
            Some("asked 1024x1024; a hint")
        );
        image.fit = Some(Fit::Cover);
        assert_eq!(
            image.size_note().as_deref(),
            Some("asked 1024x1024; a hint")
        );
        image.original = size(64, 48);
        assert_eq!(image.size_note().as_deref(), Some("cover from 64x48"));
    }
}
