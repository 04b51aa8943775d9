//! One warm app-server shared by every request: started on first use, reused while it lives, stopped
//! after an idle period or on shutdown, and started again, with backoff if it keeps dying, by the next
//! request that needs it. Nothing in flight is re-run when it dies: those generations fail with
//! `runtime/app_server_exited` and the caller decides.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use semver::Version;
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::protocol::request::{AccountRead, Initialize, ModelProviderCapabilitiesRead};
use crate::protocol::{
    notification, Account, ErrorCode, GetAccountResponse, ModelProviderCapabilitiesReadParams,
};
use crate::session::codec::DEFAULT_MAX_LINE;
use crate::session::config::Config;
use crate::session::process::{self, AppServerProcess, StderrTail};
use crate::session::transport::{Connection, RpcError};
use crate::session::{params, version};

const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A live, handshaken app-server.
#[derive(Debug)]
pub struct Live {
    pub conn: Connection,
    pub version: Version,
    /// `CODEX_HOME` as the server reports it (0.117+), else as configured, else `~/.codex`.
    pub codex_home: Option<PathBuf>,
    pub user_agent: String,
    process: Mutex<Option<AppServerProcess>>,
    workdir: PathBuf,
    tail: StderrTail,
    active: AtomicUsize,
    last_used: StdMutex<Instant>,
    /// What the login looked like when this process started; checked before any turn.
    pub account: AccountCheck,
    /// `modelProvider/capabilities/read`'s answer; `None` on releases without it.
    pub image_generation_offered: Option<bool>,
    cleanups: tokio::sync::watch::Sender<usize>,
}

/// The outcome of `account/read` at process start.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountCheck {
    Read(GetAccountResponse),
    /// `account/read` failed; from 0.160 that means the backend is unreachable, not a logout.
    Failed(String),
}

impl AccountCheck {
    /// The error that stops a generation before it spends anything, if any.
    pub fn blocking_error(&self) -> Option<Error> {
        match self {
            Self::Failed(detail) => Some(Error::BackendUnreachable { detail: detail.clone() }),
            Self::Read(read) => match &read.account {
                None if read.requires_openai_auth => Some(Error::NotSignedIn),
                None => Some(Error::ImageGenerationUnavailable {
                    reason: "Codex is configured for a model provider other than OpenAI; image generation needs a ChatGPT login".to_owned(),
                }),
                Some(Account::ApiKey(_)) => Some(Error::ApiKeyLogin),
                Some(Account::Chatgpt(_)) => None,
                Some(other) => Some(Error::ImageGenerationUnavailable {
                    reason: format!(
                        "Codex is signed in to {}, but image generation needs a ChatGPT login; run `codex login` and choose ChatGPT",
                        account_kind(other)
                    ),
                }),
            },
        }
    }
}

pub fn account_kind(account: &Account) -> String {
    match serde_json::to_value(account) {
        Ok(v) => v
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("another provider")
            .to_owned(),
        Err(_) => "another provider".to_owned(),
    }
}

impl Live {
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn stderr_tail(&self) -> String {
        self.tail.text()
    }

    /// Counts a cleanup in progress (an interrupt and its wait) until the token drops, so a shutdown can
    /// let it finish: a cancelled generation must still reach `turn/interrupt` before stdin closes.
    pub fn begin_cleanup(self: &Arc<Self>) -> CleanupToken {
        self.cleanups.send_modify(|n| *n += 1);
        CleanupToken(self.clone())
    }

    async fn cleanups_done(&self, within: Duration) {
        let mut pending = self.cleanups.subscribe();
        if tokio::time::timeout(within, pending.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::warn!("shutting down with a cleanup still running");
        }
    }

    /// Whether the process still runs and its connection is open. The OS is asked too: the worker may
    /// not have read the end of a killed process's stdout yet.
    pub async fn is_alive(&self) -> bool {
        if self.conn.is_closed() {
            return false;
        }
        match self.process.lock().await.as_mut() {
            Some(process) => process.exit_status().is_none(),
            None => false,
        }
    }

    /// The exit status if the process has ended.
    pub async fn exit_status(&self) -> Option<String> {
        self.process
            .lock()
            .await
            .as_mut()
            .and_then(AppServerProcess::exit_status)
    }

    pub async fn pid(&self) -> Option<i32> {
        self.process
            .lock()
            .await
            .as_ref()
            .and_then(AppServerProcess::pid)
    }

