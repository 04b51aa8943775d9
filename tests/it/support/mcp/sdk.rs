//! The official MCP Python SDK as a test client: finding it, and running `client.py` on a plan. Used by
//! the fake-backed tests (through `mod.rs`) and by the live test, so it needs nothing but the plan.
//!
//! The SDK comes from the virtualenv that `.ci/run` creates (`.cache/venv`, with `mcp==2.3.0`), or from
//! `CODEX_IMG_MCP_PYTHON`. Without it the tests skip with a message, except under `CI=true`, where a
//! missing client is a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// The repository's root: the first folder up from this package's that holds `tests/it/support/mcp/client.py`, so
/// a test in another package of the workspace finds the client and the virtualenv too.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/it/support/mcp/client.py").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The `codex-img` binary: Cargo's own when this test belongs to the codex-img package, else built
/// (once, quietly) into this test's target folder.
pub fn codex_img_bin() -> PathBuf {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_codex-img") {
        return PathBuf::from(bin);
    }
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "codex-img", "--bin", "codex-img"])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build -p codex-img");
        assert!(status.success(), "building codex-img failed");
        let bin = profile_dir.join("codex-img");
        assert!(bin.is_file(), "no codex-img at {}", bin.display());
        bin
    })
    .clone()
}

/// The SDK release the tests are written against.
pub const SDK_VERSION: &str = "2.3.0";

/// The Python with the MCP SDK, or `None` (after saying why) when the tests must skip.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("CODEX_IMG_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/venv/bin/python"));
    let version = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('mcp'))",
        ])
        .output();
    let problem = match version {
        Ok(out) if out.status.success() => {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if found == SDK_VERSION {
                return Some(python);
            }
            format!("{} has mcp {found}, not {SDK_VERSION}", python.display())
        }
        Ok(out) => format!(
            "{} cannot import the MCP SDK: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("no Python at {}: {e}", python.display()),
    };
    let fix = format!(
        "create it with `python3 -m venv .cache/venv && .cache/venv/bin/pip install mcp=={SDK_VERSION}` (as .ci/run does), or set CODEX_IMG_MCP_PYTHON"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the MCP Python SDK is required in CI: {problem}; {fix}");
    }
    eprintln!("SKIPPED: the MCP tests need the official MCP Python SDK: {problem}; {fix}");
    None
}

/// Runs `client.py` on `plan` (see its docstring) and returns its report. The server's stderr goes to
/// `plan.errlog`; `context` is added to a failure's message.
pub fn run_plan(
    python: &Path,
    plan: &Value,
    plan_file: &Path,
    context: &dyn Fn() -> String,
) -> Value {
    std::fs::write(plan_file, serde_json::to_vec(plan).expect("json")).expect("plan");
    let script = repo_root().join("tests/it/support/mcp/client.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(plan_file)
        .output()
        .expect("run the MCP client");
    assert!(
        out.status.success(),
        "the MCP client failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        context()
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the client printed no report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A call's result.
pub fn result(step: &Value) -> &Value {
    assert!(
        step.get("result").is_some(),
        "the call has no result: {step}"
    );
    &step["result"]
}

/// A failed call's error report (its `structuredContent`), checked to be a coded `isError` result whose
/// text names the code and message.
pub fn error_report(step: &Value) -> Value {
    let r = result(step);
    assert_eq!(r["isError"], json!(true), "{step}");
    let report = r["structuredContent"].clone();
    let text = r["content"][0]["text"].as_str().unwrap_or_default();
    let expected = format!(
        "error[{}]: {}",
        report["code"].as_str().unwrap_or_default(),
        report["message"].as_str().unwrap_or_default()
    );
    assert!(
        text.starts_with(&expected),
        "{text:?} does not start with {expected:?}"
    );
    report
}

/// The phase of each progress notification, from its message (`<phase>: ...`).
pub fn phases(step: &Value) -> Vec<String> {
    step["progress"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|n| {
                    let message = n["message"].as_str().unwrap_or_default();
                    message.split(':').next().unwrap_or_default().to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Files in a folder, by name, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
