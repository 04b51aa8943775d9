//! Bytes to pixels, with a ceiling. The header's size is read by hand first ([`super::inspect`]) and an
//! image above [`MAX_SIDE`] a side or [`MAX_PIXELS`] in all is refused before a single pixel buffer is
//! allocated, so a small file that claims a huge canvas (a decompression bomb) costs nothing. The decoder
//! gets the same limits, plus an allocation cap, in case a header lies.

use std::io::Cursor;

use image::{ImageReader, Limits, RgbaImage};

use super::{inspect, ImageFormat, ProcessError};

/// The widest or tallest image decoded, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// The most pixels decoded in one image: 64 megapixels, forty times what Codex returns (about 1.5 MP).
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// The most memory the decoder may allocate for one image, in bytes (RGBA at the pixel limit, and then
/// some for the codec's own buffers).
pub const MAX_ALLOC: u64 = MAX_PIXELS * 4 + 64 * 1024 * 1024;

/// Refuses a `width`×`height` canvas above the limits.
pub fn check_limits(width: u32, height: u32) -> Result<(), ProcessError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS || width == 0 || height == 0 {
        return Err(ProcessError::TooLarge {
            width,
            height,
            max_side: MAX_SIDE,
            max_pixels: MAX_PIXELS,
        });
    }
    Ok(())
}

/// Decodes a PNG, JPEG or WebP into 8-bit RGBA, within the limits.
pub fn decode_rgba(bytes: &[u8]) -> Result<RgbaImage, ProcessError> {
    let info = inspect(bytes).map_err(|e| ProcessError::Decode {
        reason: e.to_string(),
    })?;
    check_limits(info.width, info.height)?;
    let format = match info.format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Gif => {
            return Err(ProcessError::Decode {
                reason: "GIF is not decoded by this build; only PNG, JPEG and WebP are".to_owned(),
            })
        }
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ProcessError::TooLarge {
            width: info.width,
            height: info.height,
            max_side: MAX_SIDE,
            max_pixels: MAX_PIXELS,
        },
        other => ProcessError::Decode {
            reason: other.to_string(),
        },
    })?;
    Ok(decoded.into_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A PNG header that claims `width`×`height`, with a tiny (invalid) body: what a bomb looks like to
    /// the size check.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut png = super::super::fixtures::png(1, 1);
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        png
    }

    #[test]
    fn a_huge_canvas_is_refused_before_decoding() {
        let codes: Vec<_> = [(100_000, 10), (16_384, 16_384), (8_000, 8_000)]
            .into_iter()
            .map(|(w, h)| {
                decode_rgba(&png_claiming(w, h))
                    .map(|_| ())
                    .map_err(|e| e.variant())
            })
            .collect();
        assert_eq!(
            codes,
            vec![Err("TooLarge"), Err("TooLarge"), Err("Decode"),]
        );
    }

    #[test]
    fn decodes_a_small_png() {
        let img = decode_rgba(&super::super::fixtures::png(5, 3)).expect("decode");
        assert_eq!(
            (img.width(), img.height(), img.get_pixel(0, 0)[3]),
            (5, 3, 255)
        );
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert_eq!(
            decode_rgba(b"not an image")
                .map(|_| ())
                .map_err(|e| e.variant()),
            Err("Decode")
        );
    }
}
