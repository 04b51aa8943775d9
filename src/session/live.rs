//! A live, handshaken app-server: its connection, what the handshake learned, its process, and the
//! counts that say whether it is in use (generations) or finishing work (cleanups).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use semver::Version;
use tokio::sync::Mutex;

use crate::rpc::process::{ChildProcess, StderrTail, STDERR_SETTLE};
use crate::rpc::transport::Connection;
use crate::session::auth_file::AuthFile;
use crate::session::login::AccountCheck;
use crate::session::pool::Pool;
use crate::types::error::Error;

/// A live, handshaken app-server.
#[derive(Debug)]
pub(crate) struct Live {
    /// The connection requests go through.
    pub conn: Connection,
    /// The version the server reported (trusted over `codex --version`).
    pub version: Version,
    /// `CODEX_HOME` as the server reports it (0.117+), else as configured, else `~/.codex`.
    pub codex_home: Option<PathBuf>,
    /// The server's `initialize` user agent.
    pub user_agent: String,
    /// What the login looked like when this process started; checked before any turn.
    pub account: AccountCheck,
    /// `modelProvider/capabilities/read`'s answer; `None` on releases without it.
    pub image_generation_offered: Option<bool>,
    /// The login file as this process read it at start: a change means a new process is needed.
    auth: AuthFile,
    /// The process group, for the memory of its tree.
    pgid: Option<i32>,
    /// Images made on this process.
    made: AtomicU64,
    process: Mutex<Option<ChildProcess>>,
    workdir: PathBuf,
    tail: StderrTail,
    /// Generations running on it.
    active: tokio::sync::watch::Sender<usize>,
    last_used: StdMutex<Instant>,
    cleanups: tokio::sync::watch::Sender<usize>,
    pool: Arc<Pool>,
    /// Whether threads get the lean turn's base instructions (`Config::lean`).
    lean: bool,
}

/// What the handshake learned, to build a [`Live`] from.
pub(crate) struct Handshaken {
    /// See [`Live::version`].
    pub version: Version,
    /// See [`Live::codex_home`].
    pub codex_home: Option<PathBuf>,
    /// See [`Live::user_agent`].
    pub user_agent: String,
    /// See [`Live::account`].
    pub account: AccountCheck,
    /// See [`Live::image_generation_offered`].
    pub image_generation_offered: Option<bool>,
    /// The login file as it was when the process started.
    pub auth: AuthFile,
}

impl Live {
    /// A live server over `conn` and `process`, running in `workdir`, unused since now.
    pub(crate) fn new(
        conn: Connection,
        process: ChildProcess,
        workdir: PathBuf,
        learned: Handshaken,
    ) -> Self {
        Self {
            conn,
            version: learned.version,
            codex_home: learned.codex_home,
            user_agent: learned.user_agent,
            account: learned.account,
            image_generation_offered: learned.image_generation_offered,
            auth: learned.auth,
            pgid: process.pid(),
            made: AtomicU64::new(0),
            workdir,
            tail: process.tail(),
            process: Mutex::new(Some(process)),
            active: tokio::sync::watch::Sender::new(0),
            last_used: StdMutex::new(Instant::now()),
            cleanups: tokio::sync::watch::Sender::new(0),
            pool: Pool::new(0, Duration::MAX),
            lean: true,
        }
    }

    /// The same server with its threads lean or not (`Config::lean`; the default is lean).
    pub(crate) fn with_lean(mut self, lean: bool) -> Self {
        self.lean = lean;
        self
    }

    /// Whether threads on this server get the lean turn's base instructions.
    pub(crate) fn lean(&self) -> bool {
        self.lean
    }

    /// The same server with `pool` for its pre-started threads (the default keeps none).
    pub(crate) fn with_pool(mut self, pool: Arc<Pool>) -> Self {
        self.pool = pool;
        self
    }

    /// The threads started ahead on this process.
    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// The private working directory the process runs in.
    pub(crate) fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Whether the login file changed since this process read it: its login is stale.
    pub(crate) fn login_changed(&self) -> bool {
        self.auth.changed()
    }

    /// Counts an image made on this process.
    pub(crate) fn note_made(&self) {
        self.made.fetch_add(1, Ordering::SeqCst);
    }

    /// How many images this process made.
    pub(crate) fn made(&self) -> u64 {
        self.made.load(Ordering::SeqCst)
    }

    /// The resident memory of the process's whole tree, where it can be read.
    pub(crate) fn tree_rss(&self) -> Option<u64> {
        self.pgid.and_then(crate::session::tree::rss_bytes)
    }

