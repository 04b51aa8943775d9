//! Support for the live tests: which releases run, a rig per scenario (a loopback backend, a private
//! `CODEX_HOME` with a login, and a codex-img [`Client`] pointed at both), the checks every scenario ends
//! with (Codex's saved images are gone, no process with that `CODEX_HOME` is left), and the diagnostics
//! a failure prints (the backend's request log and the tail of Codex's stderr).
//!
//! Codex's stderr reaches the tests through codex-img's own logging: the library logs every stderr line
//! at debug level under the target `codex_img::app_server`. A tracing layer keeps the last lines per
//! thread, and each live test runs on its own single-threaded runtime, so the lines of one test's Codex
//! are the lines its thread logged. `RUST_LOG` (for example `codex_img=debug`) additionally prints the
//! library's logs as they happen.
#![allow(dead_code)]

pub mod transport_log;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use codex_img::{Client, ClientBuilder, GeneratedImage};
use loopback_backend::{
    codex_command_env, ensure_codex, write_api_key_login, write_fake_chatgpt_login, Backend,
    BackendConfig, CI_RELEASES, RELEASES,
};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// How long one scenario may take on one release before it counts as hung.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(150);
/// The deadline codex-img gets for one generation.
pub const GENERATION_TIMEOUT: Duration = Duration::from_secs(45);

/// The releases to run: `CODEX_IMG_LIVE_ONLY=a,b` picks some; `CODEX_IMG_LIVE_ALL=1` runs every release
/// in the list; otherwise the CI pair (the floor and the newest).
pub fn releases() -> Vec<String> {
    match std::env::var("CODEX_IMG_LIVE_ONLY") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        _ if std::env::var("CODEX_IMG_LIVE_ALL").as_deref() == Ok("1") => {
            RELEASES.iter().map(|s| (*s).to_owned()).collect()
        }
        _ => CI_RELEASES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Releases up to 0.140 make the image with the model's hosted tool, inside the model call.
pub fn hosted_tool(version: &str) -> bool {
    !loopback_backend::at_least(version, "0.145.0")
}

// ---------------------------------------------------------------------------------------------------
// Logging: RUST_LOG to the test output, and the stderr tail per thread.

type Tails = Mutex<HashMap<ThreadId, VecDeque<String>>>;

fn tails() -> &'static Tails {
    static TAILS: OnceLock<Tails> = OnceLock::new();
    TAILS.get_or_init(Default::default)
}

const TAIL_LINES: usize = 40;

struct StderrTail;

impl<S: tracing::Subscriber> Layer<S> for StderrTail {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() != "codex_img::app_server" {
            return;
        }
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "message" {
                    self.0 = value.to_owned();
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if let Ok(mut tails) = tails().lock() {
            let tail = tails.entry(std::thread::current().id()).or_default();
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(message.0);
        }
    }
}

/// Installs the logging once: the stderr-tail layer always, and a test-output printer filtered by
/// `RUST_LOG` when it is set.
pub fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let printer = std::env::var("RUST_LOG").ok().map(|_| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(tracing_subscriber::EnvFilter::from_default_env())
        });
        let tail = StderrTail.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target() == "codex_img::app_server"
        }));
        let _ = tracing_subscriber::registry()
            .with(tail)
            .with(transport_log::layer())
            .with(printer)
            .try_init();
    });
}

