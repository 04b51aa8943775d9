//! A scriptable stand-in for the `codex` CLI, used by codex-img's tests.
//!
//! It is invoked exactly like the real binary: `fake-app-server --version` prints `codex-cli <V>`,
//! and `fake-app-server app-server [args...]` speaks the app-server protocol on stdin/stdout the
//! way Codex does (see `wire.rs`). What it does is chosen by environment variables, read once here
//! into a [`Config`], and by a `[fake:NAME]` marker in each prompt (see `scenario.rs`). Everything
//! it receives can be recorded for assertions (`record.rs`), and the images it returns are real
//! PNGs (`png.rs`). This file owns the command line and the environment: parsing, the `--version`
//! answer, the helper child that imitates the npm launcher's process tree, and the exit on stdin
//! EOF. The README next to `Cargo.toml` is the user's guide to every variable and scenario.

mod faults;
mod png;
mod record;
mod scenario;
mod server;
mod wire;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use record::Recorder;
use server::Server;

/// Everything the environment decides, read once at startup.
pub struct Config {
    /// The Codex version this fake pretends to be (`FAKE_CODEX_VERSION`, default `0.169.0`).
    pub version: String,
    version_triple: (u64, u64, u64),
    /// The version reported inside the `initialize` user agent (`FAKE_USER_AGENT_VERSION`).
    pub user_agent_version: String,
    /// `chatgpt`, `apikey`, `none` or `unreachable` (`FAKE_LOGIN`).
    pub login: String,
    pub image_generation: bool,
    pub overload_thread_starts: u64,
    /// The first N threads started are forgotten before their first turn (`FAKE_FORGET_THREADS`).
    pub forget_threads: u64,
    pub early_events: bool,
    pub default_scenario: String,
    pub image_size: Option<(u32, u32)>,
    pub delay_ms: u64,
    pub codex_home: PathBuf,
}

/// The version to pretend: `FAKE_CODEX_VERSION_FILE`'s content when set (read at each start, so a
/// test can "upgrade" Codex between two processes), else `FAKE_CODEX_VERSION`, else `0.169.0`.
fn pretended_version() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(file) = var("FAKE_CODEX_VERSION_FILE") {
        return std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("fake-app-server: FAKE_CODEX_VERSION_FILE={file:?}: {e}"))
            .trim()
            .to_owned();
    }
    var("FAKE_CODEX_VERSION").unwrap_or_else(|| "0.169.0".to_string())
}

/// `FAKE_LOGIN=auth-file`: the login real Codex would read at start from `$CODEX_HOME/auth.json`
/// (`auth_mode` `chatgpt` or `apikey`; no file is no login).
fn login_from_auth_file(codex_home: &std::path::Path) -> String {
    let Ok(text) = std::fs::read_to_string(codex_home.join("auth.json")) else {
        return "none".to_string();
    };
    let auth: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match auth["auth_mode"].as_str() {
        Some("apikey") => "apikey".to_string(),
        Some("chatgpt") => "chatgpt".to_string(),
        _ => "none".to_string(),
    }
}

impl Config {
    fn from_env() -> Config {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let version = pretended_version();
        let version_triple = parse_version(&version).unwrap_or_else(|| {
            panic!("fake-app-server: FAKE_CODEX_VERSION={version:?} is not X.Y.Z")
        });
        let image_size = var("FAKE_IMAGE_SIZE").map(|s| {
            parse_size(&s)
                .unwrap_or_else(|| panic!("fake-app-server: FAKE_IMAGE_SIZE={s:?} is not WxH"))
        });
        let number = |name: &str, default: u64| {
            var(name).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("fake-app-server: {name}={v:?} is not a number"))
            })
        };
        let codex_home = match std::env::var_os("CODEX_HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            // Never write into a real user's ~/.codex: a fake without CODEX_HOME gets a scratch
            // one.
            _ => {
                let home = std::env::temp_dir()
                    .join(format!("fake-app-server-home-{}", std::process::id()));
                eprintln!("fake-app-server: CODEX_HOME is not set; using {home:?}");
                home
            }
        };
        Config {
            user_agent_version: var("FAKE_USER_AGENT_VERSION").unwrap_or_else(|| version.clone()),
            version,
            version_triple,
            login: match var("FAKE_LOGIN").as_deref() {
                Some("auth-file") => login_from_auth_file(&codex_home),
                Some(other) => other.to_string(),
                None => "chatgpt".to_string(),
            },
            image_generation: var("FAKE_IMAGE_GENERATION").as_deref() != Some("0"),
            overload_thread_starts: number("FAKE_OVERLOAD_THREAD_STARTS", 0),
            forget_threads: number("FAKE_FORGET_THREADS", 0),
            early_events: var("FAKE_EARLY_EVENTS").as_deref() != Some("0"),
            default_scenario: var("FAKE_SCENARIO").unwrap_or_else(|| "success".to_string()),
            image_size,
            delay_ms: number("FAKE_DELAY_MS", 2000),
            codex_home,
        }
    }

    /// Whether the pretended version is at least `major.minor.patch` (prerelease tags are ignored).
    pub fn at_least(&self, major: u64, minor: u64, patch: u64) -> bool {
        self.version_triple >= (major, minor, patch)
    }
}

/// `X.Y.Z` or `X.Y.Z-pre`, compared on the numeric triple only.
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let triple = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(triple)
}

fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.split_once(['x', 'X'])?;
    let size = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (size.0 > 0 && size.1 > 0).then_some(size)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let args = &argv[1..];
    if args.first().map(String::as_str) == Some("helper-sleep") {
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    if args.iter().any(|a| a == "app-server") {
        serve(&argv);
    } else if args.len() == 1 && (args[0] == "--version" || args[0] == "-V") {
        println!("codex-cli {}", pretended_version());
    } else {
        eprintln!(
            "fake-app-server: unsupported arguments {args:?}; \
             expected `--version` or `app-server [args...]`"
        );
        std::process::exit(2);
    }
}

fn serve(argv: &[String]) {
    let config = Config::from_env();
    let recorder = Recorder::from_env();
    recorder.process_started(argv);
    faults::at_start();
    if std::env::var("FAKE_SPAWN_HELPER").as_deref() == Ok("1") {
        spawn_helper(&recorder);
    }
    let server = Arc::new(Server::new(config, recorder));
    server.serve_stdin();
    // stdin reached EOF: the real server exits within about 250 ms.
    if std::env::var("FAKE_IGNORE_STDIN_EOF").as_deref() == Ok("1") {
        eprintln!("fake-app-server: stdin closed; FAKE_IGNORE_STDIN_EOF=1, so staying alive");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    std::process::exit(0);
}

/// Starts `fake-app-server helper-sleep` in our own process group, like the helpers the real server
/// keeps. It is never waited for: it dies when the group is signalled, or after 600 s.
fn spawn_helper(recorder: &Recorder) {
    let exe = std::env::current_exe().expect("fake-app-server: cannot locate its own executable");
    let child = Command::new(exe)
        .arg("helper-sleep")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(child) => recorder.helper_spawned(child.id()),
        Err(err) => panic!("fake-app-server: cannot spawn the helper: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_sizes_parse() {
        assert_eq!(parse_version("0.169.0"), Some((0, 169, 0)));
        assert_eq!(parse_version("0.162.0-alpha.15"), Some((0, 162, 0)));
        assert_eq!(parse_version("0.169"), None);
        assert_eq!(parse_size("64x48"), Some((64, 48)));
        assert_eq!(parse_size("0x48"), None);
    }
}
