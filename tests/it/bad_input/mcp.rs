//! Bad input through `serve-mcp` (a real process on pipes) under `--root`: each wrong prompt, input
//! image, host-shaped image (a data URI or base64 that is not an image, a web URL, an image object of
//! the wrong shape), output target and hint is a tool result with `isError: true` and the
//! CLI's error report (its stable code) in `structuredContent`; no `turn/start` reaches the (fake)
//! app-server and nothing is written; and the server still generates afterwards.

#![cfg(feature = "mcp")]

use std::time::Duration;

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    bad_input::{assert_untouched, bad_image_files, bad_prompts},
    entries as listing,
    load::BridgeProcess,
    png, World,
};

const PATIENCE: Duration = Duration::from_secs(60);

/// `(isError, structuredContent.code)` of a `tools/call` answer, or the protocol error's code.
fn outcome(answer: &Value) -> (bool, String) {
    if let Some(error) = answer.get("error") {
        return (true, format!("jsonrpc {}", error["code"]));
    }
    let result = &answer["result"];
    (
        result["isError"].as_bool().unwrap_or(false),
        result["structuredContent"]["code"]
            .as_str()
            .unwrap_or("-")
            .to_owned(),
    )
}

#[test]
fn bad_calls_are_tool_errors_with_their_codes_and_start_no_turn() {
    let world = World::new();
    let base = world.dir.path().canonicalize().expect("canonical");
    let root = base.join("root");
    let outside = base.join("outside");
    std::fs::create_dir_all(root.join("inputs")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(root.join("good.png"), png(8, 8, 2)).expect("write");
    std::fs::write(root.join("existing.png"), b"keep me").expect("write");
    std::os::unix::fs::symlink(root.join("existing.png"), root.join("link.png")).expect("link");
    let bad_files = bad_image_files(&root.join("inputs"));
    let good_b64 = base64::engine::general_purpose::STANDARD.encode(png(8, 8, 2));

    let mut cases: Vec<(String, Value, &str)> = Vec::new();
    for (label, prompt) in bad_prompts() {
        cases.push((
            format!("prompt: {label}"),
            json!({"prompt": prompt, "output": "new.png"}),
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
            format!("image: {label}"),
            json!({"prompt": "a fox", "output": "new.png", "image": relative}),
            "request/invalid_image",
        ));
        cases.push((
            format!("reference: {label}"),
            json!({"prompt": "a fox", "output": "new.png", "references": ["good.png", relative]}),
            "request/invalid_image",
        ));
    }
    cases.push((
        "five references".to_owned(),
        json!({"prompt": "a fox", "output": "new.png", "references": vec!["good.png"; 5]}),
        "request/invalid_image",
    ));
    let text_b64 = base64::engine::general_purpose::STANDARD.encode(b"not an image at all");
    for (label, image) in [
        (
            "a data URI of text",
            json!(format!("data:text/plain;base64,{text_b64}")),
        ),
        (
            "a data URI whose bytes are not an image",
            json!(format!("data:image/png;base64,{text_b64}")),
        ),
        (
            "a data URI that is not base64",
            json!(format!("data:image/png,{good_b64}")),
        ),
        (
            "a data URI with bad base64",
            json!("data:image/png;base64,@@@@"),
        ),
        (
            "an object's data URL that is a web URL",
            json!({"url": "https://example.com/a.png"}),
        ),
        ("an object's base64 of text", json!({"b64_json": text_b64})),
        (
            "an object's data that is a path",
            json!({"data": "good.png"}),
        ),
        (
            "an object's path outside",
            json!({"path": "../outside/x.png"}),
        ),
    ] {
        cases.push((
            format!("host image: {label}"),
            json!({"prompt": "a fox", "output": "new.png", "image": image}),
            "request/invalid_image",
        ));
    }
    for (label, image) in [
        (
            "an object with two keys",
            json!({"path": "good.png", "data": good_b64}),
        ),
        ("an object with an unknown key", json!({"file": "good.png"})),
        ("an empty object", json!({})),
        ("a number", json!(7)),
    ] {
        cases.push((
            format!("image shape: {label}"),
            json!({"prompt": "a fox", "output": "new.png", "references": [image]}),
            "request/invalid_arguments",
        ));
    }
    for (label, image) in [
        ("an https URL", "https://example.com/a.png".to_owned()),
        ("a path with ..", "../outside/x.png".to_owned()),
        ("an absolute path outside", "/etc/passwd".to_owned()),
        ("a Windows path", "C:\\good.png".to_owned()),
        ("a path with a backslash", "inputs\\good.png".to_owned()),
        ("an empty string", String::new()),
    ] {
        cases.push((
            format!("host image: {label}"),
            json!({"prompt": "a fox", "output": "new.png", "image": image}),
            "request/invalid_image",
        ));
    }
    for (label, output, code) in [
        (
            "folder missing",
            json!("missing/a.png"),
            "output/invalid_target",
        ),
        ("target exists", json!("existing.png"), "output/exists"),
        (
            "target is a symlink",
            json!("link.png"),
            "output/invalid_target",
        ),
        ("`..`", json!("../outside/a.png"), "output/invalid_target"),
        (
            "absolute, outside",
            json!(outside.join("a.png")),
            "output/invalid_target",
        ),
        ("C:\\x.png", json!("C:\\x.png"), "output/invalid_target"),
        (
            "\\\\server\\share\\x.png",
            json!("\\\\server\\share\\x.png"),
            "output/invalid_target",
        ),
        ("C:x.png", json!("C:x.png"), "output/invalid_target"),
        ("..\\x.png", json!("..\\x.png"), "output/invalid_target"),
        ("not a string", json!(7), "request/invalid_arguments"),
    ] {
        cases.push((
            format!("output: {label}"),
            json!({"prompt": "a fox", "output": output}),
            code,
        ));
    }
    cases.push((
        "output: a symlink, with overwrite".to_owned(),
        json!({"prompt": "a fox", "output": "link.png", "overwrite": true}),
        "output/invalid_target",
    ));
    for (label, field) in [
        ("size without x", json!({"size": "1024"})),
        ("size zero", json!({"size": "0x512"})),
        ("aspect with /", json!({"aspect": "16/9"})),
        ("size and aspect", json!({"size": "1x1", "aspect": "1:1"})),
        ("quality unknown", json!({"quality": "ultra"})),
        ("background unknown", json!({"background": "clear"})),
        ("unknown field", json!({"steps": 20})),
    ] {
        let mut arguments = json!({"prompt": "a fox", "output": "new.png"});
        for (k, v) in field.as_object().expect("object") {
            arguments[k] = v.clone();
        }
        cases.push((
            format!("option: {label}"),
            arguments,
            "request/invalid_arguments",
        ));
    }
    cases.push((
        "prompt missing".to_owned(),
        json!({"output": "new.png"}),
        "request/invalid_arguments",
    ));

    let mut command = world.command::<&str>(&[]);
    command
        .args(["serve-mcp", "--structured", "--root"])
        .arg(&root);
    let mut server = BridgeProcess::spawn(command).expect("spawn serve-mcp");
    server
        .request(
            "init",
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bad-input", "version": "0"}}),
        )
        .expect("write");
    server
        .answers(&["init".to_owned()], PATIENCE)
        .expect("initialized");
    server
        .notify("notifications/initialized", json!({}))
        .expect("write");
    let root_before = listing(&root);
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (i, (label, arguments, code)) in cases.into_iter().enumerate() {
        let id = format!("c{i}");
        server
            .request(
                &id,
                "tools/call",
                json!({"name": "generate_image", "arguments": arguments}),
            )
            .expect("write");
        let answers = server
            .answers(std::slice::from_ref(&id), PATIENCE)
            .expect("an answer");
        got.push((label.clone(), outcome(&answers[&id])));
        want.push((label, (true, code.to_owned())));
    }
    assert_eq!(got, want);
    assert_untouched(&world, &root, &root_before);
    assert_eq!(
        listing(&outside),
        Vec::<String>::new(),
        "something was written outside"
    );

    server
        .request("last", "tools/call", json!({"name": "generate_image", "arguments": {"prompt": "a fox", "output": "fox.png"}}))
        .expect("write");
    let answers = server
        .answers(&["last".to_owned()], PATIENCE)
        .expect("an answer");
    assert_eq!(
        outcome(&answers["last"]),
        (false, "-".to_owned()),
        "{}",
        answers["last"]
    );
    assert!(root.join("fox.png").is_file());
    let status = server
        .close(Duration::from_secs(20))
        .expect("serve-mcp exits");
    assert!(status.success(), "{status}");
}
