//! The two shapes of an edit request, reduced to the text fields (for [`fields`](super::fields)) and
//! the input images: multipart, as the OpenAI SDKs send it (`image`, or several `image[]` files, up to
//! five), and JSON with `"images": [{"image_url": "data:image/...;base64,..."}]`, as Open Design's
//! `custom-image` provider sends it.
//!
//! The first image is the one to edit; the others are references, in order. An uploaded file's name and
//! declared type are never used: the library checks the bytes and stages them under neutral names. JSON
//! image values and multipart text parts go through [`image_input::parse`], the one parser every face
//! shares. A `mask` is refused, since Codex's image tool cannot take one.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest as _, Multipart, Request};
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::limits::MAX_IMAGES;
use crate::face::image_input;
use crate::face::params::Rules;
use crate::types::limits::MAX_IMAGE_BYTES;
use crate::types::request::ImageSource;

/// An edit's text fields and its images.
#[derive(Debug)]
pub(crate) struct Edit {
    pub fields: Map<String, Value>,
    pub images: Vec<ImageSource>,
}

fn mask_refused() -> ApiError {
    ApiError::bad_request(
        "request/unsupported_field",
        Some("mask"),
        "masks are not supported: Codex's image tool edits the whole image; describe the area to change in the prompt",
    )
}

fn too_many(n: usize) -> ApiError {
    ApiError::bad_request(
        "request/invalid_image",
        Some("image"),
        format!("{n} images given; at most {MAX_IMAGES} are allowed (the image to edit and 4 references)"),
    )
}

fn no_image(param: &str) -> ApiError {
    ApiError::bad_request(
        "request/invalid_image",
        Some(param),
        format!("an edit needs at least one image in `{param}`"),
    )
}

fn image_error(e: crate::Error, param: &str) -> ApiError {
    ApiError::from_library(&e, 0).param(Some(param))
}

/// A JSON edit: the fields, and `images` (`[{image_url}]`).
pub(crate) fn from_json(
    mut fields: Map<String, Value>,
    rules: Rules<'_>,
) -> Result<Edit, ApiError> {
    if fields.get("mask").is_some_and(|m| !m.is_null()) {
        return Err(mask_refused());
    }
    fields.remove("mask");
    if fields.contains_key("image") {
        return Err(ApiError::bad_request(
            "request/invalid_field",
            Some("image"),
            "a JSON edit sends its images as \"images\": [{\"image_url\": \"data:image/png;base64,...\"}]",
        ));
    }
    let list = match fields.remove("images") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Err(no_image("images")),
        Some(_) => {
            return Err(ApiError::bad_request(
                "request/invalid_field",
                Some("images"),
                "`images` must be a list of {\"image_url\": \"data:image/...;base64,...\"}",
            ))
        }
    };
    if list.is_empty() {
        return Err(no_image("images"));
    }
    if list.len() > MAX_IMAGES {
        return Err(too_many(list.len()));
    }
    let mut images = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let param = format!("images[{i}].image_url");
        let url = match item {
            Value::Object(o) if o.contains_key("file_id") => {
                return Err(ApiError::bad_request(
                    "request/unsupported_field",
                    Some(&format!("images[{i}].file_id")),
                    "file ids are not supported: send the image itself as image_url: data:image/...;base64,...",
                ))
            }
            Value::Object(o) => o.get("image_url").and_then(Value::as_str),
            _ => None,
        };
        let Some(url) = url else {
            return Err(ApiError::bad_request(
                "request/invalid_image",
                Some(&param),
                format!("images[{i}] must be {{\"image_url\": \"data:image/...;base64,...\"}}"),
            ));
        };
        images.push(
            image_input::parse(url, &param, rules.path_policy())
                .map_err(|e| image_error(e, &param))?,
        );
    }
    Ok(Edit { fields, images })
}

