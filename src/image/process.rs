//! The post-processing pipeline every face shares: measure alpha, key, fit, convert, in that order.
//!
//! It runs once, right after the image is in hand, on the bytes Codex returned. When nothing would change
//! the pixels or the format, the bytes are passed through untouched (byte-identical, so the SHA-256 is
//! Codex's own); otherwise the image is decoded (within the limits of [`super::decode`]), changed, and
//! encoded once.

use super::alpha::{self, Alpha};
use super::convert::{encode, OutputFormat};
use super::decode::decode_rgba;
use super::fit::{fit, Fit, FitTarget};
use super::key::{apply_key, Key, Keyed};
use super::{inspect, ImageFormat, ProcessError};

/// What to do to an image. The default does nothing, and passes any bytes through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processing {
    /// Convert to this format; `None` keeps what Codex returned.
    pub format: Option<OutputFormat>,
    /// JPEG quality 1–100.
    pub quality: Option<u8>,
    /// Make the image exactly this size or aspect.
    pub fit: Option<(Fit, FitTarget)>,
    /// Remove this key colour when the image has no transparency of its own.
    pub key: Option<Key>,
}

/// The delivered image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The bytes to save; empty when [`passthrough`](Self::passthrough), where the input itself is what to
    /// save (not copied: it is megabytes).
    pub bytes: Vec<u8>,
    /// The format of `bytes`.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Where the transparency came from, measured from the pixels.
    pub alpha: Alpha,
    /// The input's size, when the delivered size differs.
    pub original: Option<(u32, u32)>,
    /// What keying did, when a key was asked for.
    pub keyed: Option<Keyed>,
    /// Whether `bytes` are the input, untouched.
    pub passthrough: bool,
}

