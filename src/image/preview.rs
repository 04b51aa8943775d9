//! A preview of an image, made for a vision model to look at: small in pixels and in bytes, while the
//! full image stays on disk.
//!
//! An agent's model reads every byte attached to a tool result, and the user's agent plan pays for it.
//! A vision model needs far less than Codex's 1254×1254 PNG of about 2 MB to see what was drawn, and the
//! agents themselves shrink or refuse large images (Claude Code re-encodes one over about 512 KB). So a
//! preview is at most [`PreviewSpec::max_side`] pixels on its long side and at most
//! [`PreviewSpec::max_bytes`] bytes: the image itself when it already is (nothing is lost), else a JPEG
//! scaled down to fit, its quality and then its size lowered step by step until it fits the byte bound.
//! JPEG has no alpha, so a transparent image is shown over a light grey checkerboard, the convention
//! every image editor uses, and the preview says so.

use image::imageops::{self, FilterType};
use image::{Rgba, RgbaImage};

use super::convert::{encode, OutputFormat};
use super::decode::decode_rgba;
use super::{inspect, ImageFormat, ProcessError};

/// How large a preview may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewSpec {
    /// The longest side, in pixels.
    pub max_side: u32,
    /// The most bytes of the encoded preview.
    pub max_bytes: usize,
}

impl PreviewSpec {
    /// The default long side: what vision models take without scaling it down again.
    pub const DEFAULT_MAX_SIDE: u32 = 1024;
    /// The default byte bound: 200 KB, well under what agents re-encode.
    pub const DEFAULT_MAX_BYTES: usize = 200_000;
    /// The smallest long side accepted: below it a preview shows too little to judge an image by.
    pub const MIN_SIDE: u32 = 64;
    /// The smallest byte bound accepted.
    pub const MIN_BYTES: usize = 8_000;
}

