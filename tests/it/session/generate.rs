//! Generations against the fake app-server: success, image-to-image, concurrency, progress, and the
//! shapes of image items Codex can send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_img::image::ImageFormat;
use codex_img::{GenerateRequest, Phase};
use pretty_assertions::assert_eq;

use crate::support::{self, png, World};

#[tokio::test]
async fn text_to_image_returns_verified_bytes_and_cleans_up() {
    let world = World::new();
    let client = world.client();
    let image = client
        .generate(GenerateRequest::new("a red fox [fake:success]"))
        .await
        .expect("image");

    assert_eq!(
        (image.format, image.width, image.height),
        (ImageFormat::Png, 64, 48)
    );
    assert_eq!(image.sha256, codex_img::image::sha256_hex(&image.bytes));
    assert_eq!(image.codex_version, "0.169.0");
    assert_eq!(
        image.revised_prompt.as_deref(),
        Some("a red fox [fake:success], revised")
    );
    let served = world.events("image");
    assert_eq!(served.len(), 1);
    assert_eq!(served[0]["sha256"], image.sha256.as_str());
    assert_eq!(served[0]["threadId"], image.ids.thread_id.as_str());
    assert_eq!(served[0]["turnId"], image.ids.turn_id.as_str());
    assert_eq!(served[0]["itemId"], image.ids.item_id.as_str());
    // The answer does not wait for the cleanup; shutdown does. Then the turn was interrupted, Codex's
    // copy of the image is gone, and the thread was released once.
    client.shutdown().await;
    let interrupted = world.events("interrupted");
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0]["turnId"], image.ids.turn_id.as_str());
    assert_eq!(world.generated_images(), Vec::<String>::new());
    let unsubscribed: Vec<_> = world
        .log()
        .into_iter()
        .filter(|e| {
            e["msg"]["method"] == "thread/unsubscribe"
                && e["msg"]["params"]["threadId"] == image.ids.thread_id.as_str()
        })
        .collect();
    assert_eq!(unsubscribed.len(), 1);
}

#[tokio::test]
async fn the_child_gets_a_clean_environment_and_a_private_empty_cwd() {
    let world = World::new();
    let client = world.client();
    client
        .generate(GenerateRequest::new("env check"))
        .await
        .expect("image");
    let pid = world.server_pids()[0];
    let env: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(world.record().join(format!("env-{pid}.json"))).expect("env"),
    )
    .expect("json");
    assert_eq!(env["OPENAI_API_KEY"], false);
    assert_eq!(env["CODEX_API_KEY"], false);
    assert_eq!(env["CODEX_HOME"], world.home().to_string_lossy().as_ref());
    let cwd = env["cwd"].as_str().expect("cwd");
    assert!(cwd.contains("codex-img-"), "{cwd}");
    let argv: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(world.record().join(format!("pid-{pid}"))).expect("argv"),
    )
    .expect("json");
    // The lean turn's overrides, in order (src/session/config.rs, LEAN_OVERRIDES), each after `-c`.
    let lean = [
        "mcp_servers={}",
        "features.apps=false",
        "features.plugins=false",
        "features.remote_plugin=false",
        "features.tool_suggest=false",
        "features.tool_search=false",
        "features.multi_agent=false",
        "features.multi_agent_v2=false",
        "features.enable_fanout=false",
        "features.request_permissions_tool=false",
        "features.standalone_web_search=false",
        "features.token_budget=false",
        "features.shell_tool=false",
        "features.unified_exec=false",
        "features.shell_snapshot=false",
        "features.view_image=false",
        "features.browser_use=false",
        "features.in_app_browser=false",
        "features.computer_use=false",
        "features.hooks=false",
        "features.codex_hooks=false",
        "features.goals=false",
        "features.guardian_approval=false",
        "features.sleep_tool=false",
        "features.memories=false",
        "features.skill_mcp_dependency_install=false",
        "skills.include_instructions=false",
        "skills.bundled.enabled=false",
        "cloud.skills.enabled=false",
        "tools.experimental_request_user_input.enabled=false",
        "tools.update_plan.enabled=false",
        "analytics.enabled=false",
        "feedback.enabled=false",
        "check_for_update_on_startup=false",
        "web_search=\"disabled\"",
        "include_environment_context=false",
        "include_permissions_instructions=false",
        "include_apps_instructions=false",
        "include_collaboration_mode_instructions=false",
        "project_doc_max_bytes=0",
        "history.persistence=\"none\"",
    ];
    let expected: Vec<&str> = std::iter::once("app-server")
        .chain(lean.iter().flat_map(|o| ["-c", *o]))
        .collect();
    assert_eq!(argv[1..], expected);
    client.shutdown().await;
    assert!(
        !std::path::Path::new(cwd).exists(),
        "the private working directory outlived the process"
    );
}