fn take_tail(thread: ThreadId) -> String {
    tails()
        .lock()
        .ok()
        .and_then(|mut t| t.remove(&thread))
        .map(|t| t.into_iter().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

fn clear_tail(thread: ThreadId) {
    if let Ok(mut t) = tails().lock() {
        t.remove(&thread);
    }
}

// ---------------------------------------------------------------------------------------------------
// The rig.

/// Which login the private `CODEX_HOME` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The unsigned fake ChatGPT login (plan `plus`).
    ChatGpt,
    /// An API-key login, as `codex login --with-api-key` writes it.
    ApiKey,
    /// No `auth.json` at all.
    None,
}

/// One scenario's world on one release: a fresh backend, a fresh `CODEX_HOME`, and a client.
pub struct Rig {
    pub version: String,
    pub launcher: PathBuf,
    pub backend: Backend,
    pub client: Client,
    dir: tempfile::TempDir,
    thread: ThreadId,
}

impl Rig {
    /// Installs (or finds) `version`, starts a backend with `config`, writes `login` into a new
    /// temporary `CODEX_HOME`, and builds a client with the overrides and environment that point the
    /// release at the backend. Nothing is spawned until the client's first request.
    pub async fn start(version: &str, config: BackendConfig, login: Login) -> Rig {
        Self::start_with(version, config, login, |builder| builder).await
    }

    /// [`Rig::start`], with `customise` applied to the client's builder last (for example
    /// `|b| b.lean(false)`).
    pub async fn start_with(
        version: &str,
        config: BackendConfig,
        login: Login,
        customise: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Rig {
        init_logging();
        let launcher = {
            let v = version.to_owned();
            tokio::task::spawn_blocking(move || ensure_codex(&v))
                .await
                .expect("install task")
                .unwrap_or_else(|e| panic!("installing Codex {version}: {e}"))
        };
        let backend = Backend::start(config).await.expect("start the backend");
        let dir = tempfile::Builder::new()
            .prefix("codex-img-live-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("codex-home");
        std::fs::create_dir_all(&home).expect("CODEX_HOME");
        match login {
            Login::ChatGpt => write_fake_chatgpt_login(&home, "plus").expect("fake login"),
            Login::ApiKey => write_api_key_login(&home, "sk-test-not-real").expect("api key"),
            Login::None => {}
        }
        let env = codex_command_env(&backend, &home);
        let codex_bin = match std::env::var_os("CODEX_IMG_LIVE_TRACE_DIR") {
            Some(out) if !out.is_empty() => trace_wrapper(&launcher, dir.path(), Path::new(&out)),
            _ => launcher.clone(),
        };
        let mut builder = Client::builder()
            .codex_bin(&codex_bin)
            .codex_home(&home)
            .request_timeout(GENERATION_TIMEOUT)
            .interrupt_grace(Duration::from_secs(5))
            .shutdown_grace(Duration::from_secs(2));
        for o in &env.config_overrides {
            builder = builder.config_override(o.clone());
        }
        for (k, v) in &env.env {
            builder = builder.env(k, v);
        }
        // The library keeps `OPENAI_API_KEY`/`CODEX_API_KEY` out by itself. The proxy variables the
        // harness would remove cannot be removed through the builder; NO_PROXY (set above) covers the
        // loopback address instead.
        let builder = customise(builder);
        let thread = std::thread::current().id();
        clear_tail(thread);
        Rig {
            version: version.to_owned(),
            launcher,
            backend,
            client: builder.build(),
            dir,
            thread,
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("codex-home")
    }

    /// A folder for the scenario's own files, outside `CODEX_HOME`.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).expect("scratch");
        p
    }

    /// The backend's request log and the tail of Codex's stderr, for a failure message.
    pub fn diagnostics(&self) -> String {
        let tail = tails()
            .lock()
            .ok()
            .and_then(|t| t.get(&self.thread).cloned())
            .map(|t| t.into_iter().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        format!(
            "---- backend requests ({}):\n{}---- Codex stderr tail:\n{}",
            self.backend.requests().len(),
            self.backend.request_log(),
            if tail.is_empty() { "(none)" } else { &tail }
        )
    }

    /// Asserts that Codex's copy of the images is gone: no `generated_images/<threadId>/`, and no
    /// entry at all under `generated_images`.
    ///
    /// The cleanup runs after the answer, in the background and bounded by the interrupt grace, so
    /// this waits for it, with a deadline.
    pub async fn assert_no_saved_images(&self, thread_id: Option<&str>) {
        let dir = self.home().join("generated_images");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < until {
            let gone = thread_id.is_none_or(|id| !dir.join(id).exists());
            let empty = std::fs::read_dir(&dir).map_or(true, |mut e| e.next().is_none());
            if gone && empty {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        if let Some(id) = thread_id {
            assert!(
                !dir.join(id).exists(),
                "{}: {} is still there after the generation",
                self.version,
                dir.join(id).display()
            );
        }
        let left: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        pretty_assertions::assert_eq!(
            left,
            Vec::<String>::new(),
            "{}: entries left under {}",
            self.version,
            dir.display()
        );
    }

    /// Shuts the client down and checks through the OS that no process with this `CODEX_HOME` in its
    /// environment or command line is left. Also checks that no saved image is left.
    pub async fn finish(self) {
        self.client.shutdown().await;
        let home = self.home();
        let survivors = wait_for_no_processes(&home, Duration::from_secs(3)).await;
        assert!(
            survivors.is_empty(),
            "{}: processes with CODEX_HOME {} outlived shutdown:\n{}",
            self.version,
            home.display(),
            survivors.join("\n")
        );
        self.assert_no_saved_images(None).await;
        clear_tail(self.thread);
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "==== Codex {} failed; what the backend saw and what Codex said:\n{}",
                self.version,
                self.diagnostics()
            );
            let _ = take_tail(self.thread);
        }
    }
}

/// A debugging aid, used only when `CODEX_IMG_LIVE_TRACE_DIR` is set: a shell script that runs the
/// launcher and copies everything Codex writes on stdout (the JSON-RPC it sends codex-img) to
/// `<out>/<pid>.jsonl`. It adds a shell and a `tee` to the process group, so the process checks still
/// apply, but the tree differs from a normal run; leave it unset for real results.
fn trace_wrapper(launcher: &Path, dir: &Path, out: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(out).expect("trace dir");
    let script = dir.join("codex-traced");
    let text = format!(
        "#!/bin/bash\nset -o pipefail\n'{}' \"$@\" | tee -a '{}/'$$.jsonl\n",
        launcher.display(),
        out.display()
    );
    std::fs::write(&script, text).expect("write the trace wrapper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

/// The sha256 of `bytes`, hex, computed here rather than by codex-img, so the check is independent.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// The error's code, or a description of the unexpected success.
pub fn code_of(result: &codex_img::Result<GeneratedImage>) -> String {
    match result {
        Ok(image) => format!("ok ({}x{} image)", image.width, image.height),
        Err(e) => e.code().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Processes.

/// Pids (other than this process) whose environment holds `CODEX_HOME=<home>` or whose command line
/// mentions `home`, with their command lines.
pub fn processes_with(home: &Path) -> Vec<String> {
    let needle = home.as_os_str().as_encoded_bytes().to_vec();
    let mut env_needle = b"CODEX_HOME=".to_vec();
    env_needle.extend_from_slice(&needle);
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let in_env = environ
            .split(|b| *b == 0)
            .any(|var| var == env_needle.as_slice());
        let in_cmd = contains(&cmdline, &needle);
        if in_env || in_cmd {
            let shown: String = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push(format!("pid {pid}: {shown}"));
        }
    }
    found
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Polls until no process matches `home`, or `within` passes; returns what is left.
pub async fn wait_for_no_processes(home: &Path, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_with(home);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------------
// Running a scenario over the releases.

/// Runs `scenario` once per release, each in its own task so that one release's failure (a panic
/// from an assertion) is reported with its name and does not hide the others. Panics at the end,
/// listing the releases that failed.
pub async fn over_releases<F, Fut>(scenario: &str, releases: &[String], f: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    init_logging();
    let mut failed = Vec::new();
    for version in releases {
        let started = Instant::now();
        let run = tokio::spawn(tokio::time::timeout(SCENARIO_TIMEOUT, f(version.clone())));
        let outcome = match run.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(format!("timed out after {}s", SCENARIO_TIMEOUT.as_secs())),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let text = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panic".to_owned());
                Err(text)
            }
            Err(e) => Err(e.to_string()),
        };
        eprintln!(
            "live {scenario} on Codex {version}: {} in {:.1}s",
            if outcome.is_ok() { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        if let Err(e) = outcome {
            failed.push(format!("{version}: {e}"));
        }
    }
    assert!(
        failed.is_empty(),
        "live {scenario} failed on {} release(s):\n{}",
        failed.len(),
        failed.join("\n")
    );
}
