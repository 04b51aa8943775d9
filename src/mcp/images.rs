//! The `image` and `references` arguments of `generate_image`: what an agent may pass for an input
//! image, and which [`ImageInput`] of the shared vocabulary it is.
//!
//! An image is a string or an object. A string is a file path, a `data:image/...;base64,...` URI or
//! bare base64, told apart by the rules every face shares (`face::image_input`): a data URI or an
//! image in base64 is taken as bytes, a URL is refused rather than fetched, and anything else is a path
//! (inside `--root` when the server has one). An object says what its string is: `{"path"}`,
//! `{"data"}` (a data URI or base64, as in MCP's own image content), `{"b64_json"}` (as the OpenAI
//! Images API returns images) or `{"url"}` (a data URI; other URLs are refused), exactly one of them.
//! A wrong shape is `request/invalid_arguments`; an image that is not one, or a path outside the root,
//! is `request/invalid_image`. Nothing here spends quota.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::face::image_input::ImageInput;

/// The keys an image object may have, exactly one at a time.
const KEYS: [&str; 4] = ["path", "data", "b64_json", "url"];

/// One input image as the agent gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageArg {
    /// A path, a data URI or base64: [`image_input::parse`](crate::face::image_input::parse) decides.
    Text(String),
    /// `{"path": ...}`: a file, never read as base64.
    Path(String),
    /// `{"data"|"b64_json"|"url": ...}`: the image itself, never a path.
    Inline(String),
}

/// The JSON Schema agents are shown (the decoding below is by hand, for clearer refusals).
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(inline)]
#[allow(dead_code)] // Only its schema is used.
enum ImageArgSchema {
    /// A PNG, JPEG, WebP or GIF file path (inside the server's root when it has one), a
    /// data:image/...;base64,... URI, or the image in base64.
    Text(String),
    /// The same, saying which it is: exactly one of the four keys.
    Object(ImageObjectSchema),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline, extend("minProperties" = 1, "maxProperties" = 1))]
#[allow(dead_code)]
struct ImageObjectSchema {
    /// A file path.
    #[serde(default)]
    #[schemars(with = "String")]
    path: Option<String>,
    /// A data:image/...;base64,... URI, or the image in base64 (as in MCP image content).
    #[serde(default)]
    #[schemars(with = "String")]
    data: Option<String>,
    /// The image in base64 (as the OpenAI Images API returns it).
    #[serde(default)]
    #[schemars(with = "String")]
    b64_json: Option<String>,
    /// A data:image/...;base64,... URI; other URLs are not fetched.
    #[serde(default)]
    #[schemars(with = "String")]
    url: Option<String>,
}

// Inlined, not a `$ref`: some agents' schema handling does not follow references.
impl JsonSchema for ImageArg {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ImageArg".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ImageArgSchema::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for ImageArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let shape = || {
            D::Error::custom(
                "an image is a string (a file path, a data:image/...;base64,... URI or base64) or an \
                 object with one of `path`, `data`, `b64_json`, `url`",
            )
        };
        match Value::deserialize(d)? {
            Value::String(text) => Ok(Self::Text(text)),
            Value::Object(map) => {
                let mut entries = map.into_iter();
                let (Some((key, value)), None) = (entries.next(), entries.next()) else {
                    return Err(D::Error::custom(
                        "an image object has exactly one of `path`, `data`, `b64_json`, `url`",
                    ));
                };
                if !KEYS.contains(&key.as_str()) {
                    return Err(D::Error::custom(format!(
                        "unknown image key `{key}`; use one of `path`, `data`, `b64_json`, `url`"
                    )));
                }
                let Value::String(text) = value else {
                    return Err(D::Error::custom(format!(
                        "the image's `{key}` must be a string"
                    )));
                };
                Ok(if key == "path" {
                    Self::Path(text)
                } else {
                    Self::Inline(text)
                })
            }
            _ => Err(shape()),
        }
    }
}

