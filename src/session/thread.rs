//! A fresh ephemeral thread for one image: its own private, empty staging folder (its `cwd`, where the
//! inputs are later copied under neutral names), the `thread/start` that opens it, and the channel its
//! notifications arrive on. Opening one spends no quota, so the pool does it ahead of requests; a thread
//! is used for one turn only and never reused.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::protocol::request::{ThreadStart, ThreadUnsubscribe};
use crate::protocol::ErrorCode;
use crate::rpc::transport::{Event, RpcError};
use crate::session::live::Live;
use crate::session::params;
use crate::types::error::{Error, Result};

/// Attempts of `thread/start` while the server reports overload (it starts nothing, so it is safe).
const OVERLOAD_ATTEMPTS: u32 = 4;

/// An open thread nobody has used yet.
#[derive(Debug)]
pub(crate) struct Fresh {
    /// The thread's id.
    pub thread_id: String,
    /// Its private `cwd`, removed when dropped.
    pub staging: tempfile::TempDir,
    /// Its notifications, from the first.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// When `thread/start` was answered.
    pub opened: Instant,
}

/// Creates the folder and starts the thread in it.
pub(crate) async fn open(live: &Live) -> Result<Fresh> {
    let staging = tempfile::Builder::new()
        .prefix("gen-")
        .tempdir_in(live.workdir())
        .map_err(|source| Error::StagingFailed {
            path: live.workdir().to_path_buf(),
            source,
        })?;
    let (events_tx, events) = mpsc::unbounded_channel();
    let thread_id = start(live, staging.path(), events_tx).await?;
    Ok(Fresh {
        thread_id,
        staging,
        events,
        opened: Instant::now(),
    })
}

/// Gives an unused thread back to the server and removes its folder; bounded by `within`.
pub(crate) async fn release(live: &Live, fresh: Fresh, within: Duration) {
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
async fn start(live: &Live, cwd: &Path, events: mpsc::UnboundedSender<Event>) -> Result<String> {
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
