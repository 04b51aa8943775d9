//! `codex-img serve-mcp` driven by the official MCP Python SDK against the fake app-server: the
//! handshake and the tool list, generation with progress, the inline image and the saved file,
//! every error kind as a coded `isError` result, cancellation, bad arguments and `--root` escapes,
//! all refused before any turn starts. Every session ends with the client closing stdin; the server
//! must then exit 0 by itself, leaving no process behind (asked of `/proc`).

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    self, entries as files,
    mcp::{error_report, ok_result, phases, result, Session},
    staged, World,
};

fn root_of(world: &World) -> std::path::PathBuf {
    let root = world.dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    root.canonicalize().expect("canonical root")
}

#[test]
fn the_handshake_and_the_tool_list_describe_both_tools_truthfully() {
    let python = support::mcp::python();
    let world = World::new();
    let out = Session::new(&world, &[]).list_tools().run(&python);
    assert_eq!(out.initialize["serverInfo"]["name"], "codex-img");
    assert_eq!(out.initialize["capabilities"]["tools"], json!({}));
    let tools = out.steps[0]["result"]["tools"].as_array().expect("tools");
    let mut names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["codex_status", "generate_image"]);
    let tool = |name: &str| -> &Value { tools.iter().find(|t| t["name"] == name).expect("listed") };
    let generate = tool("generate_image");
    assert_eq!(
        generate["annotations"],
        json!({"title": "Generate an image with Codex", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true})
    );
    let description = generate["description"].as_str().expect("description");
    // It says where an image without `output` goes on this very server.
    let cache = world.dir.path().join("cache/codex-img/images");
    let saves = format!("otherwise in the user's cache folder, {}.", cache.display());
    for phrase in [
        "ChatGPT image quota",
        "30-140 s",
        "never to retry a timeout",
        &saves,
    ] {
        assert!(
            description.contains(phrase),
            "the description lacks {phrase:?}: {description}"
        );
    }
    let input = &generate["inputSchema"];
    assert_eq!(input["type"], "object");
    assert_eq!(input["required"], json!(["prompt"]));
    assert_eq!(input["additionalProperties"], json!(false));
    let mut properties: Vec<&String> = input["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    properties.sort();
    assert_eq!(
        properties,
        [
            "aspect",
            "background",
            "compression",
            "fit",
            "format",
            "ignore_known_usage_limit",
            "image",
            "inline",
            "key",
            "n",
            "output",
            "overwrite",
            "prompt",
            "quality",
            "references",
            "sidecar",
            "size"
        ]
    );
    assert_eq!(
        input["properties"]["format"]["enum"],
        json!(["png", "jpeg", "webp"])
    );
    assert_eq!(
        input["properties"]["fit"]["enum"],
        json!(["cover", "contain", "fill"])
    );
    assert_eq!(
        (
            input["properties"]["n"]["minimum"].clone(),
            input["properties"]["n"]["maximum"].clone()
        ),
        (json!(1), json!(8))
    );
    assert_eq!(
        input["properties"]["quality"]["enum"],
        json!(["low", "medium", "high", "auto"])
    );
    assert_eq!(input["properties"]["references"]["maxItems"], json!(4));
    assert_eq!(
        input["properties"]["ignore_known_usage_limit"]["type"],
        json!("boolean")
    );
    // An image is a string (path, data URI, base64) or an object naming which it is.
    let image_kinds: Vec<Value> = input["properties"]["image"]["anyOf"]
        .as_array()
        .expect("image anyOf")
        .iter()
        .map(|branch| branch["type"].clone())
        .collect();
    assert!(
        image_kinds.contains(&json!("string")) && image_kinds.contains(&json!("object")),
        "{image_kinds:?} in {}",
        input["properties"]["image"]
    );
    assert_eq!(generate["outputSchema"]["type"], "object");
    // One image's report, or a batch of them.
    let branches = generate["outputSchema"]["anyOf"].as_array().expect("anyOf");
    assert_eq!(branches.len(), 2);
    assert!(branches[0]["required"]
        .as_array()
        .expect("required")
        .contains(&json!("sha256")));
    assert_eq!(branches[1]["required"], json!(["ok", "images", "errors"]));

    let status = tool("codex_status");
    assert_eq!(
        status["annotations"],
        json!({"title": "Check Codex image generation", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true})
    );
    assert_eq!(status["inputSchema"]["additionalProperties"], json!(false));
    assert_eq!(status["outputSchema"]["type"], "object");
    // Listing tools starts nothing.
    assert_eq!(world.server_pids(), Vec::<i32>::new());
}