impl ImageArg {
    /// The input image in the vocabulary every face shares: the shared rules read it.
    pub(crate) fn into_input(self) -> ImageInput {
        match self {
            Self::Text(text) => ImageInput::Text(text),
            Self::Path(text) => ImageInput::Path(text.into()),
            Self::Inline(text) => ImageInput::Inline(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::image_input::{read, PathPolicy};
    use crate::face::root::Root;
    use crate::types::request::ImageSource;
    use base64::Engine as _;
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use std::path::PathBuf;

    fn png() -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn decode(v: Value) -> Result<ImageArg, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// What the shared rules make of an argument, as the MCP server reads it.
    fn source(v: Value, root: Option<&Root>) -> Result<ImageSource, String> {
        let paths = root.map_or(PathPolicy::Anywhere, PathPolicy::Under);
        read(decode(v)?.into_input(), "input image", paths)
            .map_err(|e| format!("{}: {e}", e.code()))
    }

    #[test]
    fn strings_and_objects_become_bytes_or_paths() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(png());
        let uri = format!("data:image/png;base64,{b64}");
        let bytes = Ok(ImageSource::Bytes(png()));
        assert_eq!(source(json!(uri), None), bytes);
        assert_eq!(source(json!(b64), None), bytes);
        assert_eq!(source(json!({"data": b64}), None), bytes);
        assert_eq!(source(json!({"data": uri}), None), bytes);
        assert_eq!(source(json!({"b64_json": b64}), None), bytes);
        assert_eq!(source(json!({"url": uri}), None), bytes);
        let file = Ok(ImageSource::Path(PathBuf::from("cat.png")));
        assert_eq!(source(json!("cat.png"), None), file);
        assert_eq!(source(json!({"path": "cat.png"}), None), file);
    }

    #[test]
    fn refusals_name_the_image_and_the_reason() {
        let text = base64::engine::general_purpose::STANDARD.encode(b"not an image");
        let cases = [
            (json!("https://example.com/a.png"), "request/invalid_image: invalid image input image: `https:` URLs are not fetched; send the image itself as a data:image/...;base64,... URI"),
            (json!({"url": "https://example.com/a.png"}), "request/invalid_image: invalid image input image: `https:` URLs are not fetched; send the image itself as a data:image/...;base64,... URI"),
            (json!(format!("data:text/plain;base64,{text}")), "request/invalid_image: invalid image input image: the data: URI's media type is text/plain; use image/png, image/jpeg, image/webp or image/gif"),
            (json!({"b64_json": text}), "request/invalid_image: invalid image input image: its base64 does not decode to a PNG, JPEG, WebP or GIF image"),
            (json!({"data": "cat.png"}), "request/invalid_image: invalid image input image: it is neither a data:image/...;base64,... URI nor base64; paths are not accepted here"),
            (json!(""), "request/invalid_image: invalid image input image: it is empty; give the path of an image file, or the image as a data:image/...;base64,... URI"),
        ];
        for (arg, want) in cases {
            let got = source(arg.clone(), None);
            assert_eq!(got, Err(want.to_owned()), "{arg}");
        }
    }

    #[test]
    fn wrong_shapes_are_argument_errors() {
        let cases = [
            (json!(5), "an image is a string (a file path, a data:image/...;base64,... URI or base64) or an object with one of `path`, `data`, `b64_json`, `url`"),
            (json!({}), "an image object has exactly one of `path`, `data`, `b64_json`, `url`"),
            (json!({"path": "a.png", "data": "x"}), "an image object has exactly one of `path`, `data`, `b64_json`, `url`"),
            (json!({"file": "a.png"}), "unknown image key `file`; use one of `path`, `data`, `b64_json`, `url`"),
            (json!({"path": 3}), "the image's `path` must be a string"),
        ];
        for (arg, want) in cases {
            assert_eq!(decode(arg.clone()), Err(want.to_owned()), "{arg}");
        }
    }

    #[test]
    fn under_a_root_paths_are_confined_and_objects_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("in.png"), png()).expect("write");
        let root = Root::new(dir.path()).expect("root");
        let inside = dir.path().canonicalize().expect("canonical").join("in.png");
        assert_eq!(
            source(json!("in.png"), Some(&root)),
            Ok(ImageSource::Path(inside.clone()))
        );
        assert_eq!(
            source(json!({"path": "in.png"}), Some(&root)),
            Ok(ImageSource::Path(inside))
        );
        for outside in [json!("../x.png"), json!({"path": "/etc/passwd"})] {
            let got = source(outside.clone(), Some(&root));
            assert!(
                got.as_ref()
                    .is_err_and(|e| e.starts_with("request/invalid_image:")),
                "{outside}: {got:?}"
            );
        }
    }
}
