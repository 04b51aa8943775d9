//! Checking a request before anything reaches Codex, so bad input costs no quota: the prompt must be
//! non-empty, bounded and free of control characters, and every image must be a recognised format (by
//! its magic bytes) within the byte and pixel limits, read from disk or taken from the request.

use super::error::{Error, Result};
use super::hints::Hints;
use super::limits::{
    MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_PROMPT_CHARS, MAX_REFERENCES,
};
use super::options::Key;
use super::request::{GenerateRequest, ImageSource};
use crate::image::{self, ImageFormat};

/// A checked input image, read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputImage {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub prompt: String,
    pub image: Option<InputImage>,
    pub references: Vec<InputImage>,
    pub hints: Hints,
    /// Whether to ask the image tool for a transparent background.
    pub transparent: bool,
    /// The key colour to ask for as the fallback background, when keying was asked for.
    pub key: Option<Key>,
}

pub(crate) fn check_prompt(prompt: &str) -> Result<String> {
    let trimmed = prompt.trim();
    let invalid = |reason: &str| {
        Err(Error::InvalidPrompt {
            reason: reason.to_owned(),
        })
    };
    if trimmed.is_empty() {
        return invalid("the prompt is empty; describe the image to generate");
    }
    let chars = trimmed.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(Error::InvalidPrompt {
            reason: format!("the prompt has {chars} characters; the limit is {MAX_PROMPT_CHARS}"),
        });
    }
    // Tabs and line breaks are text; any other control character (NUL, ESC, DEL, C1) is not something
    // a person meant to send to the model, and may be an injection or a decoding accident.
    let control = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    if let Some((at, c)) = control {
        return Err(Error::InvalidPrompt {
            reason: format!(
                "the prompt contains the control character U+{:04X} at character {}; remove it (tabs and line breaks are fine)",
                u32::from(c),
                at + 1
            ),
        });
    }
    Ok(trimmed.to_owned())
}

/// Refuses more than [`MAX_REFERENCES`] reference images; `n` is how many were given.
pub(crate) fn check_reference_count(n: usize) -> Result<()> {
    if n > MAX_REFERENCES {
        return Err(Error::InvalidImage {
            which: "references".to_owned(),
            reason: format!("{n} reference images given; at most {MAX_REFERENCES} are allowed"),
        });
    }
    Ok(())
}

/// Validates the request and reads its images. Nothing here talks to Codex.
pub(crate) async fn check(request: &GenerateRequest) -> Result<Checked> {
    let prompt = check_prompt(&request.prompt)?;
    let plan = request.image_plan()?;
    check_reference_count(request.references.len())?;
    let image = match &request.image {
        Some(source) => Some(read_image(source, "input image").await?),
        None => None,
    };
    let mut references = Vec::with_capacity(request.references.len());
    for (i, source) in request.references.iter().enumerate() {
        references.push(read_image(source, &format!("reference {}", i + 1)).await?);
    }
    Ok(Checked {
        prompt,
        image,
        references,
        hints: request.hints,
        transparent: plan.transparent,
        key: plan.key,
    })
}

async fn read_image(source: &ImageSource, role: &str) -> Result<InputImage> {
    let (which, bytes) = match source {
        ImageSource::Path(path) => {
            let which = format!("{role} `{}`", path.display());
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| Error::InvalidImage {
                    which: which.clone(),
                    reason: format!("cannot read it: {e}"),
                })?;
            if !meta.is_file() {
                return Err(Error::InvalidImage {
                    which,
                    reason: "not a regular file".to_owned(),
                });
            }
            if meta.len() > MAX_IMAGE_BYTES as u64 {
                return Err(too_big(which, meta.len()));
            }
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| Error::InvalidImage {
                    which: which.clone(),
                    reason: format!("cannot read it: {e}"),
                })?;
            (which, bytes)
        }
        ImageSource::Bytes(bytes) => (role.to_owned(), bytes.clone()),
    };
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_big(which, bytes.len() as u64));
    }
    match image::inspect(&bytes) {
        Ok(info)
            if info.width > MAX_IMAGE_SIDE
                || info.height > MAX_IMAGE_SIDE
                || u64::from(info.width) * u64::from(info.height) > MAX_IMAGE_PIXELS =>
        {
            Err(Error::InvalidImage {
                which,
                reason: format!(
                    "its header declares {}x{} pixels; the limit is {MAX_IMAGE_SIDE} a side and {} megapixels",
                    info.width,
                    info.height,
                    MAX_IMAGE_PIXELS / (1024 * 1024)
                ),
            })
        }
        Ok(info) => Ok(InputImage {
            bytes,
            format: info.format,
        }),
        Err(e) => Err(Error::InvalidImage {
            which,
            reason: format!("{e}; use a PNG, JPEG, WebP or GIF file"),
        }),
    }
}

fn too_big(which: String, len: u64) -> Error {
    Error::InvalidImage {
        which,
        reason: format!("it has {len} bytes; the limit is {MAX_IMAGE_BYTES}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn prompt_rules() {
        assert_eq!(
            check_prompt("  a red fox  ").ok(),
            Some("a red fox".to_owned())
        );
        assert!(matches!(
            check_prompt(" \n "),
            Err(Error::InvalidPrompt { .. })
        ));
        assert!(matches!(
            check_prompt(&"x".repeat(MAX_PROMPT_CHARS + 1)),
            Err(Error::InvalidPrompt { .. })
        ));
        assert!(matches!(
            check_prompt("a\0b"),
            Err(Error::InvalidPrompt { .. })
        ));
        assert_eq!(
            check_prompt("a fox\n\tin \r\nsnow").ok(),
            Some("a fox\n\tin \r\nsnow".to_owned())
        );
        let reasons: Vec<String> = ["a\u{1b}[31mred", "x\u{7f}", "y\u{9b}z", "ab\0"]
            .iter()
            .map(|p| match check_prompt(p) {
                Err(Error::InvalidPrompt { reason }) => reason,
                other => format!("{other:?}"),
            })
            .collect();
        let reason = |code: &str, at: usize| {
            format!("the prompt contains the control character U+{code} at character {at}; remove it (tabs and line breaks are fine)")
        };
        assert_eq!(
            reasons,
            vec![
                reason("001B", 2),
                reason("007F", 2),
                reason("009B", 2),
                reason("0000", 3)
            ]
        );
    }

    #[tokio::test]
    async fn an_image_that_declares_a_huge_canvas_is_refused() {
        let header = |w: u32, h: u32| {
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            png.extend_from_slice(&w.to_be_bytes());
            png.extend_from_slice(&h.to_be_bytes());
            png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
            png
        };
        let reason = |source: Vec<u8>| async move {
            match read_image(&ImageSource::Bytes(source), "input image").await {
                Ok(image) => format!("accepted {:?}", image.format),
                Err(Error::InvalidImage { reason, .. }) => reason,
                Err(other) => format!("{other:?}"),
            }
        };
        assert_eq!(
            vec![
                reason(header(100_000, 100_000)).await,
                reason(header(16_385, 1)).await,
                reason(header(16_384, 4_097)).await,
                reason(header(16_384, 4_096)).await,
            ],
            vec![
                "its header declares 100000x100000 pixels; the limit is 16384 a side and 64 megapixels".to_owned(),
                "its header declares 16385x1 pixels; the limit is 16384 a side and 64 megapixels".to_owned(),
                "its header declares 16384x4097 pixels; the limit is 16384 a side and 64 megapixels".to_owned(),
                "accepted Png".to_owned(),
            ]
        );
    }
}
