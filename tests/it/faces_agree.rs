//! One table of requests through all four faces: `codex-img generate`, `serve-stdio`, `serve-mcp` and
//! `serve-http`, each in its own syntax, against the fake app-server. Each face must give the same
//! verdict for the same request: done, refused as bad arguments (each face's own answer for that: a
//! usage error, `-32602`, `request/invalid_arguments`, a 400 `request/invalid_field`), or refused with
//! the same library code; a refusal starts no turn. A request a face cannot express is skipped for it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine as _;
use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Map, Value};

use crate::support::{
    self,
    bridge::Bridge,
    run::{OutputWithin as _, RUN_DEADLINE},
    serve::Serve,
    World,
};

/// What a face answered, told apart the same way for all four.
const DONE: &str = "done";
const ARGUMENTS: &str = "arguments";

/// One request, face-neutral: the parameters every face shares, under their shared names.
struct Case {
    what: &'static str,
    /// `prompt`, hints and options (`size`, `aspect`, `quality`, `format`, `compression`, `fit`,
    /// `key`, `n`) as strings or numbers.
    params: Value,
    /// The image to edit and the references, as bytes in base64 (not on the CLI), or as paths.
    images: Images,
    /// Write to a file that already exists (not on the Images API, which writes nothing).
    existing_output: bool,
    /// The verdict every face that can express the request must give.
    verdict: &'static str,
}

enum Images {
    None,
    /// Base64 (with a line break inside when `wrapped`), as the image to edit.
    Base64 {
        count: usize,
        wrapped: bool,
    },
    /// A path to a file that does not exist.
    MissingFile,
}

fn cases() -> Vec<Case> {
    let case = |what, params: Value, verdict| Case {
        what,
        params,
        images: Images::None,
        existing_output: false,
        verdict,
    };
    vec![
        case("a plain request", json!({"prompt": "a fox"}), DONE),
        case(
            "size with aspect",
            json!({"prompt": "a fox", "size": "1024x1024", "aspect": "1:1"}),
            ARGUMENTS,
        ),
        case(
            "a quality that is not one",
            json!({"prompt": "a fox", "quality": "ultra"}),
            ARGUMENTS,
        ),
        case(
            "a key colour that is not one",
            json!({"prompt": "a fox", "key": "#12"}),
            ARGUMENTS,
        ),
        case(
            "an empty prompt",
            json!({"prompt": "   "}),
            "request/invalid_prompt",
        ),
        case(
            "n above the limit",
            json!({"prompt": "a fox", "n": 9}),
            "request/invalid_option",
        ),
        case(
            "compression above 100",
            json!({"prompt": "a fox", "format": "jpeg", "compression": 101}),
            "request/invalid_option",
        ),
        case(
            "compression for a lossless format",
            json!({"prompt": "a fox", "format": "png", "compression": 80}),
            "request/conflicting_options",
        ),
        case(
            "fit without a size",
            json!({"prompt": "a fox", "fit": "cover"}),
            "request/missing_option",
        ),
        case(
            "a key colour with JPEG",
            json!({"prompt": "a fox", "format": "jpeg", "key": "auto"}),
            "request/conflicting_options",
        ),
        Case {
            images: Images::Base64 {
                count: 1,
                wrapped: true,
            },
            ..case(
                "base64 with a line break inside",
                json!({"prompt": "make it blue"}),
                "request/invalid_image",
            )
        },
        Case {
            images: Images::Base64 {
                count: 6,
                wrapped: false,
            },
            ..case(
                "more than four references",
                json!({"prompt": "make it blue"}),
                "request/invalid_image",
            )
        },
        Case {
            images: Images::MissingFile,
            ..case(
                "an image file that is not there",
                json!({"prompt": "make it blue"}),
                "request/invalid_image",
            )
        },
        Case {
            existing_output: true,
            ..case(
                "an output that exists",
                json!({"prompt": "a fox"}),
                "output/exists",
            )
        },
    ]
}

