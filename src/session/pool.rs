//! Threads started ahead on the warm process, so a request pays only `turn/start`. A background task
//! keeps the pool full: it refills once the request that took a thread has sent its `turn/start`
//! (never on a request's critical path), replaces
//! threads older than the refresh age (releasing them with `thread/unsubscribe`), and backs off when
//! `thread/start` fails. `thread/start` is not a turn, so none of this spends quota.
//!
//! The pool belongs to one process and dies with it: `Live::stop` (respawn, idle reap, shutdown, retire)
//! closes it and releases every pooled thread and its folder.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::session::live::Live;
use crate::session::thread::{self, Fresh};

/// The longest wait between refill attempts after `thread/start` keeps failing.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How long releasing one pooled thread may take when the pool closes.
const RELEASE_WITHIN: Duration = Duration::from_millis(500);

/// The pre-started threads of one process.
#[derive(Debug)]
pub(crate) struct Pool {
    size: usize,
    refresh_after: Duration,
    threads: Mutex<VecDeque<Fresh>>,
    wake: Notify,
    closed: AtomicBool,
}

impl Pool {
    /// A pool that keeps `size` threads, each at most `refresh_after` old; size 0 keeps none.
    pub(crate) fn new(size: usize, refresh_after: Duration) -> Arc<Self> {
        Arc::new(Self {
            size,
            refresh_after,
            threads: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Fresh>> {
        // A list that every operation leaves consistent.
        self.threads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A pre-started thread young enough to use, if one is ready. Its replacement waits for
    /// [`refill`](Self::refill): a `thread/start` written now would queue ahead of the request's own
    /// `turn/start` on the app-server.
    pub(crate) fn take(&self) -> Option<Fresh> {
        let mut threads = self.lock();
        // Oldest first, skipping any past the refresh age (the refill task releases those).
        let at = threads
            .iter()
            .position(|t| t.opened.elapsed() < self.refresh_after)?;
        threads.remove(at)
    }

    /// Lets the refill task replace the threads taken, once the request that took one has written
    /// its `turn/start` (or given up before it).
    pub(crate) fn refill(&self) {
        self.wake.notify_one();
    }

    /// How many threads are ready (for tests and diagnostics).
    pub(crate) fn ready(&self) -> usize {
        self.lock().len()
    }

    /// Stops refilling and hands back every pooled thread, for the caller to release.
    pub(crate) fn close(&self) -> Vec<Fresh> {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.lock().drain(..).collect()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn expired(&self) -> Vec<Fresh> {
        let mut threads = self.lock();
        let (old, young): (Vec<Fresh>, Vec<Fresh>) = threads
            .drain(..)
            .partition(|t| t.opened.elapsed() >= self.refresh_after);
        threads.extend(young);
        old
    }

    /// How long until the oldest pooled thread needs refreshing.
    fn next_expiry(&self) -> Duration {
        self.lock()
            .iter()
            .map(|t| self.refresh_after.saturating_sub(t.opened.elapsed()))
            .min()
            .unwrap_or(self.refresh_after)
    }
}

/// Starts the task that keeps `live`'s pool full. It holds the process weakly and ends with it.
pub(crate) fn spawn_refill(live: &Arc<Live>) {
    let pool = live.pool().clone();
    if pool.size == 0 {
        return;
    }
    tokio::spawn(refill(Arc::downgrade(live), pool));
}

async fn refill(live: Weak<Live>, pool: Arc<Pool>) {
    let mut retry = Duration::from_millis(500);
    loop {
        if pool.is_closed() {
            return;
        }
        let Some(strong) = live.upgrade() else { return };
        if strong.conn.is_closed() {
            return;
        }
        for old in pool.expired() {
            tracing::debug!(thread = %old.thread_id, "refreshing a pre-started thread");
            thread::release(&strong, old, RELEASE_WITHIN).await;
        }
        if pool.ready() < pool.size {
            match thread::open(&strong).await {
                Ok(fresh) => {
                    retry = Duration::from_millis(500);
                    if pool.is_closed() {
                        thread::release(&strong, fresh, RELEASE_WITHIN).await;
                        return;
                    }
                    pool.lock().push_back(fresh);
                    continue;
                }
                Err(e) => {
                    tracing::info!(
                        retry_ms = retry.as_millis() as u64,
                        "cannot pre-start a thread: {e}"
                    );
                    drop(strong);
                    tokio::select! {
                        _ = tokio::time::sleep(retry) => {}
                        _ = pool.wake.notified() => {}
                    }
                    retry = (retry * 2).min(MAX_RETRY);
                    continue;
                }
            }
        }
        let wait = pool.next_expiry();
        drop(strong);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = pool.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn fresh(id: &str, age: Duration) -> Fresh {
        Fresh {
            thread_id: id.to_owned(),
            staging: tempfile::tempdir().expect("tempdir"),
            events: tokio::sync::mpsc::unbounded_channel().1,
            opened: std::time::Instant::now() - age,
        }
    }

    fn ids(threads: &[Fresh]) -> Vec<&str> {
        threads.iter().map(|t| t.thread_id.as_str()).collect()
    }

    #[test]
    fn take_skips_threads_past_the_refresh_age_and_close_hands_back_the_rest() {
        let pool = Pool::new(3, Duration::from_secs(60));
        pool.lock()
            .push_back(fresh("old", Duration::from_secs(120)));
        pool.lock().push_back(fresh("a", Duration::from_secs(1)));
        pool.lock().push_back(fresh("b", Duration::ZERO));
        assert_eq!(pool.take().map(|t| t.thread_id), Some("a".to_owned()));
        assert_eq!(ids(&pool.expired()), vec!["old"]);
        assert_eq!(ids(&pool.close()), vec!["b"]);
        assert!(pool.is_closed());
        assert_eq!(pool.take().map(|t| t.thread_id), None);
    }
}
