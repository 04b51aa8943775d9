//! Chroma keying: turning a flat background of one colour into transparency, for when Codex could not
//! make a transparent image itself (releases before 0.150, reference images, a model that ignored the
//! request).
//!
//! The key colour is given (`#RRGGBB`) or found ([`Key::Auto`]: the dominant colour of the border, which
//! must cover most of it). Each pixel's alpha then comes from two estimates, and the smaller wins:
//!
//! - *distance*: fully transparent within [`NEAR`] of the key (compression noise), fully opaque beyond
//!   [`FAR`], a smooth ramp between;
//! - *colour difference* (the classic green-screen keyer, generalised to any saturated key): how far the
//!   pixel leans toward the key, measured as the key's strong channels minus its weak ones (green minus
//!   the larger of red and blue, for a green key). An anti-aliased edge gets a partial alpha even when it
//!   is far from the key in plain distance.
//!
//! A mixed pixel's alpha is then refined against the opaque subject colour next to it (the projection of
//! the pixel on the line from the key to that colour), the pixel is *unmixed* (the key's share of its
//! colour is taken out) and *despilled* (what still leans toward the key is removed), so the edge keeps
//! the subject's colour and no key-coloured fringe. Fully transparent pixels are set to transparent black, so resampling
//! later cannot bleed the key colour back in. An image that already has transparent pixels is left alone:
//! native alpha always wins over keying.

use std::fmt;
use std::str::FromStr;

use image::RgbaImage;

/// Within this RGB distance of the key a pixel is fully transparent.
pub const NEAR: f32 = 28.0;
/// Beyond this RGB distance of the key the distance estimate calls a pixel fully opaque.
pub const FAR: f32 = 120.0;
/// [`Key::Auto`] keys only when the dominant border colour covers at least this share of the border.
pub const AUTO_MIN_BORDER_SHARE: f32 = 0.6;
/// Below this chroma (distance from its own grey) a key counts as unsaturated, and only the distance
/// estimate is used.
const MIN_KEY_CHROMA: f32 = 40.0;
/// A lean toward the key below this share of the key's own lean is the subject's colour, not the key's.
const LEAN_TOLERANCE: f32 = 0.15;

/// Which colour to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// The dominant colour of the image's border.
    Auto,
    /// This exact colour, written `#RRGGBB`.
    Rgb([u8; 3]),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Rgb([r, g, b]) => write!(f, "#{r:02X}{g:02X}{b:02X}"),
        }
    }
}

impl FromStr for Key {
    type Err = String;

    /// `auto`, or `#RRGGBB` (the `#` may be left out).
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        let hex = t.strip_prefix('#').unwrap_or(t);
        let bad =
            || format!("invalid key colour `{s}`; use `auto` or `#RRGGBB`, for example `#00FF00`");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Self::Rgb([channel(0)?, channel(2)?, channel(4)?]))
    }
}

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What keying did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// The key colour was removed; at least one pixel is now transparent.
    Removed {
        /// The colour removed, as RGB.
        colour: [u8; 3],
    },
    /// Nothing was changed, for the reason given.
    Skipped {
        /// Why, for a person.
        reason: String,
    },
}

