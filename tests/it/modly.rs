//! codex-img's Modly model extension (`adapters/modly`) against the built `codex-img` and the fake
//! app-server. `adapters/modly/tests/host.py` installs the extension into a private Modly folder and
//! drives it the way Modly does, through `modly_runner.py`, a stand-in for Modly's runner written
//! from its contract (JSON lines on stdio; `generate` run inside the read loop, as Modly's runner
//! does): one test per scenario, each in its own `CODEX_HOME`. After each, no process with that
//! `CODEX_HOME` may be left (asked of `/proc`) and Codex's `generated_images` must be empty.
//!
//! Python 3 runs the extension (standard library only); a missing `python3` fails the tests, it does
//! not skip them (CI installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, processes_with_env, run, World};

/// A scenario takes well under a second here; this bounds a hung one on a loaded machine.
const SCENARIO_DEADLINE: Duration = Duration::from_secs(180);

fn extension() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/modly")
}

/// Runs `command` to the end (killing it after `SCENARIO_DEADLINE`); its status, stdout and stderr.
fn run(mut command: Command, what: &str) -> (bool, String, String) {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); the Modly extension's tests need Python 3 (CI installs it)")
        });
    let run = run::finish(child, SCENARIO_DEADLINE, what);
    (run.code == 0, run.stdout, run.stderr)
}

/// Runs one scenario of host.py; returns its measurements (the last line of its output).
fn scenario(name: &str) -> Value {
    let world = World::new();
    let mut command = Command::new("python3");
    command
        .arg(extension().join("tests/host.py"))
        .arg(name)
        .arg("--dir")
        .arg(world.dir.path())
        .env("CODEX_IMG_BIN", support::BIN)
        .env("CODEX_BIN", support::fake_bin())
        .env("CODEX_HOME", world.home())
        .env("FAKE_RECORD_DIR", world.record())
        // `[fake:slow]` turns run until they are cancelled, whatever the machine's load.
        .env("FAKE_DELAY_MS", "60000")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("EXTENSION_DIR")
        .env_remove("MODEL_NODE_ID")
        .env_remove("MODEL_DIR");
    let (ok, out, err) = run(command, &format!("the Modly scenario {name}"));
    assert!(
        ok,
        "the Modly scenario {name} failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    let last = out.lines().last().unwrap_or_default();
    let measured: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no measurements from {name} ({e}):\n{out}\n{err}"));
    eprintln!("modly {name}: {measured}");
    let left = processes_with_env(
        "CODEX_HOME",
        world.home().as_os_str(),
        Duration::from_secs(5),
    );
    assert!(left.is_empty(), "{name}: processes left: {left:?}");
    assert_eq!(
        world.generated_images(),
        Vec::<String>::new(),
        "{name}: Codex's copies left"
    );
    measured
}

#[test]
fn the_extension_uses_the_standard_library_only_and_its_unit_tests_pass() {
    let mut check = Command::new("python3");
    check.arg(extension().join("tests/stdlib_only.py"));
    let (ok, out, err) = run(check, "stdlib_only.py");
    assert!(ok, "{out}\n{err}");
    let mut units = Command::new("python3");
    units
        .args(["-m", "unittest", "discover", "-p", "test_*.py", "-s"])
        .arg(extension().join("tests"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (ok, out, err) = run(units, "the extension's unit tests");
    assert!(ok, "{out}\n{err}");
}

#[test]
fn ready_first_then_text_to_image_saves_the_served_image_and_never_sends_the_attached_one() {
    scenario("text_to_image");
}

#[test]
fn image_to_image_sends_the_image_then_the_references_in_order() {
    scenario("image_to_image");
}

#[test]
fn a_usage_limit_is_one_coded_line_and_nothing_is_written() {
    let measured = scenario("usage_limit");
    assert!(measured["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("runtime/usage_limit: ")));
}

#[test]
fn cancel_is_answered_within_modlys_grace_and_the_turn_is_interrupted() {
    let measured = scenario("cancel");
    assert!(measured["cancel_ms"].as_u64().is_some_and(|ms| ms < 3000));
}

#[test]
fn a_killed_runner_leaves_no_process_and_no_file() {
    scenario("killed");
}

#[test]
fn closing_the_runners_stdin_ends_everything() {
    scenario("stdin_closed");
}

#[test]
fn unload_then_load_again_starts_a_new_codex_img() {
    scenario("reload");
}

#[test]
fn no_login_is_reported_at_load_before_any_turn() {
    scenario("not_signed_in");
}

#[test]
fn in_modlys_own_process_a_cancel_event_interrupts_the_turn() {
    scenario("direct_mode");
}
