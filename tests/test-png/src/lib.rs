//! A tiny PNG encoder for codex-img's tests, shared by every test crate.
//!
//! The tests need PNGs that a real decoder accepts (Codex and codex-img check them) and that differ
//! from one another, never a whole image codec. So this writes 8-bit RGB images: one IHDR, an optional
//! `tEXt` chunk, one IDAT of *stored* (uncompressed) deflate blocks, and IEND, with CRC-32 and Adler-32
//! computed here. [`encode_rgb`] is the encoder; [`test_png`] is the seeded pattern most tests use.

/// A `width`×`height` RGB PNG whose pixels are a pattern derived from `seed`, so different seeds give
/// different bytes. A zero width or height is taken as 1.
pub fn test_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let (width, height) = (width.max(1), height.max(1));
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let band = ((x / 8) + (y / 8) + seed) % 2 == 0;
            let r = (seed.wrapping_mul(97) % 256) as u8;
            let g = if band { 200 } else { (x * 255 / width) as u8 };
            let b = (y * 255 / height) as u8 ^ (seed as u8);
            rgb.extend_from_slice(&[r, g, b]);
        }
    }
    encode_rgb(width, height, &rgb, None)
}

/// Encodes `rgb` (row-major, 3 bytes a pixel, `width * height * 3` bytes) as an 8-bit RGB PNG, with a
/// `tEXt` chunk `Comment` holding `comment` when one is given.
///
/// # Panics
/// If `rgb` does not hold exactly `width * height` pixels: a caller's bug, in test code.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8], comment: Option<&str>) -> Vec<u8> {
    let row = width as usize * 3;
    assert_eq!(
        rgb.len(),
        row * height as usize,
        "encode_rgb: {width}x{height} RGB needs {} bytes",
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
    // Depth 8, RGB, deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
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
