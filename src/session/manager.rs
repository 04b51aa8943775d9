//! One warm app-server shared by every request: started on first use, reused while it lives, stopped
//! after an idle period or on shutdown, and started again, with backoff if it keeps dying, by the next
//! request that needs it. Nothing in flight is re-run when it dies: those generations fail with
//! `runtime/app_server_exited` and the caller decides.
//!
//! Shutdown is for good: it closes the manager first, so every generation in flight hands its turn to
//! its cleanup (which sends `turn/interrupt`) and answers `runtime/shutting_down`, and no new generation
//! or preflight can start a process; then it waits, bounded, for those hand-offs and their cleanups, and
//! only then stops the process. A generation running on another task (a face's spawned request, an MCP
//! tool call) is interrupted this way too, not only one whose future was dropped.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Mutex};

use crate::session::config::Config;
use crate::session::handshake;
use crate::session::limit::KnownLimit;
use crate::session::live::Live;
use crate::session::slot::Slot;
use crate::session::thread;
use crate::types::error::{Error, Result};

/// Owns the slot of the one warm process.
pub(crate) struct Manager {
    config: Arc<Config>,
    slot: Mutex<Slot>,
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
            config,
            slot: Mutex::new(Slot::default()),
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
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        on_start: impl FnOnce(),
    ) -> Result<(Arc<Live>, Option<Duration>)> {
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
    ) -> Result<(Arc<Live>, Option<Duration>)> {
        let mut slot = self.slot.lock().await;
        if self.is_closed() {
            // Shutdown began while this waited for the slot; it may already have emptied it.
            return Err(Error::ShuttingDown {
                turn_started: false,
            });
        }
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
            slot.note_failure(Instant::now());
            if let Some(dead) = dead {
                tokio::spawn(async move { dead.stop(Duration::from_millis(100)).await });
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
                let live = Arc::new(live);
                slot.live = Some(live.clone());
                slot.retry_at = None;
                watch_limits(&live, &self.limit);
                // A process that cannot generate (no usable login, no image tool) gets no threads.
                if live.account.blocking_error().is_none()
                    && live.image_generation_offered != Some(false)
                {
                    thread::spawn_refill(&live);
                }
                Ok((live, Some(began.elapsed())))
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

    /// A generation completed on a healthy process: forget earlier failures.
    pub(crate) async fn note_success(&self) {
        self.slot.lock().await.note_success();
    }

    /// Replaces `live` on the next request: its login was read at start, and a person who fixes their
    /// login (`codex login`) must not have to restart a long-running host to be seen.
    pub(crate) async fn retire(&self, live: &Arc<Live>) {
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
        let live = self.slot.lock().await.live.take();
        if let Some(live) = live {
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

async fn reap_when_idle(manager: Weak<Manager>) {
    loop {
        let Some(m) = manager.upgrade() else { return };
        let idle = m.config.idle_timeout;
        let tick = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        drop(m);
        tokio::time::sleep(tick).await;
        let Some(m) = manager.upgrade() else { return };
        let mut slot = m.slot.lock().await;
        let idle_for = slot.live.as_ref().and_then(|live| live.idle_for());
        if idle_for.is_some_and(|since| since >= idle) {
            if let Some(live) = slot.live.take() {
                drop(slot);
                tracing::info!(idle_secs = idle.as_secs(), "stopping the idle app-server");
                live.stop(m.config.shutdown_grace).await;
            }
        }
    }
}
