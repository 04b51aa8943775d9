//! Load against real Codex and the loopback backend (no network, no quota): `codex-img serve-stdio` as a
//! process over one real `codex app-server`, N generations in a row (100 by default) then M at once (4),
//! every answer checked against the file written, and the bridge's resident memory and open file
//! descriptors read from `/proc` after a warm-up, after the sequential run and after the burst.
//!
//! ```sh
//! cargo build --bin codex-img
//! CODEX_IMG_CODEX_CACHE=/work/codex-cache \
//!   cargo run -p codex-img-live --example load_live -- [VERSION] [SEQUENTIAL] [AT_ONCE]
//! ```
//!
//! The `codex-img` binary is taken from the workspace's `target/debug` (or `CODEX_IMG_BIN`).

#[path = "../../it/support/load/mod.rs"]
mod load_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use load_support::BridgeProcess;
use loopback_backend::{
    codex_command_env, ensure_codex, write_fake_chatgpt_login, Backend, BackendConfig,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let version = args
        .next()
        .unwrap_or_else(|| loopback_backend::NEWEST.to_owned());
    let sequential: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let concurrent: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(4);
    let bin = match std::env::var_os("CODEX_IMG_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/codex-img"),
    };
    if !bin.is_file() {
        return Err(format!(
            "no {} (cargo build --bin codex-img, or set CODEX_IMG_BIN)",
            bin.display()
        )
        .into());
    }
    let codex = ensure_codex(&version)?;
    let backend = Backend::start(BackendConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let (home, root) = (dir.path().join("home"), dir.path().join("out"));
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&root)?;
    write_fake_chatgpt_login(&home, "plus")?;
    let env = codex_command_env(&backend, &home);
    let mut command = Command::new(&bin);
    command.args(env.config_args());
    command.args(["serve-stdio", "--root"]).arg(&root);
    command.env("CODEX_BIN", &codex).env_remove("RUST_LOG");
    for name in &env.env_remove {
        command.env_remove(name);
    }
    for (name, value) in &env.env {
        command.env(name, value);
    }
    let started = Instant::now();
    let root_for_run = root.clone();
    let (bridge, report) = tokio::task::spawn_blocking(move || {
        let mut bridge = BridgeProcess::spawn(command).map_err(|e| e.to_string())?;
        let report = load_support::run(
            &mut bridge,
            &root_for_run,
            sequential,
            concurrent,
            Duration::from_secs(120),
        );
        Ok::<_, String>((bridge, report))
    })
    .await??;
    let closed = tokio::task::spawn_blocking(move || bridge.close(Duration::from_secs(30))).await?;
    let report = report?;
    println!(
        "codex-img serve-stdio against codex {version} and the loopback backend, {} cores",
        std::thread::available_parallelism()?.get()
    );
    println!("{}", report.summary());
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    let leftovers = std::fs::read_dir(home.join("generated_images")).map_or(0, |d| d.count());
    println!("left in CODEX_HOME/generated_images: {leftovers}");
    println!("bridge exit: {closed:?}");
    for failure in &report.failures {
        eprintln!("failure: {failure}");
    }
    if !report.failures.is_empty() || leftovers != 0 || !matches!(closed, Ok(s) if s.success()) {
        return Err("the run had failures".into());
    }
    Ok(())
}
