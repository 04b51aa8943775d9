//! Bad input through the library: every prompt, input image and output target that is wrong in one way
//! gets its coded error from `Client::generate` or `precheck_target`, before any `turn/start` reaches
//! the (fake) app-server, and nothing is written.

use std::path::PathBuf;

use codex_img::precheck_target;
use codex_img::{GenerateRequest, IfExists, ImageSource};
use pretty_assertions::assert_eq;

use crate::support::{
    self,
    bad_input::{bad_image_files, bad_prompts, good_image, turn_starts},
    entries as listing, World,
};

#[tokio::test]
async fn bad_prompts_and_images_are_refused_before_any_turn() {
    let world = World::new();
    let inputs = world.dir.path().join("inputs");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    let good = good_image(&inputs);
    let mut cases: Vec<(String, GenerateRequest, &str)> = Vec::new();
    for (label, prompt) in bad_prompts() {
        cases.push((
            format!("prompt: {label}"),
            GenerateRequest::new(prompt),
            "request/invalid_prompt",
        ));
    }
    for (label, path) in bad_image_files(&inputs) {
        cases.push((
            format!("image: {label}"),
            GenerateRequest::new("a fox").image(path.clone()),
            "request/invalid_image",
        ));
        cases.push((
            format!("reference: {label}"),
            GenerateRequest::new("a fox")
                .reference(good.clone())
                .reference(path),
            "request/invalid_image",
        ));
    }
    let bytes_cases: Vec<(&str, Vec<u8>)> = vec![
        ("no bytes", Vec::new()),
        ("html", b"<!doctype html><p>hi</p>".to_vec()),
        ("over 20 MiB", {
            let mut big = support::png(8, 8, 1);
            big.resize(20 * 1024 * 1024 + 1, 0);
            big
        }),
        (
            "a decompression bomb",
            support::bad_input::png_claiming(1 << 20, 1 << 20),
        ),
    ];
    for (label, bytes) in bytes_cases {
        cases.push((
            format!("image bytes: {label}"),
            GenerateRequest::new("a fox").image(ImageSource::Bytes(bytes)),
            "request/invalid_image",
        ));
    }
    let five = (0..5).fold(GenerateRequest::new("a fox"), |r, _| {
        r.reference(good.clone())
    });
    cases.push(("five references".to_owned(), five, "request/invalid_image"));

    let client = world.client();
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (label, request, code) in cases {
        let result = client.generate(request).await;
        got.push((
            label.clone(),
            result.map(|_| "generated").unwrap_or_else(|e| e.code()),
        ));
        want.push((label, code));
    }
    client.shutdown().await;
    assert_eq!(got, want);
    assert_eq!(turn_starts(&world), Vec::<serde_json::Value>::new());
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[test]
fn bad_output_targets_are_refused_before_any_image_exists() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let existing = dir.join("existing.png");
    std::fs::write(&existing, b"keep me").expect("write");
    let link = dir.join("link.png");
    std::os::unix::fs::symlink(&existing, &link).expect("link");
    let dangling = dir.join("dangling.png");
    std::os::unix::fs::symlink(dir.join("nowhere.png"), &dangling).expect("link");
    let before = listing(dir);
    let cases: Vec<(&str, PathBuf, IfExists, &str)> = vec![
        (
            "folder missing",
            dir.join("missing/a.png"),
            IfExists::Fail,
            "output/invalid_target",
        ),
        (
            "parent is a file",
            existing.join("a.png"),
            IfExists::Fail,
            "output/invalid_target",
        ),
        // Root ignores permissions, so "not writable" is a folder no one can create files in.
        (
            "folder not writable",
            PathBuf::from("/proc/codex-img-test.png"),
            IfExists::Fail,
            "output/invalid_target",
        ),
        (
            "target exists",
            existing.clone(),
            IfExists::Fail,
            "output/exists",
        ),
        (
            "target is a symlink",
            link.clone(),
            IfExists::Fail,
            "output/invalid_target",
        ),
        (
            "target is a symlink, overwrite",
            link,
            IfExists::Replace,
            "output/invalid_target",
        ),
        (
            "target is a dangling symlink",
            dangling,
            IfExists::Fail,
            "output/invalid_target",
        ),
        (
            "empty path",
            PathBuf::new(),
            IfExists::Fail,
            "output/invalid_target",
        ),
    ];
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (label, target, if_exists, code) in cases {
        let result = precheck_target(&target, if_exists);
        got.push((label, result.map(|()| "ok").unwrap_or_else(|e| e.code())));
        want.push((label, code));
    }
    assert_eq!(got, want);
    assert_eq!(listing(dir), before, "a check wrote something");
    assert_eq!(std::fs::read(&existing).expect("read"), b"keep me");
}
