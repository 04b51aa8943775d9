//! One warm app-server shared by every request: started on first use, reused while it lives, stopped
//! after an idle period or on shutdown, and started again, with backoff if it keeps dying, by the next
//! request that needs it. Nothing in flight is re-run when it dies: those generations fail with
//! `runtime/app_server_exited` and the caller decides.
//!
//! A process is also replaced while codex-img runs for weeks: when its login file changed (the next
//! request gets a new process, which reads the new login before any turn), and when it is idle and has
//! made many images or grown large (see `recycle` and `upkeep`). A replaced process drains: the turns
//! still running on it finish, then it stops. Every start runs whatever Codex is installed now, through
//! the same version gate, and the version before it is remembered for `doctor` to show.
//!
//! Shutdown is for good: it closes the manager first, so every generation in flight hands its turn to
//! its cleanup (which sends `turn/interrupt`) and answers `runtime/shutting_down`, and no new generation
//! or preflight can start a process; then it waits, bounded, for those hand-offs and their cleanups, and
//! only then stops the process. A generation running on another task (a face's spawned request, an MCP
//! tool call) is interrupted this way too, not only one whose future was dropped.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use semver::Version;

use tokio::sync::{watch, Mutex};

use crate::session::config::Config;
use crate::session::handshake;
use crate::session::limit::KnownLimit;
use crate::session::live::{ActiveGuard, Live};
use crate::session::queue::Queue;
use crate::session::recycle::Recycler;
use crate::session::slot::Slot;
use crate::session::thread;
use crate::types::error::{Error, Result};

/// Owns the slot of the one warm process.
pub(crate) struct Manager {
    config: Arc<Config>,
    slot: Mutex<Slot>,
    /// The requests waiting for a place, in order.
    pub(crate) queue: Arc<Queue>,
    /// Replaced processes that still run turns; each stops once quiet, and shutdown stops them all.
    draining: StdMutex<Vec<Arc<Live>>>,
    /// The Codex versions of the last two starts that worked: `(previous, current)`.
    versions: StdMutex<(Option<Version>, Option<Version>)>,
    /// Replacing an idle process that grew.
    pub(crate) recycler: Recycler,
    /// Whether the background task runs (see `upkeep`).
    upkeep_started: std::sync::atomic::AtomicBool,
    /// The usage limit Codex reported, shared by every process (it is the account's).
    pub limit: KnownLimit,
    /// Whether shutdown has begun, and how many generations are running; one value, so that a
    /// generation is either counted before shutdown waits, or refused.
    state: watch::Sender<State>,
    /// Held through a shutdown, so every caller of `shutdown` returns only once the process is stopped.
    stopping: Mutex<()>,
}

#[derive(Debug, Clone, Copy, Default)]
struct State {
    closed: bool,
    running: usize,
}

/// Counts one generation as running until dropped; see [`Manager::begin`].
pub(crate) struct Running(Arc<Manager>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0
            .state
            .send_modify(|s| s.running = s.running.saturating_sub(1));
    }
}

impl Manager {
    /// A manager with no process yet.
    pub(crate) fn new(config: Arc<Config>) -> Arc<Self> {
        Arc::new(Self {
            queue: Queue::new(config.concurrency),
            config,
            slot: Mutex::new(Slot::default()),
            draining: StdMutex::new(Vec::new()),
            versions: StdMutex::new((None, None)),
            recycler: Recycler::default(),
            upkeep_started: std::sync::atomic::AtomicBool::new(false),
            limit: KnownLimit::default(),
            state: watch::Sender::new(State::default()),
            stopping: Mutex::new(()),
        })
    }

    /// Counts a generation as running until the guard drops, or refuses it once shutdown has begun.
    /// The guard must outlive the generation's `TurnGuard`, so its cleanup is counted before this ends.
    pub(crate) fn begin(self: &Arc<Self>) -> Result<Running> {
        let mut admitted = false;
        self.state.send_modify(|s| {
            if !s.closed {
                s.running += 1;
                admitted = true;
            }
        });
        if admitted {
            Ok(Running(self.clone()))
        } else {
            Err(Error::ShuttingDown {
                turn_started: false,
            })
        }
    }

    /// Whether shutdown has begun.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Resolves once shutdown has begun.
    pub(crate) async fn closed(&self) {
        let mut state = self.state.subscribe();
        // The sender lives as long as `self`, so this only ends when the flag is set.
        let _ = state.wait_for(|s| s.closed).await;
    }

