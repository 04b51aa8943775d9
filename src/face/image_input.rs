//! Image inputs in the shapes hosts send them, turned into an [`ImageSource`] by one set of rules that
//! every face shares.
//!
//! Hosts hand over images as a `data:image/<type>;base64,<data>` URI (the OpenAI Images API's
//! `image_url`, Open Design's edits), as bare standard base64, or, where the face allows it, as a path.
//! Each face says which it got ([`ImageInput`]): text that may be any of them, a path, the image itself,
//! or bare base64. [`read`] accepts exactly those and refuses everything else with
//! `request/invalid_image`, naming the field: it never guesses. A `data:` URI must say `;base64` and name
//! an image type; base64 is the standard alphabet on one line (padding optional; a line break or a space
//! inside is refused, the strictest rule any face had) and must decode to bytes whose magic marks a PNG,
//! JPEG, WebP or GIF; a URL (`http:`, `https:`, `file:`, ...) is refused rather than fetched. Text is
//! read as a path only where the face allows paths ([`PathPolicy`]), only inside the root when there
//! is one, and only when it is not an image in base64. The type a `data:` URI declares is a claim: the
//! format is decided by the decoded bytes, and the library checks them again before anything reaches
//! Codex. Nothing here spends quota.

use std::path::PathBuf;

use base64::Engine as _;

use crate::face::root::Root;
use crate::image;
use crate::types::error::Error;
use crate::types::limits::MAX_IMAGE_BYTES;
use crate::types::request::ImageSource;

/// An input image as a face received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageInput {
    /// A path, a data URI or base64: the shared rules tell which (the MCP server's strings, the Images
    /// API's multipart parts).
    Text(String),
    /// A file path, never read as base64 (the CLI's `--image`, `{"path": ...}` on the bridge and MCP).
    Path(PathBuf),
    /// The image itself, a data URI or base64, never a path (MCP's `data`, `b64_json`, `url`).
    Inline(String),
    /// Bare standard base64, never a data URI (the bridge's `{"base64": ...}`).
    Base64(String),
}

/// Whether a host may name an image by path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PathPolicy<'a> {
    /// Only `data:` URIs and base64 (the Images API without a root).
    Refuse,
    /// Also paths, confined to this root.
    Under(&'a Root),
    /// Also paths, anywhere this process may read (a face run by its own user, without a root).
    Anywhere,
}

/// The longest base64 text accepted: a [`MAX_IMAGE_BYTES`] image and its padding.
const MAX_BASE64_CHARS: usize = MAX_IMAGE_BYTES / 3 * 4 + 4;

/// Reads one input image. `which` names it in errors (`images[0].image_url`, `input image`).
pub(crate) fn read(
    input: ImageInput,
    which: &str,
    paths: PathPolicy<'_>,
) -> Result<ImageSource, Error> {
    let invalid = |reason: String| Error::InvalidImage {
        which: which.to_owned(),
        reason,
    };
    match input {
        ImageInput::Text(text) => parse(&text, which, paths),
        ImageInput::Inline(text) => parse(&text, which, PathPolicy::Refuse),
        ImageInput::Path(file) => match (file.to_str(), paths) {
            (Some(text), _) => path(text.trim(), which, paths),
            // Only a root reads paths as text; elsewhere the OS takes any path.
            (None, PathPolicy::Anywhere) => Ok(ImageSource::Path(file)),
            (None, _) => Err(invalid("the path is not valid UTF-8".to_owned())),
        },
        ImageInput::Base64(text) => {
            let text = text.trim();
            if strip_prefix_ignore_case(text, "data:").is_some() {
                return Err(invalid(
                    "`base64` holds bare base64, not a data: URI; send the part after the comma"
                        .to_owned(),
                ));
            }
            let bytes = decode_base64(text).map_err(invalid)?;
            if image::sniff(&bytes).is_none() {
                return Err(invalid(
                    "its base64 does not decode to a PNG, JPEG, WebP or GIF image".to_owned(),
                ));
            }
            Ok(ImageSource::Bytes(bytes))
        }
    }
}

/// A path under `paths`.
fn path(raw: &str, which: &str, paths: PathPolicy<'_>) -> Result<ImageSource, Error> {
    let invalid = |reason: &str| Error::InvalidImage {
        which: which.to_owned(),
        reason: reason.to_owned(),
    };
    match paths {
        PathPolicy::Refuse => Err(invalid(
            "paths are not accepted here; send the image itself as a data:image/...;base64,... URI",
        )),
        PathPolicy::Under(root) => root.input_image(raw, which).map(ImageSource::Path),
        PathPolicy::Anywhere if raw.is_empty() => Err(invalid(
            "it is empty; give the path of an image file, or the image as a data:image/...;base64,... URI",
        )),
        PathPolicy::Anywhere => Ok(ImageSource::Path(PathBuf::from(raw))),
    }
}

