//! The official MCP Python SDK as a test client: running `client.py` (beside this file) on a plan.
//! Used by the fake-backed tests (through `mod.rs`) and by the live tests, which include this file by
//! path, so it needs nothing but the plan and [`clients`], which installs the SDK on first use.
#![allow(dead_code)]

// The installer of every official client the tests drive, declared here so that a package that
// includes this file by path gets it too; the integration tests reach it as `support::clients`.
#[path = "../clients.rs"]
pub mod clients;

pub use clients::repo_root;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

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

/// The Python with the MCP SDK at [`clients::MCP_SDK`]: `CODEX_IMG_MCP_PYTHON`, or the tests' own
/// virtualenv, installed on first use. A machine without Python fails the test; none skips.
pub fn python() -> PathBuf {
    clients::mcp_python()
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

/// A successful call's result, checked not to be an `isError` result.
pub fn ok_result(step: &Value) -> &Value {
    let r = result(step);
    assert_eq!(r["isError"], json!(false), "the call failed: {step}");
    r
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