/// Removes the key colour from `image` in place (see the module docs). An image that already has any
/// transparent pixel is not touched.
pub fn apply_key(image: &mut RgbaImage, key: Key) -> Keyed {
    if super::alpha::has_transparency(image) {
        return Keyed::Skipped {
            reason: "the image already has transparency".to_owned(),
        };
    }
    let colour = match key {
        Key::Rgb(c) => c,
        Key::Auto => match dominant_border_colour(image) {
            Some(c) => c,
            None => {
                return Keyed::Skipped {
                    reason: format!(
                        "no single colour covers {:.0}% of the border, so there is no flat background to remove",
                        AUTO_MIN_BORDER_SHARE * 100.0
                    ),
                }
            }
        },
    };
    let keyer = Keyer::new(colour);
    let (w, h) = image.dimensions();
    // First estimate, pixel by pixel.
    let first: Vec<f32> = image
        .pixels()
        .map(|p| keyer.alpha([p[0], p[1], p[2]].map(f32::from)))
        .collect();
    if first.iter().all(|a| *a >= 1.0) {
        return Keyed::Skipped {
            reason: format!("no pixel is close to the key colour {}", Key::Rgb(colour)),
        };
    }
    // The edge band: pixels within 2 of a pixel the first estimate calls less than opaque. Mixed pixels
    // there can look opaque on their own (a dark subject blends with a bright key into a dull colour far
    // from both), so their alpha is refined against the subject colour further in.
    let idx = |x: u32, y: u32| (y * w + x) as usize;
    let mut band = vec![false; first.len()];
    for y in 0..h {
        for x in 0..w {
            if first[idx(x, y)] < 1.0 {
                for_each_within(w, h, x, y, 2, |nx, ny| band[idx(nx, ny)] = true);
            }
        }
    }
    let source = image.clone();
    for y in 0..h {
        for x in 0..w {
            let i = idx(x, y);
            let p = source.get_pixel(x, y).0;
            let rgb = [p[0], p[1], p[2]].map(f32::from);
            let mut alpha = first[i];
            if alpha > 0.0 && band[i] {
                let mut sum = [0f32; 3];
                let mut n = 0f32;
                for_each_within(w, h, x, y, 4, |nx, ny| {
                    let j = idx(nx, ny);
                    if first[j] >= 1.0 && !band[j] {
                        let q = source.get_pixel(nx, ny);
                        for c in 0..3 {
                            sum[c] += f32::from(q[c]);
                        }
                        n += 1.0;
                    }
                });
                if n > 0.0 {
                    alpha = keyer.coverage(rgb, sum.map(|c| c / n)).unwrap_or(alpha);
                }
            }
            image.put_pixel(x, y, image::Rgba(keyer.finish(rgb, alpha)));
        }
    }
    Keyed::Removed { colour }
}

/// Calls `f` for every pixel within `r` (a square) of `(x, y)` inside a `w`×`h` image.
fn for_each_within(w: u32, h: u32, x: u32, y: u32, r: u32, mut f: impl FnMut(u32, u32)) {
    for ny in y.saturating_sub(r)..=(y + r).min(h - 1) {
        for nx in x.saturating_sub(r)..=(x + r).min(w - 1) {
            f(nx, ny);
        }
    }
}

/// The most common colour of the outermost ring of pixels, when it covers enough of it. Colours are
/// binned by their top 5 bits per channel (so compression noise lands in one bin) and the winner is the
/// mean of its bin.
pub fn dominant_border_colour(image: &RgbaImage) -> Option<[u8; 3]> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let mut border = Vec::with_capacity(2 * (w as usize + h as usize));
    for x in 0..w {
        border.push(image.get_pixel(x, 0).0);
        if h > 1 {
            border.push(image.get_pixel(x, h - 1).0);
        }
    }
    for y in 1..h.saturating_sub(1) {
        border.push(image.get_pixel(0, y).0);
        if w > 1 {
            border.push(image.get_pixel(w - 1, y).0);
        }
    }
    let bin = |p: &[u8; 4]| {
        (usize::from(p[0] >> 3) << 10) | (usize::from(p[1] >> 3) << 5) | usize::from(p[2] >> 3)
    };
    let mut counts = vec![0u32; 1 << 15];
    for p in &border {
        counts[bin(p)] += 1;
    }
    let (best, &count) = counts.iter().enumerate().max_by_key(|(_, c)| **c)?;
    if (count as f32) < AUTO_MIN_BORDER_SHARE * border.len() as f32 {
        return None;
    }
    let mut sum = [0u64; 3];
    for p in border.iter().filter(|p| bin(p) == best) {
        for c in 0..3 {
            sum[c] += u64::from(p[c]);
        }
    }
    let n = u64::from(count);
    Some([(sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8])
}

/// The key colour, with what every pixel is compared against precomputed.
struct Keyer {
    key: [f32; 3],
    /// The key's strong channels (above the middle of its range); `None` for an unsaturated key, whose
    /// difference between strong and weak channels is below [`MIN_KEY_CHROMA`].
    strong: Option<[bool; 3]>,
    /// The key's own lean (its weakest strong channel minus its strongest weak one).
    key_lean: f32,
}

impl Keyer {
    fn new(key: [u8; 3]) -> Self {
        let key = key.map(f32::from);
        let (lo, hi) = (
            key.iter().copied().fold(f32::MAX, f32::min),
            key.iter().copied().fold(0.0, f32::max),
        );
        let mid = (lo + hi) / 2.0;
        let strong = key.map(|c| c > mid);
        let key_lean = lean_with(strong, key);
        let strong = (key_lean >= MIN_KEY_CHROMA).then_some(strong);
        Self {
            key,
            strong,
            key_lean,
        }
    }