#[test]
fn an_image_comes_inline_and_saved_with_progress_for_every_phase() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "a lighthouse at dawn", "output": "lighthouse.png", "aspect": "3:2"}),
            true,
        )
        .call("codex_status", json!({}), false)
        .run(&python);
    let step = &out.steps[0];
    let r = ok_result(step);
    let saved = root.join("lighthouse.png");
    let on_disk = std::fs::read(&saved).expect("the saved file");
    // The SDK validated structuredContent against the declared outputSchema; check its values.
    let report = &r["structuredContent"];
    assert_eq!(report["ok"], json!(true));
    assert_eq!(report["path"], json!(saved));
    assert_eq!(
        (
            report["format"].clone(),
            report["mime"].clone(),
            report["width"].clone(),
            report["height"].clone(),
            report["bytes"].clone()
        ),
        (
            json!("png"),
            json!("image/png"),
            json!(64),
            json!(48),
            json!(on_disk.len())
        )
    );
    // The inline image is exactly the fake's image, and the file holds the same bytes.
    let image = &r["content"][1];
    assert_eq!(
        (image["type"].clone(), image["mimeType"].clone()),
        (json!("image"), json!("image/png"))
    );
    let inline = base64::engine::general_purpose::STANDARD
        .decode(image["data"].as_str().expect("data"))
        .expect("base64");
    assert_eq!(inline, on_disk);
    let made = world.events("image");
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["sha256"], report["sha256"]);
    let text = r["content"][0]["text"].as_str().expect("summary");
    assert!(
        text.starts_with(&format!(
            "Saved the image to {}: PNG 64x48, alpha none, {} bytes, sha256 {}.\nThe attached image is the file itself.",
            saved.display(),
            on_disk.len(),
            report["sha256"].as_str().expect("sha256")
        )),
        "{text}"
    );
    // The hint reached the turn.
    let turns = world.events("turn_inputs");
    assert!(turns[0]["params"]["input"][0]["text"]
        .as_str()
        .expect("text")
        .contains("aspect ratio 3:2"));
    // One notification per phase, in order, with a counter that always increases.
    assert_eq!(
        phases(step),
        [
            "queued",
            "starting_process",
            "thread_started",
            "generating",
            "image_received",
            "done"
        ]
    );
    let counters: Vec<f64> = step["progress"]
        .as_array()
        .expect("progress")
        .iter()
        .filter_map(|p| p["progress"].as_f64())
        .collect();
    assert_eq!(counters, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // The status tool reports ready, spending nothing (no new turn).
    let status = ok_result(&out.steps[1]);
    assert_eq!(status["structuredContent"]["ready"], json!(true));
    assert_eq!(status["structuredContent"]["blocking"], Value::Null);
    assert_eq!(world.events("turn_inputs").len(), 1);
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[test]
fn a_slow_image_gets_heartbeats_while_it_is_generated() {
    let python = support::mcp::python();
    let world = World::new().set("FAKE_DELAY_MS", "8000");
    let root = root_of(&world);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "a slow fox [fake:slow]", "output": "fox.png"}),
            true,
        )
        .run(&python);
    let step = &out.steps[0];
    ok_result(step);
    let seen = phases(step);
    let generating = seen.iter().filter(|p| *p == "generating").count();
    assert!(generating >= 2, "no heartbeat while generating: {seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("done"));
    // Without a progress token, nothing is sent.
    let quiet = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "a fox", "output": "quiet.png"}),
            false,
        )
        .run(&python);
    assert_eq!(quiet.steps[0]["progress"], json!([]));
}

