//! Pixels to bytes in the format the caller asked for.
//!
//! - **PNG**: lossless; written as RGB when every pixel is opaque (smaller), RGBA otherwise.
//! - **JPEG**: lossy, with a quality of 1–100 (the `compression` option; default
//!   [`DEFAULT_JPEG_QUALITY`]). JPEG has no alpha: any transparency is flattened onto white.
//! - **WebP**: lossless only. The `image` crate's WebP encoder has no lossy mode, so WebP has no quality
//!   setting, and codex-img says so instead of accepting one and ignoring it.

use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbaImage};

use super::{ImageFormat, ProcessError};

/// The JPEG quality used when none is given.
pub const DEFAULT_JPEG_QUALITY: u8 = 90;

/// A format codex-img can write.
///
/// Serializes as `"png"`, `"jpeg"` or `"webp"`; parsing also takes `jpg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Lossless, with alpha.
    Png,
    /// Lossy, no alpha.
    #[serde(alias = "jpg")]
    Jpeg,
    /// Lossless WebP, with alpha.
    Webp,
}

impl OutputFormat {
    /// Every format, in the order messages list them.
    pub const ALL: [OutputFormat; 3] = [Self::Png, Self::Jpeg, Self::Webp];

    /// The stable lowercase name, the same string serde writes.
    pub fn as_str(self) -> &'static str {
        self.image_format().as_str()
    }

    /// The same format as the sniffed [`ImageFormat`].
    pub fn image_format(self) -> ImageFormat {
        match self {
            Self::Png => ImageFormat::Png,
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Webp => ImageFormat::Webp,
        }
    }

    /// The output format for a sniffed format, if codex-img can write it.
    pub fn from_image_format(format: ImageFormat) -> Option<Self> {
        match format {
            ImageFormat::Png => Some(Self::Png),
            ImageFormat::Jpeg => Some(Self::Jpeg),
            ImageFormat::Webp => Some(Self::Webp),
            ImageFormat::Gif => None,
        }
    }

    /// The format a file extension names (`png`, `jpg`, `jpeg`, `webp`, any case, without the dot).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "png" => Some(Self::Png),
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// Whether the format can carry transparency.
    pub fn supports_alpha(self) -> bool {
        !matches!(self, Self::Jpeg)
    }

    /// Whether the encoder takes a quality (only JPEG does).
    pub fn has_quality(self) -> bool {
        matches!(self, Self::Jpeg)
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_extension(s.trim())
            .ok_or_else(|| format!("unknown format `{s}`; use one of: png jpeg webp"))
    }
}

/// Encodes `image` as `format`. `quality` (1–100) applies to JPEG only; the others ignore it, and the
/// option layer refuses it for them before this is reached.
pub fn encode(
    image: &RgbaImage,
    format: OutputFormat,
    quality: Option<u8>,
) -> Result<Vec<u8>, ProcessError> {
    let (w, h) = image.dimensions();
    let opaque = !super::alpha::has_transparency(image);
    let mut out = Cursor::new(Vec::new());
    let failed = |e: image::ImageError| ProcessError::Encode {
        format: format.as_str(),
        reason: e.to_string(),
    };
    match format {
        OutputFormat::Png => {
            let encoder = PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Default,
                FilterType::Adaptive,
            );
            if opaque {
                encoder.write_image(&rgb(image, [0, 0, 0]), w, h, ExtendedColorType::Rgb8)
            } else {
                encoder.write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8)
            }
            .map_err(failed)?;
        }
        OutputFormat::Jpeg => {
            let q = quality.unwrap_or(DEFAULT_JPEG_QUALITY).clamp(1, 100);
            JpegEncoder::new_with_quality(&mut out, q)
                .write_image(&rgb(image, [255, 255, 255]), w, h, ExtendedColorType::Rgb8)
                .map_err(failed)?;
        }
        OutputFormat::Webp => {
            let encoder = WebPEncoder::new_lossless(&mut out);
            if opaque {
                encoder.write_image(&rgb(image, [0, 0, 0]), w, h, ExtendedColorType::Rgb8)
            } else {
                encoder.write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8)
            }
            .map_err(failed)?;
        }
    }
    Ok(out.into_inner())
}

