//! A fresh ephemeral thread for one image: its own private, empty staging folder (its `cwd`, where the
//! inputs are later copied under neutral names), the `thread/start` that opens it, and the channel its
//! notifications arrive on; and the task that keeps a process's [`Pool`] full. Opening a thread spends
//! no quota, so the pool does it ahead of requests; a thread is used for one turn only and never reused.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::protocol::request::{ThreadStart, ThreadUnsubscribe};
use crate::protocol::ErrorCode;
use crate::rpc::transport::{Event, RpcError};
use crate::session::live::Live;
use crate::session::params;
use crate::session::pool::{Fresh, Pool};
use crate::types::error::{Error, Result};

/// Attempts of `thread/start` while the server reports overload (it starts nothing, so it is safe).
const OVERLOAD_ATTEMPTS: u32 = 4;

impl Live {
    /// Creates the folder and starts the thread in it.
    pub(crate) async fn open_thread(&self) -> Result<Fresh> {
        let live = self;
        let staging = tempfile::Builder::new()
            .prefix("gen-")
            .tempdir_in(live.workdir())
            .map_err(|source| Error::StagingFailed {
                path: live.workdir().to_path_buf(),
                source,
            })?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let thread_id = live.start_thread(staging.path(), events_tx).await?;
        Ok(Fresh {
            thread_id,
            staging,
            events,
            opened: Instant::now(),
        })
    }

    /// Gives an unused thread back to the server and removes its folder; bounded by `within`.
    pub(crate) async fn release_thread(&self, fresh: Fresh, within: Duration) {
        let live = self;
        if !live.conn.is_closed() {
            let params = params::thread_unsubscribe(&fresh.thread_id);
            let answer =
                tokio::time::timeout(within, live.conn.request::<ThreadUnsubscribe>(&params)).await;
            if let Ok(Err(e)) = answer {
                tracing::debug!(thread = %fresh.thread_id, "thread/unsubscribe: {e}");
            }
        }
        live.conn.unsubscribe(&fresh.thread_id);
        drop(fresh.staging);
    }

    /// `thread/start`, retried with backoff while the server says it is overloaded: starting a thread spends
    /// nothing, so it is the one step that may be retried.
    async fn start_thread(
        &self,
        cwd: &Path,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<String> {
        let live = self;
        let params = params::thread_start_for(cwd, None, live.lean());
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=OVERLOAD_ATTEMPTS {
            match live
                .conn
                .request_subscribing::<ThreadStart>(&params, events.clone())
                .await
            {
                Ok(started) => return Ok(started.thread.id),
                Err(RpcError::Server(e)) if e.code == ErrorCode::SERVER_OVERLOADED => {
                    if attempt == OVERLOAD_ATTEMPTS {
                        return Err(Error::Overloaded { attempts: attempt });
                    }
                    tracing::info!(attempt, "app-server overloaded; retrying thread/start");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(RpcError::Exited | RpcError::NotSent) => {
                    return Err(live.exited_error(false).await)
                }
                Err(e) => {
                    return Err(Error::InvalidMessage {
                        detail: format!("`thread/start` failed: {e}"),
                    })
                }
            }
        }
        Err(Error::Overloaded {
            attempts: OVERLOAD_ATTEMPTS,
        })
    }
}

/// The longest wait between refill attempts after `thread/start` keeps failing.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How long releasing one pooled thread may take when the pool closes.
const RELEASE_WITHIN: Duration = Duration::from_millis(500);

/// Starts the task that keeps `live`'s pool full. It holds the process weakly and ends with it.
pub(crate) fn spawn_refill(live: &Arc<Live>) {
    let pool = live.pool().clone();
    if pool.size() == 0 {
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
            strong.release_thread(old, RELEASE_WITHIN).await;
        }
        if pool.ready() < pool.size() {
            match strong.open_thread().await {
                Ok(fresh) => {
                    retry = Duration::from_millis(500);
                    if pool.is_closed() {
                        strong.release_thread(fresh, RELEASE_WITHIN).await;
                        return;
                    }
                    pool.push(fresh);
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
                        _ = pool.woken() => {}
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
            _ = pool.woken() => {}
        }
    }
}

/// Whether a `turn/start` error says the thread is gone: such a turn never started, so it spent nothing
/// and another thread may be tried.
pub(crate) fn is_thread_not_found(error: &RpcError) -> bool {
    matches!(error, RpcError::Server(e) if e.message.to_ascii_lowercase().contains("thread not found"))
}

/// The error once `turn/start` said the thread was gone on every thread tried. Each refusal came before
/// a turn started, so nothing was spent, and the message says so: a caller must not take it for a
/// turn that may have run.
pub(crate) fn lost(attempts: u32, last: &RpcError) -> Error {
    Error::ThreadLost {
        attempts,
        detail: format!("the last answer: {last}"),
    }
}