#[test]
fn without_output_the_image_is_saved_in_the_cache_folder_or_the_root_never_in_the_working_directory(
) {
    let python = support::mcp::python();
    let world = World::new();
    let out = Session::new(&world, &[])
        .call("generate_image", json!({"prompt": "a fox"}), false)
        .run(&python);
    let r = ok_result(&out.steps[0]);
    let sha = r["structuredContent"]["sha256"].as_str().expect("sha256");
    let folder = world.dir.path().join("cache/codex-img/images");
    let name = format!("codex-img-{}.png", &sha[..12]);
    assert_eq!(files(&folder), vec![name.clone()]);
    assert_eq!(r["structuredContent"]["path"], json!(folder.join(&name)));
    assert_eq!(files(&world.dir.path().join("cwd")), Vec::<String>::new());

    let root = root_of(&world);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call("generate_image", json!({"prompt": "a fox"}), false)
        .run(&python);
    let r = result(&out.steps[0]);
    let sha = r["structuredContent"]["sha256"].as_str().expect("sha256");
    let name = format!("codex-img-{}.png", &sha[..12]);
    assert_eq!(files(&root), vec![name.clone()]);
    assert_eq!(r["structuredContent"]["path"], json!(root.join(&name)));
}

#[test]
fn large_images_come_as_a_preview_and_inline_false_as_a_link_to_the_file() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "a fox", "output": "small.png", "inline": false}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "a big fox [fake:big]", "output": "big.png"}),
            false,
        )
        .run(&python);
    let r = ok_result(&out.steps[0]);
    let path = root.join("small.png");
    let len = std::fs::metadata(&path).expect("saved").len();
    assert_eq!(
        r["content"][1],
        json!({"type": "resource_link", "uri": format!("file://{}", path.display()), "name": "small.png", "mimeType": "image/png", "size": len})
    );
    assert_eq!(r["structuredContent"]["width"], json!(64));

    // The big image is saved whole; the result attaches a preview within the default bounds.
    let r = ok_result(&out.steps[1]);
    let big = std::fs::read(root.join("big.png")).expect("big");
    assert!(big.len() > 2 * 1024 * 1024);
    assert_eq!(r["structuredContent"]["width"], json!(2048));
    let (mime, preview) = support::mcp::image_block(&r["content"][1]);
    assert_eq!(mime, "image/jpeg");
    let (width, height) = support::mcp::jpeg_size(&preview);
    assert_eq!(width.max(height), 1024, "{width}x{height}");
    assert!(preview.len() <= 200_000, "{} bytes", preview.len());
    let text = r["content"][0]["text"].as_str().expect("text");
    assert!(
        text.contains(&format!(
            "\nThe attached image is a preview for viewing only (JPEG {width}x{height}, {} bytes); the saved file is the full image",
            preview.len()
        )),
        "{text}"
    );
}

