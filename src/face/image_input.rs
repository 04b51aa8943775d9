//! Image inputs in the shapes hosts send them, turned into an [`ImageSource`] by one set of rules that
//! every face shares.
//!
//! Hosts hand over images as a `data:image/<type>;base64,<data>` URI (the OpenAI Images API's
//! `image_url`, Open Design's edits), as bare standard base64, or, where the face allows it, as a path.
//! [`parse`] accepts exactly those and refuses everything else with `request/invalid_image`, naming the
//! field: it never guesses. A `data:` URI must say `;base64` and name an image type; base64 is the
//! standard alphabet (padding optional, ASCII whitespace ignored, as MIME allows) and must decode to
//! bytes whose magic marks a PNG, JPEG, WebP or GIF; a URL (`http:`, `https:`, `file:`, ...) is refused
//! rather than fetched. A string is read as a path only when the caller passed
//! [`PathPolicy::Under`], and then only inside that root, and only when it is not an image in base64.
//! The type a `data:` URI declares is a claim: the format is decided by the decoded bytes, and the
//! library checks them again before anything reaches Codex. Nothing here spends quota.

use base64::Engine as _;

use crate::face::root::Root;
use crate::image;
use crate::types::error::Error;
use crate::types::limits::MAX_IMAGE_BYTES;
use crate::types::request::ImageSource;

/// Whether a host may name an image by path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PathPolicy<'a> {
    /// Only `data:` URIs and base64 (network faces).
    Refuse,
    /// Also paths, confined to this root.
    Under(&'a Root),
}

/// The longest base64 text accepted: a [`MAX_IMAGE_BYTES`] image, plus line breaks and padding.
const MAX_BASE64_CHARS: usize = MAX_IMAGE_BYTES / 3 * 4 + 4 + MAX_IMAGE_BYTES / 38;

/// Reads one host-supplied image. `which` names it in errors (`images[0].image_url`, `image`).
pub(crate) fn parse(raw: &str, which: &str, paths: PathPolicy<'_>) -> Result<ImageSource, Error> {
    let invalid = |reason: String| Error::InvalidImage {
        which: which.to_owned(),
        reason,
    };
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid(
            "it is empty; send a data:image/...;base64,... URI".to_owned(),
        ));
    }
    if let Some(rest) = strip_prefix_ignore_case(text, "data:") {
        return data_uri(rest).map(ImageSource::Bytes).map_err(invalid);
    }
    if let Some(scheme) = url_scheme(text) {
        return Err(invalid(format!(
            "`{scheme}:` URLs are not fetched; send the image itself as a data:image/...;base64,... URI"
        )));
    }
    match decode_base64(text) {
        Ok(bytes) if image::sniff(&bytes).is_some() => return Ok(ImageSource::Bytes(bytes)),
        Ok(_) if matches!(paths, PathPolicy::Refuse) => {
            return Err(invalid(
                "its base64 does not decode to a PNG, JPEG, WebP or GIF image".to_owned(),
            ))
        }
        _ => {}
    }
    match paths {
        PathPolicy::Refuse => Err(invalid(
            "it is neither a data:image/...;base64,... URI nor base64; paths are not accepted here"
                .to_owned(),
        )),
        PathPolicy::Under(root) => root.input_image(text, which).map(ImageSource::Path),
    }
}

/// The bytes of `data:` URI text after the scheme.
fn data_uri(rest: &str) -> Result<Vec<u8>, String> {
    let Some((meta, payload)) = rest.split_once(',') else {
        return Err("the data: URI has no `,` before its data".to_owned());
    };
    let mut parts = meta.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    let base64 = parts.any(|p| p.eq_ignore_ascii_case("base64"));
    if !matches!(
        media.as_str(),
        "image/png" | "image/jpeg" | "image/jpg" | "image/webp" | "image/gif"
    ) {
        let shown = if media.is_empty() { "none" } else { &media };
        return Err(format!(
            "the data: URI's media type is {shown}; use image/png, image/jpeg, image/webp or image/gif"
        ));
    }
    if !base64 {
        return Err(
            "the data: URI is not base64; write it as data:image/png;base64,...".to_owned(),
        );
    }
    let bytes = decode_base64(payload)?;
    if image::sniff(&bytes).is_none() {
        return Err(format!(
            "the data: URI says {media}, but its bytes are not a PNG, JPEG, WebP or GIF image"
        ));
    }
    Ok(bytes)
}

