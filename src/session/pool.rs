//! Threads started ahead on the warm process, so a request pays only `turn/start`. A background task
//! keeps the pool full: it refills once the request that took a thread has sent its `turn/start`
//! (never on a request's critical path), replaces
//! threads older than the refresh age (releasing them with `thread/unsubscribe`), and backs off when
//! `thread/start` fails. `thread/start` is not a turn, so none of this spends quota.
//!
//! The pool belongs to one process and dies with it: `Live::stop` (respawn, idle reap, shutdown, retire)
//! closes it and releases every pooled thread and its folder. This file is the pool itself; opening,
//! releasing and refilling threads on a process is `thread`'s.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use tokio::sync::mpsc;

use crate::rpc::transport::Event;

/// An open thread nobody has used yet.
#[derive(Debug)]
pub(crate) struct Fresh {
    /// The thread's id.
    pub(crate) thread_id: String,
    /// Its private `cwd`, removed when dropped.
    pub(crate) staging: tempfile::TempDir,
    /// Its notifications, from the first.
    pub(crate) events: mpsc::UnboundedReceiver<Event>,
    /// When `thread/start` was answered.
    pub(crate) opened: Instant,
}

/// The pre-started threads of one process.
#[derive(Debug)]
pub(crate) struct Pool {
    size: usize,
    refresh_after: Duration,
    threads: Mutex<VecDeque<Fresh>>,
    wake: Notify,
    /// Notified when a thread is added.
    added: Notify,
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
            added: Notify::new(),
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

    /// How many threads it keeps.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Adds a thread just opened.
    pub(crate) fn push(&self, fresh: Fresh) {
        self.lock().push_back(fresh);
        self.added.notify_waiters();
    }

    /// Waits, at most `within`, until at least one thread is ready (at once for a pool of none).
    pub(crate) async fn first_ready(&self, within: Duration) -> bool {
        let until = tokio::time::Instant::now() + within;
        loop {
            // Registered before the check, so a thread added in between is not missed.
            let added = self.added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            if self.size == 0 || self.ready() > 0 {
                return true;
            }
            if tokio::time::timeout_at(until, added).await.is_err() {
                return false;
            }
        }
    }

    /// Resolves when the pool is asked to refill or closes.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// How many threads are ready.
    pub(crate) fn ready(&self) -> usize {
        self.lock().len()
    }

    /// Stops refilling and hands back every pooled thread, for the caller to release.
    pub(crate) fn close(&self) -> Vec<Fresh> {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.lock().drain(..).collect()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub(crate) fn expired(&self) -> Vec<Fresh> {
        let mut threads = self.lock();
        let (old, young): (Vec<Fresh>, Vec<Fresh>) = threads
            .drain(..)
            .partition(|t| t.opened.elapsed() >= self.refresh_after);
        threads.extend(young);
        old
    }

    /// How long until the oldest pooled thread needs refreshing.
    pub(crate) fn next_expiry(&self) -> Duration {
        self.lock()
            .iter()
            .map(|t| self.refresh_after.saturating_sub(t.opened.elapsed()))
            .min()
            .unwrap_or(self.refresh_after)
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
