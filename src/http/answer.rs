//! The success body, in the OpenAI Images API's shape: `created`, `data[]` with `b64_json` and
//! `revised_prompt`, and what was really delivered. `size`, `output_format` and `background` are
//! measured from the first image's delivered bytes and pixels, never copied from the request; `quality`
//! is `null` because codex-img cannot measure it (the API and the SDKs allow `null`). `model` echoes the
//! request.
//!
//! With `n` > 1, `data` holds every image that finished, in order, and `errors` (codex-img's
//! [`BatchError`]: index, code, message) every one that did not; `errors` is absent when all finished.
//! An image whose post-processing failed is still delivered, untouched (it was paid for), and listed in
//! `errors` with `output/process_failed`.

use base64::Engine as _;
use serde::Serialize;

use crate::api::report::BatchError;
use crate::types::options::Alpha;
use crate::types::output::GeneratedImage;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct ImagesResponse {
    pub created: i64,
    pub data: Vec<ImageData>,
    pub model: String,
    pub background: &'static str,
    pub output_format: &'static str,
    pub size: String,
    pub quality: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<BatchError>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct ImageData {
    pub b64_json: String,
    pub revised_prompt: Option<String>,
}

impl ImagesResponse {
    /// The answer for `images` (at least one), in order, and the failures of the others.
    pub(crate) fn new(
        images: &[&GeneratedImage],
        errors: Vec<BatchError>,
        model: &str,
        created: i64,
    ) -> Option<Self> {
        let first = images.first()?;
        Some(Self {
            created,
            data: images
                .iter()
                .map(|image| ImageData {
                    b64_json: base64::engine::general_purpose::STANDARD.encode(&image.bytes),
                    revised_prompt: image.revised_prompt.clone(),
                })
                .collect(),
            model: model.to_owned(),
            background: match first.alpha {
                Alpha::None => "opaque",
                _ => "transparent",
            },
            output_format: first.format.as_str(),
            size: format!("{}x{}", first.width, first.height),
            quality: None,
            errors,
        })
    }
}
