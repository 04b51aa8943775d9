//! serve-http's endpoints against the fake app-server, on the raw wire: a generation whose `b64_json`
//! is the fake's image and whose `size` is measured, the aspect sizes apps send taken as hints, both
//! edit shapes (JSON `images: [{image_url}]` and multipart `image[]`) reaching the backend with the input
//! bytes under neutral names, the refusals (mask, url, n > 1), a usage limit answered 429 with
//! `Retry-After` and then refused locally until the reset (unless the request sets
//! `ignore_known_usage_limit`), and `GET /v1/models`.
#![cfg(feature = "http")]

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, b64,
    http::{exchange, json_post, multipart, request, start, KEY},
    sha256, staged, World,
};

fn turn_text(turn: &Value) -> String {
    turn["params"]["input"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

#[tokio::test]
async fn a_generation_returns_the_fakes_image_with_its_measured_size() {
    let world = World::new();
    let served = start(&world).await;
    let reply = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a lighthouse [fake:complete]", "model": "gpt-image-1", "n": 1,
                    "size": "1792x1024", "quality": "high", "response_format": "b64_json"}),
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["data"][0]["b64_json"].as_str().expect("b64_json"))
        .expect("base64");
    let images = world.events("image");
    assert_eq!(images.len(), 1);
    assert_eq!(sha256(&bytes), images[0]["sha256"].as_str().expect("sha"));
    let created = body["created"].as_i64().expect("created");
    assert!(created > 1_700_000_000);
    assert_eq!(
        body,
        json!({
            "created": created,
            "data": [{"b64_json": b64(&bytes), "revised_prompt": body["data"][0]["revised_prompt"]}],
            "model": "gpt-image-1",
            "background": "opaque",
            "output_format": "png",
            // What came back (the fake's 64x48), not what was asked.
            "size": "64x48",
            "quality": null,
        })
    );
    assert!(body["data"][0]["revised_prompt"].is_string());
    let turns = world.events("turn_inputs");
    assert_eq!(turns.len(), 1);
    let text = turn_text(&turns[0]);
    assert!(
        text.contains("size 1792x1024 pixels") && text.contains("quality high"),
        "{text}"
    );
    served.stop().await;
}