impl Default for PreviewSpec {
    fn default() -> Self {
        Self {
            max_side: Self::DEFAULT_MAX_SIDE,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// A preview and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The encoded preview.
    pub bytes: Vec<u8>,
    /// Its format: the image's own when [`same_as_image`](Self::same_as_image), else JPEG.
    pub format: ImageFormat,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// The preview is the image itself, byte for byte.
    pub same_as_image: bool,
    /// Transparent parts are shown over a checkerboard.
    pub checkerboard: bool,
}

/// JPEG qualities tried in turn, from good to still readable, before the size is lowered.
const QUALITIES: [u8; 4] = [85, 72, 60, 45];
/// Each size step keeps this share of the long side.
const SHRINK: f64 = 0.75;
/// Checkerboard squares, in preview pixels, and their two greys.
const SQUARE: u32 = 16;
const LIGHT: [u8; 3] = [236, 236, 236];
const DARK: [u8; 3] = [200, 200, 200];

/// A preview of `bytes` within `spec`.
pub fn preview(bytes: &[u8], spec: PreviewSpec) -> Result<Preview, ProcessError> {
    let info = inspect(bytes).map_err(|e| ProcessError::Decode {
        reason: e.to_string(),
    })?;
    let max_side = spec.max_side.max(1);
    if info.width.max(info.height) <= max_side && bytes.len() <= spec.max_bytes {
        return Ok(Preview {
            bytes: bytes.to_vec(),
            format: info.format,
            width: info.width,
            height: info.height,
            same_as_image: true,
            checkerboard: false,
        });
    }
    let decoded = decode_rgba(bytes)?;
    let checkerboard = super::alpha::has_transparency(&decoded);
    let (mut width, mut height) = fit_within(decoded.dimensions(), max_side);
    loop {
        let mut scaled = imageops::resize(&decoded, width, height, FilterType::Triangle);
        if checkerboard {
            flatten_on_checkerboard(&mut scaled);
        }
        for quality in QUALITIES {
            let jpeg = encode(&scaled, OutputFormat::Jpeg, Some(quality))?;
            if jpeg.len() <= spec.max_bytes {
                return Ok(Preview {
                    bytes: jpeg,
                    format: ImageFormat::Jpeg,
                    width,
                    height,
                    same_as_image: false,
                    checkerboard,
                });
            }
        }
        if width.max(height) <= PreviewSpec::MIN_SIDE {
            return Err(ProcessError::Encode {
                format: "jpeg",
                reason: format!(
                    "no preview of {}x{} fits in {} bytes",
                    info.width, info.height, spec.max_bytes
                ),
            });
        }
        let long = (f64::from(width.max(height)) * SHRINK).round() as u32;
        (width, height) = fit_within((width, height), long.max(PreviewSpec::MIN_SIDE));
    }
}

/// `(width, height)` scaled to fit `max_side` on its long side, keeping the aspect; never enlarged.
fn fit_within((width, height): (u32, u32), max_side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = f64::from(max_side) / f64::from(long);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, max_side);
    (side(width), side(height))
}

/// Composites `image` over a checkerboard, so transparent parts show as such in a format without alpha.
fn flatten_on_checkerboard(image: &mut RgbaImage) {
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let back = if (x / SQUARE + y / SQUARE).is_multiple_of(2) {
            LIGHT
        } else {
            DARK
        };
        let a = u16::from(pixel[3]);
        let mix = |c: u8, b: u8| ((u16::from(c) * a + u16::from(b) * (255 - a) + 127) / 255) as u8;
        *pixel = Rgba([
            mix(pixel[0], back[0]),
            mix(pixel[1], back[1]),
            mix(pixel[2], back[2]),
            255,
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fixtures;
    use pretty_assertions::assert_eq;

    /// A `width`×`height` PNG: smooth gradients with noise of `grain` levels on top, so it compresses
    /// as badly as a detailed picture (a large `grain`) or as well as a flat one (a small one).
    fn grainy_png(width: u32, height: u32, grain: u8, alpha: bool) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        let image = RgbaImage::from_fn(width, height, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = |byte: u8| if grain == 0 { 0 } else { byte % grain };
            let [a, b, c, _] = state.to_le_bytes();
            let transparent = alpha && (x + y) % 97 < 40;
            Rgba([
                ((x * 200 / width) as u8).saturating_add(noise(a)),
                ((y * 200 / height) as u8).saturating_add(noise(b)),
                (((x + y) * 100 / (width + height)) as u8).saturating_add(noise(c)),
                if transparent { 0 } else { 255 },
            ])
        });
        encode(&image, OutputFormat::Png, None).expect("png")
    }

    fn shape(p: &Preview) -> (ImageFormat, u32, u32, bool, bool) {
        (p.format, p.width, p.height, p.same_as_image, p.checkerboard)
    }

    #[test]
    fn a_small_image_is_its_own_preview() {
        let png = fixtures::png(10, 8);
        let got = preview(&png, PreviewSpec::default()).expect("preview");
        assert_eq!(shape(&got), (ImageFormat::Png, 10, 8, true, false));
        assert_eq!(got.bytes, png);
    }

    #[test]
    fn a_real_sized_image_becomes_a_jpeg_within_both_bounds() {
        let png = grainy_png(1254, 836, 24, false);
        assert!(png.len() > 2_000_000, "{} bytes", png.len());
        let spec = PreviewSpec::default();
        let got = preview(&png, spec).expect("preview");
        assert_eq!(shape(&got), (ImageFormat::Jpeg, 1024, 683, false, false));
        assert!(got.bytes.len() <= spec.max_bytes, "{}", got.bytes.len());
        let info = inspect(&got.bytes).expect("a JPEG");
        assert_eq!(
            (info.format, info.width, info.height),
            (ImageFormat::Jpeg, 1024, 683)
        );
    }

    #[test]
    fn noise_that_no_quality_fits_is_made_smaller_until_it_does() {
        // Pure noise at 1024 px cannot reach 60 KB at any quality tried: the size steps down.
        let png = grainy_png(1024, 1024, 255, false);
        let spec = PreviewSpec {
            max_side: 1024,
            max_bytes: 60_000,
        };
        let got = preview(&png, spec).expect("preview");
        assert!(got.width < 1024 && got.width == got.height, "{got:?}");
        assert!(got.bytes.len() <= 60_000);
    }

    #[test]
    fn transparency_shows_on_a_checkerboard_and_says_so() {
        let png = grainy_png(1200, 600, 24, true);
        let got = preview(&png, PreviewSpec::default()).expect("preview");
        assert_eq!(shape(&got), (ImageFormat::Jpeg, 1024, 512, false, true));
    }

    #[test]
    fn an_over_size_but_light_image_is_scaled_and_a_heavy_small_one_recompressed() {
        let big_flat = fixtures::png(2048, 512);
        let got = preview(&big_flat, PreviewSpec::default()).expect("preview");
        assert_eq!(
            (got.width, got.height, got.same_as_image),
            (1024, 256, false)
        );
        let small_heavy = grainy_png(400, 400, 255, false);
        assert!(small_heavy.len() > 200_000);
        let got = preview(&small_heavy, PreviewSpec::default()).expect("preview");
        assert_eq!(
            (got.width, got.height, got.format),
            (400, 400, ImageFormat::Jpeg)
        );
    }

    #[test]
    fn bytes_that_are_not_an_image_have_no_preview() {
        assert!(preview(b"not an image", PreviewSpec::default()).is_err());
    }

    #[test]
    fn sides_scale_down_and_never_up() {
        assert_eq!(fit_within((1254, 1254), 1024), (1024, 1024));
        assert_eq!(fit_within((1672, 941), 1024), (1024, 576));
        assert_eq!(fit_within((941, 1672), 1024), (576, 1024));
        assert_eq!(fit_within((300, 200), 1024), (300, 200));
        assert_eq!(fit_within((5000, 1), 1024), (1024, 1));
    }
}
