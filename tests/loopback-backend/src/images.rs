//! `POST .../images/generations` and `.../images/edits`.
//!
//! From 0.145 Codex makes the image itself: the model calls the client tool, and Codex posts the
//! prompt to `{chatgpt_base_url}/backend-api/codex/images/generations`, or to `/edits` with the
//! input images as data URLs (`images: [{"image_url": "data:image/png;base64,..."}]`). The answer
//! carries the image as `data[].b64_json`. Edits' inputs are decoded and kept in order so tests
//! can compare them with the files they passed in.
//!
//! Like the real endpoint, a request with `background: "transparent"` gets an RGBA image (the
//! subject on real transparency) and says `background: "transparent"`; a prompt that names a flat
//! solid colour (`solid #RRGGBB`) gets the subject on that colour; anything else gets the next queued
//! image ([`Backend::queue_images`](crate::Backend::queue_images)), or else the configured one.

use base64::Engine;
use serde_json::{json, Value};

use crate::agent::decode_data_url;
use crate::record::{EditInputs, RecordedRequest};
use crate::routes::{now_secs, usage_limit, Limit, Reply};
use crate::server::{lock, Mode, Shared};

pub(crate) async fn answer(shared: &Shared, request: &RecordedRequest) -> Reply {
    let body = request.json().unwrap_or(Value::Null);
    if request.route().ends_with("/edits") {
        lock(&shared.edits).push(edit_inputs(&body));
    }
    let (mode, mut png, delay) = {
        let config = lock(&shared.config);
        (
            config.mode.clone(),
            config.image_png.clone(),
            config.image_delay,
        )
    };
    if let Mode::UsageLimit { resets_at } | Mode::ModelUsageLimit { resets_at } = mode {
        return usage_limit(Limit::Images, resets_at);
    }
    if let Some(queued) = lock(&shared.queued_images).pop_front() {
        png = queued;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let prompt = body["prompt"].as_str().unwrap_or_default();
    let transparent = body["background"] == "transparent";
    let size = crate::png::png_size(&png).unwrap_or((64, 48));
    // A comment per answer keeps every image's bytes distinct, as a real backend's are.
    let comment = format!("loopback subject {}", shared.next_id());
    let png = if transparent {
        crate::png::subject_png(size.0, size.1, None, Some(&comment))
    } else if let Some(key) = crate::model::solid_colour(&prompt.to_ascii_lowercase()) {
        crate::png::subject_png(size.0, size.1, Some(key), Some(&comment))
    } else {
        png
    };
    Reply::json(
        200,
        json!({
            "created": now_secs(),
            "background": if transparent { "transparent" } else { "opaque" },
            "output_format": "png",
            "quality": "low",
            "size": "auto",
            "data": [{
                "b64_json": base64::engine::general_purpose::STANDARD.encode(&png),
                "revised_prompt": prompt,
            }],
            "usage": {
                "input_tokens": 10,
                "input_tokens_details": {"image_tokens": 0, "text_tokens": 10},
                "output_tokens": 515,
                "total_tokens": 525,
            },
        }),
    )
}

/// Decodes every data URL among the request's input images, in order.
fn edit_inputs(body: &Value) -> EditInputs {
    let mut inputs = EditInputs::default();
    let list = body["images"]
        .as_array()
        .or_else(|| body["image"].as_array())
        .cloned()
        .unwrap_or_default();
    for entry in list {
        let url = entry
            .as_str()
            .or_else(|| entry["image_url"].as_str())
            .or_else(|| entry["image_url"]["url"].as_str())
            .or_else(|| entry["url"].as_str())
            .unwrap_or_default();
        if let Some((media_type, bytes)) = decode_data_url(url) {
            inputs.media_types.push(media_type);
            inputs.images.push(bytes);
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_edit_inputs_in_order() {
        let body = json!({"images": [
            {"image_url": "data:image/png;base64,AAE="},
            {"image_url": "data:image/jpeg;base64,Ag=="},
        ]});
        let inputs = edit_inputs(&body);
        assert_eq!(inputs.images, vec![vec![0, 1], vec![2]]);
        assert_eq!(inputs.media_types, vec!["image/png", "image/jpeg"]);
    }
}