#[tokio::test]
async fn aspect_sizes_from_apps_are_accepted_as_hints() {
    let world = World::new();
    let served = start(&world).await;
    for size in ["1024x1792", "1408x1056", "1056x1408", "auto"] {
        let reply = exchange(
            &served,
            &json_post(
                &served,
                "/images/generations",
                &json!({"prompt": "a fox [fake:complete]", "size": size}),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            200,
            "{size}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["model"], "codex-img");
    }
    let texts: Vec<String> = world.events("turn_inputs").iter().map(turn_text).collect();
    assert!(texts[0].contains("size 1024x1792 pixels"));
    assert!(texts[2].contains("size 1056x1408 pixels"));
    assert!(!texts[3].contains("size"), "auto is no hint: {}", texts[3]);
    served.stop().await;
}

#[tokio::test]
async fn a_json_edit_reaches_the_backend_with_the_input_bytes() {
    let world = World::new();
    let served = start(&world).await;
    let edit = support::png(20, 10, 1);
    let reference = support::png(8, 8, 2);
    let reply = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/edits",
            &json!({"prompt": "make it night [fake:complete]", "model": "gpt-image-1", "n": 1, "size": "1024x1024",
                    "images": [{"image_url": format!("data:image/png;base64,{}", b64(&edit))},
                               {"image_url": format!("data:image/png;base64,{}", b64(&reference))}]}),
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let turns = world.events("turn_inputs");
    assert_eq!(turns.len(), 1);
    assert_eq!(
        staged(&turns[0]),
        vec![
            ("input-1.png".to_owned(), sha256(&edit)),
            ("ref-1.png".to_owned(), sha256(&reference)),
        ]
    );
    served.stop().await;
}

#[tokio::test]
async fn a_multipart_edit_reaches_the_backend_without_its_file_names() {
    let world = World::new();
    let served = start(&world).await;
    let edit = support::png(16, 16, 3);
    let reference = support::png(4, 4, 4);
    let boundary = "codex-img-test-boundary";
    let body = multipart(
        boundary,
        &[
            ("prompt", "make it snow [fake:complete]"),
            ("model", "gpt-image-1"),
            ("size", "1536x1024"),
        ],
        &[
            ("image[]", "my-secret-holiday.png", &edit),
            ("image[]", "../../etc/passwd.png", &reference),
        ],
    );
    let auth = format!("Bearer {KEY}");
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let reply = exchange(
        &served,
        &request(
            "POST",
            "/v1/images/edits",
            &[
                ("Host", &served.host()),
                ("Authorization", &auth),
                ("Content-Type", &content_type),
            ],
            &body,
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let turns = world.events("turn_inputs");
    assert_eq!(
        staged(&turns[0]),
        vec![
            ("input-1.png".to_owned(), sha256(&edit)),
            ("ref-1.png".to_owned(), sha256(&reference)),
        ]
    );
    let everything = serde_json::to_string(&world.log()).expect("json");
    assert!(!everything.contains("secret-holiday") && !everything.contains("passwd"));
    served.stop().await;
}

#[tokio::test]
async fn what_codex_img_cannot_do_is_refused_with_a_clear_400_before_any_turn() {
    let world = World::new();
    let served = start(&world).await;
    let png = format!("data:image/png;base64,{}", b64(&support::png(4, 4, 5)));
    let cases = [
        (
            "/v1/images/generations",
            json!({"prompt": "x", "response_format": "url"}),
            json!("response_format"),
        ),
        (
            "/v1/images/generations",
            json!({"prompt": "x", "n": 9}),
            json!("n"),
        ),
        (
            "/v1/images/generations",
            json!({"prompt": "x", "output_format": "gif"}),
            json!("output_format"),
        ),
        // Compression is JPEG quality; PNG is lossless.
        (
            "/v1/images/generations",
            json!({"prompt": "x", "output_compression": 50}),
            Value::Null,
        ),
        (
            "/v1/images/generations",
            json!({"prompt": "x", "output_format": "jpeg", "background": "transparent"}),
            Value::Null,
        ),
        (
            "/v1/images/generations",
            json!({"prompt": "x", "fit": "cover"}),
            json!("fit"),
        ),
        (
            "/v1/images/generations",
            json!({"prompt": "   "}),
            json!("prompt"),
        ),
        (
            "/v1/images/generations",
            json!({"prompt": "x", "size": "wide"}),
            json!("size"),
        ),
        (
            "/v1/images/edits",
            json!({"prompt": "x", "images": [{"image_url": png}], "mask": {"image_url": png}}),
            json!("mask"),
        ),
        (
            "/v1/images/edits",
            json!({"prompt": "x", "images": [{"image_url": "https://example.com/a.png"}]}),
            json!("images[0].image_url"),
        ),
        (
            "/v1/images/edits",
            json!({"prompt": "x", "images": [{"image_url": "/etc/passwd"}]}),
            json!("images[0].image_url"),
        ),
        ("/v1/images/edits", json!({"prompt": "x"}), json!("images")),
    ];
    for (path, body, param) in cases {
        let reply = exchange(&served, &json_post(&served, path, &body)).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(
            reply.json()["error"]["param"],
            param,
            "{body}: {}",
            reply.json()
        );
        assert_eq!(reply.header("x-should-retry"), Some("false"));
        let message = reply.json()["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned();
        assert!(message.len() < 240, "{message}");
    }
    let boundary = "b";
    let with_mask = multipart(
        boundary,
        &[("prompt", "x")],
        &[
            ("image", "a.png", &support::png(4, 4, 6)),
            ("mask", "m.png", &support::png(4, 4, 7)),
        ],
    );
    let auth = format!("Bearer {KEY}");
    let reply = exchange(
        &served,
        &request(
            "POST",
            "/v1/images/edits",
            &[
                ("Host", &served.host()),
                ("Authorization", &auth),
                ("Content-Type", "multipart/form-data; boundary=b"),
            ],
            &with_mask,
        ),
    )
    .await;
    assert_eq!(
        reply.error_code(),
        (400, "request/unsupported_field".to_owned())
    );
    assert_eq!(
        world.events("turn_inputs").len(),
        0,
        "no quota spent on refusals"
    );
    served.stop().await;
}

#[tokio::test]
async fn a_usage_limit_is_429_with_retry_after_and_a_retry_costs_nothing() {
    let world = World::new();
    let served = start(&world).await;
    let ask = json_post(
        &served,
        "/v1/images/generations",
        &json!({"prompt": "a fox [fake:usage-limit-item]"}),
    );
    let first = exchange(&served, &ask).await;
    assert_eq!(first.error_code(), (429, "runtime/usage_limit".to_owned()));
    assert_eq!(first.header("x-should-retry"), Some("false"));
    let retry_after: u64 = first
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    // The fake's limit resets two hours after the turn.
    assert!((7_000..=7_200).contains(&retry_after), "{retry_after}");
    assert_eq!(world.events("turn_inputs").len(), 1);
    let again = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a fox [fake:complete]"}),
        ),
    )
    .await;
    assert_eq!(again.error_code(), (429, "runtime/usage_limit".to_owned()));
    assert!(again.header("retry-after").is_some());
    assert_eq!(
        world.events("turn_inputs").len(),
        1,
        "the retry started no turn"
    );
    // codex-img's own field (an SDK's `extra_body`) tries anyway: the request reaches Codex.
    let anyway = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a fox [fake:complete]", "ignore_known_usage_limit": true}),
        ),
    )
    .await;
    assert_eq!(
        anyway.status,
        200,
        "{}",
        String::from_utf8_lossy(&anyway.body)
    );
    assert_eq!(
        world.events("turn_inputs").len(),
        2,
        "the request had its turn"
    );
    // And it does not lift the limit for the others.
    let after = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a fox [fake:complete]", "ignore_known_usage_limit": false}),
        ),
    )
    .await;
    assert_eq!(after.error_code(), (429, "runtime/usage_limit".to_owned()));
    assert_eq!(world.events("turn_inputs").len(), 2);
    served.stop().await;
}

