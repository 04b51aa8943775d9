//! A tiny PNG encoder for codex-img's tests, shared by every test crate.
//!
//! The tests need PNGs that a real decoder accepts (Codex and codex-img check them) and that differ
//! from one another, never a whole image codec. So this writes 8-bit RGB images: one IHDR, an optional
//! `tEXt` chunk, one IDAT of *stored* (uncompressed) deflate blocks, and IEND, with CRC-32 and Adler-32
//! computed here. [`encode_rgb`] is the encoder; [`test_png`] is the seeded pattern most tests use.
//! [`encode_rgba`] writes 8-bit RGBA the same way, and [`subject_png`] is what a test model draws when
//! asked for a transparent or a flat-coloured background: an anti-aliased orange disc on real
//! transparency (RGBA) or on one flat colour (RGB).

/// A `width`×`height` RGB PNG whose pixels are a pattern derived from `seed`, so different seeds give
/// different bytes. A zero width or height is taken as 1.
pub fn test_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let (width, height) = (width.max(1), height.max(1));
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let band = ((x / 8) + (y / 8) + seed).is_multiple_of(2);
            let r = (seed.wrapping_mul(97) % 256) as u8;
            let g = if band { 200 } else { (x * 255 / width) as u8 };
            let b = (y * 255 / height) as u8 ^ (seed as u8);
            rgb.extend_from_slice(&[r, g, b]);
        }
    }
    encode_rgb(width, height, &rgb, None)
}

/// The colour of [`subject_png`]'s disc: an orange no key colour a test uses comes close to.
pub const SUBJECT_RGB: [u8; 3] = [230, 120, 20];

/// A `width`×`height` PNG of an orange disc ([`SUBJECT_RGB`], radius a third of the shorter side,
/// centred, anti-aliased by 4×4 supersampling). With `background: None` it is RGBA and the disc sits on
/// full transparency (transparent pixels are transparent black); with a colour it is RGB and the disc
/// sits on that flat colour. `comment` becomes a `tEXt` chunk, so callers can make bytes unique.
pub fn subject_png(
    width: u32,
    height: u32,
    background: Option<[u8; 3]>,
    comment: Option<&str>,
) -> Vec<u8> {
    let (width, height) = (width.max(1), height.max(1));
    let radius = width.min(height) as f32 / 3.0;
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let channels = if background.is_some() { 3 } else { 4 };
    let mut pixels = Vec::with_capacity(width as usize * height as usize * channels);
    for y in 0..height {
        for x in 0..width {
            let mut inside = 0u32;
            for sy in 0..4 {
                for sx in 0..4 {
                    let fx = x as f32 + (sx as f32 + 0.5) / 4.0 - cx;
                    let fy = y as f32 + (sy as f32 + 0.5) / 4.0 - cy;
                    inside += u32::from(fx * fx + fy * fy <= radius * radius);
                }
            }
            let coverage = inside as f32 / 16.0;
            match background {
                Some(bg) => {
                    for c in 0..3 {
                        let v = f32::from(SUBJECT_RGB[c]) * coverage
                            + f32::from(bg[c]) * (1.0 - coverage);
                        pixels.push(v.round() as u8);
                    }
                }
                None if inside == 0 => pixels.extend_from_slice(&[0, 0, 0, 0]),
                None => {
                    pixels.extend_from_slice(&SUBJECT_RGB);
                    pixels.push((coverage * 255.0).round() as u8);
                }
            }
        }
    }
    match background {
        Some(_) => encode_rgb(width, height, &pixels, comment),
        None => encode_rgba(width, height, &pixels, comment),
    }
}

/// The width and height in a PNG's IHDR, if `png` is long enough to have one.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let w: [u8; 4] = png.get(16..20)?.try_into().ok()?;
    let h: [u8; 4] = png.get(20..24)?.try_into().ok()?;
    Some((u32::from_be_bytes(w), u32::from_be_bytes(h)))
}

/// Encodes `rgba` (row-major, 4 bytes a pixel) as an 8-bit RGBA PNG; otherwise as [`encode_rgb`].
///
/// # Panics
/// If `rgba` does not hold exactly `width * height` pixels: a caller's bug, in test code.
pub fn encode_rgba(width: u32, height: u32, rgba: &[u8], comment: Option<&str>) -> Vec<u8> {
    encode(width, height, 4, rgba, comment)
}

