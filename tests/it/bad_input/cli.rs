//! Bad input through `codex-img generate`: each wrong prompt, input image, output target and option is
//! refused with its exit code and, with `--json`, its coded error object; no `turn/start` reaches the
//! (fake) app-server and nothing is written. Usage errors (exit 2) are the argument parser's.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::support::{
    bad_input::{bad_image_files, bad_prompts, good_image, turn_starts},
    entries as listing, run, World,
};

/// Runs the CLI in `world` and returns (exit code, the `code` of the `--json` error or `-`, stderr).
fn run(world: &World, args: &[OsString]) -> (i32, String, String) {
    let run = run::run(world, args);
    (run.code, run.error_code(), run.stderr)
}

fn os(parts: &[&str]) -> Vec<OsString> {
    parts.iter().map(OsString::from).collect()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn bad_input_is_refused_with_its_code_and_starts_no_turn() {
    let world = World::new();
    let dir = world.dir.path().to_path_buf();
    let inputs = dir.join("inputs");
    let out = dir.join("out");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    std::fs::create_dir_all(&out).expect("mkdir");
    let good = good_image(&inputs);
    let existing = out.join("existing.png");
    std::fs::write(&existing, b"keep me").expect("write");
    let link = out.join("link.png");
    std::os::unix::fs::symlink(&existing, &link).expect("link");
    let target = out.join("new.png");
    let target = p(&target);

    // (label, arguments after `generate`, exit, `--json` code or `-` for a usage error)
    let mut cases: Vec<(String, Vec<OsString>, i32, &str)> = Vec::new();
    for (label, prompt) in bad_prompts() {
        if prompt.contains('\0') {
            // An argument cannot hold NUL at all; the library's table covers it.
            continue;
        }
        cases.push((
            format!("prompt: {label}"),
            os(&["generate", &prompt, "-o", target, "--json"]),
            4,
            "request/invalid_prompt",
        ));
    }
    cases.push((
        "prompt: invalid UTF-8".to_owned(),
        vec![
            "generate".into(),
            OsString::from_vec(b"a fox \xff\xfe".to_vec()),
            "-o".into(),
            target.into(),
            "--json".into(),
        ],
        2,
        "-",
    ));
    for (label, path) in bad_image_files(&inputs) {
        cases.push((
            format!("--image: {label}"),
            os(&[
                "generate",
                "a fox",
                "--image",
                p(&path),
                "-o",
                target,
                "--json",
            ]),
            4,
            "request/invalid_image",
        ));
        cases.push((
            format!("--ref: {label}"),
            os(&[
                "generate",
                "a fox",
                "--ref",
                p(&good),
                "--ref",
                p(&path),
                "-o",
                target,
                "--json",
            ]),
            4,
            "request/invalid_image",
        ));
    }
    let mut five = os(&["generate", "a fox", "-o", target, "--json"]);
    for _ in 0..5 {
        five.extend(os(&["--ref", p(&good)]));
    }
    cases.push((
        "five references".to_owned(),
        five,
        4,
        "request/invalid_image",
    ));
    let outputs: Vec<(&str, String, &str)> = vec![
        (
            "folder missing",
            p(&out.join("missing/a.png")).to_owned(),
            "output/invalid_target",
        ),
        (
            "parent is a file",
            p(&existing.join("a.png")).to_owned(),
            "output/invalid_target",
        ),
        (
            "folder not writable",
            "/proc/codex-img-test.png".to_owned(),
            "output/invalid_target",
        ),
        ("target exists", p(&existing).to_owned(), "output/exists"),
        (
            "target is a symlink",
            p(&link).to_owned(),
            "output/invalid_target",
        ),
    ];
    for (label, output, code) in outputs {
        cases.push((
            format!("-o: {label}"),
            os(&["generate", "a fox", "-o", &output, "--json"]),
            6,
            code,
        ));
    }
    cases.push((
        "-o: empty (the parser refuses an empty path)".to_owned(),
        os(&["generate", "a fox", "-o", "", "--json"]),
        2,
        "-",
    ));
    cases.push((
        "-o: a symlink, with --overwrite".to_owned(),
        os(&["generate", "a fox", "-o", p(&link), "--overwrite", "--json"]),
        6,
        "output/invalid_target",
    ));
    for (label, option, value) in [
        ("--size without x", "--size", "1024"),
        ("--size zero", "--size", "0x512"),
        ("--size too big", "--size", "99999x2"),
        ("--size not numbers", "--size", "axb"),
        ("--aspect with /", "--aspect", "16/9"),
        ("--aspect zero", "--aspect", "0:1"),
        ("--quality unknown", "--quality", "ultra"),
        ("--background unknown", "--background", "clear"),
        ("--timeout zero", "--timeout", "0"),
    ] {
        cases.push((
            format!("option: {label}"),
            os(&["generate", "a fox", "-o", target, option, value, "--json"]),
            2,
            "-",
        ));
    }
    let gif = out.join("new.gif");
    for (label, args, exit, code) in [
        (
            "-o: a .gif target",
            vec!["-o", p(&gif)],
            4,
            "request/unsupported_format",
        ),
        (
            "-o: a .bmp target",
            vec!["-o", "x.bmp"],
            4,
            "request/unsupported_format",
        ),
        (
            "option: -n 0 (the library's range, as on every face)",
            vec!["-o", target, "-n", "0"],
            4,
            "request/invalid_option",
        ),
        (
            "option: -n 9 (the library's range, as on every face)",
            vec!["-o", target, "-n", "9"],
            4,
            "request/invalid_option",
        ),
        (
            "option: --fit without a size or aspect",
            vec!["-o", target, "--fit", "cover"],
            4,
            "request/missing_option",
        ),
    ] {
        let mut all = os(&["generate", "a fox", "--json"]);
        all.extend(os(&args));
        cases.push((label.to_owned(), all, exit, code));
    }
    cases.push((
        "option: --size with --aspect".to_owned(),
        os(&[
            "generate", "a fox", "-o", target, "--size", "1x1", "--aspect", "1:1", "--json",
        ]),
        2,
        "-",
    ));

    let before = listing(&out);
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (label, args, exit, code) in cases {
        let (status, json_code, stderr) = run(&world, &args);
        if status == 2 {
            assert!(
                stderr.contains("error"),
                "{label}: usage error without a message: {stderr}"
            );
        }
        got.push((label.clone(), status, json_code));
        want.push((label, exit, code.to_owned()));
    }
    assert_eq!(got, want);
    assert_eq!(turn_starts(&world), Vec::<Value>::new());
    assert_eq!(listing(&out), before, "something was written");
    assert_eq!(std::fs::read(&existing).expect("read"), b"keep me");
}