#[tokio::test]
async fn models_are_listed_and_unknown_paths_are_openai_shaped_404s() {
    let world = World::new();
    let served = start(&world).await;
    let auth = format!("Bearer {KEY}");
    let host = served.host();
    let models = exchange(
        &served,
        &request(
            "GET",
            "/v1/models",
            &[("Host", &host), ("Authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(models.status, 200);
    let ids: Vec<String> = models.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(ids.contains(&"gpt-image-1".to_owned()) && ids.contains(&"codex-img".to_owned()));
    let missing = exchange(
        &served,
        &request(
            "GET",
            "/v1/chat/completions",
            &[("Host", &host), ("Authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(missing.error_code(), (404, "http/not_found".to_owned()));
    let wrong = exchange(
        &served,
        &request(
            "GET",
            "/v1/images/generations",
            &[("Host", &host), ("Authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(
        wrong.error_code(),
        (405, "http/method_not_allowed".to_owned())
    );
    served.stop().await;
}

#[tokio::test]
async fn with_root_an_edit_may_name_a_file_inside_it_and_nothing_outside() {
    let world = World::new();
    let root = world.dir.path().join("images");
    std::fs::create_dir_all(&root).expect("root");
    let input = support::png(12, 12, 8);
    std::fs::write(root.join("cat.png"), &input).expect("write");
    std::fs::write(world.dir.path().join("outside.png"), &input).expect("write");
    let served = support::http::start_with(
        &world,
        support::http::Setup {
            root: Some(root.clone()),
            ..support::http::Setup::default()
        },
    )
    .await;
    for refused in ["../outside.png", "/etc/passwd", "missing.png"] {
        let reply = exchange(
            &served,
            &json_post(
                &served,
                "/v1/images/edits",
                &json!({"prompt": "x", "images": [{"image_url": refused}]}),
            ),
        )
        .await;
        assert_eq!(
            reply.error_code(),
            (400, "request/invalid_image".to_owned()),
            "{refused}"
        );
    }
    assert_eq!(world.events("turn_inputs").len(), 0);
    let reply = exchange(
        &served,
        &json_post(&served, "/v1/images/edits", &json!({"prompt": "make it night [fake:complete]", "images": [{"image_url": "cat.png"}]})),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        staged(&world.events("turn_inputs")[0]),
        vec![("input-1.png".to_owned(), sha256(&input))]
    );
    served.stop().await;
}

#[tokio::test]
async fn n_images_formats_and_transparency_map_onto_the_librarys_options() {
    let world = World::new();
    let served = start(&world).await;
    let reply = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "two foxes [fake:complete]", "n": 2, "output_format": "webp"}),
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    let decoded: Vec<Vec<u8>> = data
        .iter()
        .map(|d| {
            base64::engine::general_purpose::STANDARD
                .decode(d["b64_json"].as_str().expect("b64"))
                .expect("base64")
        })
        .collect();
    for bytes in &decoded {
        assert_eq!((&bytes[..4], &bytes[8..12]), (&b"RIFF"[..], &b"WEBP"[..]));
    }
    assert_ne!(decoded[0], decoded[1], "two turns, two images");
    assert_eq!(
        (&body["output_format"], &body["size"]),
        (&json!("webp"), &json!("64x48"))
    );
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(world.events("turn_inputs").len(), 2);

    let transparent = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a disc [fake:complete]", "background": "transparent"}),
        ),
    )
    .await;
    assert_eq!(transparent.status, 200);
    assert_eq!(transparent.json()["background"], "transparent");
    served.stop().await;
}

#[tokio::test]
async fn with_n_2_what_finished_is_returned_and_the_failure_is_listed() {
    let world = World::new();
    let served = start(&world).await;
    let reply = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "foxes [fake:fail-every:2]", "n": 2}),
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert!(matches!(errors[0]["index"].as_u64(), Some(1 | 2)));
    assert!(
        errors[0]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("runtime/")),
        "{body}"
    );
    assert_eq!(world.events("injected_failure").len(), 1);
    // When none finishes, the answer is the failure itself.
    let none = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "foxes [fake:fail-every:1]", "n": 2}),
        ),
    )
    .await;
    assert!(
        none.status >= 500,
        "{}",
        String::from_utf8_lossy(&none.body)
    );
    assert_eq!(none.header("x-should-retry"), Some("false"));
    served.stop().await;
}
