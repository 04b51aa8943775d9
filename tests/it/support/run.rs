//! The `codex-img` binary run to its end: its exit code and what it printed, with a deadline; and a test
//! run alone in a child process of the test binary.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::wait::output_within;
use super::World;

/// How long one run of the binary may take against the fake (every fake turn ends within seconds).
pub const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// One finished run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The single JSON object on stdout; fails unless stdout is exactly one line of JSON.
    pub fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "stdout is not one line:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(self.stdout.ends_with('\n'));
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {}", lines[0]))
    }

    /// The `code` of the JSON error on stdout, or `-` when stdout holds none.
    pub fn error_code(&self) -> String {
        serde_json::from_str::<Value>(self.stdout.trim())
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "-".to_owned())
    }
}

/// Collects the output of a spawned child and waits up to `deadline` for it to end; a child still
/// running then is killed and fails the test (`what` names it). A caller may have taken stdout to read
/// it as it comes; then `stdout` is empty.
pub fn collect(child: Child, deadline: Duration, what: &str) -> Output {
    let (status, stdout, stderr) = output_within(child, deadline);
    let Some(status) = status else {
        panic!(
            "{what} did not finish within {deadline:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

/// [`collect`], as a [`Run`].
pub fn finish(child: Child, deadline: Duration, what: &str) -> Run {
    let out = collect(child, deadline, what);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`Command::output`] with a deadline: stdout and stderr captured, the child killed and the test
/// failed if it runs longer.
pub trait OutputWithin {
    fn output_within(&mut self, deadline: Duration) -> std::io::Result<Output>;
}

impl OutputWithin for Command {
    fn output_within(&mut self, deadline: Duration) -> std::io::Result<Output> {
        let child = self.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let what = format!("{:?}", self.get_program());
        Ok(collect(child, deadline, &what))
    }
}

/// `codex-img ARGS` in `world`, run in its folder to the end.
pub fn run<S: AsRef<std::ffi::OsStr>>(world: &World, args: &[S]) -> Run {
    let mut cmd = world.command(args);
    cmd.current_dir(world.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    finish(
        cmd.spawn().expect("spawn codex-img"),
        RUN_DEADLINE,
        "codex-img",
    )
}

/// The variable that tells a child started by [`alone`] which test it runs.
const ALONE: &str = "CODEX_IMG_TEST_ALONE";

/// Whether the calling test runs alone in this process. A test that changes what the whole process
/// shares (its `TMPDIR`) cannot run beside the others in this one test binary: called first in such a
/// test, this runs the test again, alone, in a child process of this binary, checks that exactly that
/// test ran there and passed, and returns `false` (the caller then returns, its work done by the child).
/// In that child it returns `true`, and the test goes on. `module` is `module_path!()`, `test` the
/// test function's name.
pub fn alone(module: &str, test: &str) -> bool {
    let name = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{test}"),
        None => test.to_owned(),
    };
    if std::env::var_os(ALONE).is_some_and(|v| v == name.as_str()) {
        return true;
    }
    let out = Command::new(std::env::current_exe().expect("this test binary"))
        .args([name.as_str(), "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, &name)
        .stdin(Stdio::null())
        .output_within(Duration::from_secs(600))
        .expect("run this test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name}, run alone in a child process, did not pass ({}):\n{stdout}\n{stderr}",
        out.status
    );
    false
}