    /// Marks one generation as using this process until the guard drops.
    pub fn enter(self: &Arc<Self>) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::SeqCst);
        ActiveGuard(self.clone())
    }

    /// The error for a generation whose process went away.
    pub async fn exited_error(&self, turn_started: bool) -> Error {
        // The stderr reader may lag the exit by a moment; give it a chance to capture the last words.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Error::AppServerExited {
            status: self.exit_status().await,
            stderr_tail: self.stderr_tail(),
            turn_started,
        }
    }

    async fn stop(&self, grace: Duration) {
        self.conn.close_stdin();
        if let Some(process) = self.process.lock().await.take() {
            process.shutdown(grace).await;
        }
    }
}

pub struct ActiveGuard(Arc<Live>);

/// See [`Live::begin_cleanup`].
pub struct CleanupToken(Arc<Live>);

impl Drop for CleanupToken {
    fn drop(&mut self) {
        self.0.cleanups.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if let Ok(mut t) = self.0.last_used.lock() {
            *t = Instant::now();
        }
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Slot {
    live: Option<Arc<Live>>,
    /// Consecutive deaths or failed starts, for backoff.
    failures: u32,
    retry_at: Option<Instant>,
    reaper_started: bool,
}

impl Slot {
    /// A death or a failed start: the next start waits longer, up to the cap.
    fn note_failure(&mut self) {
        self.failures += 1;
        self.retry_at = Some(Instant::now() + backoff(self.failures));
    }
}

pub struct Manager {
    config: Arc<Config>,
    slot: Mutex<Slot>,
}

impl Manager {
    pub fn new(config: Arc<Config>) -> Arc<Self> {
        Arc::new(Self {
            config,
            slot: Mutex::new(Slot::default()),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The live process, started if needed; `on_start` is called before a start. Returns how long the
    /// start took when there was one.
    pub async fn acquire(
        self: &Arc<Self>,
        on_start: impl FnOnce(),
    ) -> Result<(Arc<Live>, Option<Duration>)> {
        let mut slot = self.slot.lock().await;
        if !slot.reaper_started {
            slot.reaper_started = true;
            tokio::spawn(reap_when_idle(Arc::downgrade(self)));
        }
        if let Some(live) = &slot.live {
            if live.is_alive().await {
                return Ok((live.clone(), None));
            }
            tracing::warn!("the app-server exited; a new one will be started");
            let dead = slot.live.take();
            slot.note_failure();
            if let Some(dead) = dead {
                tokio::spawn(async move { dead.stop(Duration::from_millis(100)).await });
            }
        }
        if let Some(at) = slot.retry_at {
            let now = Instant::now();
            if at > now {
                tracing::info!(
                    wait_ms = (at - now).as_millis() as u64,
                    "waiting before restarting the app-server"
                );
                tokio::time::sleep(at - now).await;
            }
        }
        on_start();
        let began = Instant::now();
        match start(&self.config).await {
            Ok(live) => {
                let live = Arc::new(live);
                slot.live = Some(live.clone());
                slot.retry_at = None;
                Ok((live, Some(began.elapsed())))
            }
            Err(e) => {
                if matches!(
                    e,
                    Error::AppServerExited { .. }
                        | Error::StartTimeout { .. }
                        | Error::InvalidMessage { .. }
                ) {
                    slot.note_failure();
                }
                Err(e)
            }
        }
    }

    /// A generation completed on a healthy process: forget earlier failures.
    pub async fn note_success(&self) {
        let mut slot = self.slot.lock().await;
        slot.failures = 0;
        slot.retry_at = None;
    }

    /// Replaces `live` on the next request: its login was read at start, and a person who fixes their
    /// login (`codex login`) must not have to restart a long-running host to be seen.
    pub async fn retire(&self, live: &Arc<Live>) {
        let mut slot = self.slot.lock().await;
        if slot
            .live
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, live))
        {
            if let Some(old) = slot.live.take() {
                let grace = self.config.shutdown_grace;
                tokio::spawn(async move { old.stop(grace).await });
            }
        }
    }

    /// The current process, if one is running.
    pub async fn current(&self) -> Option<Arc<Live>> {
        self.slot.lock().await.live.clone()
    }

    /// Stops the process: close stdin, wait a bounded time, then kill the group.
    pub async fn shutdown(&self) {
        let live = self.slot.lock().await.live.take();
        if let Some(live) = live {
            // Abandoned generations are interrupting their turns; each waits at most the grace.
            live.cleanups_done(self.config.interrupt_grace * 2).await;
            live.stop(self.config.shutdown_grace).await;
        }
    }
}

fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    (Duration::from_millis(500) * 2u32.pow(exp)).min(MAX_BACKOFF)
}

async fn reap_when_idle(manager: Weak<Manager>) {
    loop {
        let Some(m) = manager.upgrade() else { return };
        let idle = m.config.idle_timeout;
        let tick = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        drop(m);
        tokio::time::sleep(tick).await;
        let Some(m) = manager.upgrade() else { return };
        let mut slot = m.slot.lock().await;
        let idle_for = slot.live.as_ref().and_then(|live| {
            let unused = live.active.load(Ordering::SeqCst) == 0;
            let since = live
                .last_used
                .lock()
                .map(|t| t.elapsed())
                .unwrap_or_default();
            unused.then_some(since)
        });
        if idle_for.is_some_and(|since| since >= idle) {
            if let Some(live) = slot.live.take() {
                drop(slot);
                tracing::info!(idle_secs = idle.as_secs(), "stopping the idle app-server");
                live.stop(m.config.shutdown_grace).await;
            }
        }
    }
}

/// Probes the version, spawns, handshakes, and reads the login and capabilities. Spends no quota.
async fn start(config: &Config) -> Result<Live> {
    let cli_version = version::probe(config, Duration::from_secs(15)).await?;
    version::gate(&cli_version, &config.min_version)?;
    let spawned = process::spawn(config)?;
    let conn = Connection::start(spawned.stdout, spawned.stdin, DEFAULT_MAX_LINE);
    let process = spawned.process;
    let tail = process.tail();
    let workdir = process.workdir().to_path_buf();
    let fail = |process: AppServerProcess, conn: &Connection, error: Error| {
        conn.close_stdin();
        async move {
            process.shutdown(Duration::from_millis(500)).await;
            error
        }
    };
    let init = match tokio::time::timeout(
        config.start_timeout,
        conn.request::<Initialize>(&params::initialize(CLIENT_VERSION)),
    )
    .await
    {
        Ok(Ok(init)) => init,
        Ok(Err(RpcError::Exited)) => {
            let mut process = process;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let status = process.exit_status();
            let e = Error::AppServerExited {
                status,
                stderr_tail: tail.text(),
                turn_started: false,
            };
            return Err(fail(process, &conn, e).await);
        }
        Ok(Err(e)) => {
            return Err(fail(
                process,
                &conn,
                Error::InvalidMessage {
                    detail: format!("`initialize` failed: {e}"),
                },
            )
            .await)
        }
        Err(_) => {
            let e = Error::StartTimeout {
                after: config.start_timeout,
                stderr_tail: tail.text(),
            };
            return Err(fail(process, &conn, e).await);
        }
    };
    conn.notify(notification::INITIALIZED);
    let version = match version::parse_user_agent_version(&init.user_agent) {
        Some(v) if v != cli_version => {
            tracing::warn!(cli = %cli_version, server = %v, "`codex --version` and the app-server disagree; trusting the server");
            v
        }
        _ => cli_version,
    };
    if let Err(e) = version::gate(&version, &config.min_version) {
        return Err(fail(process, &conn, e).await);
    }
    let account = read_account(&conn, config.start_timeout).await;
    let image_generation_offered = read_capability(&conn, config.start_timeout).await;
    let codex_home = Some(init.codex_home.clone())
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| config.codex_home.clone())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")));
    tracing::info!(version = %version, "app-server ready");
    Ok(Live {
        conn,
        version,
        codex_home,
        user_agent: init.user_agent,
        process: Mutex::new(Some(process)),
        workdir,
        tail,
        active: AtomicUsize::new(0),
        last_used: StdMutex::new(Instant::now()),
        account,
        image_generation_offered,
        cleanups: tokio::sync::watch::Sender::new(0),
    })
}

async fn read_account(conn: &Connection, timeout: Duration) -> AccountCheck {
    match tokio::time::timeout(
        timeout,
        conn.request::<AccountRead>(&params::account_read()),
    )
    .await
    {
        Ok(Ok(read)) => AccountCheck::Read(read),
        Ok(Err(e)) => AccountCheck::Failed(e.to_string()),
        Err(_) => AccountCheck::Failed(format!(
            "`account/read` did not answer within {}s",
            timeout.as_secs()
        )),
    }
}

/// `None` when the release has no such method (older releases answer -32600 or -32601).
async fn read_capability(conn: &Connection, timeout: Duration) -> Option<bool> {
    let read =
        conn.request::<ModelProviderCapabilitiesRead>(&ModelProviderCapabilitiesReadParams {});
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(caps)) => Some(caps.image_generation),
        Ok(Err(RpcError::Server(e)))
            if e.code == ErrorCode::METHOD_NOT_FOUND || e.code == ErrorCode::INVALID_REQUEST =>
        {
            None
        }
        Ok(Err(e)) => {
            tracing::warn!("`modelProvider/capabilities/read` failed: {e}");
            None
        }
        Err(_) => None,
    }
}