/// RGB bytes, with any transparency composited over `background`.
fn rgb(image: &RgbaImage, background: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 4 * 3);
    for p in image.pixels() {
        let a = u16::from(p[3]);
        for c in 0..3 {
            let v = (u16::from(p[c]) * a + u16::from(background[c]) * (255 - a) + 127) / 255;
            out.push(v as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::decode::decode_rgba;
    use image::Rgba;
    use pretty_assertions::assert_eq;

    /// 48×32 quadrants of flat colour, the top-left one half transparent when `alpha`.
    fn quadrants(alpha: bool) -> RgbaImage {
        RgbaImage::from_fn(48, 32, |x, y| match (x < 24, y < 16) {
            (true, true) => Rgba([200, 30, 30, if alpha { 128 } else { 255 }]),
            (false, true) => Rgba([30, 200, 30, 255]),
            (true, false) => Rgba([30, 30, 200, 255]),
            (false, false) => Rgba([240, 240, 240, 255]),
        })
    }

    fn max_diff(a: &RgbaImage, b: &RgbaImage) -> u8 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    fn round_trip(src: &RgbaImage, from: OutputFormat, to: OutputFormat) -> (RgbaImage, Vec<u8>) {
        let first = encode(src, from, None).expect("encode");
        let decoded = decode_rgba(&first).expect("decode first");
        let second = encode(&decoded, to, None).expect("re-encode");
        (decode_rgba(&second).expect("decode second"), second)
    }

    #[test]
    fn every_format_pair_round_trips_with_the_right_pixels() {
        for alpha in [false, true] {
            let src = quadrants(alpha);
            for from in OutputFormat::ALL {
                for to in OutputFormat::ALL {
                    let (got, bytes) = round_trip(&src, from, to);
                    assert_eq!(
                        crate::image::sniff(&bytes),
                        Some(to.image_format()),
                        "{from}->{to}"
                    );
                    assert_eq!(got.dimensions(), (48, 32));
                    let lossy = from == OutputFormat::Jpeg || to == OutputFormat::Jpeg;
                    let expected = if lossy && alpha {
                        // JPEG flattens the half-transparent red onto white.
                        let mut e = src.clone();
                        for p in e.pixels_mut().filter(|p| p[3] == 128) {
                            *p = Rgba([228, 143, 143, 255]);
                        }
                        e
                    } else {
                        src.clone()
                    };
                    let tolerance = if lossy { 12 } else { 0 };
                    let diff = max_diff(&got, &expected);
                    assert!(
                        diff <= tolerance,
                        "{from}->{to} (alpha {alpha}): pixels differ by {diff}"
                    );
                }
            }
        }
    }

    #[test]
    fn png_and_webp_keep_alpha_jpeg_does_not() {
        let src = quadrants(true);
        let rows: Vec<_> = OutputFormat::ALL
            .into_iter()
            .map(|f| {
                decode_rgba(&encode(&src, f, None).expect("encode"))
                    .expect("decode")
                    .get_pixel(0, 0)[3]
            })
            .collect();
        assert_eq!(rows, vec![128, 255, 128]);
    }

    #[test]
    fn jpeg_quality_changes_the_size() {
        let src = RgbaImage::from_fn(64, 64, |x, y| {
            Rgba([(x * 4) as u8, (y * 4) as u8, ((x ^ y) * 4) as u8, 255])
        });
        let low = encode(&src, OutputFormat::Jpeg, Some(10))
            .expect("encode")
            .len();
        let high = encode(&src, OutputFormat::Jpeg, Some(95))
            .expect("encode")
            .len();
        assert!(low < high, "quality 10 gave {low} bytes, 95 gave {high}");
    }

    #[test]
    fn names_and_extensions() {
        assert_eq!("JPG".parse::<OutputFormat>(), Ok(OutputFormat::Jpeg));
        assert_eq!(
            OutputFormat::from_extension("webp"),
            Some(OutputFormat::Webp)
        );
        assert_eq!(OutputFormat::from_extension("gif"), None);
        assert!("bmp".parse::<OutputFormat>().is_err());
        assert_eq!(
            serde_json::from_str::<OutputFormat>("\"jpg\"").ok(),
            Some(OutputFormat::Jpeg)
        );
        assert_eq!(
            serde_json::to_string(&OutputFormat::Jpeg).ok(),
            Some("\"jpeg\"".to_owned())
        );
    }
}