    /// Waits, at most `within`, until no generation runs on it (cleanups may still be pending: their
    /// images are delivered, and a replaced process is stopped only after them).
    pub(crate) async fn no_generation(&self, within: Duration) -> bool {
        let mut active = self.active.subscribe();
        tokio::time::timeout(within, active.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// No generation runs on it and no cleanup is pending.
    pub(crate) fn is_quiet(&self) -> bool {
        *self.active.borrow() == 0 && *self.cleanups.borrow() == 0
    }

    /// Waits, at most `within`, until no generation runs on it and no cleanup is pending.
    pub(crate) async fn quiet(&self, within: Duration) -> bool {
        let mut active = self.active.subscribe();
        let mut cleanups = self.cleanups.subscribe();
        let both = async {
            // A cleanup starts as its generation ends, so the two are checked together once each
            // reached zero.
            while !self.is_quiet() {
                let _ = active.wait_for(|n| *n == 0).await;
                let _ = cleanups.wait_for(|n| *n == 0).await;
            }
        };
        tokio::time::timeout(within, both).await.is_ok()
    }

    /// The last lines the process wrote to stderr.
    pub(crate) fn stderr_tail(&self) -> String {
        self.tail.text()
    }

    /// Counts a cleanup in progress (an interrupt and its wait) until the token drops, so a shutdown can
    /// let it finish: a cancelled generation must still reach `turn/interrupt` before stdin closes.
    pub(crate) fn begin_cleanup(self: &Arc<Self>) -> CleanupToken {
        self.cleanups.send_modify(|n| *n += 1);
        CleanupToken(self.clone())
    }

    /// Waits, at most `within`, for every cleanup to finish.
    pub(crate) async fn cleanups_done(&self, within: Duration) {
        let mut pending = self.cleanups.subscribe();
        if tokio::time::timeout(within, pending.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::warn!("shutting down with a cleanup still running");
        }
    }

    /// Whether the process still runs and its connection is open both ways. The OS is asked too: the
    /// worker may not have read the end of a killed process's stdout yet. A process that stopped
    /// reading its stdin counts as dead: no request can reach it.
    pub(crate) async fn is_alive(&self) -> bool {
        if self.conn.is_closed() || self.conn.is_unwritable() {
            return false;
        }
        match self.process.lock().await.as_mut() {
            Some(process) => process.exit_status().is_none(),
            None => false,
        }
    }

    /// The process id, while the process is held (not yet stopped).
    pub(crate) async fn pid(&self) -> Option<i32> {
        self.process
            .lock()
            .await
            .as_ref()
            .and_then(ChildProcess::pid)
    }

    /// Marks one generation as using this process until the guard drops.
    pub(crate) fn enter(self: &Arc<Self>) -> ActiveGuard {
        self.active.send_modify(|n| *n += 1);
        ActiveGuard(self.clone())
    }

    /// How long the process has been unused, or `None` while a generation uses it.
    pub(crate) fn idle_for(&self) -> Option<Duration> {
        let unused = *self.active.borrow() == 0;
        let since = self
            .last_used
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default();
        unused.then_some(since)
    }

    /// The error for a generation whose process went away.
    pub(crate) async fn exited_error(&self, turn_started: bool) -> Error {
        self.tail.settled(STDERR_SETTLE).await;
        let status = match self.process.lock().await.as_mut() {
            Some(process) => process.exit_status_settled().await,
            None => None,
        };
        Error::AppServerExited {
            status,
            stderr_tail: self.stderr_tail(),
            turn_started,
        }
    }

    /// Releases the pre-started threads (each `thread/unsubscribe` bounded, each folder removed), closes
    /// stdin, then waits up to `grace` for the process to end before killing its group.
    pub(crate) async fn stop(&self, grace: Duration) {
        let within = grace.min(Duration::from_millis(500));
        for fresh in self.pool.close() {
            self.release_thread(fresh, within).await;
        }
        self.conn.close_stdin();
        // Out of the lock first: holding it through the grace would make every concurrent
        // `is_alive`, `pid` or `exit_status` wait for the whole shutdown.
        let process = self.process.lock().await.take();
        if let Some(process) = process {
            process.shutdown(grace).await;
        }
    }
}

/// Counts one generation as using a [`Live`]; see [`Live::enter`].
pub(crate) struct ActiveGuard(Arc<Live>);

impl ActiveGuard {
    /// The process in use.
    pub(crate) fn live(&self) -> &Arc<Live> {
        &self.0
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if let Ok(mut t) = self.0.last_used.lock() {
            *t = Instant::now();
        }
        self.0.active.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// See [`Live::begin_cleanup`].
pub(crate) struct CleanupToken(Arc<Live>);

impl Drop for CleanupToken {
    fn drop(&mut self) {
        self.0.cleanups.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rpc::codec::DEFAULT_MAX_LINE;
    use crate::session::config::Config;
    use crate::session::spawn;

    /// A "server" that ignores its arguments and stdin, so a graceful stop waits the whole grace.
    pub(crate) fn deaf_server(dir: &Path) -> Config {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("deaf-codex");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 60\n").expect("write script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Config {
            codex_bin: script.into_os_string(),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn a_stopping_process_does_not_block_pid_or_is_alive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (spawned, workdir) = spawn::spawn(&deaf_server(dir.path())).expect("spawn");
        let conn = Connection::start(spawned.stdout, spawned.stdin, DEFAULT_MAX_LINE);
        let live = Arc::new(Live::new(
            conn,
            spawned.process,
            workdir,
            Handshaken {
                version: Version::new(0, 169, 0),
                codex_home: None,
                user_agent: String::new(),
                account: AccountCheck::Failed(String::new()),
                image_generation_offered: None,
                auth: AuthFile::read(None),
            },
        ));
        let pid = live.pid().await.expect("a pid");
        let stopping = live.clone();
        let stop = tokio::spawn(async move { stopping.stop(Duration::from_secs(20)).await });
        // Once the stop has taken the process, `pid` answers `None` at once; a stop that held the lock
        // through its grace would make every one of these waits time out.
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout(Duration::from_millis(500), live.pid()).await {
                Ok(None) => break,
                Ok(Some(p)) => assert_eq!(p, pid),
                Err(_) => {}
            }
            assert!(
                Instant::now() < until,
                "pid() waited for the shutdown grace"
            );
            tokio::task::yield_now().await;
        }
        let alive = tokio::time::timeout(Duration::from_millis(500), live.is_alive()).await;
        assert_eq!(alive, Ok(false));
        // Dropping the stop mid-grace drops the process, which kills its group.
        stop.abort();
        let _ = stop.await;
    }
}
