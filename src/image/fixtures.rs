//! Test images built by hand, so the tests need no binary files and no image crate: complete PNGs from
//! the workspace's test encoder (`tests/test-png`), and just enough of each other format's header for
//! measuring.

/// A complete, decodable PNG of `width` x `height` (the `test-png` encoder, shared by every test crate).
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    test_png::test_png(width, height, 0)
}

/// SOI, a JFIF APP0, a DHT whose bytes would read as a bogus size, the frame header `sof` (0xC0 baseline,
/// 0xC2 progressive, ...) preceded by fill bytes, a few entropy bytes and EOI.
pub(crate) fn jpeg(sof: u8, width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
    out.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    out.extend_from_slice(&[
        0xFF, 0xC4, 0x00, 0x09, 0x00, 0x7F, 0x7F, 0x7F, 0x7F, 0x00, 0x00,
    ]);
    out.extend_from_slice(&[0xFF, 0xFF, 0xFF, sof, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
    out
}

fn riff_webp(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut chunk = fourcc.to_vec();
    chunk.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    chunk.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        chunk.push(0);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + chunk.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunk);
    out
}

/// A simple lossy WebP: a key-frame VP8 header with the given 14-bit size.
pub(crate) fn webp_vp8(width: u16, height: u16) -> Vec<u8> {
    let mut payload = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
    payload.extend_from_slice(&width.to_le_bytes());
    payload.extend_from_slice(&height.to_le_bytes());
    payload.extend_from_slice(&[0xAB; 7]);
    riff_webp(b"VP8 ", &payload)
}

/// A simple lossless WebP: the VP8L signature and packed size fields, version 0, with alpha.
pub(crate) fn webp_vp8l(width: u32, height: u32) -> Vec<u8> {
    let bits = (width - 1) | ((height - 1) << 14) | (1 << 28);
    let mut payload = vec![0x2F];
    payload.extend_from_slice(&bits.to_le_bytes());
    payload.extend_from_slice(&[0xCD; 4]);
    riff_webp(b"VP8L", &payload)
}

/// An extended WebP: a VP8X header with a 24-bit canvas size (the image chunks after it are omitted).
pub(crate) fn webp_vp8x(width: u32, height: u32) -> Vec<u8> {
    let mut payload = vec![0x10, 0, 0, 0];
    payload.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    payload.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    riff_webp(b"VP8X", &payload)
}

/// A GIF89a header with the given logical screen size and an immediate trailer.
pub(crate) fn gif(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0x3B]);
    out
}
