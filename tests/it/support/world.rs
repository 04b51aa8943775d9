//! Shared test support: builds the fake app-server once, and sets up a private `CODEX_HOME` and record
//! directory per test, so tests never touch the real `~/.codex`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use codex_img::{Client, ClientBuilder};
use serde_json::Value;

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

    /// Polls the record until `name` events reach `count`, for up to `within`.
    pub async fn wait_events(&self, name: &str, count: usize, within: Duration) -> Vec<Value> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let found = self.events(name);
            if found.len() >= count || tokio::time::Instant::now() >= until {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Entries of `$CODEX_HOME/generated_images`, which codex-img must leave empty.
    pub fn generated_images(&self) -> Vec<String> {
        std::fs::read_dir(self.home().join("generated_images"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Where the first record line that `what` matches is, in `log`; a missing line fails the test,
/// showing the whole record.
pub fn position(log: &[Value], what: impl Fn(&Value) -> bool) -> usize {
    log.iter()
        .position(what)
        .unwrap_or_else(|| panic!("not in the record: {log:#?}"))
}

/// Whether a process with this pid is alive, asked of the OS (a zombie counts as gone).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to `within` for every pid to be gone.
pub async fn all_gone(pids: &[i32], within: Duration) -> bool {
    let until = tokio::time::Instant::now() + within;
    loop {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits up to `within` until a child of this test process has exited whole, so its parent can
/// reap it (asked with `WNOWAIT`, so the library still reaps it itself). A leader shown as a zombie
/// in `/proc` may still have threads exiting, with its pipes open and `waitpid` not yet answering:
/// "killed between requests" means this, not that.
pub async fn exited_whole(pid: i32, within: Duration) -> bool {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return false;
    };
    let until = tokio::time::Instant::now() + within;
    loop {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(pid), options) {
            // Exited and waiting to be reaped, or already reaped.
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) => {}
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A valid PNG of the given size, for input images; `seed` varies its pixels.
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    test_png::test_png(width, height, u32::from(seed))
}
