//! How a test or a benchmark gets this fake's binary: built on demand by cargo, in the caller's
//! profile, and found beside the caller's own executable (`target/<profile>/`). One function, so the
//! integration tests, the bridge benchmark and the live benchmarks find it the same way.

use std::path::{Path, PathBuf};

/// Builds `fake-app-server` in the profile of the calling program and returns its path.
pub fn build() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
    // A test binary sits in `target/<profile>/deps`, an example in `target/<profile>/examples`.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?;
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "-p", "fake-app-server"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let status = cargo
        .status()
        .map_err(|e| format!("cannot run cargo build -p fake-app-server: {e}"))?;
    if !status.success() {
        return Err("building the fake app-server failed".to_owned());
    }
    let bin = profile_dir.join("fake-app-server");
    if !bin.is_file() {
        return Err(format!("no fake app-server at {}", bin.display()));
    }
    Ok(bin)
}