#[test]
fn agents_get_every_fact_in_the_text_a_preview_and_no_structured_content() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    std::fs::write(root.join("taken.png"), b"mine").expect("write");
    let out = Session::for_agents(
        &world,
        &[
            "--root",
            root.to_str().expect("utf-8"),
            "--preview-size",
            "512",
        ],
    )
    .list_tools()
    .call(
        "generate_image",
        json!({"prompt": "a lighthouse", "output": "tiny.png"}),
        false,
    )
    .call(
        "generate_image",
        json!({"prompt": "a big fox [fake:big]", "output": "big.png"}),
        false,
    )
    .call(
        "generate_image",
        json!({"prompt": "a fox", "output": "taken.png"}),
        false,
    )
    .call("codex_status", json!({}), false)
    .run(&python);
    // No outputSchema, and no null anywhere in the listing.
    let tools = &out.steps[0]["result"]["tools"];
    for tool in tools.as_array().expect("tools") {
        assert_eq!(tool.get("outputSchema"), None, "{tool}");
    }
    assert!(!tools.to_string().contains("null"), "{tools}");

    // The tiny image: every fact in the text, the file itself attached.
    let r = ok_result(&out.steps[1]);
    assert_eq!(r.get("structuredContent"), None, "{r}");
    let saved = root.join("tiny.png");
    let bytes = std::fs::read(&saved).expect("saved");
    let sha = codex_img::image::sha256_hex(&bytes);
    let content = r["content"].as_array().expect("content");
    assert_eq!(content.len(), 2, "{content:?}");
    assert_eq!(
        support::mcp::image_block(&content[1]),
        ("image/png".to_owned(), bytes.clone())
    );
    let text = content[0]["text"].as_str().expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            format!(
                "Saved the image to {}: PNG 64x48, alpha none, {} bytes, sha256 {sha}.",
                saved.display(),
                bytes.len()
            )
            .as_str(),
            "The attached image is the file itself."
        ],
        "{text}"
    );
    assert!(
        lines[2].starts_with("Revised prompt: a lighthouse"),
        "{text}"
    );
    assert!(lines[3].starts_with("Made by Codex "), "{text}");

    // The big one: a preview within the server's --preview-size.
    let r = result(&out.steps[2]);
    let (mime, preview) = support::mcp::image_block(&r["content"][1]);
    assert_eq!(mime, "image/jpeg");
    let (width, height) = support::mcp::jpeg_size(&preview);
    assert_eq!(width.max(height), 512);

    // A failure: only text, which says what to do.
    let r = result(&out.steps[3]);
    assert_eq!(r["isError"], json!(true));
    assert_eq!(r.get("structuredContent"), None, "{r}");
    let text = r["content"][0]["text"].as_str().expect("text");
    assert!(text.starts_with("error[output/exists]: "), "{text}");
    assert!(
        text.contains(
            "\nRetry: yes, with overwrite: true to replace the file, or with another output."
        ),
        "{text}"
    );

    // The status: its lines, no structured report.
    let r = result(&out.steps[4]);
    assert_eq!(r.get("structuredContent"), None, "{r}");
    assert!(
        r["content"][0]["text"]
            .as_str()
            .expect("text")
            .ends_with("Ready: generate_image can make images with this Codex."),
        "{r}"
    );
}