fn png() -> Vec<u8> {
    support::png(16, 16, 2)
}

fn b64(wrapped: bool) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(png());
    if wrapped {
        format!("{}\n{}", &text[..16], &text[16..])
    } else {
        text
    }
}

/// Where a case writes: a new file with the extension of its format, or one that exists.
fn output(dir: &Path, case: &Case, face: &str) -> PathBuf {
    let extension = match case.params["format"].as_str() {
        Some("jpeg") => "jpg",
        Some(other) => other,
        None => "png",
    };
    let path = dir.join(format!(
        "{face}-{}.{extension}",
        case.what.replace(' ', "-")
    ));
    if case.existing_output {
        std::fs::write(&path, b"mine").expect("write");
    }
    path
}

fn text(params: &Value, key: &str) -> Option<String> {
    match &params[key] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `codex-img generate ... --json`: done, a usage error (exit 2), or the JSON error's code.
fn cli(world: &World, case: &Case) -> Option<String> {
    let mut args: Vec<String> = vec!["generate".into(), text(&case.params, "prompt")?];
    args.extend(["--json".into(), "-o".into()]);
    args.push(output(world.dir.path(), case, "cli").display().to_string());
    for key in [
        "size",
        "aspect",
        "quality",
        "format",
        "compression",
        "fit",
        "key",
    ] {
        if let Some(v) = text(&case.params, key) {
            args.extend([format!("--{key}"), v]);
        }
    }
    if let Some(n) = text(&case.params, "n") {
        args.extend(["-n".into(), n]);
    }
    match case.images {
        Images::None => {}
        // The CLI takes files only.
        Images::Base64 { .. } => return None,
        Images::MissingFile => args.extend([
            "--image".into(),
            world.dir.path().join("gone.png").display().to_string(),
        ]),
    }
    let out = world
        .command::<&str>(&[])
        .args(&args)
        .stdin(Stdio::null())
        .output_within(RUN_DEADLINE)
        .expect("run codex-img");
    Some(match out.status.code() {
        Some(0) => DONE.to_owned(),
        Some(2) => ARGUMENTS.to_owned(),
        _ => serde_json::from_slice::<Value>(&out.stdout)
            .map(|v| v["code"].as_str().unwrap_or("?").to_owned())
            .unwrap_or_else(|_| format!("? {}", String::from_utf8_lossy(&out.stderr))),
    })
}

/// The shared parameters under the bridge's and the MCP server's names (the same, but `n`).
fn json_params(
    case: &Case,
    dir: &Path,
    face: &str,
    image: &dyn Fn(String) -> Value,
) -> Map<String, Value> {
    let mut params = case.params.as_object().cloned().unwrap_or_default();
    params.insert("output".into(), json!(output(dir, case, face)));
    match case.images {
        Images::None => {}
        Images::Base64 { count, wrapped } => {
            params.insert("image".into(), image(b64(wrapped)));
            let refs: Vec<Value> = (1..count).map(|_| image(b64(wrapped))).collect();
            if !refs.is_empty() {
                params.insert("references".into(), Value::Array(refs));
            }
        }
        Images::MissingFile => {
            params.insert("image".into(), json!({"path": dir.join("gone.png")}));
        }
    }
    params
}

/// `image/generate` on the bridge: done, `-32602`, or the error's `data.code`.
async fn bridge(bridge: &mut Bridge, world: &World, case: &Case, id: usize) -> Option<String> {
    let params = json_params(case, world.dir.path(), "bridge", &|b| json!({"base64": b}));
    bridge
        .request(json!(id), "image/generate", Value::Object(params))
        .await;
    let answer = bridge.answer(&json!(id)).await;
    Some(if answer.get("result").is_some() {
        DONE.to_owned()
    } else if answer["error"]["code"] == json!(-32602) {
        ARGUMENTS.to_owned()
    } else {
        answer["error"]["data"]["code"]
            .as_str()
            .unwrap_or("?")
            .to_owned()
    })
}

/// `generate_image` on serve-mcp: done, `request/invalid_arguments`, or the report's code.
fn mcp(serve: &mut Serve, world: &World, case: &Case, id: usize) -> Option<String> {
    let params = json_params(case, world.dir.path(), "mcp", &|b| json!({"b64_json": b}));
    let result = serve.generate_image(&id.to_string(), Value::Object(params));
    let code = result["structuredContent"]["code"].as_str().unwrap_or("?");
    Some(match (result["isError"].as_bool(), code) {
        (Some(false) | None, _) => DONE.to_owned(),
        (_, "request/invalid_arguments") => ARGUMENTS.to_owned(),
        (_, code) => code.to_owned(),
    })
}

/// `POST /v1/images/generations` (or `/edits` with images): 200, a 400 about a field, or the code.
async fn http(served: &support::http::Served, case: &Case) -> Option<String> {
    if case.existing_output || case.params.get("aspect").is_some() {
        // It writes no file, and the Images API has no aspect.
        return None;
    }
    let mut body = serde_json::Map::new();
    for (key, name) in [
        ("prompt", "prompt"),
        ("size", "size"),
        ("quality", "quality"),
        ("format", "output_format"),
        ("compression", "output_compression"),
        ("fit", "fit"),
        ("key", "key"),
        ("n", "n"),
    ] {
        if let Some(v) = case.params.get(key) {
            body.insert(name.into(), v.clone());
        }
    }
    let path = match case.images {
        Images::None => "/v1/images/generations",
        Images::Base64 { count, wrapped } => {
            let images: Vec<Value> = (0..count)
                .map(|_| json!({"image_url": format!("data:image/png;base64,{}", b64(wrapped))}))
                .collect();
            body.insert("images".into(), Value::Array(images));
            "/v1/images/edits"
        }
        // It reads no files.
        Images::MissingFile => return None,
    };
    let reply = support::http::exchange(
        served,
        &support::http::json_post(served, path, &Value::Object(body)),
    )
    .await;
    Some(match reply.status {
        200 => DONE.to_owned(),
        _ => match reply.json()["error"]["code"].as_str().unwrap_or("?") {
            "request/invalid_field" | "request/unsupported_field" => ARGUMENTS.to_owned(),
            code => code.to_owned(),
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_face_gives_the_same_verdict_for_the_same_request() {
    let cases = cases();
    let cli_world = World::new();
    let bridge_world = World::new();
    let mcp_world = World::new();
    let http_world = World::new();
    let mut on_bridge = Bridge::start(bridge_world.client(), BridgeOptions::default());
    let mut on_mcp = Serve::mcp(&[] as &[&OsStr], &mcp_world, &[], Stdio::null());
    let served = support::http::start(&http_world).await;

    let mut disagreements = Vec::new();
    for (id, case) in cases.iter().enumerate() {
        let verdicts = [
            ("cli", cli(&cli_world, case)),
            (
                "serve-stdio",
                bridge(&mut on_bridge, &bridge_world, case, id).await,
            ),
            ("serve-mcp", mcp(&mut on_mcp, &mcp_world, case, id)),
            ("serve-http", http(&served, case).await),
        ];
        for (face, verdict) in verdicts {
            if let Some(verdict) = verdict.filter(|v| v != case.verdict) {
                disagreements.push(format!(
                    "{}: {face} said {verdict}, not {}",
                    case.what, case.verdict
                ));
            }
        }
    }
    on_mcp.close_ok(std::time::Duration::from_secs(30));
    served.stop().await;
    on_bridge.finish_ok().await;
    assert_eq!(disagreements, Vec::<String>::new());
    // Only the requests that were done reached Codex: one turn per face that can express it.
    for (face, world) in [
        ("cli", &cli_world),
        ("serve-stdio", &bridge_world),
        ("serve-mcp", &mcp_world),
        ("serve-http", &http_world),
    ] {
        assert_eq!(
            world.events("turn_inputs").len(),
            1,
            "{face}: turns started"
        );
    }
}