    /// The configuration every process is started with.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The live process, started if needed; `on_start` is called before a start. Returns how long the
    /// start took when there was one. Once shutdown has begun it is `runtime/shutting_down`, and a
    /// start under way is abandoned (its process killed), so nothing outlives the shutdown.
    ///
    /// The process comes marked as in use ([`Live::enter`]) from inside the slot's lock, so a recycle,
    /// which swaps processes under that lock, never stops one a request was just handed.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        on_start: impl FnOnce(),
    ) -> Result<(ActiveGuard, Option<Duration>)> {
        let refused = || Error::ShuttingDown {
            turn_started: false,
        };
        if self.is_closed() {
            return Err(refused());
        }
        tokio::select! {
            acquired = self.acquire_open(on_start) => acquired,
            () = self.closed() => Err(refused()),
        }
    }

    async fn acquire_open(
        self: &Arc<Self>,
        on_start: impl FnOnce(),
    ) -> Result<(ActiveGuard, Option<Duration>)> {
        let mut slot = self.slot.lock().await;
        if self.is_closed() {
            // Shutdown began while this waited for the slot; it may already have emptied it.
            return Err(Error::ShuttingDown {
                turn_started: false,
            });
        }
        if let Some(live) = slot.live.clone() {
            if !live.is_alive().await {
                tracing::warn!("the app-server exited; a new one will be started");
                slot.live = None;
                slot.note_failure(Instant::now());
                tokio::spawn(async move { live.stop(Duration::from_millis(100)).await });
            } else if live.login_changed() {
                // The process keeps the login it read at start; a new one reads the new login, and
                // is checked before any turn.
                tracing::info!(
                    "the Codex login changed since the app-server started; starting a new one"
                );
                slot.live = None;
                self.drain(live);
            } else {
                return Ok((live.enter(), None));
            }
        }
        if let Some(wait) = slot.wait_before_start(Instant::now()) {
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "waiting before restarting the app-server"
            );
            tokio::time::sleep(wait).await;
        }
        on_start();
        let began = Instant::now();
        match handshake::start(&self.config).await {
            Ok(live) => {
                let live = self.started(live);
                slot.live = Some(live.clone());
                slot.retry_at = None;
                Ok((live.enter(), Some(began.elapsed())))
            }
            Err(e) => {
                if matches!(
                    e,
                    Error::AppServerExited { .. }
                        | Error::StartTimeout { .. }
                        | Error::InvalidMessage { .. }
                ) {
                    slot.note_failure(Instant::now());
                }
                Err(e)
            }
        }
    }

    /// A process just handshaken, made ready to serve: its usage-limit updates watched, its version
    /// remembered, its threads started ahead (unless it cannot generate: no usable login, no image
    /// tool).
    pub(crate) fn started(&self, live: Live) -> Arc<Live> {
        let live = Arc::new(live);
        watch_limits(&live, &self.limit);
        {
            let mut versions = lock(&self.versions);
            if versions.1.as_ref() != Some(&live.version) {
                if let Some(before) = &versions.1 {
                    tracing::info!(before = %before, now = %live.version, "the Codex version changed");
                }
                *versions = (versions.1.take(), Some(live.version.clone()));
            }
        }
        if live.account.blocking_error().is_none() && live.image_generation_offered != Some(false) {
            thread::spawn_refill(&live);
        }
        live
    }

    /// The Codex versions of the last two starts that worked, `(before, last)`: `before` is `None`
    /// until a start found another version than the one before it.
    pub(crate) fn versions(&self) -> (Option<Version>, Option<Version>) {
        lock(&self.versions).clone()
    }

    /// Puts `new` in the slot in place of `old`, which then drains; false (and `new` is not used) when
    /// `old` is no longer the current process or shutdown began.
    pub(crate) async fn replace(self: &Arc<Self>, old: &Arc<Live>, new: Arc<Live>) -> bool {
        let mut slot = self.slot.lock().await;
        let current = slot.live.as_ref().is_some_and(|c| Arc::ptr_eq(c, old));
        if !current || self.is_closed() {
            return false;
        }
        slot.live = Some(new);
        self.recycler.note_replaced();
        drop(slot);
        self.drain(old.clone());
        true
    }

    /// The current process, with how many requests hold or wait for a place in the queue: what a
    /// recycle decides on.
    pub(crate) async fn current_and_busy(&self) -> Option<(Arc<Live>, usize)> {
        let slot = self.slot.lock().await;
        slot.live.clone().map(|live| (live, self.queue.busy()))
    }

    /// Stops `old` once the turns still running on it are done (each within its own deadline), so
    /// nothing paid for is cut off; shutdown stops it sooner.
    fn drain(self: &Arc<Self>, old: Arc<Live>) {
        lock(&self.draining).push(old.clone());
        let manager = Arc::downgrade(self);
        let within = self.config.request_timeout + self.config.interrupt_grace * 2;
        let grace = self.config.shutdown_grace;
        tokio::spawn(async move {
            if !old.quiet(within).await {
                tracing::warn!(
                    "a replaced app-server still ran turns after {within:?}; stopping it"
                );
            }
            old.stop(grace).await;
            if let Some(manager) = manager.upgrade() {
                lock(&manager.draining).retain(|l| !Arc::ptr_eq(l, &old));
            }
        });
    }

    /// Stops the process once it has been unused for the idle timeout.
    pub(crate) async fn stop_if_idle(&self) {
        let idle = self.config.idle_timeout;
        let mut slot = self.slot.lock().await;
        let idle_for = slot.live.as_ref().and_then(|live| live.idle_for());
        if idle_for.is_some_and(|since| since >= idle) {
            if let Some(live) = slot.live.take() {
                drop(slot);
                tracing::info!(idle_secs = idle.as_secs(), "stopping the idle app-server");
                live.stop(self.config.shutdown_grace).await;
            }
        }
    }

    /// True the first time only: the caller starts the manager's background task (see `upkeep`).
    pub(crate) fn claim_upkeep(&self) -> bool {
        !self
            .upkeep_started
            .swap(true, std::sync::atomic::Ordering::SeqCst)
    }

    /// A generation completed on a healthy process: forget earlier failures.
    pub(crate) async fn note_success(&self) {
        self.slot.lock().await.note_success();
    }

    /// Replaces `live` on the next request: its login was read at start, and a person who fixes their
    /// login (`codex login`) must not have to restart a long-running host to be seen.
    pub(crate) async fn retire(self: &Arc<Self>, live: &Arc<Live>) {
        let mut slot = self.slot.lock().await;
        if slot
            .live
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, live))
        {
            if let Some(old) = slot.live.take() {
                drop(slot);
                self.drain(old);
            }
        }
    }

    /// The current process, if one is running.
    pub(crate) async fn current(&self) -> Option<Arc<Live>> {
        self.slot.lock().await.live.clone()
    }

    /// Shuts down for good: refuses new generations, has every generation in flight interrupt its
    /// turn, waits for that (bounded), then stops the process: close stdin, wait a bounded time, then
    /// kill the group. Every caller returns only once the process is stopped.
    pub(crate) async fn shutdown(&self) {
        let _one = self.stopping.lock().await;
        self.state.send_modify(|s| s.closed = true);
        let grace = self.config.interrupt_grace;
        // Each running generation sees the flag, drops its wait and hands its turn to a counted
        // cleanup. A caller that never polls its future again cannot hold the shutdown past this.
        let mut state = self.state.subscribe();
        if tokio::time::timeout(grace, state.wait_for(|s| s.running == 0))
            .await
            .is_err()
        {
            let running = self.state.borrow().running;
            tracing::warn!(
                running,
                "shutting down with generations that did not stop within {grace:?}"
            );
        }
        // A recycle under way sees the flag and stops the process it started.
        if !self
            .recycler
            .finished(self.config.shutdown_grace + Duration::from_secs(1))
            .await
        {
            tracing::warn!("a recycle under way did not end in time");
        }
        let live = self.slot.lock().await.live.take();
        let draining: Vec<Arc<Live>> = lock(&self.draining).drain(..).collect();
        for live in live.into_iter().chain(draining) {
            // The cleanups interrupt their turns; each waits at most the grace for its turn's end.
            live.cleanups_done(grace * 2).await;
            live.stop(self.config.shutdown_grace).await;
        }
    }
}

/// Remembers a usage limit that `account/rateLimits/updated` reports (a spent window and its reset),
/// so new generations are refused before they spend a model request. The known limit reads the
/// updates itself before each answer (see `limit`).
fn watch_limits(live: &Live, limit: &KnownLimit) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    live.conn.watch_account(tx);
    limit.watch(rx);
}

/// Every lock here guards values that each operation leaves consistent, so a poisoned one is still good.
fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
