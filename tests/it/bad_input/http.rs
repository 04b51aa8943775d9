//! Bad input through `serve-http` (the OpenAI-compatible Images API) under `--root`: each wrong prompt,
//! host-shaped image, input file and option is a 4xx in the OpenAI error shape with codex-img's code,
//! marked not to be retried; no `turn/start` reaches the (fake) app-server and nothing is written; and
//! the server still generates afterwards.

#![cfg(feature = "http")]

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, b64,
    bad_input::{assert_untouched, bad_image_files, bad_prompts, png_claiming},
    entries as listing,
    http::{exchange, json_post, request, Setup, KEY},
    png, World,
};

fn data_uri(bytes: &[u8]) -> String {
    format!("data:image/png;base64,{}", b64(bytes))
}

#[tokio::test]
async fn bad_requests_are_refused_in_the_openai_shape_and_start_no_turn() {
    let world = World::new();
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(root.join("inputs")).expect("mkdir");
    std::fs::write(root.join("good.png"), png(8, 8, 2)).expect("write");
    let bad_files = bad_image_files(&root.join("inputs"));
    let served = support::http::start_with(
        &world,
        Setup {
            root: Some(root.clone()),
            ..Setup::default()
        },
    )
    .await;
    let root_before = listing(&root);
    let generations = "/v1/images/generations";
    let edits = "/v1/images/edits";
    let good = data_uri(&png(8, 8, 2));
    let edit = |image: Value| json!({"prompt": "make it night", "images": [{"image_url": image}]});

    // (label, path, body, status, code)
    let mut cases: Vec<(String, &str, Value, u16, &str)> = Vec::new();
    for (label, prompt) in bad_prompts() {
        cases.push((
            format!("prompt: {label}"),
            generations,
            json!({"prompt": prompt}),
            400,
            "request/invalid_prompt",
        ));
    }
    for (label, path) in &bad_files {
        let relative = path
            .strip_prefix(&root)
            .expect("inside")
            .to_str()
            .expect("utf-8");
        cases.push((
            format!("image file: {label}"),
            edits,
            edit(json!(relative)),
            400,
            "request/invalid_image",
        ));
    }
    let host_shaped: Vec<(&str, Value)> = vec![
        (
            "a data URI of text",
            json!(format!("data:image/png;base64,{}", b64(b"not an image"))),
        ),
        (
            "a data URI of a truncated PNG",
            json!(data_uri(&png(8, 8, 2)[..20])),
        ),
        (
            "a data URI of a decompression bomb",
            json!(data_uri(&png_claiming(80_000, 80_000))),
        ),
        (
            "a data URI without ;base64",
            json!("data:image/png,iVBORw0KGgo"),
        ),
        (
            "a data URI of text/plain",
            json!(format!("data:text/plain;base64,{}", b64(b"hi"))),
        ),
        (
            "a data URI with bad base64",
            json!("data:image/png;base64,%%%"),
        ),
        (
            "raw base64 of text",
            json!(b64(b"plain text, not an image")),
        ),
        ("an empty string", json!("")),
        ("an https URL", json!("https://example.com/a.png")),
        ("a file URL", json!("file:///etc/passwd")),
        ("a path with ..", json!("../good.png")),
        ("an absolute path outside", json!("/etc/passwd")),
        ("a Windows path", json!("C:\\good.png")),
        ("a path with a backslash", json!("inputs\\good.png")),
    ];
    for (label, image) in host_shaped {
        cases.push((
            format!("host image: {label}"),
            edits,
            edit(image),
            400,
            "request/invalid_image",
        ));
    }
    let images: Vec<Value> = (0..6).map(|_| json!({"image_url": good})).collect();
    cases.push((
        "six images".to_owned(),
        edits,
        json!({"prompt": "x", "images": images}),
        400,
        "request/invalid_image",
    ));
    cases.push((
        "an image object of the wrong shape".to_owned(),
        edits,
        json!({"prompt": "x", "images": [{"url": good}]}),
        400,
        "request/invalid_image",
    ));
    for (label, field) in [
        ("size that does not parse", json!({"size": "wide"})),
        ("size zero", json!({"size": "0x1024"})),
        ("n zero", json!({"n": 0})),
        ("n too many", json!({"n": 100})),
        ("n not a number", json!({"n": "two"})),
        ("quality unknown", json!({"quality": "ultra"})),
        ("background unknown", json!({"background": "clear"})),
        ("output_format gif", json!({"output_format": "gif"})),
    ] {
        let mut body = json!({"prompt": "a fox"});
        for (k, v) in field.as_object().expect("object") {
            body[k] = v.clone();
        }
        cases.push((format!("option: {label}"), generations, body, 400, "*"));
    }

    let mut got = Vec::new();
    let mut want = Vec::new();
    for (label, path, body, status, code) in cases {
        let reply = exchange(&served, &json_post(&served, path, &body)).await;
        let (got_status, got_code) = reply.error_code();
        let retry = reply.header("x-should-retry").map(str::to_owned);
        // Options have codes of their own (request/invalid_option, request/unsupported_field, ...);
        // what matters is a request/* code and a 400.
        let got_code = if code == "*" && got_code.starts_with("request/") {
            "*".to_owned()
        } else {
            got_code
        };
        got.push((label.clone(), got_status, got_code, retry));
        want.push((label, status, code.to_owned(), Some("false".to_owned())));
    }
    assert_eq!(got, want);

    // A body that is not UTF-8 JSON, and one that is not JSON at all.
    let auth = format!("Bearer {KEY}");
    let host = served.host();
    let head = [
        ("Host", host.as_str()),
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut got = Vec::new();
    for body in [&b"{\"prompt\": \"a \xff\xfe fox\"}"[..], b"prompt=a fox"] {
        let reply = exchange(&served, &request("POST", generations, &head, body)).await;
        got.push(reply.status);
    }
    assert_eq!(got, vec![400, 400]);

    assert_untouched(&world, &root, &root_before);

    let reply = exchange(
        &served,
        &json_post(&served, generations, &json!({"prompt": "a fox"})),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    served.stop().await;
}
