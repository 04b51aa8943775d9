//! The official clients the tests drive, which codex-img did not write, installed by the tests
//! themselves on first use, pinned: the MCP Python SDK and the `openai` Python SDK in a virtualenv
//! (`.cache/venv`), and the `openai` Node SDK in its own folder (`.cache/npm-clients`). `.ci/run`
//! installs the same versions ahead of the tests, so that a registry problem fails early, but no test
//! depends on it: a missing or outdated client is installed, and a machine without `python3` or
//! `node` fails the test, naming what to install. No test skips for want of a client.
//!
//! Each install runs once per test process (a `OnceLock`) and under a file lock
//! (`.cache/clients.lock`), so that parallel tests and concurrent `cargo test` runs do not race; what
//! is installed is checked by asking the installed client its version, never by a marker alone.
//!
//! Standard library, `serde_json` and `libc` only: the live tests include this file by path too
//! (through `mcp/sdk.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

// By path, so that the packages that include this file by path get it too (in the integration tests
// it is also `support::wait`: the same source, compiled twice).
#[allow(clippy::duplicate_mod)]
#[path = "wait.rs"]
mod wait;

/// PyPI `mcp`: the MCP Python SDK the MCP tests are written against.
pub const MCP_SDK: &str = "2.3.0";
/// PyPI `openai`: the Python SDK the serve-http tests drive.
pub const OPENAI_PYTHON: &str = "3.57.0";
/// npm `openai`: the Node SDK the serve-http tests drive (6.x is the newest line that runs on Node 20).
pub const OPENAI_NODE: &str = "6.49.0";

/// How long one install may take (a cold download of both Python SDKs, on a slow registry).
const INSTALL_DEADLINE: Duration = Duration::from_secs(600);
/// How long a test waits for another process's install to finish.
const LOCK_DEADLINE: Duration = Duration::from_secs(900);

/// The repository's root: the first folder up from this package's that holds this file, so that a
/// test in another package of the workspace finds the clients too.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/it/support/clients.rs").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The virtualenv's Python, with the MCP SDK and the `openai` SDK at their pinned versions: made or
/// brought up to date on first use.
pub fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| locked(install_venv).unwrap_or_else(|e| panic!("{e}")))
        .clone()
}

/// The Python that runs the MCP SDK: `CODEX_IMG_MCP_PYTHON` when set (it must have `mcp` at
/// [`MCP_SDK`]; it is not changed), else [`venv_python`].
pub fn mcp_python() -> PathBuf {
    let Some(python) = std::env::var_os("CODEX_IMG_MCP_PYTHON").map(PathBuf::from) else {
        return venv_python();
    };
    match python_versions(&python, &["mcp"]) {
        Ok(found) if found == [MCP_SDK] => python,
        Ok(found) => panic!(
            "CODEX_IMG_MCP_PYTHON={} has mcp {}, not {MCP_SDK}: install mcp=={MCP_SDK} there, or unset it to use .cache/venv",
            python.display(),
            found.join(" ")
        ),
        Err(e) => panic!(
            "CODEX_IMG_MCP_PYTHON={} cannot import the MCP SDK: {e}; install mcp=={MCP_SDK} there, or unset it to use .cache/venv",
            python.display()
        ),
    }
}

/// The folder whose `node_modules` holds the `openai` Node SDK at [`OPENAI_NODE`]: installed on first
/// use.
pub fn node_openai() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| locked(install_node_openai).unwrap_or_else(|e| panic!("{e}")))
        .clone()
}

fn cache() -> PathBuf {
    repo_root().join(".cache")
}

/// Runs `install` holding the cache's install lock (waiting up to [`LOCK_DEADLINE`] for it).
fn locked<T>(install: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    use std::os::fd::AsRawFd as _;
    let cache = cache();
    std::fs::create_dir_all(&cache).map_err(|e| format!("creating {}: {e}", cache.display()))?;
    let path = cache.join("clients.lock");
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock(2) on a descriptor this function owns; the lock goes with it when `file` drops.
    let take = || (unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0);
    wait::eventually(LOCK_DEADLINE, || take().then_some(())).ok_or_else(|| {
        format!(
            "another process held {} for {LOCK_DEADLINE:?}: is an install of the test clients stuck?",
            path.display()
        )
    })?;
    let result = install();
    drop(file);
    result
}