#[test]
fn every_failure_is_an_is_error_result_with_its_code_and_nothing_is_written() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    std::fs::write(root.join("taken.png"), b"mine").expect("write");
    std::fs::write(root.join("notes.txt"), b"not an image").expect("write");
    let call = |prompt: &str, output: &str| json!({"prompt": prompt, "output": output});
    let out = Session::new(
        &world,
        &["--root", root.to_str().expect("utf-8"), "--timeout", "2"],
    )
    .call(
        "generate_image",
        call("a fox [fake:refused]", "b.png"),
        false,
    )
    .call(
        "generate_image",
        call("a fox [fake:no-image]", "c.png"),
        false,
    )
    .call("generate_image", call("a fox [fake:hang]", "d.png"), false)
    .call("generate_image", call("a fox [fake:crash]", "e.png"), false)
    .call("generate_image", call("a fox", "taken.png"), false)
    .call("generate_image", call("a fox", "missing/f.png"), false)
    .call("generate_image", call("   ", "g.png"), false)
    .call(
        "generate_image",
        json!({"prompt": "a fox", "output": "h.png", "image": "notes.txt"}),
        false,
    )
    .call(
        "generate_image",
        json!({"prompt": "a fox", "output": "i.png", "size": "big"}),
        false,
    )
    .call(
        "generate_image",
        json!({"prompt": "a fox", "output": "j.png", "size": "10x10", "aspect": "1:1"}),
        false,
    )
    .call(
        "generate_image",
        json!({"prompt": "a fox", "outptu": "k.png"}),
        false,
    )
    .call("generate_image", json!({"prompt": 7}), false)
    // Last among the turns: after a usage limit with a reset time, later generations are refused
    // locally until the reset.
    .call(
        "generate_image",
        call("a fox [fake:usage-limit-item]", "a.png"),
        false,
    )
    .call("codex_status", json!({"verbose": true}), false)
    .run(&python);
    let summary: Vec<(String, bool)> = out
        .steps
        .iter()
        .map(|s| {
            let report = error_report(s);
            assert_eq!(report["ok"], json!(false));
            (
                report["code"].as_str().unwrap_or("?").to_owned(),
                report["retryable"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    let expected: Vec<(String, bool)> = [
        ("runtime/refused", false),
        ("runtime/no_image", true),
        ("runtime/timeout", false),
        ("runtime/app_server_exited", false),
        ("output/exists", false),
        ("output/invalid_target", false),
        ("request/invalid_prompt", false),
        ("request/invalid_image", false),
        ("request/invalid_arguments", false),
        ("request/invalid_arguments", false),
        ("request/invalid_arguments", false),
        ("request/invalid_arguments", false),
        ("runtime/usage_limit", false),
        ("request/invalid_arguments", false),
    ]
    .iter()
    .map(|(c, r)| (c.to_string(), *r))
    .collect();
    assert_eq!(summary, expected);
    // A usage limit says when it resets.
    let limit = error_report(&out.steps[12]);
    let resets_at = limit["resets_at"].as_i64().expect("resets_at");
    assert!(resets_at > 1_700_000_000, "{limit}");
    assert!(
        limit["resets_at_text"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{limit}"
    );
    assert!(result(&out.steps[12])["content"][0]["text"]
        .as_str()
        .expect("text")
        .contains(&format!(
            "\nRetry: not before {}, when the usage limit resets",
            limit["resets_at_text"].as_str().expect("text")
        )));
    // Only the five runtime cases reached Codex; nothing but what was there is in the root.
    assert_eq!(world.events("turn_inputs").len(), 5);
    assert_eq!(files(&root), ["notes.txt", "taken.png"]);
    assert_eq!(
        std::fs::read(root.join("taken.png")).expect("kept"),
        b"mine"
    );
}

#[test]
fn preflight_failures_are_coded_results_and_the_status_tool_explains_them() {
    let python = support::mcp::python();
    let world = World::new().set("FAKE_LOGIN", "apikey");
    let out = Session::new(&world, &[])
        .call("generate_image", json!({"prompt": "a fox"}), false)
        .call("codex_status", json!({}), false)
        .run(&python);
    assert_eq!(
        error_report(&out.steps[0])["code"],
        "preflight/api_key_login"
    );
    let status = ok_result(&out.steps[1]);
    assert_eq!(status["structuredContent"]["ready"], json!(false));
    assert_eq!(
        status["structuredContent"]["blocking"]["code"],
        "preflight/api_key_login"
    );
    assert!(status["content"][0]["text"]
        .as_str()
        .expect("text")
        .contains("Not ready (preflight/api_key_login)"));
    assert_eq!(world.events("turn_inputs").len(), 0);

    let old = World::new().set("FAKE_CODEX_VERSION", "0.121.0");
    let out = Session::new(&old, &[])
        .call("generate_image", json!({"prompt": "a fox"}), false)
        .run(&python);
    assert_eq!(
        error_report(&out.steps[0])["code"],
        "preflight/unsupported_version"
    );
}

#[test]
fn cancelling_a_call_interrupts_the_turn_writes_nothing_and_frees_the_slot() {
    let python = support::mcp::python();
    // One slot, and an image that would take a minute: the next call only runs if the slot is freed.
    let world = World::new().set("FAKE_DELAY_MS", "60000");
    let root = root_of(&world);
    let out = Session::new(
        &world,
        &[
            "--root",
            root.to_str().expect("utf-8"),
            "--concurrency",
            "1",
        ],
    )
    .cancel(
        "generate_image",
        json!({"prompt": "a slow fox [fake:slow]", "output": "slow.png"}),
        "generating",
    )
    .call(
        "generate_image",
        json!({"prompt": "a quick fox", "output": "quick.png"}),
        true,
    )
    .run(&python);
    let cancelled = &out.steps[0];
    assert_eq!(cancelled["cancelled"], json!(true), "{cancelled}");
    let next = &out.steps[1];
    ok_result(next);
    assert_eq!(files(&root), ["quick.png"]);
    let interrupted = world.events("interrupted");
    let turns = world.events("turn_inputs");
    assert_eq!(turns.len(), 2);
    // The cancelled turn was interrupted before it made an image (the quick one is interrupted too,
    // once its image arrived: codex-img stops every turn at its first image).
    let slow = &turns[0]["turnId"];
    assert_eq!(
        interrupted.iter().filter(|e| &e["turnId"] == slow).count(),
        1
    );
    assert_eq!(
        world
            .events("image")
            .iter()
            .filter(|e| &e["turnId"] == slow)
            .count(),
        0
    );
    assert_eq!(world.generated_images(), Vec::<String>::new());
    assert!(
        out.stderr.contains("generate_image cancelled"),
        "{}",
        out.stderr
    );
}

#[test]
fn root_escapes_are_refused_before_anything_starts() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    let outside = world.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    std::fs::write(outside.join("secret.png"), support::png(8, 8, 1)).expect("write");
    std::os::unix::fs::symlink(&outside, root.join("escape")).expect("link");
    let outside_png = outside.join("secret.png");
    let outside_png = outside_png.to_str().expect("utf-8");
    let steps: Vec<Value> = vec![
        json!({"prompt": "x", "output": "../x.png"}),
        json!({"prompt": "x", "output": outside.join("x.png")}),
        json!({"prompt": "x", "output": "escape/x.png"}),
        json!({"prompt": "x", "output": "/etc/x.png"}),
        json!({"prompt": "x", "output": "ok.png", "image": outside_png}),
        json!({"prompt": "x", "output": "ok.png", "image": "escape/secret.png"}),
        json!({"prompt": "x", "output": "ok.png", "references": ["../outside/secret.png"]}),
    ];
    let mut session = Session::new(&world, &["--root", root.to_str().expect("utf-8")]);
    for arguments in &steps {
        session = session.call("generate_image", arguments.clone(), false);
    }
    let out = session.run(&python);
    let codes: Vec<String> = out
        .steps
        .iter()
        .map(|s| error_report(s)["code"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "output/invalid_target",
            "output/invalid_target",
            "output/invalid_target",
            "output/invalid_target",
            "request/invalid_image",
            "request/invalid_image",
            "request/invalid_image"
        ]
    );
    assert_eq!(
        error_report(&out.steps[0])["message"],
        "cannot write to ../x.png: `..` is not allowed under --root"
    );
    // Not even the app-server was started, and nothing was written anywhere.
    assert_eq!(world.server_pids(), Vec::<i32>::new());
    assert_eq!(files(&root), ["escape"]);
    assert_eq!(files(&outside), ["secret.png"]);
}

#[test]
fn format_fit_and_key_deliver_what_was_asked_and_say_so() {
    let python = support::mcp::python();
    // Below 0.150 the image tool cannot make transparency, so the fake draws on the flat key colour.
    let world = World::new().set("FAKE_CODEX_VERSION", "0.145.0");
    let root = root_of(&world);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "a fox", "output": "fox.webp"}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "a fox", "output": "square.png", "size": "32x32", "fit": "cover"}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "a sticker of a fox", "output": "sticker.png", "key": "#00FF00"}),
            false,
        )
        .run(&python);
    let report = |i: usize| -> Value { ok_result(&out.steps[i])["structuredContent"].clone() };
    let webp = report(0);
    assert_eq!(
        (webp["format"].clone(), webp["mime"].clone()),
        (json!("webp"), json!("image/webp"))
    );
    assert_eq!(
        &std::fs::read(root.join("fox.webp")).expect("webp")[8..12],
        b"WEBP"
    );
    let square = report(1);
    assert_eq!(
        (
            square["width"].clone(),
            square["height"].clone(),
            square["fit"].clone(),
            square["original"].clone()
        ),
        (
            json!(32),
            json!(32),
            json!("cover"),
            json!({"width": 64, "height": 48})
        )
    );
    let text = result(&out.steps[1])["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(
        text.contains("PNG 32x32 (cover from 64x48), alpha none"),
        "{text}"
    );
    let sticker = report(2);
    assert_eq!(sticker["alpha"], json!("keyed"));
    // The turn asked for the key colour as its fallback background.
    let turns = world.events("turn_inputs");
    let asked = turns[2]["params"]["input"][0]["text"]
        .as_str()
        .expect("text");
    assert!(asked.contains("#00FF00"), "{asked}");
    assert_eq!(files(&root), ["fox.webp", "square.png", "sticker.png"]);
}

