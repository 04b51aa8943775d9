//! Installing Codex releases, and Claude Code, for live tests.
//!
//! The one list of releases the live tests cover lives here. Each release is installed from the
//! npm registry with `npm install @openai/codex@<version>` into its own folder under a cache
//! (`$CODEX_IMG_CODEX_CACHE`, or `<workspace>/.cache/codex`), once. Concurrent test processes are
//! safe: each installs into a private temporary folder beside the cache entry and renames it into
//! place; the loser of a race discards its copy and uses the winner's.
//!
//! Claude Code, the other agent the agent tests run as an MCP client, is installed the same way into
//! `claude-code-<version>` in the same cache: its npm package and its platform package (the native
//! binary), pinned, with `--ignore-scripts` so its postinstall step (which would look for or fetch a
//! binary of its own) never runs. [`ensure_claude_code`] returns the platform package's binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The oldest supported release.
pub const FLOOR: &str = "0.122.0";
/// The newest release tested.
pub const NEWEST: &str = "0.171.0";
/// A release below the floor, for the version-gate test.
pub const BELOW_FLOOR: &str = "0.116.0";

/// Every release the full live matrix covers: the floor, one release from each behavioural band
/// (0.140 hosted image tool; 0.145 client image tool; 0.150 `failure` on the item; 0.160 HTTPS
/// and the accounts check; 0.165 `fileId`; 0.169 tools as an input item), and the newest.
pub const RELEASES: &[&str] = &[
    FLOOR, "0.140.0", "0.145.0", "0.150.0", "0.160.0", "0.165.0", "0.169.0", NEWEST,
];

/// The releases every CI run covers.
pub const CI_RELEASES: &[&str] = &[FLOOR, NEWEST];

/// The Claude Code release the agent tests run.
pub const CLAUDE_CODE: &str = "2.1.332";

/// The cache folder: `$CODEX_IMG_CODEX_CACHE`, else `<workspace>/.cache/codex`.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("CODEX_IMG_CODEX_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join(".cache")
            .join("codex"),
    }
}

/// The `codex` launcher inside one release's install folder.
pub fn launcher_in(install_dir: &Path) -> PathBuf {
    install_dir.join("node_modules").join(".bin").join("codex")
}

/// Whether release `version` is at least `minimum` (plain `X.Y.Z` ordering), for the per-release
/// differences the tests expect.
pub fn at_least(version: &str, minimum: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split(['.', '-'])
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(version) >= parse(minimum)
}

/// Returns the `codex` launcher of `version`, installing it first if the cache lacks it.
pub fn ensure_codex(version: &str) -> Result<PathBuf> {
    check_version(version)?;
    let target = cache_dir().join(version);
    let launcher = launcher_in(&target);
    let packages = [format!("@openai/codex@{version}")];
    ensure_installed(version, &target, &launcher, &packages, &[])?;
    Ok(launcher)
}

/// The npm package that holds Claude Code's native binary for this machine, such as
/// `@anthropic-ai/claude-code-linux-x64`, or `None` on a platform it does not ship for.
pub fn claude_code_platform_package() -> Option<&'static str> {
    let musl = cfg!(target_env = "musl");
    Some(match (std::env::consts::OS, std::env::consts::ARCH, musl) {
        ("linux", "x86_64", false) => "@anthropic-ai/claude-code-linux-x64",
        ("linux", "x86_64", true) => "@anthropic-ai/claude-code-linux-x64-musl",
        ("linux", "aarch64", false) => "@anthropic-ai/claude-code-linux-arm64",
        ("linux", "aarch64", true) => "@anthropic-ai/claude-code-linux-arm64-musl",
        ("macos", "x86_64", _) => "@anthropic-ai/claude-code-darwin-x64",
        ("macos", "aarch64", _) => "@anthropic-ai/claude-code-darwin-arm64",
        _ => return None,
    })
}

/// The native `claude` binary inside a Claude Code install folder.
pub fn claude_binary_in(install_dir: &Path) -> Option<PathBuf> {
    let package = claude_code_platform_package()?;
    let mut path = install_dir.join("node_modules");
    for part in package.split('/') {
        path.push(part);
    }
    Some(path.join("claude"))
}

/// Returns Claude Code [`CLAUDE_CODE`]'s native binary, installing it first if the cache lacks it:
/// `npm install --ignore-scripts @anthropic-ai/claude-code@<v> <platform package>@<v>` into
/// `<cache>/claude-code-<v>`.
pub fn ensure_claude_code() -> Result<PathBuf> {
    let version = CLAUDE_CODE;
    let package = claude_code_platform_package().ok_or_else(|| {
        Error::new(format!(
            "Claude Code ships no native binary for {}-{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ))
    })?;
    let name = format!("claude-code-{version}");
    let target = cache_dir().join(&name);
    let binary = claude_binary_in(&target).unwrap_or_default();
    let packages = [
        format!("@anthropic-ai/claude-code@{version}"),
        format!("{package}@{version}"),
    ];
    ensure_installed(&name, &target, &binary, &packages, &["--ignore-scripts"])?;
    Ok(binary)
}

fn check_version(version: &str) -> Result<()> {
    let valid = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::new(format!("not a release version: {version:?}")))
    }
}

/// Installs `packages` into `target` (a folder of the cache named `name`) unless `marker` (the file
/// the install provides) is already there: into a private staging folder first, renamed into place.
fn ensure_installed(
    name: &str,
    target: &Path,
    marker: &Path,
    packages: &[String],
    flags: &[&str],
) -> Result<()> {
    if marker.exists() {
        return Ok(());
    }
    let cache = cache_dir();
    std::fs::create_dir_all(&cache)
        .map_err(|e| Error::context(&format!("creating {}", cache.display()), e))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let staging = cache.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .map_err(|e| Error::context(&format!("creating {}", staging.display()), e))?;
    let result = npm_install(&staging, packages, flags);
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(err);
    }
    if std::fs::rename(&staging, target).is_err() {
        // Another process won the race, or a broken folder is in the way.
        let _ = std::fs::remove_dir_all(&staging);
        if !marker.exists() {
            return Err(Error::new(format!(
                "could not move the install of {} into {}; remove that folder and retry",
                packages.join(" "),
                target.display()
            )));
        }
    }
    if marker.exists() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "npm installed {} but {} is missing",
            packages.join(" "),
            marker.display()
        )))
    }
}

fn npm_install(dir: &Path, packages: &[String], flags: &[&str]) -> Result<()> {
    std::fs::write(dir.join("package.json"), "{\"private\": true}\n")
        .map_err(|e| Error::context("writing package.json", e))?;
    let output = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--no-save"])
        .args(flags)
        .args(packages)
        .current_dir(dir)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new("npm is not on PATH: install Node.js and npm to run the live tests")
            } else {
                Error::context("running npm", e)
            }
        })?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        Err(Error::new(format!(
            "npm install {} failed ({}):\n{tail}",
            packages.join(" "),
            output.status
        )))
    }
}