fn install_venv() -> Result<PathBuf, String> {
    let venv = cache().join("venv");
    let python = venv.join("bin/python");
    let wanted = [MCP_SDK, OPENAI_PYTHON];
    let packages = ["mcp", "openai"];
    match python_versions(&python, &packages) {
        Ok(found) if found == wanted => return Ok(python),
        Ok(_) => {}
        // No virtualenv yet, or a broken one: make it anew.
        Err(_) => {
            let made = run(
                Command::new("python3")
                    .args(["-m", "venv", "--clear"])
                    .arg(&venv),
                "python3",
                "Python 3 with its venv module (Debian: apt-get install python3 python3-venv)",
            )?;
            if !made.status.success() {
                return Err(format!(
                    "python3 -m venv {} failed: {}; install Python's venv module (Debian: apt-get install python3-venv)",
                    venv.display(),
                    tail(&made.stderr)
                ));
            }
        }
    }
    let pins: Vec<String> = packages
        .iter()
        .zip(wanted)
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    let pip = run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&pins),
        &python.display().to_string(),
        "Python 3 with its venv module (Debian: apt-get install python3 python3-venv)",
    )?;
    if !pip.status.success() {
        return Err(format!(
            "pip install {} into {} failed (is PyPI reachable?): {}",
            pins.join(" "),
            venv.display(),
            tail(&pip.stderr)
        ));
    }
    match python_versions(&python, &packages) {
        Ok(found) if found == wanted => Ok(python),
        found => Err(format!(
            "after pip install {}, {} reports {found:?}",
            pins.join(" "),
            python.display()
        )),
    }
}

/// The installed versions of `packages` in `python`'s environment, in order.
fn python_versions(python: &Path, packages: &[&str]) -> Result<Vec<String>, String> {
    let script =
        format!("import importlib.metadata as m\nfor p in {packages:?}: print(m.version(p))");
    let out = run(
        Command::new(python).args(["-c", &script]),
        &python.display().to_string(),
        "a virtualenv",
    )?;
    if !out.status.success() {
        // The exception's own line, such as `PackageNotFoundError: No package metadata was found for mcp`.
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(stderr.lines().last().unwrap_or_default().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn install_node_openai() -> Result<PathBuf, String> {
    let dir = cache().join("npm-clients");
    let installed = || {
        std::fs::read(dir.join("node_modules/openai/package.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .is_some_and(|package| package["version"] == OPENAI_NODE)
    };
    let node = run(
        Command::new("node").arg("--version"),
        "node",
        "Node.js 20 or newer with npm (Debian: apt-get install nodejs npm)",
    )?;
    if !node.status.success() {
        return Err(format!("node --version failed: {}", tail(&node.stderr)));
    }
    if installed() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let npm = run(
        Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(format!("openai@{OPENAI_NODE}")),
        "npm",
        "npm (Debian: apt-get install npm)",
    )?;
    if !npm.status.success() || !installed() {
        return Err(format!(
            "npm install --prefix {} openai@{OPENAI_NODE} failed (is the npm registry reachable?): {}",
            dir.display(),
            tail(&npm.stderr)
        ));
    }
    Ok(dir)
}

/// Runs an install step to its end within [`INSTALL_DEADLINE`]; a program that is not there is an
/// error naming `what` to install.
fn run(command: &mut Command, program: &str, what: &str) -> Result<Output, String> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{program}` is not installed; the tests need {what}")
            } else {
                format!("running {program}: {e}")
            }
        })?;
    let (status, stdout, stderr) = wait::output_within(child, INSTALL_DEADLINE);
    let status = status.ok_or_else(|| {
        format!(
            "{program} did not finish within {INSTALL_DEADLINE:?}: {}",
            tail(&stderr)
        )
    })?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// The last lines of a program's stderr, for a message.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}