#[test]
fn several_images_come_numbered_with_a_batch_report_and_a_failure_costs_only_itself() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    let out = Session::new(
        &world,
        &[
            "--root",
            root.to_str().expect("utf-8"),
            "--concurrency",
            "3",
        ],
    )
    .call(
        "generate_image",
        json!({"prompt": "a cat", "output": "cat.png", "n": 3}),
        true,
    )
    .call(
        "generate_image",
        json!({"prompt": "a dog [fake:fail-every:2]", "output": "dog.png", "n": 2}),
        false,
    )
    .run(&python);
    let cats = ok_result(&out.steps[0]);
    let report = &cats["structuredContent"];
    assert_eq!(
        (report["ok"].clone(), report["errors"].clone()),
        (json!(true), json!([]))
    );
    let paths: Vec<Value> = report["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| i["path"].clone())
        .collect();
    assert_eq!(
        paths,
        ["cat-1.png", "cat-2.png", "cat-3.png"].map(|n| json!(root.join(n)))
    );
    // One summary line, then each small image attached, each the bytes of its file.
    let content = cats["content"].as_array().expect("content");
    assert_eq!(content.len(), 4);
    assert!(content[0]["text"]
        .as_str()
        .expect("text")
        .starts_with("Made 3 of 3 images.\n1. Saved "));
    for (i, block) in content[1..].iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(block["data"].as_str().expect("inline"))
            .expect("base64");
        assert_eq!(
            bytes,
            std::fs::read(root.join(format!("cat-{}.png", i + 1))).expect("file")
        );
    }
    assert_eq!(world.events("turn_inputs").len(), 5);
    // Of two turns one fails; the other image is delivered and the call is not an error.
    let dogs = ok_result(&out.steps[1]);
    let report = &dogs["structuredContent"];
    assert_eq!(report["ok"], json!(false));
    assert_eq!(report["images"].as_array().expect("images").len(), 1);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    // The fake's injected failure is a failed turn without an image.
    assert_eq!(errors[0]["code"], "runtime/no_image");
    assert_eq!(world.events("injected_failure").len(), 1);
}

