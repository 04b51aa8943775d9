//! The `codex-img` binary against the fake app-server: what a person and a script see (stdout, stderr,
//! exit codes, files), and what reached Codex (the fake's record).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::support::{
    all_gone_blocking, fake_bin,
    run::{self, run, Run, RUN_DEADLINE},
    World,
};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn set(keys: &[&'static str]) -> BTreeSet<&'static str> {
    keys.iter().copied().collect()
}

/// The binary with a private world: the fake Codex, its own `CODEX_HOME`, and a record directory.
fn command(world: &World, args: &[&str]) -> Command {
    let mut cmd = world.command(args);
    cmd.current_dir(world.dir.path());
    cmd
}

/// Collects the output of a spawned run and waits for it to end (killed after a minute, which fails
/// the test).
fn finish(child: Child) -> Run {
    run::finish(child, RUN_DEADLINE, "codex-img")
}

/// Runs to completion (killed after a minute, which fails the test).
fn run_cmd(mut cmd: Command) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    finish(cmd.spawn().expect("spawn codex-img"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// No app-server the fake started is still running once the CLI has exited.
fn assert_no_orphans(world: &World) {
    let pids = world.server_pids();
    assert!(
        all_gone_blocking(&pids, Duration::from_secs(5)),
        "an app-server of {pids:?} outlived codex-img"
    );
}

fn assert_no_turn(world: &World) {
    assert_eq!(
        world.events("turn_inputs"),
        Vec::<Value>::new(),
        "a turn was started"
    );
}

fn assert_error(run: &Run, exit: i32, code: &str, retryable: bool) -> Value {
    assert_eq!(
        run.code, exit,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["code"], code, "{json}");
    assert_eq!(json["retryable"], retryable, "{json}");
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
    json
}

const PHASE_LINES: [&str; 6] = [
    "queued",
    "starting the Codex app-server",
    "thread started",
    "generating the image",
    "image received",
    "done",
];

/// Every stderr line that reports progress, as `(label, seconds)`.
fn progress_lines(stderr: &str) -> Vec<(String, f64)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("codex-img: "))
        .filter_map(|rest| {
            let (label, time) = rest.rsplit_once(" (")?;
            let secs = time.strip_suffix("s)")?.parse().ok()?;
            Some((label.to_owned(), secs))
        })
        .collect()
}

#[test]
fn generate_saves_the_image_and_prints_its_path_and_a_summary() {
    let world = World::new();
    let target = world.dir.path().join("fox.png");
    let run = run(&world, &["generate", "a red fox", "-o", path_str(&target)]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let bytes = std::fs::read(&target).expect("the image was saved");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let sha = codex_img::image::sha256_hex(&bytes);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert_eq!(lines[0], path_str(&target));
    let summary = format!("PNG 64x48, {} bytes, sha256 {}, ", bytes.len(), &sha[..12]);
    assert!(
        lines[1].starts_with(&summary) && lines[1].ends_with('s'),
        "{}",
        lines[1]
    );
    // Codex's copy is gone and the app-server with it.
    assert_eq!(world.generated_images(), Vec::<String>::new());
    assert_no_orphans(&world);
}

#[test]
fn generate_json_is_one_object_of_the_documented_shape() {
    let world = World::new();
    let target = world.dir.path().join("fox.png");
    let run = run(
        &world,
        &["generate", "a red fox", "-o", path_str(&target), "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let bytes = std::fs::read(&target).expect("saved");
    assert_eq!(
        keys(&json),
        set(&[
            "ok",
            "path",
            "format",
            "mime",
            "width",
            "height",
            "bytes",
            "sha256",
            "revised_prompt",
            "codex_version",
            "ids",
            "timings",
            "alpha",
            "requested",
            "fit",
            "original"
        ])
    );
    assert_eq!(json["ok"], true);
    // Nothing asked: an opaque image, no size asked, never resized.
    assert_eq!(
        (
            &json["alpha"],
            &json["requested"],
            &json["fit"],
            &json["original"]
        ),
        (
            &Value::from("none"),
            &Value::Null,
            &Value::Null,
            &Value::Null
        )
    );
    assert_eq!(json["path"], path_str(&target));
    assert_eq!(json["format"], "png");
    assert_eq!(json["mime"], "image/png");
    assert_eq!(
        (json["width"].as_u64(), json["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(json["bytes"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(
        json["sha256"],
        codex_img::image::sha256_hex(&bytes).as_str()
    );
    assert_eq!(json["revised_prompt"], "a red fox, revised");
    assert_eq!(json["codex_version"], "0.169.0");

    let served = world.events("image");
    assert_eq!(served.len(), 1);
    assert_eq!(
        json["ids"],
        serde_json::json!({
            "thread_id": served[0]["threadId"],
            "turn_id": served[0]["turnId"],
            "item_id": served[0]["itemId"],
        })
    );
    assert_eq!(
        keys(&json["timings"]),
        set(&[
            "queue_wait_ms",
            "process_start_ms",
            "thread_start_ms",
            "time_to_image_ms",
            "total_ms"
        ])
    );
    for (key, value) in json["timings"].as_object().expect("timings") {
        assert!(value.is_u64(), "{key}: {value}");
    }
    // The prompt reached Codex, with nothing else of the user's.
    let turns = world.events("turn_inputs");
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["params"]["input"][0]["text"], "a red fox");
    assert_no_orphans(&world);
}

#[test]
fn progress_goes_to_stderr_as_plain_lines_when_it_is_not_a_terminal() {
    let world = World::new();
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &["generate", "a red fox", "-o", path_str(&target), "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // stdout holds the result only.
    run.json();
    assert!(!run.stdout.contains("codex-img:"));
    // stderr: one line per phase, in order, with non-decreasing times; nothing redrawn.
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
    let lines = progress_lines(&run.stderr);
    let labels: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, PHASE_LINES);
    assert!(lines.windows(2).all(|w| w[0].1 <= w[1].1), "{lines:?}");
    assert_eq!(
        run.stderr.lines().count(),
        PHASE_LINES.len(),
        "{}",
        run.stderr
    );
}

#[test]
fn config_overrides_and_codex_home_reach_codex() {
    let world = World::new();
    let other_home = world.dir.path().join("other-home");
    std::fs::create_dir(&other_home).expect("home");
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &[
            "generate",
            "a red fox",
            "-o",
            path_str(&target),
            "-c",
            "model_reasoning_effort=low",
            "--codex-home",
            path_str(&other_home),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pid = world.server_pids()[0];
    let argv: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(world.record().join(format!("pid-{pid}"))).expect("argv"),
    )
    .expect("json");
    // The library's own lean overrides come first; the user's come last, so they win.
    assert_eq!(argv[1], "app-server");
    assert_eq!(argv[argv.len() - 2..], ["-c", "model_reasoning_effort=low"]);
    let env: Value = serde_json::from_str(
        &std::fs::read_to_string(world.record().join(format!("env-{pid}.json"))).expect("env"),
    )
    .expect("json");
    assert_eq!(env["CODEX_HOME"], path_str(&other_home));
}

#[test]
fn an_empty_prompt_is_a_request_error_and_starts_nothing() {
    let world = World::new();
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &["generate", "  ", "-o", path_str(&target), "--json"],
    );
    assert_error(&run, 4, "request/invalid_prompt", false);
    assert!(!target.exists());
    assert_no_turn(&world);
}

#[test]
fn an_input_that_is_not_an_image_is_a_request_error() {
    let world = World::new();
    let input = world.dir.path().join("notes.png");
    std::fs::write(&input, b"not an image").expect("write");
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &[
            "generate",
            "edit it",
            "--image",
            path_str(&input),
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    assert_error(&run, 4, "request/invalid_image", false);
    assert_no_turn(&world);
}

#[test]
fn an_api_key_login_is_a_preflight_error() {
    let world = World::new().set("FAKE_LOGIN", "apikey");
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &["generate", "a fox", "-o", path_str(&target), "--json"],
    );
    let json = assert_error(&run, 3, "preflight/api_key_login", false);
    assert!(json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("codex login"));
    assert_no_turn(&world);
    assert_no_orphans(&world);
}

#[test]
fn an_old_codex_is_a_preflight_error() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.116.0");
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &["generate", "a fox", "-o", path_str(&target), "--json"],
    );
    let json = assert_error(&run, 3, "preflight/unsupported_version", false);
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("0.116.0") && message.contains("0.122.0"),
        "{message}"
    );
    // The version is read before any app-server is spawned.
    assert_eq!(world.server_pids(), Vec::<i32>::new());
}

#[test]
fn a_missing_codex_is_a_preflight_error() {
    let world = World::new();
    let target = world.dir.path().join("a.png");
    let mut cmd = command(
        &world,
        &["generate", "a fox", "-o", path_str(&target), "--json"],
    );
    cmd.env("CODEX_BIN", "/nonexistent/codex");
    let run = run_cmd(cmd);
    let json = assert_error(&run, 3, "preflight/codex_missing", false);
    assert!(json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("npm install -g @openai/codex"));
}

#[test]
fn no_image_is_a_retryable_runtime_error_with_a_hint() {
    let world = World::new();
    let target = world.dir.path().join("a.png");
    let json_run = run(
        &world,
        &[
            "generate",
            "a fox [fake:no-image]",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    assert_error(&json_run, 5, "runtime/no_image", true);

    // Without --json: nothing on stdout, the coded error and a hint on stderr.
    let run = run(
        &world,
        &["generate", "a fox [fake:no-image]", "-o", path_str(&target)],
    );
    assert_eq!(run.code, 5);
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("codex-img: "))
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[0].starts_with("error[runtime/no_image]: Codex finished without an image"));
    assert!(lines[1].starts_with("hint: "), "{}", lines[1]);
    assert!(!target.exists());
}

#[test]
fn a_usage_limit_reports_when_it_resets() {
    let world = World::new();
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &[
            "generate",
            "a fox [fake:usage-limit-item]",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    let json = assert_error(&run, 5, "runtime/usage_limit", false);
    assert_eq!(
        keys(&json),
        set(&[
            "ok",
            "code",
            "message",
            "retryable",
            "resets_at",
            "resets_at_text",
            "limit_id"
        ])
    );
    assert_eq!(
        json["limit_id"], "image_gen",
        "the bucket the image item named"
    );
    // Exactly the reset the fake sent, in both forms.
    let sent = |n: usize| -> i64 {
        // Each run is its own fake process with its own log: the newest event is this run's.
        let mut events = world.events("usage_limit");
        assert_eq!(events.len(), n, "{events:?}");
        events.sort_by_key(|e| e["atMs"].as_i64());
        events[n - 1]["resetsAt"].as_i64().expect("resetsAt")
    };
    let resets_at = sent(1);
    assert_eq!(json["resets_at"], resets_at);
    let text = json["resets_at_text"].as_str().expect("resets_at_text");
    assert_eq!(parse_rfc3339_utc(text), Some(resets_at), "{text}");

    let human = run_cmd(command(
        &world,
        &[
            "generate",
            "a fox [fake:usage-limit-item]",
            "-o",
            path_str(&target),
        ],
    ));
    assert_eq!(human.code, 5);
    let hint = human
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: the usage limit resets at "))
        .unwrap_or_else(|| panic!("no reset hint in:\n{}", human.stderr));
    let when = hint
        .trim_start_matches("hint: the usage limit resets at ")
        .split(';')
        .next()
        .unwrap_or_default();
    // This run's turn got its own reset from the fake.
    assert_eq!(parse_rfc3339_utc(when), Some(sent(2)), "{hint}");
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ`, the form codex-img prints; `None` for anything else.
fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from 1970-01-01 to y-m-d (proleptic Gregorian), after Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[test]
fn a_timeout_is_a_runtime_error_that_is_never_retryable() {
    let world = World::new();
    let target = world.dir.path().join("a.png");
    let run = run(
        &world,
        &[
            "generate",
            "a fox [fake:hang]",
            "-o",
            path_str(&target),
            "--timeout",
            "1",
            "--json",
        ],
    );
    let json = assert_error(&run, 5, "runtime/timeout", false);
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown"),
        "{json}"
    );
    // One turn, never a second one.
    assert_eq!(world.events("turn_inputs").len(), 1);
    assert!(!target.exists());
    assert_no_orphans(&world);
}

#[test]
fn an_existing_file_is_never_replaced_and_no_quota_is_spent() {
    let world = World::new();
    let target = world.dir.path().join("keep.png");
    std::fs::write(&target, b"precious").expect("write");
    let run = run(
        &world,
        &["generate", "a fox", "-o", path_str(&target), "--json"],
    );
    let json = assert_error(&run, 6, "output/exists", false);
    assert!(json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("keep.png"));
    assert_eq!(std::fs::read(&target).expect("read"), b"precious");
    assert_no_turn(&world);

    let human = run_cmd(command(
        &world,
        &["generate", "a fox", "-o", path_str(&target)],
    ));
    assert_eq!(human.code, 6);
    assert!(
        human.stderr.starts_with("error[output/exists]: "),
        "{}",
        human.stderr
    );
    assert_eq!(std::fs::read(&target).expect("read"), b"precious");
    assert_no_turn(&world);
}

#[test]
fn overwrite_replaces_an_existing_file() {
    let world = World::new();
    let target = world.dir.path().join("keep.png");
    std::fs::write(&target, b"old").expect("write");
    let run = run(
        &world,
        &[
            "generate",
            "a fox",
            "-o",
            path_str(&target),
            "--overwrite",
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = std::fs::read(&target).expect("read");
    assert!(bytes.starts_with(b"\x89PNG"));
    assert_eq!(
        run.json()["sha256"],
        codex_img::image::sha256_hex(&bytes).as_str()
    );
}

#[test]
fn a_directory_target_gets_a_generated_name() {
    let world = World::new();
    let dir = world.dir.path().join("out");
    std::fs::create_dir(&dir).expect("dir");
    let run = run(
        &world,
        &["generate", "a fox", "-o", path_str(&dir), "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let sha = json["sha256"].as_str().expect("sha256");
    let expected: PathBuf = dir.join(format!("codex-img-{}.png", &sha[..12]));
    assert_eq!(json["path"], path_str(&expected));
    let bytes = std::fs::read(&expected).expect("saved in the directory");
    assert_eq!(codex_img::image::sha256_hex(&bytes), sha);
    let entries: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert_eq!(entries.len(), 1, "temp files left behind");
}

#[test]
fn bad_targets_are_refused_before_generating() {
    let world = World::new();
    let missing = world.dir.path().join("no-such-dir").join("a.png");
    let run1 = run(
        &world,
        &["generate", "a fox", "-o", path_str(&missing), "--json"],
    );
    assert_error(&run1, 6, "output/invalid_target", false);

    let real = world.dir.path().join("real.png");
    std::fs::write(&real, b"real").expect("write");
    let link = world.dir.path().join("link.png");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let run2 = run(
        &world,
        &[
            "generate",
            "a fox",
            "-o",
            path_str(&link),
            "--overwrite",
            "--json",
        ],
    );
    assert_error(&run2, 6, "output/invalid_target", false);
    assert_eq!(std::fs::read(&real).expect("read"), b"real");
    assert_no_turn(&world);
}

fn signal_cancels_the_turn(signal: i32, exit: i32) {
    let world = World::new().set("FAKE_DELAY_MS", "20000");
    let target = world.dir.path().join("a.png");
    let mut cmd = command(
        &world,
        &[
            "generate",
            "a fox [fake:slow]",
            "-o",
            path_str(&target),
            "--json",
        ],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    assert_eq!(
        world
            .wait_events_blocking("turn_inputs", 1, Duration::from_secs(10))
            .len(),
        1,
        "no turn started"
    );
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let run = finish(child);
    assert_error(&run, exit, "runtime/cancelled", false);
    assert!(!target.exists());
    // The turn was interrupted, not merely abandoned, before the app-server was stopped.
    let interrupted = world.events("interrupted");
    assert_eq!(interrupted.len(), 1, "{:?}", world.log());
    assert_no_orphans(&world);
}

#[test]
fn ctrl_c_cancels_the_turn_and_exits_130() {
    signal_cancels_the_turn(libc::SIGINT, 130);
}

#[test]
fn sigterm_cancels_the_turn_and_exits_143() {
    signal_cancels_the_turn(libc::SIGTERM, 143);
}

#[test]
fn usage_errors_exit_2() {
    let world = World::new();
    let run = run(
        &world,
        &[
            "generate", "x", "-o", "a.png", "--size", "10x10", "--aspect", "1:1",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let bad_size = self::run(&world, &["generate", "x", "-o", "a.png", "--size", "big"]);
    assert_eq!(bad_size.code, 2);
    let no_output = self::run(&world, &["generate", "x"]);
    assert_eq!(no_output.code, 2);
    assert_eq!(world.server_pids(), Vec::<i32>::new());
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let world = World::new();
    let run = run(&world, &["--help"]);
    assert_eq!(run.code, 0);
    for needle in [
        "Examples:",
        "codex-img generate",
        "Exit codes:",
        "  3   preflight/*",
        "  6   output/*",
        "--codex-bin",
        "--codex-home",
        "--min-version",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing `{needle}`:\n{}",
            run.stdout
        );
    }
    let generate = self::run(&world, &["generate", "--help"]);
    for needle in ["--overwrite", "--timeout", "--ref", "Examples:"] {
        assert!(generate.stdout.contains(needle), "missing `{needle}`");
    }
}

// ---- doctor ----

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check `{name}` in {report}"))
}

/// `(name, status)` of every check, sorted by name (the order is the library's business).
fn statuses(report: &Value) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    list.sort();
    list
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    list.sort();
    list
}

/// Every field of the serialized `PreflightReport`, plus `ready` and `blocking`.
fn report_keys() -> BTreeSet<&'static str> {
    set(&[
        "binary",
        "version",
        "previous_version",
        "min_version",
        "login",
        "plan",
        "image_generation",
        "app_server",
        "rate_limits",
        "checks",
        "ready",
        "blocking",
    ])
}

#[test]
fn doctor_when_all_is_well() {
    let world = World::new();
    let run = run(&world, &["doctor", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(keys(&report), report_keys());
    assert_eq!(report["ready"], true);
    assert_eq!(report["binary"], path_str(&fake_bin()));
    assert_eq!(report["version"], "0.169.0");
    assert_eq!(report["min_version"], "0.122.0");
    assert_eq!(report["login"], "chatgpt");
    assert_eq!(report["plan"], "plus");
    assert_eq!(report["image_generation"], true);
    assert_eq!(report["rate_limits"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("binary", "pass"),
            ("version", "pass"),
            ("app_server", "pass"),
            ("login", "pass"),
            ("image_generation", "pass"),
            ("backend", "pass"),
            ("quota", "pass"),
        ])
    );
    for c in report["checks"].as_array().expect("checks") {
        assert_eq!(keys(c), set(&["name", "status", "detail"]), "{c}");
    }
    // No quota spent, no account details printed.
    assert_no_turn(&world);
    assert!(!run.stdout.contains("person@example.com"));
    assert!(!run.stderr.contains("person@example.com"));
    assert_no_orphans(&world);

    let human = run_cmd(command(&world, &["doctor"]));
    assert_eq!(human.code, 0, "{}", human.stderr);
    let marks: Vec<&str> = human
        .stdout
        .lines()
        .filter(|l| l.starts_with('['))
        .collect();
    assert_eq!(marks.len(), 7, "{}", human.stdout);
    assert!(
        marks.iter().all(|l| l.starts_with("[ok]")),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("\nReady: "), "{}", human.stdout);
    assert!(!human.stdout.contains("person@example.com"));
}

#[test]
fn doctor_when_codex_is_missing() {
    let world = World::new();
    let mut cmd = command(&world, &["doctor", "--json"]);
    cmd.env("CODEX_BIN", "/nonexistent/codex");
    let run = run_cmd(cmd);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = run.json();
    assert_eq!(keys(&report), report_keys());
    assert_eq!(report["ready"], false);
    assert_eq!(report["binary"], Value::Null);
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("binary", "fail"),
            ("version", "skipped"),
            ("app_server", "skipped"),
            ("login", "skipped"),
            ("image_generation", "skipped"),
            ("backend", "skipped"),
            ("quota", "skipped"),
        ])
    );
    let binary = check(&report, "binary");
    assert_eq!(binary["code"], "preflight/codex_missing");
    assert!(binary["fix"]
        .as_str()
        .unwrap_or_default()
        .contains("npm install -g @openai/codex"));

    let mut cmd = command(&world, &["doctor"]);
    cmd.env("CODEX_BIN", "/nonexistent/codex");
    let human = run_cmd(cmd);
    assert_eq!(human.code, 3);
    assert!(
        human.stdout.starts_with("[FAIL] binary"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("fix:  install Codex: `npm install -g @openai/codex`"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("[skip] quota"), "{}", human.stdout);
    assert!(
        human.stdout.contains("Not ready (preflight/codex_missing)"),
        "{}",
        human.stdout
    );
}

#[test]
fn doctor_when_the_login_is_an_api_key() {
    let world = World::new().set("FAKE_LOGIN", "apikey");
    let run = run(&world, &["doctor", "--json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = run.json();
    assert_eq!(keys(&report), report_keys());
    assert_eq!(report["ready"], false);
    assert_eq!(report["login"], "apiKey");
    assert_eq!(report["plan"], Value::Null);
    let login = check(&report, "login");
    assert_eq!(login["status"], "fail");
    assert_eq!(login["code"], "preflight/api_key_login");
    assert!(login["fix"]
        .as_str()
        .unwrap_or_default()
        .contains("codex login"));
    assert_eq!(check(&report, "binary")["status"], "pass");
    assert_eq!(check(&report, "version")["status"], "pass");
    assert_no_turn(&world);
    assert_no_orphans(&world);

    let human = run_cmd(command(&world, &["doctor"]));
    assert_eq!(human.code, 3);
    assert!(human.stdout.contains("[FAIL] login"), "{}", human.stdout);
    assert!(human.stdout.contains("code: preflight/api_key_login"));
}

#[test]
fn doctor_when_codex_is_too_old() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.116.0");
    let run = run(&world, &["doctor", "--json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = run.json();
    assert_eq!(keys(&report), report_keys());
    assert_eq!(report["ready"], false);
    assert_eq!(report["version"], "0.116.0");
    let version = check(&report, "version");
    assert_eq!(version["status"], "fail");
    assert_eq!(version["code"], "preflight/unsupported_version");
    assert!(version["fix"]
        .as_str()
        .unwrap_or_default()
        .contains("npm install -g @openai/codex@latest"));
    assert_eq!(check(&report, "login")["status"], "skipped");
    assert_eq!(world.server_pids(), Vec::<i32>::new());
}

#[test]
fn doctor_honours_min_version() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.150.0");
    let run = run(&world, &["--min-version", "0.160.0", "doctor", "--json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["min_version"], "0.160.0");
    assert_eq!(
        check(&report, "version")["code"],
        "preflight/unsupported_version"
    );
}

// ---- serve-stdio ----

/// `serve-stdio` in `world`, fed `lines` on stdin (each answered before the next is sent), then stdin
/// closed. Returns every line it wrote to stdout, and the run's exit code and stderr.
fn serve_stdio(world: &World, lines: &[Value]) -> (Vec<Value>, Run) {
    use std::io::{BufRead as _, Write as _};
    let mut cmd = command(
        world,
        &["serve-stdio", "--root", path_str(world.dir.path())],
    );
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut out = Vec::new();
    for line in lines {
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
        // Wait for this request's answer (notifications may come first), with a deadline.
        loop {
            let got = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("an answer from serve-stdio within a minute");
            let message: Value =
                serde_json::from_str(&got).unwrap_or_else(|e| panic!("{e}: {got}"));
            let answered = message.get("id") == line.get("id") && message.get("method").is_none();
            out.push(message);
            if answered {
                break;
            }
        }
    }
    drop(stdin);
    let run = finish(child);
    // Everything written after stdin closed, up to exit.
    reader.join().expect("reader thread");
    for got in rx.try_iter() {
        out.push(serde_json::from_str(&got).unwrap_or_else(|e| panic!("{e}: {got}")));
    }
    (out, run)
}

#[test]
fn serve_stdio_answers_then_exits_0_when_stdin_closes() {
    let world = World::new();
    let requests = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "image/cancel", "params": {"id": 99}}),
        serde_json::json!({"jsonrpc": "2.0", "id": "two", "method": "no/such"}),
    ];
    let (lines, run) = serve_stdio(&world, &requests);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    // Only the bridge writes to stdout: exactly one JSON-RPC 2.0 answer per request, nothing else.
    assert_eq!(
        lines,
        vec![
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"cancelled": false}}),
            serde_json::json!({"jsonrpc": "2.0", "id": "two", "error": {"code": -32601, "message": "method not found: `no/such`; the bridge serves image/generate, image/cancel, codex/doctor and bridge/shutdown"}}),
        ]
    );
    assert_eq!(run.stdout, "");
    assert_no_orphans(&world);
}

/// Sets every `resets_at` in `later` to the one at the same place in `earlier`, after checking that the
/// two differ by no more than `elapsed`: the fake words its quota windows' resets from its own clock
/// (now plus the window), so two reports read a second apart differ there and nowhere else.
fn align_resets(earlier: &Value, later: &mut Value, elapsed: Duration) {
    match (earlier, later) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in b.iter_mut() {
                let Some(before) = a.get(key) else { continue };
                if let (true, Some(x), Some(y)) =
                    (key == "resets_at", before.as_i64(), value.as_i64())
                {
                    let drift = u64::try_from(y - x).unwrap_or(u64::MAX);
                    assert!(
                        drift <= elapsed.as_secs() + 1,
                        "resets_at {x} then {y}, {elapsed:?} apart"
                    );
                    *value = before.clone();
                } else {
                    align_resets(before, value, elapsed);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (before, value) in a.iter().zip(b.iter_mut()) {
                align_resets(before, value, elapsed);
            }
        }
        _ => {}
    }
}

/// `doctor --json` and the bridge's `codex/doctor` print one shape: the same keys and values against the
/// same fake, ready or not (the quota windows' resets read from the fake's clock a moment apart).
#[test]
fn doctor_json_and_the_bridge_doctor_are_the_same_object() {
    // The memory of the process tree is measured, so it differs from one process to the next.
    let unmeasured = |mut report: serde_json::Value| {
        if let Some(state) = report["app_server"].as_object_mut() {
            state.insert("tree_rss_bytes".to_owned(), serde_json::Value::Null);
        }
        for check in report["checks"].as_array_mut().into_iter().flatten() {
            if check["name"] == "app_server" {
                let detail = check["detail"].as_str().unwrap_or_default();
                let kept = detail
                    .split(", its process tree holds")
                    .next()
                    .unwrap_or_default();
                check["detail"] = serde_json::Value::String(kept.to_owned());
            }
        }
        report
    };
    for world in [World::new(), World::new().set("FAKE_LOGIN", "apikey")] {
        let began = std::time::Instant::now();
        let cli = unmeasured(run(&world, &["doctor", "--json"]).json());
        let request = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "codex/doctor"});
        let (lines, served) = serve_stdio(&world, &[request]);
        assert_eq!(served.code, 0, "stderr: {}", served.stderr);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let mut bridge = unmeasured(lines[0]["result"].clone());
        align_resets(&cli, &mut bridge, began.elapsed());
        assert_eq!(bridge, cli);
        assert_eq!(keys(&cli), report_keys());
        assert_no_orphans(&world);
    }
}

/// `CODEX_HOME=` and `CODEX_BIN=` (set but empty) mean "not set": the options given on the command
/// line are used, as they would be with the variables unset, instead of a usage error.
#[test]
fn empty_codex_home_and_codex_bin_variables_count_as_unset() {
    let world = World::new();
    let fake = fake_bin();
    let home = world.home();
    let mut cmd = command(
        &world,
        &[
            "--codex-bin",
            path_str(&fake),
            "--codex-home",
            path_str(&home),
            "doctor",
            "--json",
        ],
    );
    cmd.env("CODEX_HOME", "").env("CODEX_BIN", "");
    let run = run_cmd(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["ready"], true);
}