#[tokio::test]
async fn image_to_image_stages_inputs_under_neutral_names_in_order() {
    let world = World::new();
    let private = world.dir.path().join("acme-secret-client").join("alice");
    std::fs::create_dir_all(&private).expect("dir");
    let (primary, ref1, ref2) = (png(8, 8, 1), png(9, 9, 2), png(10, 10, 3));
    std::fs::write(private.join("logo-final.png"), &primary).expect("write");
    std::fs::write(private.join("style.png"), &ref1).expect("write");
    let client = world.client();
    let request = GenerateRequest::new("make it blue")
        .image(private.join("logo-final.png"))
        .reference(private.join("style.png"))
        .reference(ref2.clone());
    client.generate(request).await.expect("image");

    let inputs = world.events("turn_inputs");
    assert_eq!(inputs.len(), 1);
    let seen: Vec<(String, String)> = inputs[0]["localImages"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| {
            let name = std::path::Path::new(i["path"].as_str().expect("path"))
                .file_name()
                .expect("name");
            (
                name.to_string_lossy().into_owned(),
                i["sha256"].as_str().expect("sha").to_owned(),
            )
        })
        .collect();
    let sha = codex_img::image::sha256_hex;
    assert_eq!(
        seen,
        vec![
            ("input-1.png".to_owned(), sha(&primary)),
            ("ref-1.png".to_owned(), sha(&ref1)),
            ("ref-2.png".to_owned(), sha(&ref2)),
        ]
    );
    let everything = serde_json::to_string(&world.log()).expect("json");
    for secret in ["acme-secret-client", "alice", "logo-final", "style.png"] {
        assert!(!everything.contains(secret), "`{secret}` reached Codex");
    }
    let text = inputs[0]["params"]["input"][0]["text"]
        .as_str()
        .expect("text");
    assert!(
        text.contains("input-1.png") && text.contains("ref-1.png, ref-2.png"),
        "{text}"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn eight_concurrent_generations_share_one_process_and_get_their_own_images() {
    let world = World::new();
    let client = world.builder().concurrency(8).build();
    let jobs: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .generate(GenerateRequest::new(format!("picture {i}")))
                    .await
            })
        })
        .collect();
    let mut images = Vec::new();
    for job in jobs {
        images.push(job.await.expect("join").expect("image"));
    }
    let mut shas: Vec<&str> = images.iter().map(|i| i.sha256.as_str()).collect();
    shas.sort();
    shas.dedup();
    assert_eq!(shas.len(), 8, "every generation gets its own image");
    let mut served: Vec<String> = world
        .events("image")
        .iter()
        .map(|e| e["sha256"].as_str().unwrap_or("").to_owned())
        .collect();
    served.sort();
    assert_eq!(
        served,
        shas.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    for image in &images {
        let from_thread = world
            .events("image")
            .into_iter()
            .find(|e| e["threadId"] == image.ids.thread_id.as_str());
        assert_eq!(
            from_thread.map(|e| e["sha256"].clone()),
            Some(serde_json::json!(image.sha256))
        );
    }
    assert_eq!(
        world.server_pids().len(),
        1,
        "one warm process served all eight"
    );
    client.shutdown().await;
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn progress_reports_each_phase_and_the_warm_process_skips_starting() {
    let world = World::new();
    let client = world.client();
    let record = |phases: Arc<Mutex<Vec<Phase>>>| {
        move |p: codex_img::Progress| phases.lock().expect("lock").push(p.phase)
    };
    let first = Arc::new(Mutex::new(Vec::new()));
    let image = client
        .generate(GenerateRequest::new("one").on_progress(record(first.clone())))
        .await
        .expect("image");
    let second = Arc::new(Mutex::new(Vec::new()));
    let warm = client
        .generate(GenerateRequest::new("two").on_progress(record(second.clone())))
        .await
        .expect("image");
    use Phase::*;
    assert_eq!(
        *first.lock().expect("lock"),
        vec![
            Queued,
            StartingProcess,
            ThreadStarted,
            Generating,
            ImageReceived,
            Done
        ]
    );
    assert_eq!(
        *second.lock().expect("lock"),
        vec![Queued, ThreadStarted, Generating, ImageReceived, Done]
    );
    assert!(image.timings.process_start.is_some());
    assert_eq!(warm.timings.process_start, None);
    assert!(warm.timings.total >= warm.timings.time_to_image);
    client.shutdown().await;
}

#[tokio::test]
async fn every_image_item_shape_is_read() {
    let world = World::new().set("FAKE_IMAGE_SIZE", "32x16");
    let client = world.client();
    for scenario in [
        "complete",
        "saved-path-only",
        "file-id",
        "keep-working",
        "garbage",
        "unknown-events",
        "retrying-error",
    ] {
        let image = client
            .generate(GenerateRequest::new(format!("shape [fake:{scenario}]")))
            .await
            .unwrap_or_else(|e| panic!("{scenario}: {e}"));
        assert_eq!((image.width, image.height), (32, 16), "{scenario}");
    }
    client.shutdown().await;
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn a_model_that_keeps_working_is_interrupted_at_once() {
    // The fake sends two more items every 100 ms after the image until it is interrupted, and gives
    // up after 10 s (`not_interrupted`). How many items fit before the interrupt depends on how busy
    // the machine is, so this asserts on the order of the fake's record instead of on a count.
    let world = World::new();
    let client = world.client();
    let image = client
        .generate(GenerateRequest::new("busy [fake:keep-working]"))
        .await
        .expect("image");
    let interrupted = world
        .wait_events("interrupted", 1, Duration::from_secs(5))
        .await;
    client.shutdown().await;
    assert_eq!(
        world.events("not_interrupted").len(),
        0,
        "codex-img never interrupted"
    );
    assert_eq!(interrupted.len(), 1);

    let log = world.log();
    let position = |what: &dyn Fn(&serde_json::Value) -> bool| support::position(&log, what);
    let sent_image = position(&|l| l["event"] == "image");
    let asked = position(&|l| l["dir"] == "in" && l["msg"]["method"] == "turn/interrupt");
    let stopped = position(&|l| l["event"] == "interrupted");
    let finished = position(&|l| l["event"] == "turn_finished");
    // The image went out, codex-img's interrupt came in, and only then did the turn stop.
    assert!(
        sent_image < asked && asked < stopped && stopped < finished,
        "record order: image {sent_image}, interrupt {asked}, interrupted {stopped}, finished {finished}"
    );
    // The interrupt names the turn the image came from, and that turn ended by it: no further item
    // was counted after the interrupt was handled.
    let ids = &image.ids;
    assert_eq!(
        (
            &log[asked]["msg"]["params"],
            &log[finished]["status"],
            &log[finished]["extraItems"],
        ),
        (
            &serde_json::json!({"threadId": ids.thread_id, "turnId": ids.turn_id}),
            &serde_json::json!("interrupted"),
            &log[stopped]["extraItems"],
        )
    );
}

#[tokio::test]
async fn a_large_image_crosses_the_wire_whole() {
    let world = World::new().set("FAKE_IMAGE_SIZE", "1400x1400");
    let client = world.client();
    let image = client
        .generate(GenerateRequest::new("big one [fake:big]"))
        .await
        .expect("image");
    assert_eq!((image.width, image.height), (1400, 1400));
    assert!(image.bytes.len() > 5_000_000, "{}", image.bytes.len());
    client.shutdown().await;
}

#[tokio::test]
async fn server_requests_during_a_turn_are_all_answered_by_policy() {
    let world = World::new();
    let client = world.client();
    client
        .generate(GenerateRequest::new("ask me [fake:server-request]"))
        .await
        .expect("image");
    let answers = world.events("server_answer");
    let by_method: std::collections::BTreeMap<String, serde_json::Value> = answers
        .iter()
        .map(|a| {
            (
                a["method"].as_str().unwrap_or("").to_owned(),
                a["answer"].clone(),
            )
        })
        .collect();
    assert_eq!(by_method.len(), 8, "{by_method:#?}");
    assert_eq!(
        by_method["item/commandExecution/requestApproval"]["result"],
        serde_json::json!({"decision": "decline"})
    );
    assert_eq!(
        by_method["item/fileChange/requestApproval"]["result"],
        serde_json::json!({"decision": "decline"})
    );
    assert_eq!(
        by_method["item/tool/requestUserInput"]["result"],
        serde_json::json!({"answers": {}})
    );
    assert_eq!(
        by_method["mcpServer/elicitation/request"]["result"],
        serde_json::json!({"action": "cancel"})
    );
    assert!(by_method["item/tool/call"]["error"]["message"].is_string());
    assert!(by_method["account/chatgptAuthTokens/refresh"]["error"]["message"].is_string());
    assert!(by_method["currentTime/read"]["result"]["currentTimeMs"].is_u64());
    assert_eq!(by_method["future/thing"]["error"]["code"], -32601);
    client.shutdown().await;
}