#[test]
fn bad_options_are_refused_with_their_codes_before_any_turn() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    std::fs::write(root.join("cat-2.png"), b"mine").expect("write");
    let args = |extra: Value| {
        let mut a = json!({"prompt": "a fox", "output": "a.png"});
        for (k, v) in extra.as_object().expect("object") {
            a[k] = v.clone();
        }
        a
    };
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call("generate_image", args(json!({"format": "jpeg"})), false)
        .call("generate_image", args(json!({"fit": "cover"})), false)
        .call(
            "generate_image",
            args(json!({"output": "a.jpg", "key": "auto"})),
            false,
        )
        .call("generate_image", args(json!({"n": 9})), false)
        .call("generate_image", args(json!({"format": "gif"})), false)
        .call("generate_image", args(json!({"key": "green"})), false)
        .call(
            "generate_image",
            args(json!({"output": "cat.png", "n": 3})),
            false,
        )
        .run(&python);
    let codes: Vec<String> = out
        .steps
        .iter()
        .map(|s| error_report(s)["code"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "request/format_mismatch",
            "request/missing_option",
            "request/conflicting_options",
            "request/invalid_option",
            "request/invalid_arguments",
            "request/invalid_arguments",
            "output/exists"
        ]
    );
    assert_eq!(world.events("turn_inputs").len(), 0);
    assert_eq!(files(&root), ["cat-2.png"]);
}

