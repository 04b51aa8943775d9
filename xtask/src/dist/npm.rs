//! The npm packages: the launcher `codex-img` (from `packaging/npm/codex-img/`, whose `package.json`
//! lists every platform package as an optional dependency) and this target's platform package
//! `@codex-img/<platform>` (written here: the binary, with `os`, `cpu` and `libc` so npm installs only
//! the one that runs). Both are packed with `npm pack`, exactly as `npm publish` would upload them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use super::exec;
use super::registry::REPOSITORY;
use super::targets::Target;
use super::wheel::make_executable;

const LAUNCHER_FILES: &[&str] = &[
    "package.json",
    "README.md",
    "install.js",
    "bin/codex-img",
    "lib/platform.js",
];

/// Packs the launcher and this target's platform package into `dist`; returns the two tarballs.
pub fn pack(
    root: &Path,
    target: &Target,
    version: &str,
    binary: &Path,
    stage: &Path,
    dist: &Path,
) -> Result<Vec<PathBuf>, String> {
    let launcher = stage.join("npm/codex-img");
    for file in LAUNCHER_FILES {
        copy(
            &root.join("packaging/npm/codex-img").join(file),
            &launcher.join(file),
        )?;
    }
    make_executable(&launcher.join("bin/codex-img"))?;
    licences(root, &launcher)?;

    let platform = stage.join("npm").join(target.npm);
    copy(binary, &platform.join("bin").join(target.exe()))?;
    make_executable(&platform.join("bin").join(target.exe()))?;
    licences(root, &platform)?;
    write(
        &platform.join("package.json"),
        &platform_manifest(target, version),
    )?;
    write(
        &platform.join("README.md"),
        &format!(
            "# {}\n\nThe native `codex-img` binary for {}. Install the `codex-img` package instead: it \
             depends on this one and picks it for your machine.\n\nSee {REPOSITORY}.\n",
            target.npm_package(),
            target.label
        ),
    )?;
    [launcher, platform]
        .iter()
        .map(|dir| npm_pack(dir, dist))
        .collect()
}

/// The platform package's `package.json`.
pub fn platform_manifest(target: &Target, version: &str) -> String {
    let mut manifest = json!({
        "name": target.npm_package(),
        "version": version,
        "description": format!("The codex-img binary for {}; installed by the codex-img package.", target.label),
        "license": "MIT OR Apache-2.0",
        "homepage": format!("{REPOSITORY}#readme"),
        "repository": {"type": "git", "url": format!("git+{REPOSITORY}.git")},
        "os": [target.os],
        "cpu": [target.cpu],
        "files": [format!("bin/{}", target.exe()), "LICENSE-MIT", "LICENSE-APACHE"],
        // Yarn's plug'n'play keeps packages zipped; a binary must be unpacked to run.
        "preferUnplugged": true,
        "publishConfig": {"access": "public"},
    });
    if let Some(libc) = target.libc {
        manifest["libc"] = json!([libc]);
    }
    serde_json::to_string_pretty(&manifest).expect("json") + "\n"
}

fn npm_pack(dir: &Path, dist: &Path) -> Result<PathBuf, String> {
    let out = exec::output(
        Command::new(exec::npm())
            .args(["pack", "--json", "--pack-destination"])
            .arg(dist)
            .arg(dir),
        Duration::from_secs(300),
    )?;
    let report: Value =
        serde_json::from_str(&out).map_err(|e| format!("npm pack printed no JSON ({e}): {out}"))?;
    let name = report[0]["filename"]
        .as_str()
        .ok_or_else(|| format!("npm pack named no file: {out}"))?;
    Ok(dist.join(name))
}

/// The licence files the `license` field names, beside a package's other files.
pub fn licences(root: &Path, dir: &Path) -> Result<(), String> {
    for name in ["LICENSE-MIT", "LICENSE-APACHE"] {
        copy(&root.join(name), &dir.join(name))?;
    }
    Ok(())
}

pub fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

pub fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::super::targets::TARGETS;
    use super::*;

    #[test]
    fn platform_packages_say_where_they_run() {
        let linux: Value = serde_json::from_str(&platform_manifest(&TARGETS[0], "1.2.3")).unwrap();
        assert_eq!(linux["name"], "@codex-img/linux-x64-gnu");
        assert_eq!(linux["os"], json!(["linux"]));
        assert_eq!(linux["cpu"], json!(["x64"]));
        assert_eq!(linux["libc"], json!(["glibc"]));
        assert_eq!(
            linux["files"],
            json!(["bin/codex-img", "LICENSE-MIT", "LICENSE-APACHE"])
        );
        let windows = TARGETS.iter().find(|t| t.os == "win32").unwrap();
        let windows: Value = serde_json::from_str(&platform_manifest(windows, "1.2.3")).unwrap();
        assert_eq!(windows["files"][0], "bin/codex-img.exe");
        assert!(windows.get("libc").is_none());
    }
}
