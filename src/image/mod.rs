//! Image bytes: sniffing, measuring, hashing and atomic no-clobber saving. Uses nothing else of the crate.
//!
//! Whatever Codex hands back is checked here before anyone trusts it: [`inspect`] decides the format from
//! magic bytes and reads the size from the header by hand, [`sha256_hex`] names the content, and
//! [`save_atomic`] puts it on disk so that a reader sees either no file or the whole file, never a
//! partial one, and never an existing file silently replaced or a symlink followed.
//!
//! Post-processing is here too, as pure functions over pixels: [`process()`] measures the alpha
//! ([`alpha`]), removes a key colour ([`key`]), fits to a size ([`fit`]) and converts ([`convert`]), after
//! [`decode`] has refused anything too large to decode safely.

pub mod alpha;
pub mod convert;
pub mod decode;
mod error;
pub mod fit;
#[cfg(test)]
mod fixtures;
pub mod key;
mod measure;
pub mod preview;
pub mod process;
mod process_error;
mod save;
mod sniff;

pub use alpha::Alpha;
pub use convert::OutputFormat;
pub use error::{ImageError, SaveError};
pub use fit::{Fit, FitTarget};
pub use key::Key;
pub use measure::dimensions;
pub use preview::{preview, Preview, PreviewSpec};
pub use process::{process, Processed, Processing};
pub use process_error::ProcessError;
pub use save::{precheck, save_atomic, IfExists};
pub use sniff::{sniff, ImageFormat};

use sha2::{Digest, Sha256};

/// What an image is, as far as its header tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ImageInfo {
    /// The format, from the magic bytes.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The format and size of `bytes`; bytes that are not a known image format are
/// [`ImageError::Unrecognized`].
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    let format = sniff(bytes).ok_or(ImageError::Unrecognized)?;
    let (width, height) = dimensions(format, bytes)?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn inspects_each_format() {
        let got = vec![
            inspect(&fixtures::png(3, 2)),
            inspect(&fixtures::jpeg(0xC0, 800, 600)),
            inspect(&fixtures::webp_vp8l(5, 9)),
            inspect(&fixtures::gif(1, 1)),
        ];
        let info = |format, width, height| {
            Ok(ImageInfo {
                format,
                width,
                height,
            })
        };
        assert_eq!(
            got,
            vec![
                info(ImageFormat::Png, 3, 2),
                info(ImageFormat::Jpeg, 800, 600),
                info(ImageFormat::Webp, 5, 9),
                info(ImageFormat::Gif, 1, 1),
            ]
        );
    }

    #[test]
    fn unknown_or_short_bytes_are_errors() {
        let png = fixtures::png(3, 2);
        assert_eq!(
            vec![
                inspect(b""),
                inspect(b"<!doctype html>"),
                inspect(&png[..7]),
                inspect(&png[..20]),
            ],
            vec![
                Err(ImageError::Unrecognized),
                Err(ImageError::Unrecognized),
                Err(ImageError::Unrecognized),
                Err(ImageError::Truncated {
                    format: ImageFormat::Png
                }),
            ]
        );
    }

    #[test]
    fn info_serializes_with_lowercase_format() {
        let info = inspect(&fixtures::webp_vp8x(7, 8));
        assert_eq!(
            info.map(|i| serde_json::to_string(&i).ok()),
            Ok(Some(
                r#"{"format":"webp","width":7,"height":8}"#.to_string()
            ))
        );
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            vec![sha256_hex(b""), sha256_hex(b"abc")],
            vec![
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
            ]
        );
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let errors = [
            ImageError::Unrecognized,
            ImageError::Truncated {
                format: ImageFormat::Jpeg,
            },
            ImageError::Malformed {
                format: ImageFormat::Png,
                reason: "first chunk is not IHDR",
            },
        ];
        let rows: Vec<_> = errors
            .iter()
            .map(|e| (e.variant(), e.to_string()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "Unrecognized",
                    "unrecognized image data: not a PNG, JPEG, WebP or GIF file".to_string()
                ),
                (
                    "Truncated",
                    "truncated JPEG image: the data ends inside its header".to_string()
                ),
                (
                    "Malformed",
                    "malformed PNG image: first chunk is not IHDR".to_string()
                ),
            ]
        );
    }
}
