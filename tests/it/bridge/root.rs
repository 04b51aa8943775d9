//! `--root` confinement through the bridge: every way out is refused before any quota is spent, nothing
//! is ever written outside, and paths inside (relative, absolute, a folder) work.

use std::path::{Path, PathBuf};

use codex_img::BridgeOptions;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    bridge::{app_error, Bridge},
    entries, png, World,
};

struct Layout {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

/// `root/` with `sub/`, `in.png`, a link `escape -> ../outside`, a link `leak.png -> ../outside/secret.png`;
/// `outside/` with `secret.png`.
fn layout() -> Layout {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().canonicalize().expect("canonical");
    let (root, outside) = (base.join("root"), base.join("outside"));
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.png"), png(4, 4, 9)).expect("write");
    std::fs::write(root.join("in.png"), png(5, 5, 1)).expect("write");
    std::os::unix::fs::symlink(&outside, root.join("escape")).expect("link");
    std::os::unix::fs::symlink(outside.join("secret.png"), root.join("leak.png")).expect("link");
    Layout {
        _dir: dir,
        root,
        outside,
    }
}

fn refusal(code: i64, data_code: &str, message: String) -> Value {
    json!({"code": code, "message": message, "data": {"ok": false, "code": data_code, "message": message, "retryable": false}})
}

#[tokio::test]
async fn targets_and_inputs_that_leave_the_root_are_refused() {
    let world = World::new();
    let l = layout();
    let options = BridgeOptions {
        root: Some(l.root.clone()),
    };
    let mut bridge = Bridge::start(world.client(), options);
    let outside_file = l.outside.join("a.png");
    let cases = [
        json!({"prompt": "x", "output": outside_file}),
        json!({"prompt": "x", "output": "/etc/codex-img-test.png"}),
        json!({"prompt": "x", "output": "../outside/a.png"}),
        json!({"prompt": "x", "output": "sub/../../outside/a.png"}),
        json!({"prompt": "x", "output": "escape/a.png"}),
        json!({"prompt": "x", "output": "escape"}),
        json!({"prompt": "x", "output": "leak.png", "overwrite": true}),
        json!({"prompt": "x", "output": ""}),
        json!({"prompt": "x", "returnBytes": true, "image": {"path": l.outside.join("secret.png")}}),
        json!({"prompt": "x", "returnBytes": true, "references": [{"path": "../outside/secret.png"}]}),
        json!({"prompt": "x", "returnBytes": true, "references": [{"path": "in.png"}, {"path": "escape/secret.png"}]}),
        json!({"prompt": "x", "returnBytes": true, "image": {"path": "leak.png"}}),
    ];
    let mut got = Vec::new();
    for (i, params) in cases.into_iter().enumerate() {
        bridge.request(json!(i), "image/generate", params).await;
        got.push(app_error(&bridge.answer(&json!(i)).await));
    }
    let root = l.root.display().to_string();
    let out = |raw: &str, reason: String| {
        refusal(
            -32005,
            "output/invalid_target",
            format!("cannot write to {raw}: {reason}"),
        )
    };
    let input = |which: &str, reason: String| {
        refusal(
            -32002,
            "request/invalid_image",
            format!("invalid image {which}: {reason}"),
        )
    };
    let outside = format!("it is outside the root {root}");
    let dotdot = "`..` is not allowed under --root".to_owned();
    let link = "it is a symbolic link, and codex-img never writes through links".to_owned();
    let escape = format!("{root}/escape leads outside the root {root} through a link");
    assert_eq!(
        got,
        vec![
            out(&outside_file.display().to_string(), outside.clone()),
            out("/etc/codex-img-test.png", outside.clone()),
            out("../outside/a.png", dotdot.clone()),
            out("sub/../../outside/a.png", dotdot.clone()),
            out("escape/a.png", escape.clone()),
            // A link at the target is never followed, wherever it leads.
            out("escape", link.clone()),
            out("leak.png", link),
            out("", "the path is empty; give a path inside the root".into()),
            input(
                &format!("input image `{}`", l.outside.join("secret.png").display()),
                outside
            ),
            input("reference 1 `../outside/secret.png`", dotdot),
            input("reference 2 `escape/secret.png`", escape),
            input(
                "input image `leak.png`",
                format!("{root}/leak.png leads outside the root {root} through a link")
            ),
        ]
    );
    assert_eq!(
        entries(&l.outside),
        vec!["secret.png"],
        "nothing written outside"
    );
    assert_eq!(
        world.events("turn_inputs"),
        Vec::<Value>::new(),
        "refusals spend no quota"
    );
    bridge.finish_ok().await;
}

#[tokio::test]
async fn paths_inside_the_root_work() {
    let world = World::new();
    let l = layout();
    std::os::unix::fs::symlink(l.root.join("sub"), l.root.join("inner")).expect("link");
    let options = BridgeOptions {
        root: Some(l.root.clone()),
    };
    let mut bridge = Bridge::start(world.client(), options);
    let cases = [
        (
            "relative",
            json!({"prompt": "one", "output": "one.png", "image": {"path": "in.png"}}),
        ),
        (
            "absolute",
            json!({"prompt": "two", "output": l.root.join("sub/two.png")}),
        ),
        ("folder", json!({"prompt": "three", "output": "sub"})),
        ("root", json!({"prompt": "four", "output": "."})),
        (
            "inner link",
            json!({"prompt": "five", "output": "inner/five.png"}),
        ),
    ];
    let mut paths = Vec::new();
    for (name, params) in cases {
        bridge.request(json!(name), "image/generate", params).await;
        let answer = bridge.answer(&json!(name)).await;
        let result = &answer["result"];
        assert_eq!(result["ok"], true, "{name}: {answer}");
        let path = PathBuf::from(result["path"].as_str().expect("path"));
        let saved = std::fs::read(&path).expect("saved");
        assert_eq!(result["sha256"], codex_img::image::sha256_hex(&saved));
        let sha = result["sha256"].as_str().expect("sha");
        paths.push((name, path, sha[..12].to_owned()));
    }
    let got: Vec<(&str, PathBuf)> = paths.iter().map(|(n, p, _)| (*n, p.clone())).collect();
    let named = |dir: &Path, sha: &str| dir.join(format!("codex-img-{sha}.png"));
    assert_eq!(
        got,
        vec![
            ("relative", l.root.join("one.png")),
            ("absolute", l.root.join("sub/two.png")),
            ("folder", named(&l.root.join("sub"), &paths[2].2)),
            ("root", named(&l.root, &paths[3].2)),
            ("inner link", l.root.join("inner/five.png")),
        ]
    );
    assert!(l.root.join("sub/five.png").is_file());
    // The input image inside the root was read.
    let inputs = world.events("turn_inputs");
    assert_eq!(
        inputs[0]["localImages"][0]["sha256"],
        codex_img::image::sha256_hex(&png(5, 5, 1))
    );
    assert_eq!(entries(&l.outside), vec!["secret.png"]);
    bridge.finish_ok().await;
}

#[tokio::test]
async fn a_root_that_is_not_a_folder_stops_serve_at_once() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    for root in [dir.path().join("missing"), file] {
        let (_input, bridge_in) = tokio::io::duplex(64);
        let (bridge_out, _output) = tokio::io::duplex(64);
        let served = codex_img::serve_bridge(
            world.client(),
            bridge_in,
            bridge_out,
            BridgeOptions {
                root: Some(root.clone()),
            },
        )
        .await;
        let message = served.expect_err("refused").to_string();
        assert!(
            message.starts_with(&format!("--root {}: ", root.display())),
            "{message}"
        );
    }
}
