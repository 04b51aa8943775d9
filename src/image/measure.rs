//! Width and height read straight from an image's header, by hand. Only the few bytes that hold the size
//! are parsed, so this is cheap and needs no image decoder; it vouches for the header, not for the pixel
//! data after it. Every read is bounds-checked: input that ends early is [`ImageError::Truncated`], input
//! that breaks the format's rules is [`ImageError::Malformed`], and no input makes it panic.

use super::sniff::{JPEG_SOI, PNG_SIGNATURE};
use super::{ImageError, ImageFormat};

/// The `(width, height)` in pixels of an image already known to be `format`.
pub fn dimensions(format: ImageFormat, bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let header = Header { format, bytes };
    match format {
        ImageFormat::Png => header.png(),
        ImageFormat::Jpeg => header.jpeg(),
        ImageFormat::Webp => header.webp(),
        ImageFormat::Gif => header.gif(),
    }
}

/// The bytes under inspection, tagged with the format so every failed read can name it.
struct Header<'a> {
    format: ImageFormat,
    bytes: &'a [u8],
}

impl Header<'_> {
    fn truncated(&self) -> ImageError {
        ImageError::Truncated {
            format: self.format,
        }
    }

    fn malformed(&self, reason: &'static str) -> ImageError {
        ImageError::Malformed {
            format: self.format,
            reason,
        }
    }

    /// `N` bytes at `at`, or `Truncated` when the data ends first.
    fn read<const N: usize>(&self, at: usize) -> Result<[u8; N], ImageError> {
        let end = at.checked_add(N).ok_or_else(|| self.truncated())?;
        let slice = self.bytes.get(at..end).ok_or_else(|| self.truncated())?;
        <[u8; N]>::try_from(slice).map_err(|_| self.truncated())
    }

    fn byte(&self, at: usize) -> Result<u8, ImageError> {
        self.read::<1>(at).map(|[b]| b)
    }

    fn be16(&self, at: usize) -> Result<u16, ImageError> {
        self.read(at).map(u16::from_be_bytes)
    }

    fn le16(&self, at: usize) -> Result<u16, ImageError> {
        self.read(at).map(u16::from_le_bytes)
    }

    fn le24(&self, at: usize) -> Result<u32, ImageError> {
        self.read::<3>(at)
            .map(|[a, b, c]| u32::from_le_bytes([a, b, c, 0]))
    }

    fn le32(&self, at: usize) -> Result<u32, ImageError> {
        self.read(at).map(u32::from_le_bytes)
    }

    fn be32(&self, at: usize) -> Result<u32, ImageError> {
        self.read(at).map(u32::from_be_bytes)
    }

    /// Checks the leading magic. A short input that agrees with the magic so far is only truncated;
    /// one that disagrees is not this format at all.
    fn expect_magic(&self, magic: &[u8], reason: &'static str) -> Result<(), ImageError> {
        if self.bytes.starts_with(magic) {
            Ok(())
        } else if magic.starts_with(self.bytes) {
            Err(self.truncated())
        } else {
            Err(self.malformed(reason))
        }
    }

    fn nonzero(
        &self,
        width: u32,
        height: u32,
        reason: &'static str,
    ) -> Result<(u32, u32), ImageError> {
        if width == 0 || height == 0 {
            Err(self.malformed(reason))
        } else {
            Ok((width, height))
        }
    }

    /// PNG: the signature, then IHDR, which the spec requires to be the first chunk and 13 bytes long.
    fn png(&self) -> Result<(u32, u32), ImageError> {
        self.expect_magic(PNG_SIGNATURE, "missing PNG signature")?;
        let length = self.be32(8)?;
        if self.read::<4>(12)? != *b"IHDR" {
            return Err(self.malformed("first chunk is not IHDR"));
        }
        if length != 13 {
            return Err(self.malformed("IHDR chunk length is not 13"));
        }
        let (width, height) = (self.be32(16)?, self.be32(20)?);
        // The rest of IHDR and its CRC must be present too, or the header itself is cut short.
        self.read::<9>(24)?;
        if width > i32::MAX as u32 || height > i32::MAX as u32 {
            return Err(self.malformed("IHDR size exceeds 2^31-1"));
        }
        self.nonzero(width, height, "IHDR width or height is zero")
    }

    /// JPEG: walk the marker segments after SOI until a start-of-frame, which holds the size.
    fn jpeg(&self) -> Result<(u32, u32), ImageError> {
        self.expect_magic(JPEG_SOI, "missing JPEG start-of-image marker")?;
        let mut at = JPEG_SOI.len();
        loop {
            if self.byte(at)? != 0xFF {
                return Err(self.malformed("expected a marker between segments"));
            }
            // Any number of 0xFF fill bytes may precede the marker code.
            while self.byte(at)? == 0xFF {
                at += 1;
            }
            let marker = self.byte(at)?;
            at += 1;
            match marker {
                0x00 => return Err(self.malformed("stuffed zero byte outside entropy-coded data")),
                // TEM, RSTn and a repeated SOI carry no length field.
                0x01 | 0xD0..=0xD8 => continue,
                0xD9 => return Err(self.malformed("image ends before any frame header")),
                0xDA => return Err(self.malformed("scan starts before any frame header")),
                _ => {}
            }
            let length = usize::from(self.be16(at)?);
            if length < 2 {
                return Err(self.malformed("segment length is below 2"));
            }
            // SOF0..SOF15; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frame headers.
            if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                if length < 8 {
                    return Err(self.malformed("frame header is shorter than 8 bytes"));
                }
                let height = u32::from(self.be16(at + 3)?);
                let width = u32::from(self.be16(at + 5)?);
                return self.nonzero(width, height, "frame header width or height is zero");
            }
            at += length;
        }
    }

    /// WebP: the RIFF container, then the first chunk, which is a simple lossy (`VP8 `), simple lossless
    /// (`VP8L`) or extended (`VP8X`) header.
    fn webp(&self) -> Result<(u32, u32), ImageError> {
        self.expect_magic(b"RIFF", "missing RIFF header")?;
        if self.read::<4>(8)? != *b"WEBP" {
            return Err(self.malformed("RIFF form type is not WEBP"));
        }
        const DATA: usize = 20;
        match &self.read::<4>(12)? {
            b"VP8 " => {
                let tag = self.byte(DATA)?;
                if self.read::<3>(DATA + 3)? != [0x9D, 0x01, 0x2A] {
                    return Err(self.malformed("VP8 start code is missing"));
                }
                if tag & 1 != 0 {
                    return Err(self.malformed("VP8 bitstream does not start with a key frame"));
                }
                // The top two bits of each field are an upscaling hint, not part of the size.
                let width = u32::from(self.le16(DATA + 6)? & 0x3FFF);
                let height = u32::from(self.le16(DATA + 8)? & 0x3FFF);
                self.nonzero(width, height, "VP8 width or height is zero")
            }
            b"VP8L" => {
                if self.byte(DATA)? != 0x2F {
                    return Err(self.malformed("VP8L signature byte is not 0x2F"));
                }
                let bits = self.le32(DATA + 1)?;
                if bits >> 29 != 0 {
                    return Err(self.malformed("VP8L version is not 0"));
                }
                Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => Ok((self.le24(DATA + 4)? + 1, self.le24(DATA + 7)? + 1)),
            _ => Err(self.malformed("first chunk is not VP8, VP8L or VP8X")),
        }
    }

    /// GIF: the logical screen descriptor right after the six-byte signature.
    fn gif(&self) -> Result<(u32, u32), ImageError> {
        let magic: &[u8] = if self.bytes.get(4) == Some(&b'7') {
            b"GIF87a"
        } else {
            b"GIF89a"
        };
        self.expect_magic(magic, "missing GIF87a or GIF89a signature")?;
        let width = u32::from(self.le16(6)?);
        let height = u32::from(self.le16(8)?);
        self.nonzero(width, height, "logical screen width or height is zero")
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use pretty_assertions::assert_eq;

    fn valid_images() -> Vec<(ImageFormat, Vec<u8>, (u32, u32))> {
        vec![
            (ImageFormat::Png, fixtures::png(1, 1), (1, 1)),
            (ImageFormat::Png, fixtures::png(300, 7), (300, 7)),
            (
                ImageFormat::Jpeg,
                fixtures::jpeg(0xC0, 640, 480),
                (640, 480),
            ),
            (
                ImageFormat::Jpeg,
                fixtures::jpeg(0xC2, 1, 65535),
                (1, 65535),
            ),
            (ImageFormat::Jpeg, fixtures::jpeg(0xCF, 17, 3), (17, 3)),
            (
                ImageFormat::Webp,
                fixtures::webp_vp8(1024, 768 | 0xC000),
                (1024, 768),
            ),
            (ImageFormat::Webp, fixtures::webp_vp8l(16384, 1), (16384, 1)),
            (
                ImageFormat::Webp,
                fixtures::webp_vp8x(1 << 24, 5),
                (1 << 24, 5),
            ),
            (ImageFormat::Gif, fixtures::gif(320, 200), (320, 200)),
        ]
    }

    #[test]
    fn measures_valid_headers() {
        let images = valid_images();
        let got: Vec<_> = images
            .iter()
            .map(|(f, bytes, _)| dimensions(*f, bytes))
            .collect();
        let want: Vec<_> = images.iter().map(|(_, _, dims)| Ok(*dims)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn png_spanning_several_deflate_blocks_measures() {
        assert_eq!(
            dimensions(ImageFormat::Png, &fixtures::png(1024, 70)),
            Ok((1024, 70))
        );
    }

    /// Every prefix of a valid image is `Truncated` until the header is complete, and from then on
    /// measures to the full image's size.
    #[test]
    fn every_prefix_is_truncated_then_measures() {
        for (format, bytes, dims) in valid_images() {
            let results: Vec<_> = (0..=bytes.len())
                .map(|n| dimensions(format, &bytes[..n]))
                .collect();
            // With no Ok at all, 0 makes the expectation all-Ok, so the comparison fails loudly.
            let first_ok = results.iter().position(Result::is_ok).unwrap_or(0);
            let mut want = vec![Err(ImageError::Truncated { format }); first_ok];
            want.resize(results.len(), Ok(dims));
            assert_eq!(results, want, "{format} {dims:?}");
        }
    }

    /// Overwriting any single byte with a handful of values never panics (the result may be anything).
    #[test]
    fn single_byte_mutations_never_panic() {
        for (format, bytes, _) in valid_images() {
            for i in 0..bytes.len().min(200) {
                for value in [0x00, 0x01, 0x7F, 0xC0, 0xD9, 0xDA, 0xFF] {
                    let mut mutated = bytes.clone();
                    mutated[i] = value;
                    let _ = dimensions(format, &mutated);
                }
            }
        }
    }

    #[test]
    fn pseudo_random_garbage_never_panics() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for round in 0..2000 {
            let len = round % 64;
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            for format in [
                ImageFormat::Png,
                ImageFormat::Jpeg,
                ImageFormat::Webp,
                ImageFormat::Gif,
            ] {
                let _ = dimensions(format, &garbage);
                let mut framed = match format {
                    ImageFormat::Png => fixtures::png(1, 1)[..16].to_vec(),
                    ImageFormat::Jpeg => vec![0xFF, 0xD8],
                    ImageFormat::Webp => fixtures::webp_vp8x(1, 1)[..16].to_vec(),
                    ImageFormat::Gif => b"GIF89a".to_vec(),
                };
                framed.extend_from_slice(&garbage);
                let _ = dimensions(format, &framed);
            }
        }
    }

    fn malformed(format: ImageFormat, reason: &'static str) -> Result<(u32, u32), ImageError> {
        Err(ImageError::Malformed { format, reason })
    }

    #[test]
    fn png_header_violations_are_malformed() {
        let good = fixtures::png(2, 2);
        let with = |at: usize, new: &[u8]| {
            let mut bytes = good.clone();
            bytes[at..at + new.len()].copy_from_slice(new);
            dimensions(ImageFormat::Png, &bytes)
        };
        let png = ImageFormat::Png;
        assert_eq!(
            vec![
                with(0, b"\x89PNG\r\n\x1a\x0b"),
                with(12, b"IDAT"),
                with(8, &14u32.to_be_bytes()),
                with(16, &0u32.to_be_bytes()),
                with(20, &0x8000_0000u32.to_be_bytes()),
            ],
            vec![
                malformed(png, "missing PNG signature"),
                malformed(png, "first chunk is not IHDR"),
                malformed(png, "IHDR chunk length is not 13"),
                malformed(png, "IHDR width or height is zero"),
                malformed(png, "IHDR size exceeds 2^31-1"),
            ]
        );
    }

    #[test]
    fn jpeg_marker_walk_violations_are_malformed() {
        let jpeg = ImageFormat::Jpeg;
        let cases: Vec<&[u8]> = vec![
            b"\xff\xd8\xff\xd9",
            b"\xff\xd8\xff\xda\x00\x02",
            b"\xff\xd8\x12\x34",
            b"\xff\xd8\xff\x00",
            b"\xff\xd8\xff\xe0\x00\x01",
            b"\xff\xd8\xff\xc0\x00\x07\x08\x00\x01\x00\x01",
            b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x00\x00\x10",
            b"\xff\xd8\xff\xd0\xff\x01\xff\xd8\xff\xc1\x00\x08\x08\x00\x02\x00\x03",
        ];
        let got: Vec<_> = cases.iter().map(|bytes| dimensions(jpeg, bytes)).collect();
        assert_eq!(
            got,
            vec![
                malformed(jpeg, "image ends before any frame header"),
                malformed(jpeg, "scan starts before any frame header"),
                malformed(jpeg, "expected a marker between segments"),
                malformed(jpeg, "stuffed zero byte outside entropy-coded data"),
                malformed(jpeg, "segment length is below 2"),
                malformed(jpeg, "frame header is shorter than 8 bytes"),
                malformed(jpeg, "frame header width or height is zero"),
                Ok((3, 2)),
            ]
        );
    }

    #[test]
    fn webp_and_gif_violations_are_malformed() {
        let mut wave = fixtures::webp_vp8x(4, 4);
        wave[8..12].copy_from_slice(b"WAVE");
        let mut alph = fixtures::webp_vp8x(4, 4);
        alph[12..16].copy_from_slice(b"ALPH");
        let mut no_start_code = fixtures::webp_vp8(4, 4);
        no_start_code[23] = 0;
        let mut inter_frame = fixtures::webp_vp8(4, 4);
        inter_frame[20] |= 1;
        let mut lossless_sig = fixtures::webp_vp8l(4, 4);
        lossless_sig[20] = 0x2E;
        let mut lossless_version = fixtures::webp_vp8l(4, 4);
        lossless_version[24] |= 0x20;
        let (webp, gif) = (ImageFormat::Webp, ImageFormat::Gif);
        let got = vec![
            dimensions(webp, b"RIFX\0\0\0\0WEBPVP8X"),
            dimensions(webp, &wave),
            dimensions(webp, &alph),
            dimensions(webp, &no_start_code),
            dimensions(webp, &inter_frame),
            dimensions(webp, &fixtures::webp_vp8(0, 4)),
            dimensions(webp, &lossless_sig),
            dimensions(webp, &lossless_version),
            dimensions(gif, b"GIF90a\x01\x00\x01\x00"),
            dimensions(gif, &fixtures::gif(0, 9)),
            dimensions(gif, b"GIF87a\x02\x00\x03\x00"),
        ];
        assert_eq!(
            got,
            vec![
                malformed(webp, "missing RIFF header"),
                malformed(webp, "RIFF form type is not WEBP"),
                malformed(webp, "first chunk is not VP8, VP8L or VP8X"),
                malformed(webp, "VP8 start code is missing"),
                malformed(webp, "VP8 bitstream does not start with a key frame"),
                malformed(webp, "VP8 width or height is zero"),
                malformed(webp, "VP8L signature byte is not 0x2F"),
                malformed(webp, "VP8L version is not 0"),
                malformed(gif, "missing GIF87a or GIF89a signature"),
                malformed(gif, "logical screen width or height is zero"),
                Ok((2, 3)),
            ]
        );
    }

    #[test]
    fn wrong_format_is_malformed_not_truncated() {
        let png = fixtures::png(1, 1);
        assert_eq!(
            vec![
                dimensions(ImageFormat::Jpeg, &png),
                dimensions(ImageFormat::Gif, &png),
                dimensions(ImageFormat::Png, b"\x89PN"),
            ],
            vec![
                malformed(ImageFormat::Jpeg, "missing JPEG start-of-image marker"),
                malformed(ImageFormat::Gif, "missing GIF87a or GIF89a signature"),
                Err(ImageError::Truncated {
                    format: ImageFormat::Png
                }),
            ]
        );
    }
}
