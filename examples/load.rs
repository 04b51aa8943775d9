//! The full load run against the fake app-server: `codex-img serve-stdio` as a process, N generations
//! in a row then M at once (500 and 32 by default), every answer checked against the file written,
//! and the bridge's resident memory and open file descriptors read from `/proc` after a warm-up, after
//! the sequential run and after the burst. Prints the figures; exits 1 on any failure or growth.
//! `cargo test --test it load::bridge` is the bounded version.
//!
//! ```sh
//! cargo build --release --bin codex-img -p codex-img -p fake-app-server
//! cargo run --release --example load -- [SEQUENTIAL] [AT_ONCE]
//! ```
//!
//! The binaries are taken from the example's own target directory (`target/release`); set
//! `CODEX_IMG_BIN` and `CODEX_BIN` to use others.

#[path = "../tests/it/support/load/mod.rs"]
mod load_support;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use load_support::BridgeProcess;

fn binary(var: &str, name: &str) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(var) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("cannot find the target directory")?;
    let path = profile.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no {} (build it: cargo build --release --bin codex-img -p codex-img -p fake-app-server, or set {var})",
            path.display()
        ))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let mut number = |default: usize| -> Result<usize, String> {
        args.next()
            .map(|s| s.parse().map_err(|e| format!("{s}: {e}")))
            .transpose()
            .map(|n| n.unwrap_or(default))
    };
    let (sequential, concurrent) = (number(500)?, number(32)?);
    let bin = binary("CODEX_IMG_BIN", "codex-img")?;
    let fake = binary("CODEX_BIN", "fake-app-server")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (root, home) = (dir.path().join("out"), dir.path().join("home"));
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let mut command = Command::new(&bin);
    command
        .args(["serve-stdio", "--root"])
        .arg(&root)
        .env("CODEX_BIN", &fake)
        .env("CODEX_HOME", &home)
        .env_remove("RUST_LOG");
    let started = Instant::now();
    let mut bridge = BridgeProcess::spawn(command).map_err(|e| e.to_string())?;
    let report = load_support::run(
        &mut bridge,
        &root,
        sequential,
        concurrent,
        Duration::from_secs(120),
    );
    let closed = bridge.close(Duration::from_secs(30));
    let report = report?;
    let total = started.elapsed();
    println!(
        "codex-img serve-stdio against the fake app-server, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{}", report.summary());
    println!("total {:.1} s", total.as_secs_f64());
    let leftovers = std::fs::read_dir(home.join("generated_images")).map_or(0, |d| d.count());
    println!("left in CODEX_HOME/generated_images: {leftovers}");
    let (warm, after) = (report.warm, report.after_sequential);
    let flat = after.fds <= warm.fds + 2 && after.rss_kib <= warm.rss_kib + 16 * 1024;
    match closed {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(format!("the bridge exited with {status}")),
        Err(e) => return Err(e),
    }
    for failure in &report.failures {
        eprintln!("failure: {failure}");
    }
    Ok(report.failures.is_empty() && flat && leftovers == 0)
}
