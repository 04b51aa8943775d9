//! Making an image exactly the size (or the aspect) that was asked for, when the caller opts in.
//!
//! Codex's image tool picks its own size, so an exact size is local work:
//!
//! - [`Fit::Cover`] scales until the image covers the target, then crops the overflow from the centre;
//! - [`Fit::Contain`] scales until the image fits inside, then pads the rest with a colour (transparent for
//!   PNG and WebP, white for JPEG; the caller chooses);
//! - [`Fit::Fill`] stretches to the target, ignoring the aspect.
//!
//! With only an aspect ([`FitTarget::Aspect`]), `cover` crops and `contain` pads at the native resolution
//! (no resampling at all), and `fill` stretches the height to the aspect at the native width.
//!
//! Resampling uses a Lanczos3 filter (a windowed sinc over 3 lobes, the `image` crate's best) on
//! premultiplied-alpha floating-point pixels, so transparent pixels never bleed their colour into an edge.

use std::fmt;
use std::str::FromStr;

use image::imageops::{self, FilterType};
use image::{Rgba, Rgba32FImage, RgbaImage};

use super::decode::check_limits;
use super::ProcessError;

/// How an image is made to match a requested size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Scale to cover, then crop from the centre.
    Cover,
    /// Scale to fit inside, then pad.
    Contain,
    /// Stretch to the exact size.
    Fill,
}

impl Fit {
    /// The stable lowercase name, the same string serde writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cover => "cover",
            Self::Contain => "contain",
            Self::Fill => "fill",
        }
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cover" => Ok(Self::Cover),
            "contain" => Ok(Self::Contain),
            "fill" => Ok(Self::Fill),
            _ => Err(format!("unknown fit `{s}`; use one of: cover contain fill")),
        }
    }
}

/// What to fit to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FitTarget {
    /// Exactly this many pixels.
    Size {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// This ratio of width to height, at the native resolution.
    Aspect {
        /// The width's share of the ratio.
        width: u32,
        /// The height's share of the ratio.
        height: u32,
    },
}

/// Returns `image` fitted to `target`; `pad` fills what [`Fit::Contain`] adds.
pub fn fit(
    image: &RgbaImage,
    mode: Fit,
    target: FitTarget,
    pad: [u8; 4],
) -> Result<RgbaImage, ProcessError> {
    let (w, h) = image.dimensions();
    let bad = |reason: &str| ProcessError::Fit {
        reason: reason.to_owned(),
    };
    if w == 0 || h == 0 {
        return Err(bad("the image is empty"));
    }
    let out = match target {
        FitTarget::Size { width, height } => {
            if width == 0 || height == 0 {
                return Err(bad("the requested size has a zero side"));
            }
            check_limits(width, height)?;
            match mode {
                Fit::Fill => resize(image, width, height),
                Fit::Cover => {
                    let scale = f64::max(
                        f64::from(width) / f64::from(w),
                        f64::from(height) / f64::from(h),
                    );
                    let sw = scaled(w, scale).max(width);
                    let sh = scaled(h, scale).max(height);
                    let scaled = resize(image, sw, sh);
                    crop_centre(&scaled, width, height)
                }
                Fit::Contain => {
                    let scale = f64::min(
                        f64::from(width) / f64::from(w),
                        f64::from(height) / f64::from(h),
                    );
                    let sw = scaled(w, scale).min(width);
                    let sh = scaled(h, scale).min(height);
                    let scaled = resize(image, sw, sh);
                    pad_centre(&scaled, width, height, pad)
                }
            }
        }
        FitTarget::Aspect {
            width: aw,
            height: ah,
        } => {
            if aw == 0 || ah == 0 {
                return Err(bad("the requested aspect has a zero side"));
            }
            let (aw, ah) = (u64::from(aw), u64::from(ah));
            let (w64, h64) = (u64::from(w), u64::from(h));
            // Compare w/h with aw/ah without division: w*ah against h*aw.
            let wider = w64 * ah > h64 * aw;
            let round_div =
                |n: u64, d: u64| u32::try_from((n + d / 2) / d).unwrap_or(u32::MAX).max(1);
            match mode {
                Fit::Cover if wider => crop_centre(image, round_div(h64 * aw, ah), h),
                Fit::Cover => crop_centre(image, w, round_div(w64 * ah, aw)),
                Fit::Contain => {
                    let (tw, th) = if wider {
                        (w, round_div(w64 * ah, aw))
                    } else {
                        (round_div(h64 * aw, ah), h)
                    };
                    check_limits(tw, th)?;
                    pad_centre(image, tw, th, pad)
                }
                Fit::Fill => {
                    let th = round_div(w64 * ah, aw);
                    check_limits(w, th)?;
                    resize(image, w, th)
                }
            }
        }
    };
    Ok(out)
}

