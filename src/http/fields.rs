//! The OpenAI Images API's request fields, mapped onto codex-img's request with the library's honesty:
//! `size`, `quality` and `background` are hints (any `WxH` is a hint, including the aspect sizes apps
//! send, such as `1792x1024`), `model` is accepted whatever it is and echoed, and a field codex-img cannot
//! honour is refused with a 400 that says what is supported, never silently ignored. `n`,
//! `output_format`, `output_compression` and codex-img's own `fit` and `key` become the parameters every
//! face shares ([`GenerateParams`]); the library checks their combination before any turn. codex-img's
//! own `ignore_known_usage_limit` (the OpenAI SDKs send it through `extra_body`) is the library's
//! option of that name.
//!
//! JSON bodies and multipart text parts arrive here the same way, as JSON values (multipart values are
//! strings, so numbers and booleans are also read from strings). An unknown field is refused, as the
//! OpenAI API does. Fields that only edits carry (`images`, `image`, `mask`) are taken out before this
//! runs.

use serde_json::{Map, Value};

use super::errors::ApiError;
use crate::face::params::GenerateParams;
use crate::image::{Fit, Key, OutputFormat};
use crate::types::hints::{Background, Quality, Size};

/// What one generation or edit asks for, once read: the model to echo, and the parameters in the
/// vocabulary every face shares (the images of an edit are read by `edits`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fields {
    /// Echoed in the answer.
    pub(crate) model: String,
    /// The generation's parameters; `ignore_known_usage_limit` is codex-img's own field (the OpenAI
    /// SDKs send it through `extra_body`).
    pub(crate) params: GenerateParams,
}

/// The model echoed when the request names none.
pub(crate) const DEFAULT_MODEL: &str = "codex-img";

/// Model ids listed by `GET /v1/models`. Any id is accepted; these are the ones apps offer.
pub(crate) const LISTED_MODELS: &[&str] = &[
    "codex-img",
    "gpt-image-1",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "dall-e-3",
    "dall-e-2",
];

fn bad(code: &'static str, param: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, Some(param), message)
}

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    bad("request/invalid_field", param, message)
}

fn unsupported(param: &str, message: impl Into<String>) -> ApiError {
    bad("request/unsupported_field", param, message)
}

/// A string field (multipart gives every field as a string).
fn text<'a>(name: &str, value: &'a Value) -> Result<Option<&'a str>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_str())),
        _ => Err(invalid(name, format!("`{name}` must be a string"))),
    }
}

fn integer(name: &str, value: &Value) -> Result<Option<i64>, ApiError> {
    let n = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.map(Some)
        .ok_or_else(|| invalid(name, format!("`{name}` must be an integer")))
}

fn boolean(name: &str, value: &Value) -> Result<Option<bool>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(invalid(name, format!("`{name}` must be true or false"))),
    }
}

