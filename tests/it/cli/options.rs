//! The output options through the `codex-img` binary against the fake app-server: several images with
//! one failure, size hints that Codex ignores, transparency native and keyed, format conversion and
//! fit, sidecars, and the mistakes refused before any turn.

use std::path::Path;

use codex_img::image::decode::decode_rgba;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{entries, run::run, sha256, World};

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The served images' hashes, as the fake recorded them.
fn served(world: &World) -> Vec<String> {
    world
        .events("image")
        .iter()
        .map(|e| e["sha256"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn n_four_with_one_failure_saves_three_and_reports_one_by_index() {
    let world = World::new();
    let target = world.dir.path().join("cat.png");
    let run = run(
        &world,
        &[
            "generate",
            "a cat [fake:fail-every:4]",
            "-n",
            "4",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    // The failure is a runtime error (the fake's failed turn becomes runtime/no_image): exit 5.
    assert_eq!(
        run.code, 5,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let json = run.json();
    assert_eq!(json["ok"], false);
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{json}");
    let failed = errors[0]["index"].as_u64().expect("index");
    assert!((1..=4).contains(&failed));
    assert_eq!(
        (&errors[0]["code"], &errors[0]["retryable"]),
        (&json!("runtime/no_image"), &json!(true))
    );
    assert!(errors[0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("injected failure"));

    // Three images, each saved under its own index, each exactly a served image; the failed index has
    // no file.
    let images = json["images"].as_array().expect("images");
    assert_eq!(images.len(), 3);
    let served = served(&world);
    assert_eq!(served.len(), 3);
    for i in 1..=4u64 {
        let path = world.dir.path().join(format!("cat-{i}.png"));
        if i == failed {
            assert!(!path.exists(), "{} exists", path.display());
            continue;
        }
        let bytes = std::fs::read(&path).expect("saved");
        let report = images
            .iter()
            .find(|r| r["path"] == path_str(&path))
            .unwrap_or_else(|| panic!("no report for {}", path.display()));
        assert_eq!(report["sha256"], sha256(&bytes).as_str());
        assert!(served.contains(&sha256(&bytes)));
    }
    assert!(!target.exists(), "the unnumbered target was written");
    assert_eq!(world.events("turn_inputs").len(), 4);
    assert_eq!(world.events("injected_failure").len(), 1);
}

#[test]
fn every_numbered_target_is_checked_before_any_turn() {
    let world = World::new();
    std::fs::write(world.dir.path().join("cat-3.png"), b"mine").expect("write");
    let target = world.dir.path().join("cat.png");
    let run = run(
        &world,
        &[
            "generate",
            "a cat",
            "-n",
            "3",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(run.json()["code"], "output/exists");
    assert_eq!(world.events("turn_inputs"), Vec::<Value>::new());
    assert_eq!(
        std::fs::read(world.dir.path().join("cat-3.png")).expect("read"),
        b"mine"
    );
}

#[test]
fn a_size_hint_codex_ignored_is_reported_as_ignored_and_the_bytes_are_untouched() {
    let world = World::new();
    let target = world.dir.path().join("fox.png");
    let run = run(
        &world,
        &[
            "generate",
            "a fox",
            "--size",
            "512x512",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(
        (
            &json["requested"],
            &json["width"],
            &json["height"],
            &json["fit"],
            &json["original"]
        ),
        (
            &json!({"width": 512, "height": 512}),
            &json!(64),
            &json!(48),
            &Value::Null,
            &Value::Null
        )
    );
    let bytes = std::fs::read(&target).expect("saved");
    assert_eq!(
        served(&world),
        vec![sha256(&bytes)],
        "the bytes are not the served ones"
    );
    let text = world.events("turn_inputs")[0]["params"]["input"][0]["text"].clone();
    assert!(
        text.as_str()
            .unwrap_or_default()
            .contains("size 512x512 pixels"),
        "{text}"
    );
}

#[test]
fn transparency_with_a_jpeg_target_is_refused_before_any_turn() {
    for args in [
        vec!["--background", "transparent", "-o", "out.jpg"],
        vec!["--key", "auto", "-o", "out.jpeg"],
        vec!["--key", "#00ff00", "--format", "jpeg", "-o", "."],
    ] {
        let world = World::new();
        let mut all = vec!["generate", "an icon", "--json"];
        all.extend(args.iter().copied());
        let run = run(&world, &all);
        assert_eq!(run.code, 4, "{args:?}: {}", run.stderr);
        let json = run.json();
        assert_eq!(json["code"], "request/conflicting_options", "{args:?}");
        assert!(json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("JPEG has no transparency"));
        // Not even an app-server was started: the fake's record shows no process, so no turn/start.
        assert_eq!(world.server_pids(), Vec::<i32>::new(), "{args:?}");
    }
}

#[test]
fn option_mistakes_have_their_own_codes_and_start_nothing() {
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["-o", "out.gif"], 4, "request/unsupported_format"),
        (
            vec!["--format", "webp", "-o", "out.png"],
            4,
            "request/format_mismatch",
        ),
        (
            vec!["--fit", "cover", "-o", "out.png"],
            4,
            "request/missing_option",
        ),
        (
            vec!["--compression", "80", "-o", "out.png"],
            4,
            "request/conflicting_options",
        ),
        (
            vec![
                "--sidecar",
                "-n",
                "2",
                "--key",
                "auto",
                "--background",
                "opaque",
                "-o",
                "out.png",
            ],
            4,
            "request/conflicting_options",
        ),
    ];
    for (args, exit, code) in cases {
        let world = World::new();
        let mut all = vec!["generate", "an icon", "--json"];
        all.extend(args.iter().copied());
        let run = run(&world, &all);
        assert_eq!(
            (run.code, run.json()["code"].clone()),
            (exit, json!(code)),
            "{args:?}"
        );
        assert_eq!(world.server_pids(), Vec::<i32>::new(), "{args:?}");
    }
    // Out-of-range numbers are the library's to refuse, with its code, as on every face; a value
    // that is not one at all is the argument parser's usage error (exit 2).
    for (args, exit) in [
        (["-n", "9"], 4),
        (["--compression", "101"], 4),
        (["--compression", "300"], 2),
        (["--key", "green"], 2),
    ] {
        let world = World::new();
        let mut all = vec!["generate", "an icon", "-o", "out.jpg"];
        all.extend(args);
        assert_eq!(run(&world, &all).code, exit, "{args:?}");
        assert_eq!(world.server_pids(), Vec::<i32>::new(), "{args:?}");
    }
}

#[test]
fn a_transparent_request_comes_back_native_and_untouched() {
    let world = World::new();
    let target = world.dir.path().join("icon.png");
    let run = run(
        &world,
        &[
            "generate",
            "an icon",
            "--background",
            "transparent",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["alpha"], "native");
    let bytes = std::fs::read(&target).expect("saved");
    assert_eq!(served(&world), vec![sha256(&bytes)]);
    let text = world.events("turn_inputs")[0]["params"]["input"][0]["text"].clone();
    assert!(
        text.as_str()
            .unwrap_or_default()
            .contains("transparent_background set to true"),
        "{text}"
    );
}

#[test]
fn on_a_release_without_transparency_the_key_colour_is_removed_locally() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.140.0");
    let target = world.dir.path().join("icon.png");
    let run = run(
        &world,
        &[
            "generate",
            "an icon",
            "--key",
            "auto",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["alpha"], "keyed", "{json}");
    // The turn asked for transparency and, failing that, for a flat green background.
    let text = world.events("turn_inputs")[0]["params"]["input"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("transparent_background") && text.contains("flat solid #00FF00"),
        "{text}"
    );
    let img = decode_rgba(&std::fs::read(&target).expect("saved")).expect("decode");
    assert_eq!((img.width(), img.height()), (64, 48));
    // The green background is gone, the orange subject's centre is opaque and unchanged.
    assert_eq!(img.get_pixel(0, 0)[3], 0);
    assert_eq!(img.get_pixel(63, 47)[3], 0);
    assert_eq!(img.get_pixel(32, 24).0, [230, 120, 20, 255]);
    assert!(
        img.pixels().all(|p| p[3] == 0 || p[1] <= p[0]),
        "a green fringe is left"
    );
}

#[test]
fn convert_and_fit_into_a_directory_with_a_sidecar() {
    let world = World::new();
    let dir = world.dir.path().join("out");
    std::fs::create_dir(&dir).expect("dir");
    let run = run(
        &world,
        &[
            "generate",
            "a fox",
            "--size",
            "32x32",
            "--fit",
            "cover",
            "--format",
            "webp",
            "--sidecar",
            "-o",
            path_str(&dir),
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let path = json["path"].as_str().expect("path").to_owned();
    assert!(
        path.ends_with(".webp") && path.starts_with(path_str(&dir)),
        "{path}"
    );
    assert_eq!(
        (
            &json["format"],
            &json["width"],
            &json["height"],
            &json["fit"],
            &json["original"],
            &json["alpha"]
        ),
        (
            &json!("webp"),
            &json!(32),
            &json!(32),
            &json!("cover"),
            &json!({"width": 64, "height": 48}),
            &json!("none")
        )
    );
    let bytes = std::fs::read(&path).expect("saved");
    assert_eq!(json["sha256"], sha256(&bytes).as_str());
    let img = decode_rgba(&bytes).expect("decode");
    assert_eq!((img.width(), img.height()), (32, 32));
    let sidecar: Value =
        serde_json::from_slice(&std::fs::read(format!("{path}.json")).expect("sidecar"))
            .expect("json");
    assert_eq!(
        (
            &sidecar["prompt"],
            &sidecar["sha256"],
            &sidecar["format"],
            &sidecar["requested"],
            &sidecar["fit"],
            &sidecar["alpha"],
            &sidecar["codex_version"],
            &sidecar["ids"],
        ),
        (
            &json!("a fox"),
            &json["sha256"],
            &json!("webp"),
            &json!({"width": 32, "height": 32}),
            &json!("cover"),
            &json!("none"),
            &json!("0.169.0"),
            &json["ids"],
        )
    );
    // Only the image and its sidecar were written.
    let names = entries(&dir);
    assert_eq!(names.len(), 2, "{names:?}");
}
