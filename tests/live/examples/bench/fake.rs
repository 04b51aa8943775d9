//! What `bench` and `rss` share for the RSS figure: the fake app-server's binary and this process's
//! peak resident set.

use std::path::PathBuf;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The fake app-server: `CODEX_IMG_BENCH_FAKE`, else built here in this program's profile.
pub fn fake_bin() -> Res<PathBuf> {
    if let Some(bin) = std::env::var_os("CODEX_IMG_BENCH_FAKE") {
        return Ok(PathBuf::from(bin));
    }
    Ok(fake_app_server::build()?)
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
