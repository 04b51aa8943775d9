//! When a warm process that has grown should be replaced, and the state of its replacement; the
//! manager's background task (`upkeep`) does the replacing, at a moment nobody waits for it.
//!
//! Codex's process tree keeps memory for every thread it has run (measured on 0.171.0: 266 MiB after
//! 20 images, about 730 MiB after 500, about 930 MiB from 1,000 on), and a host that runs for weeks would hold
//! it all for nothing. So once the process has made [`Config::recycle_after_images`] images, or its
//! tree holds more than [`Config::recycle_above_bytes`] (where `/proc` tells), the manager's background
//! task replaces it, but only when no request is anywhere between its call and its answer and no
//! generation runs on it (the cleanup of a turn whose image was delivered may still run: the old
//! process is stopped only after it). The new process is started and its threads started ahead
//! *before* it takes the slot, so the next request is as warm as ever; a request that arrives
//! meanwhile is served by the old process as usual (its threads are still there), which then drains
//! and stops. A turn is never cut off by a recycle, and no request waits on one.
//!
//! [`Config::recycle_after_images`]: crate::session::config::Config
//! [`Config::recycle_above_bytes`]: crate::session::config::Config

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::session::config::Config;
use crate::session::live::Live;

/// How often the manager's task looks at the process (and the idle timeout).
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long a new process may take to have its first thread ready before it takes the slot anyway.
pub(crate) const WARM_WITHIN: Duration = Duration::from_secs(10);
/// After a new process failed to start, no recycle is tried for this long (the old one keeps serving).
pub(crate) const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// The manager's recycling state.
#[derive(Debug, Default)]
pub(crate) struct Recycler {
    /// How many processes were replaced so far.
    done: AtomicU64,
    /// A recycle is under way: no second one starts, and shutdown waits for it.
    running: tokio::sync::watch::Sender<bool>,
    /// No recycle before this instant: the last new process did not start.
    paused_until: Mutex<Option<Instant>>,
}

impl Recycler {
    /// How many processes were replaced so far.
    pub(crate) fn count(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    /// Whether a recycle could begin now: none runs, and no failed start paused them.
    pub(crate) fn may_begin(&self) -> bool {
        !self.paused() && !*self.running.borrow()
    }

    /// Claims the one recycle that may run: false while another runs or after a failed start.
    pub(crate) fn begin(&self) -> bool {
        !self.paused()
            && self
                .running
                .send_if_modified(|running| !std::mem::replace(running, true))
    }

    /// Waits, at most `within`, until no recycle is under way.
    pub(crate) async fn finished(&self, within: Duration) -> bool {
        let mut running = self.running.subscribe();
        tokio::time::timeout(within, running.wait_for(|r| !r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Counts a process replaced, as the new one takes its place.
    pub(crate) fn note_replaced(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }

    /// The recycle claimed by [`begin`](Self::begin) ended, whether or not it replaced the process.
    pub(crate) fn end(&self) {
        self.running.send_replace(false);
    }

    /// A new process did not start: no recycle is tried for a while (the old one keeps serving).
    pub(crate) fn pause(&self) {
        *self.paused_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + PAUSE_AFTER_FAILURE);
    }

    fn paused(&self) -> bool {
        let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|at| Instant::now() < at)
    }
}

/// Why `live` should be replaced, if it should: it made enough images, or its tree grew.
pub(crate) fn reason(config: &Config, live: &Live) -> Option<String> {
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