/// Standard base64, padding optional, ASCII whitespace ignored; bounded before it is decoded.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    if text.len() > MAX_BASE64_CHARS {
        return Err(format!(
            "it has {} characters of base64, more than a {MAX_IMAGE_BYTES}-byte image needs",
            text.len()
        ));
    }
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err("its data is empty".to_owned());
    }
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
    .decode(&compact)
    .map_err(|e| format!("its data is not valid base64 ({e})"))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The scheme of `scheme://...` text: two or more letters (so `C:\x` is not one), then `://`.
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let ok = scheme.len() >= 2
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A 1x1 PNG (signature, IHDR); enough for the magic-byte check.
    fn png() -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn reason(result: Result<ImageSource, Error>) -> Result<ImageSource, String> {
        result.map_err(|e| match e {
            Error::InvalidImage { which, reason } => format!("{which}: {reason}"),
            other => format!("wrong error {}: {other}", other.code()),
        })
    }

    #[test]
    fn accepted_shapes_give_the_decoded_bytes() {
        let png = png();
        let encoded = b64(&png);
        let unpadded = encoded.trim_end_matches('=').to_owned();
        let wrapped = format!("{}\n{}", &encoded[..10], &encoded[10..]);
        for raw in [
            format!("data:image/png;base64,{encoded}"),
            format!("DATA:Image/PNG;base64,{encoded}"),
            // The declared type is a claim; the bytes decide.
            format!("data:image/jpeg;base64,{encoded}"),
            format!("data:image/png;charset=x;base64,{unpadded}"),
            format!("  {encoded}\n"),
            unpadded.clone(),
            wrapped,
        ] {
            assert_eq!(
                reason(parse(&raw, "image", PathPolicy::Refuse)),
                Ok(ImageSource::Bytes(png.clone())),
                "{raw}"
            );
        }
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        let png = b64(&png());
        let text = b64(b"hello, not an image");
        let cases = [
            ("", "image: it is empty; send a data:image/...;base64,... URI"),
            (
                "data:text/plain;base64,aGVsbG8=",
                "image: the data: URI's media type is text/plain; use image/png, image/jpeg, image/webp or image/gif",
            ),
            (
                "data:;base64,aGVsbG8=",
                "image: the data: URI's media type is none; use image/png, image/jpeg, image/webp or image/gif",
            ),
            (
                "data:image/png,rawbytes",
                "image: the data: URI is not base64; write it as data:image/png;base64,...",
            ),
            ("data:image/png;base64", "image: the data: URI has no `,` before its data"),
            ("data:image/png;base64,", "image: its data is empty"),
            (
                "https://example.com/cat.png",
                "image: `https:` URLs are not fetched; send the image itself as a data:image/...;base64,... URI",
            ),
            (
                "file:///etc/passwd",
                "image: `file:` URLs are not fetched; send the image itself as a data:image/...;base64,... URI",
            ),
            (
                "/etc/passwd",
                "image: it is neither a data:image/...;base64,... URI nor base64; paths are not accepted here",
            ),
            (
                "cat.png",
                "image: it is neither a data:image/...;base64,... URI nor base64; paths are not accepted here",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                reason(parse(raw, "image", PathPolicy::Refuse)),
                Err(expected.to_owned()),
                "{raw}"
            );
        }
        assert_eq!(
            reason(parse(&text, "images[1]", PathPolicy::Refuse)),
            Err(
                "images[1]: its base64 does not decode to a PNG, JPEG, WebP or GIF image"
                    .to_owned()
            )
        );
        assert_eq!(
            reason(parse(
                &format!("data:image/png;base64,{text}"),
                "images[0].image_url",
                PathPolicy::Refuse
            )),
            Err("images[0].image_url: the data: URI says image/png, but its bytes are not a PNG, JPEG, WebP or GIF image".to_owned())
        );
        let bad = reason(parse(
            &format!("data:image/png;base64,{}!", &png[..8]),
            "image",
            PathPolicy::Refuse,
        ));
        assert!(
            bad.as_ref()
                .is_err_and(|e| e.starts_with("image: its data is not valid base64")),
            "{bad:?}"
        );
    }

    #[test]
    fn oversized_base64_is_refused_before_decoding() {
        let huge = "A".repeat(MAX_BASE64_CHARS + 1);
        let got = reason(parse(
            &format!("data:image/png;base64,{huge}"),
            "image",
            PathPolicy::Refuse,
        ));
        assert_eq!(
            got,
            Err(format!(
                "image: it has {} characters of base64, more than a {MAX_IMAGE_BYTES}-byte image needs",
                huge.len()
            ))
        );
    }

    #[test]
    fn paths_only_under_a_root_and_never_outside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root_dir = dir.path().join("root");
        std::fs::create_dir_all(&root_dir).expect("mkdir");
        std::fs::write(root_dir.join("in.png"), png()).expect("write");
        let root = Root::new(&root_dir).expect("root");
        let canonical = root_dir.canonicalize().expect("canonical");
        assert_eq!(
            reason(parse("in.png", "image", PathPolicy::Under(&root))),
            Ok(ImageSource::Path(canonical.join("in.png")))
        );
        assert!(parse("../in.png", "image", PathPolicy::Under(&root)).is_err());
        assert!(parse("/etc/passwd", "image", PathPolicy::Under(&root)).is_err());
        // Base64 of an image stays bytes even where paths are allowed.
        assert_eq!(
            reason(parse(&b64(&png()), "image", PathPolicy::Under(&root))),
            Ok(ImageSource::Bytes(png()))
        );
    }
}