fn scaled(side: u32, scale: f64) -> u32 {
    let v = (f64::from(side) * scale).round();
    if v < 1.0 {
        1
    } else if v > f64::from(u32::MAX) {
        u32::MAX
    } else {
        v as u32
    }
}

/// Lanczos3 on premultiplied floating-point RGBA; a same-size request is a copy.
fn resize(image: &RgbaImage, width: u32, height: u32) -> RgbaImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    let premultiplied = Rgba32FImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y).0.map(|c| f32::from(c) / 255.0);
        Rgba([p[0] * p[3], p[1] * p[3], p[2] * p[3], p[3]])
    });
    let resized = imageops::resize(&premultiplied, width, height, FilterType::Lanczos3);
    RgbaImage::from_fn(width, height, |x, y| {
        let [r, g, b, a] = resized.get_pixel(x, y).0;
        // Lanczos rings slightly below 0 and above 1; clamp before un-premultiplying.
        let a = a.clamp(0.0, 1.0);
        let unmul = |c: f32| {
            if a > 0.0 {
                (c / a).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let q = |v: f32| (v * 255.0).round() as u8;
        if q(a) == 0 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([q(unmul(r)), q(unmul(g)), q(unmul(b)), q(a)])
        }
    })
}

fn crop_centre(image: &RgbaImage, width: u32, height: u32) -> RgbaImage {
    let (w, h) = image.dimensions();
    let (width, height) = (width.min(w), height.min(h));
    let x = (w - width) / 2;
    let y = (h - height) / 2;
    imageops::crop_imm(image, x, y, width, height).to_image()
}