/// Reads text that may be a data URI, base64 or (where allowed) a path.
pub(crate) fn parse(raw: &str, which: &str, paths: PathPolicy<'_>) -> Result<ImageSource, Error> {
    let invalid = |reason: String| Error::InvalidImage {
        which: which.to_owned(),
        reason,
    };
    let text = raw.trim();
    if text.is_empty() {
        return match paths {
            PathPolicy::Refuse => Err(invalid(
                "it is empty; send a data:image/...;base64,... URI".to_owned(),
            )),
            _ => path(text, which, paths),
        };
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
        Err(reason) if matches!(paths, PathPolicy::Refuse) && looks_like_base64(text) => {
            return Err(invalid(reason))
        }
        _ => {}
    }
    match paths {
        PathPolicy::Refuse => Err(invalid(
            "it is neither a data:image/...;base64,... URI nor base64; paths are not accepted here"
                .to_owned(),
        )),
        _ => path(text, which, paths),
    }
}

/// Text made of base64's alphabet and whitespace only, as base64 with line breaks would be.
fn looks_like_base64(text: &str) -> bool {
    text.len() >= 16
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b) || b.is_ascii_whitespace())
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

/// Standard base64 on one line, padding optional; bounded before it is decoded.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    if text.len() > MAX_BASE64_CHARS {
        return Err(format!(
            "it has {} characters of base64, more than a {MAX_IMAGE_BYTES}-byte image needs",
            text.len()
        ));
    }
    if text.is_empty() {
        return Err("its data is empty".to_owned());
    }
    if let Some(at) = text.bytes().position(|b| b.is_ascii_whitespace()) {
        return Err(format!(
            "its base64 has a line break or a space (at character {}); send it on one line",
            at + 1
        ));
    }
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
    .decode(text)
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
        for raw in [
            format!("data:image/png;base64,{encoded}"),
            format!("DATA:Image/PNG;base64,{encoded}"),
            // The declared type is a claim; the bytes decide.
            format!("data:image/jpeg;base64,{encoded}"),
            format!("data:image/png;charset=x;base64,{unpadded}"),
            format!("  {encoded}\n"),
            unpadded.clone(),
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
    fn base64_with_a_line_break_inside_is_refused_on_every_path() {
        let encoded = b64(&png());
        let wrapped = format!("{}\n{}", &encoded[..10], &encoded[10..]);
        let want = Err(
            "image: its base64 has a line break or a space (at character 11); send it on one line"
                .to_owned(),
        );
        assert_eq!(reason(parse(&wrapped, "image", PathPolicy::Refuse)), want);
        assert_eq!(
            reason(parse(
                &format!("data:image/png;base64,{wrapped}"),
                "image",
                PathPolicy::Refuse
            )),
            want
        );
        assert_eq!(
            reason(read(
                ImageInput::Base64(wrapped),
                "image",
                PathPolicy::Anywhere
            )),
            want
        );
    }

    #[test]
    fn each_kind_of_input_takes_only_its_own_shapes() {
        let encoded = b64(&png());
        let uri = format!("data:image/png;base64,{encoded}");
        let bytes = Ok(ImageSource::Bytes(png()));
        let kinds = |input: ImageInput| reason(read(input, "image", PathPolicy::Anywhere));
        assert_eq!(kinds(ImageInput::Base64(encoded.clone())), bytes);
        assert_eq!(
            kinds(ImageInput::Base64(uri.clone())),
            Err(
                "image: `base64` holds bare base64, not a data: URI; send the part after the comma"
                    .to_owned()
            )
        );
        assert_eq!(kinds(ImageInput::Inline(uri.clone())), bytes);
        assert_eq!(kinds(ImageInput::Text(uri)), bytes);
        assert_eq!(
            kinds(ImageInput::Inline("cat.png".into())),
            Err("image: it is neither a data:image/...;base64,... URI nor base64; paths are not accepted here".to_owned())
        );
        assert_eq!(
            kinds(ImageInput::Path(encoded.clone().into())),
            Ok(ImageSource::Path(PathBuf::from(encoded)))
        );
        assert_eq!(
            kinds(ImageInput::Text("cat.png".into())),
            Ok(ImageSource::Path(PathBuf::from("cat.png")))
        );
        assert_eq!(
            kinds(ImageInput::Path("  ".into())),
            Err("image: it is empty; give the path of an image file, or the image as a data:image/...;base64,... URI".to_owned())
        );
        assert_eq!(
            reason(read(ImageInput::Path("cat.png".into()), "image", PathPolicy::Refuse)),
            Err("image: paths are not accepted here; send the image itself as a data:image/...;base64,... URI".to_owned())
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
