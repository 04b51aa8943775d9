//! The images the fake hands out, and the byte encodings around them.
//!
//! Real Codex returns a PNG as base64 in the `imageGeneration` item and writes the same file under
//! `$CODEX_HOME/generated_images/`. The fake must do the same with bytes that a real decoder
//! accepts, so this module holds a deliberately tiny PNG encoder: one IHDR, one `tEXt` chunk naming
//! the thread, one IDAT made of *stored* (uncompressed) deflate blocks, and IEND, with the CRC-32
//! and Adler-32 checksums computed here. The pixels are derived from a hash of the thread id, and
//! the thread id is also written into the `tEXt` chunk, so two threads never get the same bytes.
//! Base64 encoding (the standard alphabet with padding, as Codex sends it) lives here too, because
//! it is the only other thing done to image bytes before they go on the wire.

/// Builds a valid `width`×`height` 8-bit RGB PNG whose pixels and text chunk depend on `seed`.
pub fn image_for(seed: &str, width: u32, height: u32) -> Vec<u8> {
    let h = fnv1a64(seed.as_bytes()).to_le_bytes();
    let (w, ht) = (width as usize, height as usize);
    // Red follows x, green follows y, blue mixes both; each starts from the seed's hash.
    let reds: Vec<u8> = (0..w)
        .map(|x| h[0].wrapping_add((x * 255 / w) as u8))
        .collect();
    let mut raw = vec![0u8; (w * 3 + 1) * ht];
    for (y, row) in raw.chunks_exact_mut(w * 3 + 1).enumerate() {
        // row[0] is the filter type: None.
        let green = h[1].wrapping_add((y * 255 / ht) as u8);
        for (x, pixel) in row[1..].chunks_exact_mut(3).enumerate() {
            pixel[0] = reds[x];
            pixel[1] = green;
            pixel[2] = h[2] ^ ((x + y) as u8).wrapping_mul(h[3] | 1);
        }
    }

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Depth 8, RGB, deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let mut text = b"Comment\0fake-app-server image for thread ".to_vec();
    text.extend_from_slice(seed.as_bytes());
    chunk(&mut png, b"tEXt", &text);
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
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn images_differ_by_seed() {
        let a = image_for("thread-a", 64, 48);
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_ne!(a, image_for("thread-b", 64, 48));
    }
}
