//! What a generation returns: the verified bytes, what they are, where they came from, how they were
//! post-processed, and how long each phase took; plus saving them safely, and keeping them in the
//! recovery folder when that fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::image::{self, Alpha, Fit, IfExists, ImageFormat};
use crate::recovery;
use crate::request::Size;

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
    /// [`crate::recovery`]); the client sets it from its settings. `None`: no copy can be kept.
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

/// Checks, before any quota is spent, that an image could be saved at `target`: a file path, or an
/// existing directory where [`GeneratedImage::resolve_target`] will name the file. The CLI and the bridge
/// both run it; the save checks again when it writes, so a file that appears meanwhile is not clobbered.
pub fn precheck_target(target: &Path, opts: IfExists) -> Result<()> {
    let checked = match std::fs::symlink_metadata(target) {
        // The generated name is not known yet; a hidden placeholder proves the folder takes new files.
        Ok(meta) if meta.is_dir() => image::precheck(&target.join(".codex-img-target-check"), opts),
        _ => image::precheck(target, opts),
    };
    Ok(checked?)
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

    /// Writes the image to `path` atomically (temp file, fsync, rename). An existing file is an
    /// `output/exists` error unless `if_exists` is [`IfExists::Replace`]; a symlink at the target is
    /// always refused. Returns the path written.
    ///
    /// When the save fails, the image is not lost: the bytes are written to
    /// [`recovery_dir`](Self::recovery_dir) and the error is [`Error::NotSaved`], with the code of the
    /// failure and the file it was kept in ([`Error::recovered_path`]).
    pub fn save(&self, path: &Path, if_exists: IfExists) -> Result<PathBuf> {
        image::save_atomic(&self.bytes, path, if_exists).map_err(|e| self.kept(e.into()))
    }

    /// Like [`save`](Self::save), but off the async runtime's worker threads.
    pub async fn save_async(&self, path: PathBuf, if_exists: IfExists) -> Result<PathBuf> {
        let image = self.clone();
        let target = path.clone();
        match tokio::task::spawn_blocking(move || image.save(&target, if_exists)).await {
            Ok(saved) => saved,
            Err(e) => Err(self.kept(Error::OutputWriteFailed {
                path,
                source: std::io::Error::other(e.to_string()),
            })),
        }
    }

    /// `error`, once the bytes are kept in the recovery folder (or that failed too).
    fn kept(&self, error: Error) -> Error {
        let recovery = recovery::keep(
            &self.bytes,
            &self.default_file_name(),
            self.recovery_dir.as_deref(),
        );
        match recovery.path() {
            Some(kept) => tracing::warn!(
                "saving the image failed ({error}); it was kept at {}",
                kept.display()
            ),
            None => tracing::error!("saving the image failed ({error}) and no copy could be kept"),
        }
        let unsaved = recovery.path().is_none().then(|| Box::new(self.clone()));
        Error::NotSaved {
            source: Box::new(error),
            recovery,
            unsaved,
        }
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
    use super::precheck_target;
    use crate::image::IfExists::{self, Fail, Replace};
    use pretty_assertions::assert_eq;
    use std::path::Path;

    fn code(target: &Path, if_exists: IfExists) -> &'static str {
        match precheck_target(target, if_exists) {
            Ok(()) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn targets_are_checked_by_the_save_rules_before_any_image_exists() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let file = dir.join("a.png");
        std::fs::write(&file, b"x").expect("write");
        let cases = [
            (dir.join("new.png"), Fail, "ok"),
            (dir.to_path_buf(), Fail, "ok"),
            (file.clone(), Fail, "output/exists"),
            (file.clone(), Replace, "ok"),
            (dir.join("missing/new.png"), Fail, "output/invalid_target"),
            (file.join("x.png"), Fail, "output/invalid_target"),
            (Path::new("").to_path_buf(), Fail, "output/invalid_target"),
        ];
        for (target, if_exists, expected) in cases {
            assert_eq!(code(&target, if_exists), expected, "{}", target.display());
        }
        #[cfg(unix)]
        {
            let link = dir.join("link.png");
            std::os::unix::fs::symlink(&file, &link).expect("link");
            assert_eq!(code(&link, Replace), "output/invalid_target");
            let dir_link = dir.join("dir-link");
            std::os::unix::fs::symlink(dir, &dir_link).expect("link");
            assert_eq!(code(&dir_link, Fail), "output/invalid_target");
            let dangling = dir.join("dangling.png");
            std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).expect("link");
            assert_eq!(code(&dangling, Fail), "output/invalid_target");
        }
        // The writability probe leaves nothing behind.
        let left: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".codex-img"))
            .collect();
        assert_eq!(left, Vec::<String>::new());
    }
}
