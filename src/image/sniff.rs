//! Which image format a byte string holds, decided by its magic bytes alone. File names and MIME types
//! that arrive with an image are claims; the leading bytes are evidence, so they are all this module reads.

use std::fmt;

/// The image formats codex-img recognizes.
///
/// Serializes as the lowercase name that [`ImageFormat::as_str`] returns (`"png"`, `"jpeg"`, `"webp"`,
/// `"gif"`); `Display` gives the human name (`PNG`, `JPEG`, `WebP`, `GIF`) for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// PNG (`image/png`).
    Png,
    /// JPEG (`image/jpeg`).
    Jpeg,
    /// WebP (`image/webp`).
    Webp,
    /// GIF (`image/gif`).
    Gif,
}

impl ImageFormat {
    /// The IANA media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }

    /// The stable lowercase name, the same string serde writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Webp => "WebP",
            Self::Gif => "GIF",
        })
    }
}

pub(super) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
pub(super) const JPEG_SOI: &[u8] = b"\xff\xd8";

/// The format whose magic bytes `bytes` starts with, if any.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(PNG_SIGNATURE) {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        // SOI followed by the first byte of the next marker: a bare FF D8 is too weak to call JPEG.
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn sniffs_each_format_by_magic() {
        let cases: Vec<(&[u8], Option<ImageFormat>)> = vec![
            (b"\x89PNG\r\n\x1a\nrest", Some(ImageFormat::Png)),
            (b"\xff\xd8\xff\xe0", Some(ImageFormat::Jpeg)),
            (b"GIF87a..", Some(ImageFormat::Gif)),
            (b"GIF89a..", Some(ImageFormat::Gif)),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some(ImageFormat::Webp)),
            (b"RIFF\0\0\0\0WAVEfmt ", None),
            (b"\x89PNG\r\n\x1a", None),
            (b"\xff\xd8", None),
            (b"GIF90a", None),
            (b"<html>", None),
            (b"", None),
        ];
        let got: Vec<_> = cases.iter().map(|(bytes, _)| sniff(bytes)).collect();
        let want: Vec<_> = cases.iter().map(|(_, format)| *format).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn names_are_stable() {
        let all = [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Webp,
            ImageFormat::Gif,
        ];
        let rows: Vec<_> = all
            .iter()
            .map(|f| (f.as_str(), f.extension(), f.mime(), f.to_string()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("png", "png", "image/png", "PNG".to_string()),
                ("jpeg", "jpg", "image/jpeg", "JPEG".to_string()),
                ("webp", "webp", "image/webp", "WebP".to_string()),
                ("gif", "gif", "image/gif", "GIF".to_string()),
            ]
        );
    }
}