/// Runs `processing` over `bytes` (a PNG, JPEG or WebP).
pub fn process(bytes: &[u8], processing: &Processing) -> Result<Processed, ProcessError> {
    let info = inspect(bytes).map_err(|e| ProcessError::Decode {
        reason: e.to_string(),
    })?;
    let target_format = processing
        .format
        .map(OutputFormat::image_format)
        .unwrap_or(info.format);
    let same_format = target_format == info.format;
    let requality = processing.quality.is_some() && target_format == ImageFormat::Jpeg;
    let pixels_needed =
        processing.fit.is_some() || processing.key.is_some() || !same_format || requality;

    if !pixels_needed {
        // Only the alpha must be measured; skip the decode when the header rules alpha out.
        let has_alpha = alpha::may_have_alpha(info.format, bytes)
            && alpha::has_transparency(&decode_rgba(bytes)?);
        return Ok(Processed {
            bytes: Vec::new(),
            format: info.format,
            width: info.width,
            height: info.height,
            alpha: if has_alpha {
                Alpha::Native
            } else {
                Alpha::None
            },
            original: None,
            keyed: None,
            passthrough: true,
        });
    }

    let out_format =
        OutputFormat::from_image_format(target_format).ok_or_else(|| ProcessError::Encode {
            format: target_format.as_str(),
            reason: "codex-img writes only PNG, JPEG and WebP".to_owned(),
        })?;
    let mut image = decode_rgba(bytes)?;
    let native = alpha::has_transparency(&image);
    let mut keyed = None;
    let mut alpha = if native { Alpha::Native } else { Alpha::None };
    if let Some(key) = processing.key {
        let outcome = apply_key(&mut image, key);
        if matches!(outcome, Keyed::Removed { .. }) {
            alpha = Alpha::Keyed;
        }
        keyed = Some(outcome);
    }
    if !out_format.supports_alpha() {
        // JPEG flattens: whatever the source had, the delivered file is opaque.
        alpha = Alpha::None;
    }
    if let Some((mode, target)) = processing.fit {
        let pad = if out_format.supports_alpha() {
            [0, 0, 0, 0]
        } else {
            [255, 255, 255, 255]
        };
        image = fit(&image, mode, target, pad)?;
    }
    let encoded = encode(&image, out_format, processing.quality)?;
    let (width, height) = image.dimensions();
    Ok(Processed {
        bytes: encoded,
        format: target_format,
        width,
        height,
        alpha,
        original: ((width, height) != (info.width, info.height))
            .then_some((info.width, info.height)),
        keyed,
        passthrough: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};
    use pretty_assertions::assert_eq;

    fn png_of(image: &RgbaImage) -> Vec<u8> {
        encode(image, OutputFormat::Png, None).expect("encode")
    }

    fn green_with_red_square() -> RgbaImage {
        RgbaImage::from_fn(40, 30, |x, y| {
            if (10..30).contains(&x) && (10..20).contains(&y) {
                Rgba([220, 30, 30, 255])
            } else {
                Rgba([0, 255, 0, 255])
            }
        })
    }

    #[test]
    fn nothing_asked_passes_the_png_through_byte_identical() {
        let png = super::super::fixtures::png(64, 48);
        let out = process(&png, &Processing::default()).expect("process");
        assert_eq!(
            (
                out.bytes.is_empty(),
                out.passthrough,
                out.alpha,
                out.original,
                (out.width, out.height)
            ),
            (true, true, Alpha::None, None, (64, 48))
        );
        // Asking for PNG when it is PNG is still nothing to do.
        let same = Processing {
            format: Some(OutputFormat::Png),
            ..Processing::default()
        };
        assert!(process(&png, &same).expect("process").passthrough);
    }

    #[test]
    fn native_alpha_is_measured_and_not_keyed() {
        let mut img = green_with_red_square();
        img.put_pixel(0, 0, Rgba([0, 255, 0, 0]));
        let png = png_of(&img);
        let keyed = Processing {
            key: Some(Key::Auto),
            ..Processing::default()
        };
        let out = process(&png, &keyed).expect("process");
        assert_eq!(out.alpha, Alpha::Native);
        assert!(matches!(out.keyed, Some(Keyed::Skipped { .. })));
        assert_eq!(decode_rgba(&out.bytes).expect("decode"), img);
        assert_eq!(
            process(&png, &Processing::default())
                .expect("process")
                .alpha,
            Alpha::Native
        );
    }

    #[test]
    fn key_fit_and_convert_in_one_pass() {
        let png = png_of(&green_with_red_square());
        let processing = Processing {
            format: Some(OutputFormat::Webp),
            quality: None,
            fit: Some((
                Fit::Contain,
                FitTarget::Size {
                    width: 80,
                    height: 80,
                },
            )),
            key: Some(Key::Auto),
        };
        let out = process(&png, &processing).expect("process");
        assert_eq!(
            (
                out.format,
                out.width,
                out.height,
                out.alpha,
                out.original,
                out.passthrough
            ),
            (
                ImageFormat::Webp,
                80,
                80,
                Alpha::Keyed,
                Some((40, 30)),
                false
            )
        );
        let img = decode_rgba(&out.bytes).expect("decode");
        assert_eq!(img.get_pixel(40, 40).0, [220, 30, 30, 255]);
        assert_eq!(img.get_pixel(2, 40)[3], 0);
    }

    #[test]
    fn jpeg_output_is_opaque_and_padded_white() {
        let png = png_of(&green_with_red_square());
        let processing = Processing {
            format: Some(OutputFormat::Jpeg),
            quality: Some(80),
            fit: Some((
                Fit::Contain,
                FitTarget::Size {
                    width: 40,
                    height: 40,
                },
            )),
            key: None,
        };
        let out = process(&png, &processing).expect("process");
        assert_eq!(
            (out.format, out.alpha, out.width, out.height),
            (ImageFormat::Jpeg, Alpha::None, 40, 40)
        );
        let img = decode_rgba(&out.bytes).expect("decode");
        assert!(
            img.get_pixel(20, 1).0.iter().all(|c| *c >= 245),
            "padding is not white: {:?}",
            img.get_pixel(20, 1)
        );
    }
}