#[test]
fn images_come_as_paths_data_uris_base64_or_objects_and_reach_the_turn_as_sent() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    let (a, b, c) = (
        support::png(8, 8, 1),
        support::png(8, 8, 2),
        support::png(8, 8, 3),
    );
    std::fs::write(root.join("a.png"), &a).expect("write");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "edit [fake:complete]", "output": "one.png",
                   "image": format!("data:image/png;base64,{}", b64(&b)),
                   "references": ["a.png", {"b64_json": b64(&c)}, b64(&b), {"path": "a.png"}]}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "x", "output": "two.png", "image": {"url": "https://example.com/a.png"}}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "x", "output": "three.png", "image": {"path": "a.png", "data": "x"}}),
            false,
        )
        .run(&python);
    ok_result(&out.steps[0]);
    let turns = world.events("turn_inputs");
    assert_eq!(turns.len(), 1, "the refused calls started no turn");
    let sha = |bytes: &[u8]| codex_img::image::sha256_hex(bytes);
    assert_eq!(
        staged(&turns[0]),
        [
            ("input-1.png", sha(&b)),
            ("ref-1.png", sha(&a)),
            ("ref-2.png", sha(&c)),
            ("ref-3.png", sha(&b)),
            ("ref-4.png", sha(&a)),
        ]
        .map(|(name, hash)| (name.to_owned(), hash))
        .to_vec()
    );
    let refused = error_report(&out.steps[1]);
    assert_eq!(
        (refused["code"].clone(), refused["message"].clone()),
        (
            json!("request/invalid_image"),
            json!("invalid image input image: `https:` URLs are not fetched; send the image itself as a data:image/...;base64,... URI")
        )
    );
    assert_eq!(
        error_report(&out.steps[2])["code"],
        "request/invalid_arguments"
    );
    assert_eq!(files(&root), ["a.png", "one.png"]);
}

#[test]
fn after_a_usage_limit_calls_are_refused_without_a_turn_unless_they_ignore_it() {
    let python = support::mcp::python();
    let world = World::new();
    let root = root_of(&world);
    let out = Session::new(&world, &["--root", root.to_str().expect("utf-8")])
        .call(
            "generate_image",
            json!({"prompt": "a fox [fake:usage-limit-item]", "output": "a.png"}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "a fox [fake:complete]", "output": "b.png"}),
            false,
        )
        .call(
            "generate_image",
            json!({"prompt": "a fox [fake:complete]", "output": "c.png", "ignore_known_usage_limit": true}),
            false,
        )
        .run(&python);
    let resets_at = world.events("usage_limit")[0]["resetsAt"].clone();
    let first = error_report(&out.steps[0]);
    let second = error_report(&out.steps[1]);
    // Codex's own answer first, then codex-img's refusal, which says it refused the call itself.
    let seen = |report: &Value| {
        (
            report["code"].clone(),
            report["resets_at"].clone(),
            report["refused_locally"].clone(),
        )
    };
    assert_eq!(
        [seen(&first), seen(&second)],
        [
            (json!("runtime/usage_limit"), resets_at.clone(), Value::Null),
            (json!("runtime/usage_limit"), resets_at, json!(true))
        ]
    );
    ok_result(&out.steps[2]);
    let prompts: Vec<Value> = world
        .events("turn_inputs")
        .iter()
        .map(|t| t["params"]["input"][0]["text"].clone())
        .collect();
    assert_eq!(
        prompts,
        [
            json!("a fox [fake:usage-limit-item]"),
            json!("a fox [fake:complete]")
        ],
        "the refused call started no turn; the one that ignored the limit did"
    );
    assert_eq!(files(&root), ["c.png"]);
}