fn pad_centre(image: &RgbaImage, width: u32, height: u32, pad: [u8; 4]) -> RgbaImage {
    let mut canvas = RgbaImage::from_pixel(width, height, Rgba(pad));
    let x = (width.saturating_sub(image.width())) / 2;
    let y = (height.saturating_sub(image.height())) / 2;
    imageops::replace(&mut canvas, image, i64::from(x), i64::from(y));
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const RED: Rgba<u8> = Rgba([255, 0, 0, 255]);
    const BLUE: Rgba<u8> = Rgba([0, 0, 255, 255]);
    const CLEAR: [u8; 4] = [0, 0, 0, 0];

    /// 200×100: the left half red, the right half blue, with a 20-pixel black square in the centre.
    fn pattern() -> RgbaImage {
        RgbaImage::from_fn(200, 100, |x, y| {
            if (90..110).contains(&x) && (40..60).contains(&y) {
                Rgba([0, 0, 0, 255])
            } else if x < 100 {
                RED
            } else {
                BLUE
            }
        })
    }

    fn near(a: &Rgba<u8>, b: &Rgba<u8>) -> bool {
        a.0.iter().zip(b.0.iter()).all(|(x, y)| x.abs_diff(*y) <= 6)
    }

    fn size(width: u32, height: u32) -> FitTarget {
        FitTarget::Size { width, height }
    }

    #[test]
    fn cover_scales_and_crops_from_the_centre() {
        // 200×100 onto 100×100: scale 1, crop 50 from each side; the black square stays centred.
        let out = fit(&pattern(), Fit::Cover, size(100, 100), CLEAR).expect("fit");
        assert_eq!(out.dimensions(), (100, 100));
        assert!(near(out.get_pixel(5, 50), &RED) && near(out.get_pixel(94, 50), &BLUE));
        assert!(near(out.get_pixel(50, 50), &Rgba([0, 0, 0, 255])));
        // Up-scaling to 300×300: scale 3, the square is now 60 pixels wide, centred.
        let out = fit(&pattern(), Fit::Cover, size(300, 300), CLEAR).expect("fit");
        assert_eq!(out.dimensions(), (300, 300));
        assert!(near(out.get_pixel(150, 150), &Rgba([0, 0, 0, 255])));
        assert!(!near(out.get_pixel(150, 100), &Rgba([0, 0, 0, 255])));
        assert!(near(out.get_pixel(140, 150), &Rgba([0, 0, 0, 255])));
    }

    #[test]
    fn contain_scales_and_pads() {
        // 200×100 into 100×100: scale 0.5 to 100×50, 25 rows of padding above and below.
        let out = fit(&pattern(), Fit::Contain, size(100, 100), CLEAR).expect("fit");
        assert_eq!(out.dimensions(), (100, 100));
        assert_eq!(out.get_pixel(50, 10).0, CLEAR);
        assert_eq!(out.get_pixel(50, 90).0, CLEAR);
        assert!(near(out.get_pixel(10, 30), &RED) && near(out.get_pixel(90, 70), &BLUE));
        let white = fit(&pattern(), Fit::Contain, size(100, 100), [255; 4]).expect("fit");
        assert_eq!(white.get_pixel(0, 0).0, [255; 4]);
    }

    #[test]
    fn fill_stretches() {
        let out = fit(&pattern(), Fit::Fill, size(50, 120), CLEAR).expect("fit");
        assert_eq!(out.dimensions(), (50, 120));
        assert!(near(out.get_pixel(5, 5), &RED) && near(out.get_pixel(45, 115), &BLUE));
        assert!(near(out.get_pixel(25, 60), &Rgba([0, 0, 0, 255])));
    }

    #[test]
    fn aspect_only_crops_or_pads_at_native_resolution() {
        let src = pattern();
        let aspect = FitTarget::Aspect {
            width: 1,
            height: 1,
        };
        let cover = fit(&src, Fit::Cover, aspect, CLEAR).expect("fit");
        assert_eq!(cover.dimensions(), (100, 100));
        // No resampling: the crop is the source's own pixels.
        assert_eq!(cover, imageops::crop_imm(&src, 50, 0, 100, 100).to_image());
        let contain = fit(&src, Fit::Contain, aspect, CLEAR).expect("fit");
        assert_eq!(contain.dimensions(), (200, 200));
        assert_eq!(contain.get_pixel(100, 10).0, CLEAR);
        assert_eq!(contain.get_pixel(0, 50), &RED);
        let tall = fit(
            &src,
            Fit::Fill,
            FitTarget::Aspect {
                width: 2,
                height: 3,
            },
            CLEAR,
        )
        .expect("fit");
        assert_eq!(tall.dimensions(), (200, 300));
    }

    #[test]
    fn transparent_pixels_do_not_bleed_into_edges() {
        // Opaque white on the left, transparent *green* on the right: after resampling no pixel may turn
        // green, because the transparent pixels carry no weight.
        let src = RgbaImage::from_fn(64, 16, |x, _| {
            if x < 32 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 255, 0, 0])
            }
        });
        let out = fit(&src, Fit::Fill, size(37, 9), CLEAR).expect("fit");
        for p in out.pixels().filter(|p| p[3] > 0) {
            assert!(p[0] >= 250 && p[2] >= 250, "green bled in: {p:?}");
        }
    }

    #[test]
    fn bad_targets_are_errors() {
        let codes: Vec<_> = [
            size(0, 5),
            size(20_000, 10),
            FitTarget::Aspect {
                width: 0,
                height: 1,
            },
        ]
        .into_iter()
        .map(|t| {
            fit(&pattern(), Fit::Cover, t, CLEAR)
                .map(|_| ())
                .map_err(|e| e.variant())
        })
        .collect();
        assert_eq!(codes, vec![Err("Fit"), Err("TooLarge"), Err("Fit")]);
        assert_eq!("CONTAIN".parse::<Fit>(), Ok(Fit::Contain));
        assert!("crop".parse::<Fit>().is_err());
    }
}
