//! One warm app-server shared by every request: started on first use, reused while it lives, stopped
//! after an idle period or on shutdown, and started again, with backoff if it keeps dying, by the next
//! request that needs it. Nothing in flight is re-run when it dies: those generations fail with
//! `runtime/app_server_exited` and the caller decides.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::session::config::Config;
use crate::session::handshake;
use crate::session::limit::KnownLimit;
use crate::session::live::Live;
use crate::session::pool;
use crate::session::slot::Slot;

/// Owns the slot of the one warm process.
pub struct Manager {
    config: Arc<Config>,
    slot: Mutex<Slot>,
    /// The usage limit Codex reported, shared by every process (it is the account's).
    pub limit: KnownLimit,
}

impl Manager {
    /// A manager with no process yet.
    pub fn new(config: Arc<Config>) -> Arc<Self> {
        Arc::new(Self {
            config,
            slot: Mutex::new(Slot::default()),
            limit: KnownLimit::default(),
        })
    }

    /// The configuration every process is started with.
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
                    pool::spawn_refill(&live);
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
    pub async fn note_success(&self) {
        self.slot.lock().await.note_success();
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