/// Encodes `rgb` (row-major, 3 bytes a pixel, `width * height * 3` bytes) as an 8-bit RGB PNG, with a
/// `tEXt` chunk `Comment` holding `comment` when one is given.
///
/// # Panics
/// If `rgb` does not hold exactly `width * height` pixels: a caller's bug, in test code.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8], comment: Option<&str>) -> Vec<u8> {
    encode(width, height, 3, rgb, comment)
}

/// The encoder behind [`encode_rgb`] (3 channels) and [`encode_rgba`] (4).
fn encode(width: u32, height: u32, channels: usize, rgb: &[u8], comment: Option<&str>) -> Vec<u8> {
    let row = width as usize * channels;
    assert_eq!(
        rgb.len(),
        row * height as usize,
        "encode: {width}x{height} with {channels} channels needs {} bytes",
        row * height as usize
    );
    // Each scanline is prefixed by its filter type, 0 (None).
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in rgb.chunks_exact(row.max(1)).take(height as usize) {
        raw.push(0);
        raw.extend_from_slice(line);
    }

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Depth 8, RGB (2) or RGBA (6), deflate, adaptive filtering, no interlace.
    let colour_type = if channels == 4 { 6 } else { 2 };
    ihdr.extend_from_slice(&[8, colour_type, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    if let Some(comment) = comment {
        let mut text = b"Comment\0".to_vec();
        text.extend_from_slice(comment.as_bytes());
        chunk(&mut png, b"tEXt", &text);
    }
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Appends one PNG chunk: length, type, data, CRC-32 over type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks (at most 65 535 bytes each), then the Adler-32 trailer.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65_535 * 5 + 16);
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none())); // BFINAL on the last block, BTYPE 00
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 (ISO-HDLC), table-driven because the fake app-server encodes multi-MiB images.
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (n, slot) in table.iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    !data.iter().fold(0xffff_ffffu32, |crc, &byte| {
        table[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// Adler-32, reducing once per 5552 bytes (the most that cannot overflow a u32).
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for block in data.chunks(5552) {
        for &byte in block {
            a += u32::from(byte);
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        // Long enough to cross Adler-32's deferred reduction.
        let long = vec![0xffu8; 20_000];
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in &long {
            a = (a + u32::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&long), (b << 16) | a);
    }

    #[test]
    fn images_differ_by_seed_and_carry_their_size() {
        let a = test_png(40, 30, 1);
        let b = test_png(40, 30, 2);
        assert_ne!(a, b);
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&a[16..24], &[0, 0, 0, 40, 0, 0, 0, 30]);
    }

    #[test]
    fn subjects_are_rgba_on_transparency_or_rgb_on_a_flat_colour() {
        let clear = subject_png(60, 40, None, None);
        let keyed = subject_png(60, 40, Some([0, 255, 0]), None);
        assert_eq!((clear[25], keyed[25]), (6, 2));
        assert_eq!(png_size(&clear), Some((60, 40)));
        // The first pixel: after the signature and IHDR (33), the IDAT length and type (8), the zlib
        // header (2), the stored block header (5) and the scanline's filter byte (1).
        assert_eq!(&clear[49..53], &[0, 0, 0, 0]);
        assert_eq!(&keyed[49..52], &[0, 255, 0]);
        assert_ne!(
            subject_png(8, 8, None, Some("a")),
            subject_png(8, 8, None, Some("b"))
        );
    }

    #[test]
    fn the_comment_is_a_text_chunk_after_ihdr() {
        let png = encode_rgb(1, 1, &[1, 2, 3], Some("thread t-1"));
        // Signature (8) + IHDR (4 + 4 + 13 + 4) = 33, then the tEXt chunk.
        assert_eq!(&png[37..41], b"tEXt");
        assert_eq!(&png[41..59], b"Comment\0thread t-1");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
    }

    #[test]
    fn large_images_span_several_stored_blocks() {
        // 200x200 RGB is 120 200 bytes of scanlines: two stored blocks.
        let png = test_png(200, 200, 3);
        let idat = png.windows(4).position(|w| w == b"IDAT").expect("IDAT");
        let len = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
        assert_eq!(len, 2 + 2 * 5 + 200 * 601 + 4);
    }
}