/// A multipart edit read from `body` (already read within the limits).
pub(crate) async fn from_multipart(
    parts: axum::http::request::Parts,
    body: Bytes,
    rules: Rules<'_>,
) -> Result<Edit, ApiError> {
    let request = Request::from_parts(parts, Body::from(body));
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| {
        ApiError::bad_request(
            "request/invalid_multipart",
            None,
            format!("the multipart body could not be read: {}", e.body_text()),
        )
    })?;
    let mut fields = Map::new();
    let mut images = Vec::new();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(
            "request/invalid_multipart",
            None,
            format!("the multipart body could not be read: {}", e.body_text()),
        )
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some();
        match name.as_str() {
            "mask" => return Err(mask_refused()),
            "image" | "image[]" => {
                if images.len() == MAX_IMAGES {
                    return Err(too_many(MAX_IMAGES + 1));
                }
                let param = format!("image[{}]", images.len());
                let bytes = field.bytes().await.map_err(unreadable)?;
                let source = if is_file {
                    if bytes.len() > MAX_IMAGE_BYTES {
                        return Err(ApiError::bad_request(
                            "request/invalid_image",
                            Some(&param),
                            format!(
                                "{param} has {} bytes; the limit is {MAX_IMAGE_BYTES}",
                                bytes.len()
                            ),
                        ));
                    }
                    ImageSource::Bytes(bytes.to_vec())
                } else {
                    // A text part: a data: URI or base64, by the shared rules.
                    let text = String::from_utf8_lossy(&bytes);
                    image_input::parse(&text, &param, rules.path_policy())
                        .map_err(|e| image_error(e, &param))?
                };
                images.push(source);
            }
            _ if is_file => {
                return Err(ApiError::bad_request(
                    "request/invalid_field",
                    Some(&name),
                    format!("unexpected file in `{name}`; send images as `image` or `image[]`"),
                ))
            }
            _ => {
                let text = field.text().await.map_err(unreadable)?;
                fields.insert(name, Value::String(text));
            }
        }
    }
    if images.is_empty() {
        return Err(no_image("image"));
    }
    Ok(Edit { fields, images })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn png() -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
        b
    }

    /// The rules without a root: no paths.
    fn no_root() -> Rules<'static> {
        Rules {
            root: None,
            paths: false,
        }
    }

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("object"),
        }
    }

    #[test]
    fn json_edit_images_and_refusals() {
        let uri = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png())
        );
        let edit = from_json(
            object(json!({"prompt": "x", "images": [{"image_url": uri}, {"image_url": uri}]})),
            no_root(),
        )
        .expect("edit");
        assert_eq!(
            edit.images,
            vec![ImageSource::Bytes(png()), ImageSource::Bytes(png())]
        );
        assert_eq!(edit.fields, object(json!({"prompt": "x"})));

        let refused = |v: Value| {
            from_json(object(v), no_root())
                .map(|_| ())
                .map_err(|e| (e.param.unwrap_or_default(), e.code))
        };
        assert_eq!(
            refused(
                json!({"prompt": "x", "images": [{"image_url": uri}], "mask": {"image_url": uri}})
            ),
            Err(("mask".to_owned(), "request/unsupported_field"))
        );
        assert_eq!(
            refused(json!({"prompt": "x", "images": []})),
            Err(("images".to_owned(), "request/invalid_image"))
        );
        assert_eq!(
            refused(json!({"prompt": "x", "images": [{"file_id": "file_1"}]})),
            Err(("images[0].file_id".to_owned(), "request/unsupported_field"))
        );
        assert_eq!(
            refused(json!({"prompt": "x", "images": [{"image_url": "https://example.com/a.png"}]})),
            Err(("images[0].image_url".to_owned(), "request/invalid_image"))
        );
        assert_eq!(
            refused(json!({"prompt": "x", "images": vec![json!({"image_url": uri}); 6]})),
            Err(("image".to_owned(), "request/invalid_image"))
        );
    }
}
