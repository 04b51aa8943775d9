//! A tiny PNG encoder for test images.
//!
//! The backend must serve a real PNG so that Codex (and codex-img behind it) accept the bytes, and
//! tests compare those exact bytes end to end. The image content only has to be valid and
//! distinguishable, so this writes an 8-bit RGB image with zlib "stored" (uncompressed) blocks and
//! hand-rolled CRC-32 and Adler-32, which keeps a whole image codec out of the dependency tree.

/// A `width`×`height` RGB PNG whose pixels are a pattern derived from `seed`, so different seeds
/// give different bytes.
pub fn test_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let width = width.max(1);
    let height = height.max(1);
    let mut raw = Vec::with_capacity((height as usize) * (1 + 3 * width as usize));
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let band = ((x / 8) + (y / 8) + seed) % 2 == 0;
            let r = (seed.wrapping_mul(97) % 256) as u8;
            let g = if band { 200 } else { (x * 255 / width) as u8 };
            let b = (y * 255 / height) as u8 ^ (seed as u8);
            raw.extend_from_slice(&[r, g, b]);
        }
    }

    let mut out = Vec::new();
    out.extend_from_slice(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, adaptive, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        out.push(u8::from(last));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_png_spec_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn images_differ_by_seed_and_carry_their_size() {
        let a = test_png(40, 30, 1);
        let b = test_png(40, 30, 2);
        assert_ne!(a, b);
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&a[16..24], &[0, 0, 0, 40, 0, 0, 0, 30]);
    }
}
