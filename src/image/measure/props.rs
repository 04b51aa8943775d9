//! Property tests of sniffing and measuring: no bytes, whole or cut short, make them panic, and the size
//! written into a generated header of each format is the size read back, with every shorter prefix of
//! the header `Truncated`.

use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::super::{fixtures, inspect, sniff, ImageError, ImageFormat, ImageInfo};
use super::dimensions;

const FORMATS: [ImageFormat; 4] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Webp,
    ImageFormat::Gif,
];

/// A PNG signature and IHDR (with a CRC the measurer does not check): all the header there is.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(b"IHDR");
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[8, 6, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]);
    out
}

/// A header of `format` declaring `width` x `height`, from sizes that format can hold.
fn generated() -> impl Strategy<Value = (ImageFormat, Vec<u8>, (u32, u32))> {
    let png = (1u32..=i32::MAX as u32, 1u32..=i32::MAX as u32)
        .prop_map(|(w, h)| (ImageFormat::Png, png_header(w, h), (w, h)));
    let jpeg = (
        prop::sample::select(vec![0xC0u8, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCF]),
        1u16..,
        1u16..,
    )
        .prop_map(|(sof, w, h)| {
            (
                ImageFormat::Jpeg,
                fixtures::jpeg(sof, w, h),
                (u32::from(w), u32::from(h)),
            )
        });
    let vp8 = (1u16..0x4000, 1u16..0x4000, 0u16..4, 0u16..4).prop_map(|(w, h, sw, sh)| {
        // The top two bits are a scaling hint and must not leak into the size.
        (
            ImageFormat::Webp,
            fixtures::webp_vp8(w | sw << 14, h | sh << 14),
            (u32::from(w), u32::from(h)),
        )
    });
    let vp8l = (1u32..=0x4000, 1u32..=0x4000)
        .prop_map(|(w, h)| (ImageFormat::Webp, fixtures::webp_vp8l(w, h), (w, h)));
    let vp8x = (1u32..=1 << 24, 1u32..=1 << 24)
        .prop_map(|(w, h)| (ImageFormat::Webp, fixtures::webp_vp8x(w, h), (w, h)));
    let gif = (1u16.., 1u16..).prop_map(|(w, h)| {
        (
            ImageFormat::Gif,
            fixtures::gif(w, h),
            (u32::from(w), u32::from(h)),
        )
    });
    prop_oneof![png, jpeg, vp8, vp8l, vp8x, gif]
}

/// Each format's leading bytes, so arbitrary tails reach past the magic into the header parsers.
fn magic() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        b"\x89PNG\r\n\x1a\n".to_vec(),
        png_header(1, 1)[..16].to_vec(),
        b"\xff\xd8\xff".to_vec(),
        b"\xff\xd8".to_vec(),
        b"GIF87a".to_vec(),
        b"GIF89a".to_vec(),
        b"RIFF\0\0\0\0WEBP".to_vec(),
        b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
        b"RIFF\0\0\0\0WEBPVP8L".to_vec(),
        b"RIFF\0\0\0\0WEBPVP8X".to_vec(),
        Vec::new(),
    ])
}

proptest! {
    /// Arbitrary bytes after any format's magic: `inspect` and every format's `dimensions` return,
    /// and `inspect` agrees with sniffing then measuring.
    #[test]
    fn arbitrary_bytes_never_panic(
        head in magic(),
        tail in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let mut bytes = head;
        bytes.extend_from_slice(&tail);
        for format in FORMATS {
            let _ = dimensions(format, &bytes);
        }
        let want = match sniff(&bytes) {
            None => Err(ImageError::Unrecognized),
            Some(format) => dimensions(format, &bytes).map(|(width, height)| ImageInfo {
                format,
                width,
                height,
            }),
        };
        prop_assert_eq!(inspect(&bytes), want);
    }

    /// A generated header measures to the size written into it, and is sniffed as its own format.
    #[test]
    fn generated_headers_round_trip((format, bytes, size) in generated()) {
        prop_assert_eq!(sniff(&bytes), Some(format));
        prop_assert_eq!(
            inspect(&bytes),
            Ok(ImageInfo { format, width: size.0, height: size.1 })
        );
    }

    /// Cut anywhere: `Truncated` (or `Unrecognized`, before the magic is whole) until the header is
    /// complete, then the full size; never another error and never a panic.
    #[test]
    fn truncated_headers_are_truncated((format, bytes, size) in generated(), at in any::<usize>()) {
        let n = at % (bytes.len() + 1);
        let got = dimensions(format, &bytes[..n]);
        prop_assert!(
            got == Err(ImageError::Truncated { format }) || got == Ok(size),
            "{:?} at {} of {}",
            got,
            n,
            bytes.len()
        );
        let whole_from = (0..=bytes.len())
            .find(|&k| dimensions(format, &bytes[..k]).is_ok())
            .unwrap_or(usize::MAX);
        prop_assert_eq!(got.is_ok(), n >= whole_from);
        let sniffed = inspect(&bytes[..n]);
        prop_assert!(
            sniffed.is_ok() || matches!(sniffed, Err(ImageError::Unrecognized | ImageError::Truncated { .. })),
            "{:?}",
            sniffed
        );
    }
}

/// The round trip reaches the extremes of each format's size fields.
#[test]
fn largest_sizes_round_trip() {
    let got: Vec<_> = [
        png_header(i32::MAX as u32, 1),
        fixtures::jpeg(0xC0, u16::MAX, u16::MAX),
        fixtures::webp_vp8(0x3FFF, 0x3FFF),
        fixtures::webp_vp8x(1 << 24, 1 << 24),
        fixtures::gif(u16::MAX, u16::MAX),
    ]
    .iter()
    .map(|b| inspect(b).map(|i| (i.width, i.height)))
    .collect();
    assert_eq!(
        got,
        vec![
            Ok((i32::MAX as u32, 1)),
            Ok((65535, 65535)),
            Ok((16383, 16383)),
            Ok((1 << 24, 1 << 24)),
            Ok((65535, 65535)),
        ]
    );
}