/// Checks every field and maps the ones codex-img understands.
pub(crate) fn map(fields: &Map<String, Value>) -> Result<Fields, ApiError> {
    let mut prompt = None;
    let mut model = None;
    let mut params = GenerateParams::default();
    for (name, value) in fields {
        let name = name.as_str();
        match name {
            "prompt" => prompt = text(name, value)?,
            "model" => model = text(name, value)?,
            "n" => {
                if let Some(n) = integer(name, value)? {
                    // Out of range is the library's to say (`request/invalid_option`).
                    params.n = Some(u32::try_from(n).unwrap_or(0));
                }
            }
            "size" => match text(name, value)? {
                None => {}
                Some(s) if s.trim().eq_ignore_ascii_case("auto") => {}
                Some(s) => {
                    let size: Size = s
                        .parse()
                        .map_err(|e: String| invalid(name, format!("{e}, or auto")))?;
                    params.size = Some(size);
                }
            },
            "quality" => {
                params.quality = match text(name, value)?.map(str::to_ascii_lowercase).as_deref() {
                    None => None,
                    // The names of older models: `hd` asks for the most detail.
                    Some("standard") => Some(Quality::Medium),
                    Some("hd") => Some(Quality::High),
                    Some(q) => Some(q.parse().map_err(|e: String| {
                        invalid(name, format!("{e} (or standard, hd)"))
                    })?),
                }
            }
            "background" => {
                params.background = match text(name, value)? {
                    None => None,
                    Some(b) => Some(b.parse::<Background>().map_err(|e| invalid(name, e))?),
                }
            }
            "output_format" => {
                if let Some(f) = text(name, value)? {
                    params.format = Some(
                        f.parse::<OutputFormat>()
                            .map_err(|e| invalid(name, e))?,
                    );
                }
            }
            "output_compression" => {
                if let Some(c) = integer(name, value)? {
                    // Above 100 is the library's to refuse (`request/invalid_option`), as on every face.
                    params.compression = Some(u8::try_from(c).map_err(|_| {
                        invalid(name, format!("output_compression {c} is out of range; use 0 to 100"))
                    })?);
                }
            }
            "fit" => {
                if let Some(f) = text(name, value)? {
                    params.fit = Some(f.parse::<Fit>().map_err(|e| invalid(name, e))?);
                }
            }
            "key" => {
                if let Some(k) = text(name, value)? {
                    params.key = Some(k.parse::<Key>().map_err(|e| invalid(name, e))?);
                }
            }
            "ignore_known_usage_limit" => params.ignore_known_usage_limit = boolean(name, value)?,
            "response_format" => match text(name, value)? {
                None | Some("b64_json") => {}
                Some("url") => {
                    return Err(unsupported(
                        name,
                        "response_format url is not served: the image would be reachable without the key; use b64_json",
                    ))
                }
                Some(other) => {
                    return Err(invalid(
                        name,
                        format!("unknown response_format `{other}`; use b64_json"),
                    ))
                }
            },
            "stream" => {
                if boolean(name, value)? == Some(true) {
                    return Err(unsupported(
                        name,
                        "streaming is not supported; send stream=false or leave it out",
                    ));
                }
            }
            "partial_images" => {
                if !matches!(integer(name, value)?, None | Some(0)) {
                    return Err(unsupported(
                        name,
                        "partial images are not supported; leave partial_images out",
                    ));
                }
            }
            "moderation" => match text(name, value)? {
                None | Some("auto") => {}
                Some(_) => {
                    return Err(unsupported(
                        name,
                        "moderation cannot be changed: Codex applies its own; send auto or leave it out",
                    ))
                }
            },
            // An end-user id for the provider's abuse monitoring; there is no provider account to tag.
            "user" => {
                text(name, value)?;
            }
            "style" | "input_fidelity" => {
                if !value.is_null() {
                    return Err(unsupported(
                        name,
                        format!("`{name}` cannot be passed to Codex's image tool; leave it out"),
                    ));
                }
            }
            other => {
                return Err(invalid(
                    other,
                    format!("unknown parameter `{other}`"),
                ))
            }
        }
    }
    let prompt = match prompt {
        Some(p) if !p.trim().is_empty() => p.to_owned(),
        _ => {
            return Err(ApiError::bad_request(
                "request/invalid_prompt",
                Some("prompt"),
                "`prompt` is required: describe the image",
            ))
        }
    };
    params.prompt = prompt;
    Ok(Fields {
        model: model
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(DEFAULT_MODEL)
            .to_owned(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn fields(v: Value) -> Result<Fields, (u16, String, String)> {
        let Value::Object(object) = v else {
            panic!("object")
        };
        map(&object).map_err(|e| (e.status.as_u16(), e.param.unwrap_or_default(), e.message))
    }

    #[test]
    fn open_design_sizes_are_hints_and_model_is_echoed() {
        for (size, w, h) in [
            ("1024x1024", 1024, 1024),
            ("1792x1024", 1792, 1024),
            ("1024x1792", 1024, 1792),
            ("1408x1056", 1408, 1056),
            ("1056x1408", 1056, 1408),
        ] {
            assert_eq!(
                fields(json!({"prompt": "a fox", "model": "gpt-image-1", "n": 1, "size": size})),
                Ok(Fields {
                    model: "gpt-image-1".into(),
                    params: GenerateParams {
                        prompt: "a fox".into(),
                        n: Some(1),
                        size: Some(Size {
                            width: w,
                            height: h
                        }),
                        ..GenerateParams::default()
                    },
                })
            );
        }
    }

    #[test]
    fn multipart_strings_and_sdk_defaults() {
        assert_eq!(
            fields(
                json!({"prompt": "x", "n": "1", "size": "auto", "quality": "hd",
                          "background": "transparent", "response_format": "b64_json",
                          "output_format": "png", "stream": "false", "moderation": "auto", "user": "u1"})
            ),
            Ok(Fields {
                model: DEFAULT_MODEL.into(),
                params: GenerateParams {
                    prompt: "x".into(),
                    n: Some(1),
                    quality: Some(Quality::High),
                    background: Some(Background::Transparent),
                    format: Some(OutputFormat::Png),
                    ..GenerateParams::default()
                },
            })
        );
    }

    #[test]
    fn options_map_onto_the_librarys_types() {
        assert_eq!(
            fields(
                json!({"prompt": "x", "n": 3, "output_format": "webp", "fit": "cover",
                          "key": "#00ff00", "size": "512x512"})
            )
            .map(|f| (f.params.n, f.params.format, f.params.fit, f.params.key)),
            Ok((
                Some(3),
                Some(OutputFormat::Webp),
                Some(Fit::Cover),
                Some(Key::Rgb([0, 255, 0]))
            ))
        );
        assert_eq!(
            fields(json!({"prompt": "x", "output_format": "jpeg", "output_compression": "80"}))
                .map(|f| (f.params.format, f.params.compression)),
            Ok((Some(OutputFormat::Jpeg), Some(80)))
        );
    }

    #[test]
    fn ignore_known_usage_limit_is_a_boolean_from_json_or_multipart() {
        let got: Vec<_> = [
            json!({"prompt": "x", "ignore_known_usage_limit": true}),
            json!({"prompt": "x", "ignore_known_usage_limit": "false"}),
            json!({"prompt": "x"}),
        ]
        .into_iter()
        .map(|v| fields(v).map(|f| f.params.ignore_known_usage_limit))
        .collect();
        assert_eq!(got, vec![Ok(Some(true)), Ok(Some(false)), Ok(None)]);
        assert_eq!(
            fields(json!({"prompt": "x", "ignore_known_usage_limit": "yes"})),
            Err((
                400,
                "ignore_known_usage_limit".to_owned(),
                "`ignore_known_usage_limit` must be true or false".to_owned()
            ))
        );
    }

    #[test]
    fn refusals_say_what_is_supported() {
        let cases = [
            (json!({"size": "1024x1024"}), 400, "prompt", "`prompt` is required: describe the image"),
            (json!({"prompt": "x", "response_format": "url"}), 400, "response_format",
             "response_format url is not served: the image would be reachable without the key; use b64_json"),
            (json!({"prompt": "x", "n": "two"}), 400, "n", "`n` must be an integer"),
            (json!({"prompt": "x", "output_format": "gif"}), 400, "output_format",
             "unknown format `gif`; use one of: png jpeg webp"),
            (json!({"prompt": "x", "output_compression": 256}), 400, "output_compression",
             "output_compression 256 is out of range; use 0 to 100"),
            (json!({"prompt": "x", "size": "big"}), 400, "size",
             "invalid size `big`; write it like 1024x1536, or auto"),
            (json!({"prompt": "x", "quality": "ultra"}), 400, "quality",
             "unknown quality `ultra`; use one of: low medium high auto (or standard, hd)"),
            (json!({"prompt": "x", "fit": "stretch"}), 400, "fit", "unknown fit `stretch`; use one of: cover contain fill"),
            (json!({"prompt": "x", "stream": true}), 400, "stream",
             "streaming is not supported; send stream=false or leave it out"),
            (json!({"prompt": "x", "colour": "red"}), 400, "colour", "unknown parameter `colour`"),
            (json!({"prompt": 5}), 400, "prompt", "`prompt` must be a string"),
        ];
        for (body, status, param, message) in cases {
            assert_eq!(
                fields(body.clone()),
                Err((status, param.to_owned(), message.to_owned())),
                "{body}"
            );
        }
    }
}
