//! The images the fake hands out, and the byte encodings around them.
//!
//! Real Codex returns a PNG as base64 in the `imageGeneration` item and writes the same file under
//! `$CODEX_HOME/generated_images/`. The fake must do the same with bytes that a real decoder
//! accepts; the encoder is the workspace's one test encoder (`tests/test-png`: stored deflate, a
//! `tEXt` chunk naming the thread). The pixels are derived from a hash of the thread id, and the
//! thread id is also written into the `tEXt` chunk, so two threads never get the same bytes.
//! Base64 encoding (the standard alphabet with padding, as Codex sends it) lives here too, because
//! it is the only other thing done to image bytes before they go on the wire.

/// Builds a valid `width`×`height` 8-bit RGB PNG whose pixels and text chunk depend on `seed`.
pub fn image_for(seed: &str, width: u32, height: u32) -> Vec<u8> {
    let h = fnv1a64(seed.as_bytes()).to_le_bytes();
    let (w, ht) = (width as usize, height as usize);
    // Red follows x, green follows y, blue the diagonal; each starts from the seed's hash. Every ramp
    // steps by at most 1 a pixel, so whatever the thread the image compresses like a drawing, and a
    // test's preview (for a 2048x2048 image: a 1024x1024 JPEG of 135 to 155 KB) does not depend on the
    // thread id it happened to get (a steeper blue ramp made some previews too big for 1024 px).
    let reds: Vec<u8> = (0..w)
        .map(|x| h[0].wrapping_add((x * 255 / w) as u8))
        .collect();
    let mut rgb = vec![0u8; w * 3 * ht];
    for (y, row) in rgb.chunks_exact_mut((w * 3).max(1)).enumerate() {
        let green = h[1].wrapping_add((y * 255 / ht) as u8);
        for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
            pixel[0] = reds[x];
            pixel[1] = green;
            pixel[2] = h[2] ^ (x + y) as u8;
        }
    }
    let comment = format!("fake-app-server image for thread {seed}");
    test_png::encode_rgb(width, height, &rgb, Some(&comment))
}

/// What a model draws when asked for a transparent or a flat solid background: the shared test
/// subject (an orange disc, `test_png::subject_png`), in RGBA on real transparency (`background:
/// None`) or in RGB on one flat colour, with the thread named in a `tEXt` chunk so two threads never
/// get the same bytes.
pub fn subject_for(seed: &str, width: u32, height: u32, background: Option<[u8; 3]>) -> Vec<u8> {
    let comment = format!("fake-app-server subject for thread {seed}");
    test_png::subject_png(width, height, background, Some(&comment))
}

/// FNV-1a, used wherever the fake needs a cheap stable hash (pixel colours, ids).
pub fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Standard base64 with `=` padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = vec![b'='; data.len().div_ceil(3) * 4];
    for (group, slot) in data.chunks(3).zip(out.chunks_exact_mut(4)) {
        let n = (u32::from(group[0]) << 16)
            | (u32::from(*group.get(1).unwrap_or(&0)) << 8)
            | u32::from(*group.get(2).unwrap_or(&0));
        for (i, c) in slot.iter_mut().enumerate().take(group.len() + 1) {
            *c = ALPHABET[(n >> (18 - 6 * i)) as usize & 63];
        }
    }
    String::from_utf8(out).expect("the base64 alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn subjects_are_rgba_or_on_a_flat_colour_and_differ_by_seed() {
        let clear = subject_for("t1", 30, 20, None);
        let keyed = subject_for("t1", 30, 20, Some([0, 255, 0]));
        assert_eq!((clear[25], keyed[25]), (6, 2));
        assert_ne!(clear, subject_for("t2", 30, 20, None));
    }

    #[test]
    fn images_differ_by_seed() {
        let a = image_for("thread-a", 64, 48);
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_ne!(a, image_for("thread-b", 64, 48));
    }
}
