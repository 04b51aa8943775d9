//! Provenance sidecars: `<image>.json` next to each saved image (`cat.png` gets `cat.png.json`), written
//! atomically with the same no-clobber rules as the image. It says what was asked, what came back and
//! how: the prompt, Codex's revised prompt, the image's SHA-256, format and dimensions, the requested
//! size, the fit, where the transparency came from, the Codex version, Codex's ids and the timings.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::image::{self, Alpha, Fit, IfExists, ImageFormat};
use crate::types::error::{Error, Result};
use crate::types::hints::Size;
use crate::types::output::{CodexIds, GeneratedImage, TimingsMs};

/// The content of a sidecar file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Sidecar {
    /// The image file this describes, by name (the sidecar sits next to it).
    pub image: String,
    /// The prompt as given (trimmed).
    pub prompt: String,
    /// The prompt the image tool actually used, when Codex reports it.
    pub revised_prompt: Option<String>,
    /// Lowercase hex SHA-256 of the saved image.
    pub sha256: String,
    /// The saved image's format.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size of the saved image in bytes.
    pub bytes: usize,
    /// The size that was asked for, if any.
    pub requested: Option<Size>,
    /// How the image was fitted to it, if it was.
    pub fit: Option<Fit>,
    /// Where the transparency came from.
    pub alpha: Alpha,
    /// The size Codex returned, when the delivered size differs.
    pub original: Option<Size>,
    /// The Codex CLI version that made the image.
    pub codex_version: String,
    /// Codex's identifiers for the generation.
    pub ids: CodexIds,
    /// Where the time went, in milliseconds.
    pub timings: TimingsMs,
}

impl Sidecar {
    /// The sidecar of `image`, saved as `image_path`, made from `prompt`.
    pub(crate) fn new(image_path: &Path, image: &GeneratedImage, prompt: &str) -> Self {
        Self {
            image: image_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            prompt: prompt.to_owned(),
            revised_prompt: image.revised_prompt.clone(),
            sha256: image.sha256.clone(),
            format: image.format,
            width: image.width,
            height: image.height,
            bytes: image.bytes.len(),
            requested: image.requested,
            fit: image.fit,
            alpha: image.alpha,
            original: image.original,
            codex_version: image.codex_version.clone(),
            ids: image.ids.clone(),
            timings: image.timings.as_millis(),
        }
    }
}

/// Where the sidecar of an image saved at `image_path` goes: the same name with `.json` appended.
pub(crate) fn path_for(image_path: &Path) -> PathBuf {
    let mut name = image_path.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// Writes the sidecar of `image` (saved at `image_path`) atomically; returns its path.
pub(crate) async fn write(
    image_path: &Path,
    image: &GeneratedImage,
    prompt: &str,
    if_exists: IfExists,
) -> Result<PathBuf> {
    let sidecar = Sidecar::new(image_path, image, prompt);
    let mut text = serde_json::to_vec_pretty(&sidecar).map_err(|e| Error::OutputWriteFailed {
        path: path_for(image_path),
        source: std::io::Error::other(e),
    })?;
    text.push(b'\n');
    let path = path_for(image_path);
    let joined = tokio::task::spawn_blocking(move || image::save_atomic(&text, &path, if_exists))
        .await
        .map_err(|e| Error::OutputWriteFailed {
            path: path_for(image_path),
            source: std::io::Error::other(e.to_string()),
        })?;
    Ok(joined?)
}
