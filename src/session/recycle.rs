//! Replacing a warm process that has grown, at a moment nobody waits for it.
//!
//! Codex's process tree keeps memory for every thread it has run (measured on 0.171.0: about 1 MiB an
//! image, 266 MiB after 20 images, about 730 MiB after 500), and a host that runs for weeks would hold
//! it all for nothing. So once the process has made [`Config::recycle_after_images`] images, or its
//! tree holds more than [`Config::recycle_above_bytes`] (where `/proc` tells), the manager's background
//! task replaces it, but only when no generation runs on it, no cleanup is pending and no request waits
//! for a place. The new process is started and its threads started ahead *before* it takes the slot,
//! so the next request is as warm as ever; a request that arrives meanwhile is served by the old process
//! as usual (its threads are still there), which then drains and stops. A turn is never cut off by a
//! recycle, and no request waits on one.
//!
//! [`Config::recycle_after_images`]: crate::session::config::Config
//! [`Config::recycle_above_bytes`]: crate::session::config::Config

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::session::handshake;
use crate::session::live::Live;
use crate::session::manager::Manager;

/// How often the manager's task looks at the process (and the idle timeout).
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long a new process may take to have its first thread ready before it takes the slot anyway.
const WARM_WITHIN: Duration = Duration::from_secs(10);
/// After a new process failed to start, no recycle is tried for this long (the old one keeps serving).
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// The manager's recycling state.
#[derive(Debug, Default)]
pub(crate) struct Recycler {
    /// How many processes were replaced so far.
    done: AtomicU64,
    /// A recycle is under way: no second one starts.
    running: AtomicBool,
    /// No recycle before this instant: the last new process did not start.
    paused_until: Mutex<Option<Instant>>,
}

impl Recycler {
    /// How many processes were replaced so far.
    pub(crate) fn count(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    fn paused(&self) -> bool {
        let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|at| Instant::now() < at)
    }

    fn pause(&self) {
        *self.paused_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + PAUSE_AFTER_FAILURE);
    }
}

/// Why `live` should be replaced now, if it should: it made enough images, or its tree grew.
fn reason(manager: &Manager, live: &Live) -> Option<String> {
    let config = manager.config();
    if let Some(limit) = config.recycle_after_images {
        if live.made() >= limit {
            return Some(format!(
                "it made {} images (the limit is {limit})",
                live.made()
            ));
        }
    }
    if let Some(bound) = config.recycle_above_bytes {
        if let Some(rss) = live.tree_rss().filter(|rss| *rss > bound) {
            return Some(format!(
                "its process tree holds {} MiB (the bound is {} MiB)",
                rss / (1024 * 1024),
                bound / (1024 * 1024)
            ));
        }
    }
    None
}

/// Starts a recycle when the current process should be replaced and nothing waits for it.
pub(crate) async fn check(manager: &Arc<Manager>) {
    let recycler = &manager.recycler;
    if manager.is_closed() || recycler.running.load(Ordering::SeqCst) || recycler.paused() {
        return;
    }
    // A request between its call and its answer holds or waits for a place in the queue, so `busy`
    // covers the moments before it reaches the process and after its turn; `is_quiet` covers the
    // turns' cleanups and a preflight.
    let Some((live, busy)) = manager.current_and_busy().await else {
        return;
    };
    if busy > 0 || !live.is_quiet() {
        return;
    }
    let Some(why) = reason(manager, &live) else {
        return;
    };
    if recycler.running.swap(true, Ordering::SeqCst) {
        return;
    }
    let manager = manager.clone();
    tokio::spawn(async move {
        replace(&manager, live, why).await;
        manager.recycler.running.store(false, Ordering::SeqCst);
    });
}

/// Starts a new process, lets it start its threads, and swaps it in for `old`.
async fn replace(manager: &Arc<Manager>, old: Arc<Live>, why: String) {
    tracing::info!("replacing the idle app-server: {why}");
    let new = match handshake::start(manager.config()).await {
        Ok(new) => manager.started(new),
        Err(e) => {
            // The old process keeps serving (Codex may have been removed or downgraded underneath
            // it; `doctor` says so); a new attempt waits a while.
            tracing::warn!(
                "a new app-server did not start ({e}); keeping the current one, trying again in {}s",
                PAUSE_AFTER_FAILURE.as_secs()
            );
            manager.recycler.pause();
            return;
        }
    };
    if !new.pool().first_ready(WARM_WITHIN).await {
        tracing::info!("the new app-server has no thread ready yet; it takes over all the same");
    }
    if manager.replace(&old, new.clone()).await {
        manager.recycler.done.fetch_add(1, Ordering::SeqCst);
        tracing::info!(
            made = old.made(),
            "the app-server was replaced; the old one stops once its turns are done"
        );
    } else {
        // Shutdown began, or the process was replaced meanwhile (it died, or the login changed).
        new.stop(manager.config().shutdown_grace).await;
    }
}
