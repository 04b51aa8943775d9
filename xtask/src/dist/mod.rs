//! `cargo xtask dist [--target TRIPLE] [--allow-dirty]`: builds every distributable of codex-img for one
//! platform (default: this machine's) into `dist/` at the repository root, from one release build:
//!
//! - the PyPI wheel (`codex_img-<v>-py3-none-<tag>.whl`, see [`wheel`]),
//! - the npm launcher and this platform's package (`codex-img-<v>.tgz`, `codex-img-<platform>-<v>.tgz`,
//!   see [`npm`]),
//! - the Claude Desktop bundle (`codex-img-<v>-<platform>.mcpb`, see [`mcpb`]), where Claude Desktop runs,
//! - the crate as crates.io would get it (`codex-img-<v>.crate`, from `cargo package`),
//! - `server.json` for the MCP registry with this bundle's hash (see [`registry`]).
//!
//! `cargo xtask server-json DIR` completes `server.json` with the hash of every bundle in DIR and checks
//! it as the registry will: the release's last step before publishing.

mod exec;
mod mcpb;
mod npm;
pub mod registry;
mod targets;
mod wheel;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `cargo xtask dist ...`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), String> {
    let started = Instant::now();
    let root = &root
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", root.display()))?;
    let mut triple = None;
    let mut allow_dirty = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--target" => triple = Some(rest.next().ok_or("--target needs a target triple")?.to_string()),
            "--allow-dirty" => allow_dirty = true,
            other => return Err(format!("unknown argument `{other}`; usage: cargo xtask dist [--target TRIPLE] [--allow-dirty]")),
        }
    }
    let triple = match triple {
        Some(t) => t,
        None => host_triple()?,
    };
    let target = targets::find(&triple)?;

    // Everything a release states about itself must agree before anything is built.
    let packages = registry::Packages::read(root)?;
    let server = read_server(root)?;
    let mut problems = registry::check_packages(&packages);
    problems.extend(registry::check(&server, &packages, registry::Mode::Source));
    if !problems.is_empty() {
        return Err(format!(
            "the packaging files disagree:\n  {}",
            problems.join("\n  ")
        ));
    }
    let version = packages.version.clone();

    let dist = root.join("dist");
    let target_dir = target_dir(root)?;
    let stage = target_dir.join("dist-stage");
    for dir in [&dist, &stage] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }

    let step = |name: &str| eprintln!("\n==> dist: {name} ({}s)", started.elapsed().as_secs());
    step(&format!("tools for {} ({})", target.triple, target.label));
    let tools = exec::Tools::ensure(root, !target.maturin.is_empty())?;

    step("the wheel, with the one release build");
    let (wheel, binary) = wheel::build(root, &tools, &target, &stage, &dist)?;
    let mut artifacts = vec![wheel];

    step("the npm launcher and platform package");
    artifacts.extend(npm::pack(root, &target, &version, &binary, &stage, &dist)?);

    if target.mcpb {
        step("the Claude Desktop bundle");
        artifacts.push(mcpb::pack(
            root, &tools, &target, &version, &binary, &stage, &dist,
        )?);
    }

    step("the crate");
    artifacts.push(package_crate(
        root,
        &target_dir,
        &version,
        allow_dirty,
        &dist,
    )?);

    step("server.json");
    let mut server = server;
    let filled = registry::fill_hashes(&mut server, &dist)?;
    if filled != usize::from(target.mcpb) {
        return Err(format!(
            "server.json lists no bundle named {}",
            target.mcpb_file(&version)
        ));
    }
    let written = dist.join("server.json");
    npm::write(
        &written,
        &(serde_json::to_string_pretty(&server).expect("json") + "\n"),
    )?;
    artifacts.push(written);

    std::fs::remove_dir_all(&stage)
        .map_err(|e| format!("cannot remove {}: {e}", stage.display()))?;
    eprintln!(
        "\ndist: built in {}s for {}:",
        started.elapsed().as_secs(),
        target.triple
    );
    for path in &artifacts {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "  {:>10} bytes  {}",
            size,
            path.strip_prefix(root).unwrap_or(path).display()
        );
    }
    Ok(())
}

/// `cargo xtask server-json DIR`: `server.json` with the hash of every bundle in DIR, checked as the
/// registry will check it, written to `DIR/server.json`.
pub fn server_json(root: &Path, dir: &str) -> Result<(), String> {
    let dir = PathBuf::from(dir);
    let packages = registry::Packages::read(root)?;
    let mut server = read_server(root)?;
    let filled = registry::fill_hashes(&mut server, &dir)?;
    let problems = registry::check(&server, &packages, registry::Mode::Release);
    if !problems.is_empty() {
        return Err(format!(
            "server.json is not ready to publish:\n  {}",
            problems.join("\n  ")
        ));
    }
    let out = dir.join("server.json");
    npm::write(
        &out,
        &(serde_json::to_string_pretty(&server).expect("json") + "\n"),
    )?;
    eprintln!("wrote {} ({filled} bundle hashes)", out.display());
    Ok(())
}

fn read_server(root: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(root.join("server.json"))
        .map_err(|e| format!("cannot read server.json: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("server.json is not JSON: {e}"))
}

/// `cargo package`: the `.crate` exactly as crates.io would receive it. Not verified by building here:
/// the install test builds and runs it (`cargo install` from the unpacked crate).
fn package_crate(
    root: &Path,
    target_dir: &Path,
    version: &str,
    allow_dirty: bool,
    dist: &Path,
) -> Result<PathBuf, String> {
    let mut command = Command::new(crate::cargo());
    command
        .args([
            "package",
            "--no-verify",
            "--quiet",
            "--package",
            "codex-img",
        ])
        .current_dir(root);
    if allow_dirty {
        command.arg("--allow-dirty");
    }
    exec::run(&mut command, Duration::from_secs(600))?;
    let name = format!("codex-img-{version}.crate");
    let built = target_dir.join("package").join(&name);
    let out = dist.join(&name);
    npm::copy(&built, &out)?;
    Ok(out)
}

/// Cargo's target directory for this workspace.
fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let out = exec::output(
        Command::new(crate::cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(root),
        Duration::from_secs(120),
    )?;
    let meta: Value = serde_json::from_str(&out).map_err(|e| format!("cargo metadata: {e}"))?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target directory".to_owned())
}

/// This machine's target triple, as rustc reports it.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = exec::output(Command::new(rustc).arg("-vV"), Duration::from_secs(60))?;
    out.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV named no host".to_owned())
}