    /// How far `p` leans toward the key (1.0 = as far as the key itself); `None` for an unsaturated key.
    fn lean(&self, p: [f32; 3]) -> Option<f32> {
        self.strong
            .map(|strong| lean_with(strong, p) / self.key_lean)
    }

    /// The first, per-pixel alpha estimate in 0..=1 (see the module docs).
    fn alpha(&self, p: [f32; 3]) -> f32 {
        let distance = norm(sub(p, self.key));
        if distance <= NEAR {
            return 0.0;
        }
        let by_distance = smoothstep(NEAR, FAR, distance);
        // A subject may lean a little toward the key (red toward magenta); only a clear lean counts.
        let by_lean = self.lean(p).map_or(1.0, |lean| {
            (1.0 - (lean - LEAN_TOLERANCE) / (1.0 - LEAN_TOLERANCE)).clamp(0.0, 1.0)
        });
        by_distance.min(by_lean)
    }

    /// The share of `subject` in `p`, for `p` a mixture of `subject` and the key: the projection of
    /// `p - key` on `subject - key`.
    fn coverage(&self, p: [f32; 3], subject: [f32; 3]) -> Option<f32> {
        let axis = sub(subject, self.key);
        let len2 = dot(axis, axis);
        (len2 >= FAR * FAR).then(|| (dot(sub(p, self.key), axis) / len2).clamp(0.0, 1.0))
    }

    /// The output pixel for colour `p` at `alpha`: unmixed and despilled, or transparent black.
    fn finish(&self, p: [f32; 3], alpha: f32) -> [u8; 4] {
        let a = (alpha * 255.0).round();
        if a < 1.0 {
            return [0, 0, 0, 0];
        }
        // Unmix: p = alpha * subject + (1 - alpha) * key, solved for the subject.
        let mut fg = p;
        if alpha < 1.0 {
            for c in 0..3 {
                fg[c] = ((p[c] - (1.0 - alpha) * self.key[c]) / alpha).clamp(0.0, 255.0);
            }
        }
        // Despill a mixed pixel: lower the key's strong channels until it no longer leans toward the key.
        // Opaque pixels keep their colour, even one that leans a little (a pink subject on magenta).
        if let (Some(strong), true) = (self.strong, alpha < 1.0) {
            let spill = lean_with(strong, fg);
            if spill > 0.0 {
                for c in 0..3 {
                    if strong[c] {
                        fg[c] = (fg[c] - spill).max(0.0);
                    }
                }
            }
        }
        let [r, g, b] = fg.map(|c| c.round() as u8);
        [r, g, b, a.min(255.0) as u8]
    }
}

/// The weakest of the `strong` channels of `p` minus the strongest of the others: positive when `p`
/// leans toward a key with those strong channels (green minus the larger of red and blue, for green).
fn lean_with(strong: [bool; 3], p: [f32; 3]) -> f32 {
    let mut min_strong = f32::MAX;
    let mut max_weak = 0.0f32;
    for c in 0..3 {
        if strong[c] {
            min_strong = min_strong.min(p[c]);
        } else {
            max_weak = max_weak.max(p[c]);
        }
    }
    if min_strong == f32::MAX {
        0.0
    } else {
        min_strong - max_weak
    }
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f32; 3]) -> f32 {
    dot(a, a).sqrt()
}

