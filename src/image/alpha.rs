//! Where an image's transparency came from, measured from its pixels.
//!
//! Codex 0.150+ marks an item `transparentBackground: true` when the model asked for it, but the flag
//! says what was asked, not what came back (reference images, for one, are known to lose alpha). So the
//! pixels decide: an image is transparent only when at least one pixel has alpha below 255.

use std::fmt;

use image::RgbaImage;
use serde::Serialize;

use super::ImageFormat;

/// How the delivered image got its transparency.
///
/// Serializes as `"native"`, `"keyed"` or `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Alpha {
    /// The bytes Codex returned already had transparent pixels.
    Native,
    /// codex-img made the background transparent by removing a key colour.
    Keyed,
    /// The image is fully opaque.
    None,
}

impl Alpha {
    /// The stable lowercase name, the same string serde writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Keyed => "keyed",
            Self::None => "none",
        }
    }
}

impl fmt::Display for Alpha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether any pixel is less than fully opaque.
pub fn has_transparency(image: &RgbaImage) -> bool {
    image.pixels().any(|p| p[3] < 255)
}

/// Whether the encoded image can carry alpha at all, from its header: a PNG with an alpha colour type or
/// a `tRNS` chunk, a WebP with an alpha flag. `false` means no pixel can be transparent, so there is no
/// need to decode; `true` means the pixels must be looked at.
pub fn may_have_alpha(format: ImageFormat, bytes: &[u8]) -> bool {
    match format {
        ImageFormat::Png => png_may_have_alpha(bytes),
        ImageFormat::Webp => webp_may_have_alpha(bytes),
        ImageFormat::Jpeg => false,
        ImageFormat::Gif => true,
    }
}

fn png_may_have_alpha(bytes: &[u8]) -> bool {
    // IHDR's colour type is byte 25: 4 (grey + alpha) and 6 (RGBA) carry alpha.
    if matches!(bytes.get(25), Some(4 | 6)) {
        return true;
    }
    // Otherwise only a tRNS chunk before the image data can make a pixel transparent.
    let mut at = 8usize;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"tRNS" => return true,
            b"IDAT" | b"IEND" => return false,
            _ => {}
        }
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => return true,
        };
    }
    // A header we cannot walk: look at the pixels rather than guess.
    true
}

fn webp_may_have_alpha(bytes: &[u8]) -> bool {
    match bytes.get(12..16) {
        // VP8X: the alpha flag is bit 4 of the first flags byte.
        Some(b"VP8X") => bytes.get(20).is_none_or(|flags| flags & 0x10 != 0),
        // VP8L: the alpha hint is bit 28 of the packed size word after the signature byte.
        Some(b"VP8L") => bytes
            .get(21..25)
            .is_none_or(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) & (1 << 28) != 0),
        // Simple lossy VP8 has no alpha.
        Some(b"VP8 ") => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn transparency_is_read_from_the_pixels() {
        let mut img = RgbaImage::from_pixel(4, 4, image::Rgba([10, 20, 30, 255]));
        assert!(!has_transparency(&img));
        img.put_pixel(3, 3, image::Rgba([10, 20, 30, 254]));
        assert!(has_transparency(&img));
    }

    #[test]
    fn headers_rule_out_alpha_only_when_they_can() {
        let rgb_png = super::super::fixtures::png(3, 3);
        let mut rgba_png = rgb_png.clone();
        rgba_png[25] = 6;
        let rows = vec![
            may_have_alpha(ImageFormat::Png, &rgb_png),
            may_have_alpha(ImageFormat::Png, &rgba_png),
            may_have_alpha(ImageFormat::Jpeg, &super::super::fixtures::jpeg(0xC0, 4, 4)),
            may_have_alpha(ImageFormat::Webp, &super::super::fixtures::webp_vp8(4, 4)),
            may_have_alpha(ImageFormat::Webp, &super::super::fixtures::webp_vp8l(4, 4)),
        ];
        assert_eq!(rows, vec![false, true, false, false, true]);
        assert_eq!(
            serde_json::to_string(&Alpha::Keyed).ok(),
            Some("\"keyed\"".to_owned())
        );
    }
}
