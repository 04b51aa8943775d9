//! Bad input through the `serve-stdio` bridge under `--root`: each wrong line, prompt, input image,
//! host-shaped image, output target and option gets its JSON-RPC error (`-32700`, `-32600`, `-32602`, or
//! the category code with `data.code`), no `turn/start` reaches the (fake) app-server, nothing is
//! written in the root or beside it, and the bridge keeps serving afterwards.

use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, b64,
    bad_input::{assert_untouched, bad_image_files, bad_prompts},
    bridge::Bridge,
    entries as listing, png, World,
};

/// `(error.code, data.code or "-")` of an answer, or `("ok", "-")`.
fn outcome(answer: &Value) -> (i64, String) {
    match answer.get("error") {
        None => (0, "-".to_owned()),
        Some(e) => (
            e["code"].as_i64().unwrap_or(0),
            e["data"]["code"].as_str().unwrap_or("-").to_owned(),
        ),
    }
}

#[tokio::test]
async fn bad_requests_are_refused_with_their_codes_and_start_no_turn() {
    let world = World::new();
    let base = world.dir.path().canonicalize().expect("canonical");
    let root = base.join("root");
    let outside = base.join("outside");
    std::fs::create_dir_all(root.join("inputs")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.png"), png(4, 4, 9)).expect("write");
    std::fs::write(root.join("existing.png"), b"keep me").expect("write");
    std::fs::write(root.join("good.png"), png(8, 8, 2)).expect("write");
    std::os::unix::fs::symlink(root.join("existing.png"), root.join("link.png")).expect("link");
    let bad_files = bad_image_files(&root.join("inputs"));
    let good_b64 = b64(&png(8, 8, 2));

    let mut cases: Vec<(String, Value, (i64, &str))> = Vec::new();
    let out = "new.png";
    for (label, prompt) in bad_prompts() {
        cases.push((
            format!("prompt: {label}"),
            json!({"prompt": prompt, "output": out}),
            (-32002, "request/invalid_prompt"),
        ));
    }
    for (label, path) in &bad_files {
        let relative = path
            .strip_prefix(&root)
            .expect("inside")
            .to_str()
            .expect("utf-8");
        cases.push((
            format!("image: {label}"),
            json!({"prompt": "a fox", "output": out, "image": {"path": relative}}),
            (-32002, "request/invalid_image"),
        ));
        cases.push((
            format!("reference: {label}"),
            json!({"prompt": "a fox", "output": out, "references": [{"path": "good.png"}, {"path": relative}]}),
            (-32002, "request/invalid_image"),
        ));
    }
    let refs: Vec<Value> = (0..5).map(|_| json!({"path": "good.png"})).collect();
    cases.push((
        "five references".to_owned(),
        json!({"prompt": "a fox", "output": out, "references": refs}),
        (-32002, "request/invalid_image"),
    ));
    // Host-shaped images: only `{path}` or `{base64}` with standard base64 of an image; never guessed.
    let host_shaped: Vec<(&str, Value, (i64, &str))> = vec![
        ("a bare path string", json!("good.png"), (-32602, "-")),
        ("a bare base64 string", json!(good_b64), (-32602, "-")),
        (
            "a data URI string",
            json!(format!("data:image/png;base64,{good_b64}")),
            (-32602, "-"),
        ),
        (
            "a data URI in base64",
            json!({"base64": format!("data:image/png;base64,{good_b64}")}),
            (-32002, "request/invalid_image"),
        ),
        (
            "base64 of text",
            json!({"base64": b64(b"hello, not an image")}),
            (-32002, "request/invalid_image"),
        ),
        (
            "base64 that is not base64",
            json!({"base64": "%%%not base64%%%"}),
            (-32002, "request/invalid_image"),
        ),
        (
            "base64 of a bomb",
            json!({"base64": b64(&support::bad_input::png_claiming(90_000, 90_000))}),
            (-32002, "request/invalid_image"),
        ),
        (
            "an empty base64",
            json!({"base64": ""}),
            (-32002, "request/invalid_image"),
        ),
        (
            "both path and base64",
            json!({"path": "good.png", "base64": good_b64}),
            (-32602, "-"),
        ),
        ("neither path nor base64", json!({}), (-32602, "-")),
        (
            "an image_url object",
            json!({"image_url": format!("data:image/png;base64,{good_b64}")}),
            (-32602, "-"),
        ),
        (
            "a URL path",
            json!({"path": "https://example.com/a.png"}),
            (-32002, "request/invalid_image"),
        ),
    ];
    for (label, image, want) in host_shaped {
        cases.push((
            format!("host image: {label}"),
            json!({"prompt": "a fox", "output": out, "image": image}),
            want,
        ));
    }
    let outside_file = outside.join("a.png");
    let targets: Vec<(&str, Value, (i64, &str))> = vec![
        (
            "folder missing",
            json!("missing/a.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "missing folder with a slash",
            json!("missing/"),
            (-32005, "output/invalid_target"),
        ),
        (
            "target exists",
            json!("existing.png"),
            (-32005, "output/exists"),
        ),
        (
            "target is a symlink",
            json!("link.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "`..`",
            json!("../outside/a.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "`..` that comes back",
            json!("inputs/../new.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "absolute, outside",
            json!(outside_file),
            (-32005, "output/invalid_target"),
        ),
        (
            "absolute, /etc",
            json!("/etc/codex-img-test.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "C:\\x.png",
            json!("C:\\x.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "\\\\server\\share\\x.png",
            json!("\\\\server\\share\\x.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "C:x.png",
            json!("C:x.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "..\\x.png",
            json!("..\\x.png"),
            (-32005, "output/invalid_target"),
        ),
        (
            "a NUL",
            json!("a\u{0}.png"),
            (-32005, "output/invalid_target"),
        ),
        ("empty", json!(""), (-32005, "output/invalid_target")),
        ("not a string", json!(5), (-32602, "-")),
    ];
    for (label, output, want) in targets {
        cases.push((
            format!("output: {label}"),
            json!({"prompt": "a fox", "output": output}),
            want,
        ));
    }
    cases.push((
        "output: a symlink, with overwrite".to_owned(),
        json!({"prompt": "a fox", "output": "link.png", "overwrite": true}),
        (-32005, "output/invalid_target"),
    ));
    cases.push((
        "input path: Windows-shaped".to_owned(),
        json!({"prompt": "a fox", "returnBytes": true, "image": {"path": "inputs\\good.png"}}),
        (-32002, "request/invalid_image"),
    ));
    cases.push((
        "input path: outside".to_owned(),
        json!({"prompt": "a fox", "returnBytes": true, "image": {"path": outside.join("secret.png")}}),
        (-32002, "request/invalid_image"),
    ));
    let options: Vec<(&str, Value)> = vec![
        ("size without x", json!({"size": "1024"})),
        ("size zero", json!({"size": "0x512"})),
        ("size too big", json!({"size": "99999x2"})),
        ("size a number", json!({"size": 1024})),
        ("aspect with /", json!({"aspect": "16/9"})),
        ("aspect zero", json!({"aspect": "0:1"})),
        ("quality unknown", json!({"quality": "ultra"})),
        ("background unknown", json!({"background": "clear"})),
        ("timeoutSecs zero", json!({"timeoutSecs": 0})),
        ("timeoutSecs negative", json!({"timeoutSecs": -5})),
        ("timeoutSecs huge", json!({"timeoutSecs": 1e300})),
        ("no output and no returnBytes", json!({"output": null})),
        ("unknown field", json!({"steps": 20})),
        ("prompt missing", json!({"prompt": null})),
    ];
    for (label, extra) in options {
        let mut params = json!({"prompt": "a fox", "output": out});
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                params.as_object_mut().expect("object").remove(k);
            } else {
                params[k] = v.clone();
            }
        }
        cases.push((format!("option: {label}"), params, (-32602, "-")));
    }

    let options = BridgeOptions {
        root: Some(root.clone()),
    };
    let mut bridge = Bridge::start(world.client(), options);
    let root_before = listing(&root);
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (i, (label, params, (code, data_code))) in cases.into_iter().enumerate() {
        bridge.request(json!(i), "image/generate", params).await;
        let answer = bridge.answer(&json!(i)).await;
        got.push((label.clone(), outcome(&answer)));
        want.push((label, (code, data_code.to_owned())));
    }
    assert_eq!(got, want);

    // Lines that are not requests at all, each answered with one error line naming no id.
    let raw: Vec<(&str, Vec<u8>, i64)> = vec![
        ("invalid UTF-8", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"codex/doctor\",\"x\":\"\xff\xfe\"}\n".to_vec(), -32700),
        ("invalid UTF-8 in a prompt", b"{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"method\":\"image/generate\",\"params\":{\"prompt\":\"a \xc3\x28 fox\",\"output\":\"u.png\"}}\n".to_vec(), -32700),
        ("not JSON", b"generate a fox please\n".to_vec(), -32700),
        ("a batch", b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"codex/doctor\"}]\n".to_vec(), -32600),
        ("a bare string", b"\"image/generate\"\n".to_vec(), -32600),
    ];
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (label, line, code) in raw {
        bridge.send_raw(&line).await;
        let answer = bridge.next().await.expect("an answer");
        got.push((
            label,
            answer["id"].clone(),
            answer["error"]["code"].as_i64(),
        ));
        want.push((label, Value::Null, Some(code)));
    }
    assert_eq!(got, want);

    assert_untouched(&world, &root, &root_before);
    assert_eq!(
        listing(&outside),
        vec!["secret.png"],
        "something was written outside"
    );
    assert_eq!(
        std::fs::read(root.join("existing.png")).expect("read"),
        b"keep me"
    );

    // The bridge still serves: the next good request generates.
    bridge
        .request(
            json!("last"),
            "image/generate",
            json!({"prompt": "a fox", "output": "fox.png"}),
        )
        .await;
    let answer = bridge.answer(&json!("last")).await;
    assert_eq!(outcome(&answer), (0, "-".to_owned()), "{answer}");
    assert!(root.join("fox.png").is_file());
    bridge.finish_ok().await;
}