fn smoothstep(lo: f32, hi: f32, x: f32) -> f32 {
    let t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;
    use pretty_assertions::assert_eq;

    const GREEN: [u8; 3] = [0, 255, 0];
    const SUBJECT: [u8; 3] = [210, 40, 50];

    /// A red disc of radius 20 centred in a 64×64 green square, anti-aliased by 4×4 supersampling, so
    /// its edge pixels are true mixtures of subject and key.
    fn disc_on(key: [u8; 3], subject: [u8; 3]) -> RgbaImage {
        RgbaImage::from_fn(64, 64, |x, y| {
            let mut inside = 0u32;
            for sy in 0..4 {
                for sx in 0..4 {
                    let fx = x as f32 + (sx as f32 + 0.5) / 4.0 - 32.0;
                    let fy = y as f32 + (sy as f32 + 0.5) / 4.0 - 32.0;
                    inside += u32::from(fx * fx + fy * fy <= 400.0);
                }
            }
            let a = inside as f32 / 16.0;
            let mix = |c: usize| {
                (f32::from(subject[c]) * a + f32::from(key[c]) * (1.0 - a)).round() as u8
            };
            Rgba([mix(0), mix(1), mix(2), 255])
        })
    }

    fn lean_toward(key: [u8; 3], p: &Rgba<u8>) -> f32 {
        Keyer::new(key)
            .lean([p[0], p[1], p[2]].map(f32::from))
            .unwrap_or(0.0)
    }

    #[test]
    fn parses_and_prints_keys() {
        assert_eq!("auto".parse::<Key>(), Ok(Key::Auto));
        assert_eq!("#00ff00".parse::<Key>(), Ok(Key::Rgb(GREEN)));
        assert_eq!("FF00FF".parse::<Key>(), Ok(Key::Rgb([255, 0, 255])));
        assert!("#0f0".parse::<Key>().is_err());
        assert!("green".parse::<Key>().is_err());
        assert_eq!(Key::Rgb([255, 0, 16]).to_string(), "#FF0010");
        assert_eq!(
            serde_json::to_string(&Key::Auto).ok(),
            Some("\"auto\"".to_owned())
        );
    }

    #[test]
    fn auto_finds_the_flat_border_and_keys_it_without_a_fringe() {
        for key in [GREEN, [255, 0, 255], [0, 80, 255]] {
            let original = disc_on(key, SUBJECT);
            let mut img = original.clone();
            assert_eq!(
                apply_key(&mut img, Key::Auto),
                Keyed::Removed { colour: key }
            );
            // The background is fully transparent (and clean black), the subject's core is untouched.
            assert_eq!(*img.get_pixel(0, 0), Rgba([0, 0, 0, 0]));
            assert_eq!(*img.get_pixel(5, 60), Rgba([0, 0, 0, 0]));
            assert_eq!(img.get_pixel(32, 32), original.get_pixel(32, 32));
            assert_eq!(img.get_pixel(32, 32)[3], 255);
            // No visible pixel, edges included, leans toward the key more than the subject itself does.
            let subject_lean = lean_toward(key, &Rgba([SUBJECT[0], SUBJECT[1], SUBJECT[2], 255]));
            let mut edge = 0;
            for (x, y, p) in img.enumerate_pixels() {
                if p[3] == 0 {
                    continue;
                }
                if p[3] < 255 {
                    edge += 1;
                }
                let lean = lean_toward(key, p);
                assert!(
                    lean <= subject_lean.max(0.0) + 0.02,
                    "key {key:?}: pixel ({x},{y}) {p:?} leans {lean} toward the key, the subject {subject_lean}"
                );
            }
            assert!(edge > 20, "key {key:?}: only {edge} soft edge pixels");
        }
    }

    #[test]
    fn edge_alpha_follows_the_coverage() {
        let original = disc_on(GREEN, SUBJECT);
        let mut img = original.clone();
        apply_key(&mut img, Key::Rgb(GREEN));
        // Every rim pixel (part subject, part key) gets an alpha near its coverage.
        let mut rim = 0;
        for (x, y, q) in original.enumerate_pixels() {
            let coverage = f32::from(q[0]) / f32::from(SUBJECT[0]);
            if !(0.25..=0.75).contains(&coverage) {
                continue;
            }
            rim += 1;
            let p = img.get_pixel(x, y);
            let alpha = f32::from(p[3]) / 255.0;
            assert!(
                (alpha - coverage).abs() <= 0.3,
                "({x},{y}) coverage {coverage}, alpha {alpha}: {q:?} became {p:?}"
            );
        }
        assert!(rim > 10, "only {rim} rim pixels");
    }

    #[test]
    fn an_image_with_alpha_is_untouched() {
        let mut img = disc_on(GREEN, SUBJECT);
        img.put_pixel(1, 1, Rgba([0, 255, 0, 128]));
        let before = img.clone();
        assert!(matches!(
            apply_key(&mut img, Key::Auto),
            Keyed::Skipped { .. }
        ));
        assert_eq!(img, before);
    }

    #[test]
    fn auto_skips_a_busy_border() {
        let mut img =
            RgbaImage::from_fn(32, 32, |x, y| Rgba([(x * 8) as u8, (y * 8) as u8, 90, 255]));
        let before = img.clone();
        assert!(matches!(
            apply_key(&mut img, Key::Auto),
            Keyed::Skipped { .. }
        ));
        assert_eq!(img, before);
    }
}
