//! What `bench` and `rss` share for the RSS figure: the fake app-server's binary and this process's
//! peak resident set.

use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The fake app-server: `CODEX_IMG_BENCH_FAKE`, else built here in this program's profile.
pub fn fake_bin() -> Res<PathBuf> {
    if let Some(bin) = std::env::var_os("CODEX_IMG_BENCH_FAKE") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
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
    if !cargo.status()?.success() {
        return Err("building the fake app-server failed".into());
    }
    Ok(profile_dir.join("fake-app-server"))
}

/// VmHWM of this process, in KiB.
pub fn peak_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}
