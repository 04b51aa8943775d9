//! A private world per test: builds the fake app-server once, and sets up a private `CODEX_HOME` and
//! record directory per test, so tests never touch the real `~/.codex`; what the fake recorded there,
//! and the `codex-img` binary run in it.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use codex_img::{Client, ClientBuilder};
use serde_json::Value;

use super::wait::{eventually, eventually_async};

/// The `codex-img` binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_codex-img");

/// The fake `codex` binary, built on first use next to this test binary.
pub fn fake_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| fake_app_server::build().unwrap_or_else(|e| panic!("{e}")))
        .clone()
}

/// A private world for one test: CODEX_HOME, a record directory, and the fake's settings.
pub struct World {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        std::fs::create_dir_all(dir.path().join("record")).expect("record");
        Self {
            dir,
            env: Vec::new(),
        }
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn record(&self) -> PathBuf {
        self.dir.path().join("record")
    }

    pub fn builder(&self) -> ClientBuilder {
        let mut b = Client::builder()
            .codex_bin(fake_bin())
            .codex_home(self.home())
            .env("FAKE_RECORD_DIR", self.record())
            // An image that cannot be saved is kept here, never in the real ~/.local/state.
            .recovery_dir(self.dir.path().join("state/recovered"))
            .request_timeout(Duration::from_secs(30))
            .interrupt_grace(Duration::from_secs(3))
            .shutdown_grace(Duration::from_secs(2));
        for (k, v) in &self.env {
            b = b.env(k, v);
        }
        b
    }

    pub fn client(&self) -> Client {
        self.builder().build()
    }

    /// Pids of every app-server process the fake started.
    pub fn server_pids(&self) -> Vec<i32> {
        self.files_with_prefix("pid-")
    }

    pub fn helper_pids(&self) -> Vec<i32> {
        self.files_with_prefix("helper-")
    }

    fn files_with_prefix(&self, prefix: &str) -> Vec<i32> {
        let mut pids: Vec<i32> = std::fs::read_dir(self.record())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.strip_prefix(prefix)?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        pids.sort();
        pids
    }

    /// Every record line of every server process, in file order.
    pub fn log(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for pid in self.server_pids() {
            let text = std::fs::read_to_string(self.record().join(format!("log-{pid}.jsonl")))
                .unwrap_or_default();
            out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
        out
    }

    pub fn events(&self, name: &str) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
    }

    /// Polls the record until `name` events reach `count`, for up to `within`; what is there then.
    pub async fn wait_events(&self, name: &str, count: usize, within: Duration) -> Vec<Value> {
        eventually_async(within, || {
            let found = self.events(name);
            (found.len() >= count).then_some(found)
        })
        .await
        .unwrap_or_else(|| self.events(name))
    }

    /// [`World::wait_events`] for tests that are not async.
    pub fn wait_events_blocking(&self, name: &str, count: usize, within: Duration) -> Vec<Value> {
        eventually(within, || {
            let found = self.events(name);
            (found.len() >= count).then_some(found)
        })
        .unwrap_or_else(|| self.events(name))
    }

    /// The requests codex-img sent with `method`, in the order the fake received them.
    pub fn sent(&self, method: &str) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["dir"] == "in" && e["msg"]["method"] == method)
            .map(|e| e["msg"].clone())
            .collect()
    }

    /// Polls the record until `n` requests of `method` were received, for up to 10 s.
    pub async fn wait_sent(&self, method: &str, n: usize) -> Vec<Value> {
        eventually_async(Duration::from_secs(10), || {
            let found = self.sent(method);
            (found.len() >= n).then_some(found)
        })
        .await
        .unwrap_or_else(|| self.sent(method))
    }

    /// The prompt of every turn the fake saw, in the order the turns started.
    pub fn prompts(&self) -> Vec<String> {
        self.events("turn_inputs")
            .iter()
            .map(|t| {
                t["params"]["input"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    /// `codex-img ARGS` in this world: the fake Codex, this world's `CODEX_HOME`, record and
    /// settings, no `RUST_LOG`, stdin closed. The caller adds what its face needs.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(args)
            .env("CODEX_BIN", fake_bin())
            .env("CODEX_HOME", self.home())
            .env("FAKE_RECORD_DIR", self.record())
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Entries of `$CODEX_HOME/generated_images`, which codex-img must leave empty.
    pub fn generated_images(&self) -> Vec<String> {
        super::entries(&self.home().join("generated_images"))
    }
}

/// Where the first record line that `what` matches is, in `log`; a missing line fails the test,
/// showing the whole record.
pub fn position(log: &[Value], what: impl Fn(&Value) -> bool) -> usize {
    log.iter()
        .position(what)
        .unwrap_or_else(|| panic!("not in the record: {log:#?}"))
}
