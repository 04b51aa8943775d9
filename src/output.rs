//! What a generation returns: the verified bytes, what they are, where they came from, and how long each
//! phase took; plus saving them safely.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;
use crate::image::{self, ImageFormat, SaveOptions};

/// A generated image, checked by its magic bytes and measured from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The prompt the image tool actually used, when Codex reports it.
    pub revised_prompt: Option<String>,
    pub ids: CodexIds,
    pub timings: Timings,
    /// The Codex CLI version that made it.
    pub codex_version: String,
}

/// Codex's identifiers for the generation, for logs and support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodexIds {
    pub thread_id: String,
    pub turn_id: String,
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
    pub queue_wait_ms: u64,
    pub process_start_ms: Option<u64>,
    pub thread_start_ms: u64,
    pub time_to_image_ms: u64,
    pub total_ms: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Timings {
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
    /// Writes the image to `path` atomically (temp file, fsync, rename). An existing file is an
    /// `output/exists` error unless `overwrite`; a symlink at the target is always refused.
    pub fn save(&self, path: &Path, overwrite: bool) -> Result<PathBuf> {
        Ok(image::save_atomic(
            &self.bytes,
            path,
            SaveOptions { overwrite },
        )?)
    }

    /// Like [`save`](Self::save), but off the async runtime's worker threads.
    pub async fn save_async(&self, path: PathBuf, overwrite: bool) -> Result<PathBuf> {
        let bytes = self.bytes.clone();
        let joined = tokio::task::spawn_blocking(move || {
            image::save_atomic(&bytes, &path, SaveOptions { overwrite })
        })
        .await
        .map_err(|e| crate::Error::OutputWriteFailed {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(joined?)
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
