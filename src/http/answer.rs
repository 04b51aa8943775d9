//! The success body, in the OpenAI Images API's shape: `created`, `data[]` with `b64_json` and
//! `revised_prompt`, and what was really delivered. `size` and `output_format` are measured from the
//! image's bytes, never copied from the request; `background` and `quality` are `null` because codex-img
//! cannot measure them (a `null` is allowed by the API and the SDKs). `model` echoes the request.

use base64::Engine as _;
use serde::Serialize;

use crate::output::GeneratedImage;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ImagesResponse {
    pub created: i64,
    pub data: Vec<ImageData>,
    pub model: String,
    pub background: Option<&'static str>,
    pub output_format: &'static str,
    pub size: String,
    pub quality: Option<&'static str>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ImageData {
    pub b64_json: String,
    pub revised_prompt: Option<String>,
}

impl ImagesResponse {
    pub fn new(image: &GeneratedImage, model: &str, created: i64) -> Self {
        Self {
            created,
            data: vec![ImageData {
                b64_json: base64::engine::general_purpose::STANDARD.encode(&image.bytes),
                revised_prompt: image.revised_prompt.clone(),
            }],
            model: model.to_owned(),
            background: None,
            output_format: image.format.as_str(),
            size: format!("{}x{}", image.width, image.height),
            quality: None,
        }
    }
}
