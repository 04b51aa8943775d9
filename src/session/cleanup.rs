//! Undoing what a generation started, on every way out: interrupt the turn if it may still run, wait a
//! bounded time for it to end, delete the copy Codex saved under `$CODEX_HOME/generated_images/<threadId>/`,
//! release the thread, and remove the staged inputs. Once the image is in hand the work goes to a task,
//! so the caller is answered without waiting for the turn's end; when the caller drops the future,
//! `Drop` does the same, so a cancelled generation never leaves a turn spending quota. Either task is
//! counted, and `shutdown` waits for it (bounded).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::protocol::request::{ThreadUnsubscribe, TurnInterrupt};
use crate::protocol::{ServerNotification, TurnInterruptResponse};
use crate::rpc::transport::{Event, RpcError};
use crate::session::live::Live;
use crate::session::params;

/// Owns everything a started thread needs undone, and undoes it even when the future is dropped.
pub(super) struct TurnGuard {
    parts: Option<Parts>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub turn_id: Option<String>,
    /// From the moment `turn/start` is written until the turn is seen to end.
    pub turn_may_run: bool,
}

struct Parts {
    live: Arc<Live>,
    thread_id: String,
    grace: Duration,
    staging: tempfile::TempDir,
}

impl TurnGuard {
    pub(crate) fn new(
        live: Arc<Live>,
        thread_id: String,
        events: mpsc::UnboundedReceiver<Event>,
        grace: Duration,
        staging: tempfile::TempDir,
    ) -> Self {
        Self {
            parts: Some(Parts {
                live,
                thread_id,
                grace,
                staging,
            }),
            events,
            turn_id: None,
            turn_may_run: false,
        }
    }

    /// The thread's private folder, where the inputs are staged.
    pub(crate) fn staging_dir(&self) -> Option<&std::path::Path> {
        self.parts.as_ref().map(|p| p.staging.path())
    }

    /// Hands the cleanup to a task, counted by a [`CleanupToken`](crate::session::live::CleanupToken)
    /// so `shutdown` waits for it: the caller gets its answer without waiting for the turn's end.
    pub(crate) fn finish_in_background(mut self) {
        if let Some(parts) = self.parts.take() {
            let events = std::mem::replace(&mut self.events, mpsc::unbounded_channel().1);
            let (turn_id, may_run) = (self.turn_id.take(), self.turn_may_run);
            spawn_cleanup(parts, events, turn_id, may_run);
        }
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let Some(parts) = self.parts.take() else {
            return;
        };
        let events = std::mem::replace(&mut self.events, mpsc::unbounded_channel().1);
        let (turn_id, may_run) = (self.turn_id.take(), self.turn_may_run);
        tracing::info!(thread = %parts.thread_id, "generation abandoned; interrupting its turn");
        spawn_cleanup(parts, events, turn_id, may_run);
    }
}

fn spawn_cleanup(
    parts: Parts,
    events: mpsc::UnboundedReceiver<Event>,
    turn_id: Option<String>,
    may_run: bool,
) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            let token = parts.live.begin_cleanup();
            // Queued now, not from the task: the caller frees its place in the queue right after
            // this, and the next request's `turn/start` must reach Codex after this interrupt.
            let interrupt = match (&turn_id, may_run && !parts.live.conn.is_closed()) {
                (Some(turn_id), true) => {
                    let params = params::turn_interrupt(&parts.thread_id, turn_id);
                    Some(handle.spawn(parts.live.conn.queue::<TurnInterrupt>(&params)))
                }
                _ => None,
            };
            handle.spawn(async move {
                cleanup(parts, events, turn_id, may_run, interrupt).await;
                drop(token);
            });
        }
        Err(_) => tracing::warn!("no async runtime to clean up a generation"),
    }
}

/// The answer to a `turn/interrupt` already queued.
type Interrupt = tokio::task::JoinHandle<Result<TurnInterruptResponse, RpcError>>;

async fn cleanup(
    parts: Parts,
    mut events: mpsc::UnboundedReceiver<Event>,
    turn_id: Option<String>,
    may_run: bool,
    queued: Option<Interrupt>,
) {
    let Parts {
        live,
        thread_id,
        grace,
        staging,
    } = parts;
    if may_run && !live.conn.is_closed() {
        // The turn id is unknown when the caller gave up while `turn/start` was in flight; the
        // `turn/started` notification names it.
        let turn_id = match turn_id {
            Some(id) => Some(id),
            None => tokio::time::timeout(grace, wait_turn_started(&mut events))
                .await
                .ok()
                .flatten(),
        };
        if let Some(turn_id) = turn_id {
            // The turn's end is the signal, not the interrupt's answer: 0.122.0 never answers an
            // interrupt that races the turn ending by itself.
            let interrupt = queued.unwrap_or_else(|| {
                let params = params::turn_interrupt(&thread_id, &turn_id);
                tokio::spawn(live.conn.queue::<TurnInterrupt>(&params))
            });
            let ended =
                tokio::time::timeout(grace, wait_turn_completed(&mut events, &turn_id)).await;
            if ended.is_err() {
                tracing::warn!(%turn_id, "the turn did not end within {grace:?} of turn/interrupt");
            }
            interrupt.abort();
        }
    }
    remove_generated_images(&live, &thread_id).await;
    if !live.conn.is_closed() {
        let params = params::thread_unsubscribe(&thread_id);
        let release = live.conn.request::<ThreadUnsubscribe>(&params);
        if let Ok(Err(e)) = tokio::time::timeout(grace, release).await {
            tracing::debug!(%thread_id, "thread/unsubscribe: {e}");
        }
    }
    live.conn.unsubscribe(&thread_id);
    drop(staging);
}

async fn wait_turn_started(events: &mut mpsc::UnboundedReceiver<Event>) -> Option<String> {
    while let Some(event) = events.recv().await {
        match event {
            Event::Notification(n) => {
                if let ServerNotification::TurnStarted(n) = *n {
                    return Some(n.turn.id);
                }
            }
            Event::Exited => return None,
            _ => {}
        }
    }
    None
}

async fn wait_turn_completed(events: &mut mpsc::UnboundedReceiver<Event>, turn_id: &str) {
    while let Some(event) = events.recv().await {
        match event {
            Event::Notification(n) if matches!(&*n, ServerNotification::TurnCompleted(c) if c.turn.id == turn_id) => {
                return
            }
            Event::Invalid {
                ended_turn: Some(ended),
                ..
            } if ended == turn_id => return,
            Event::Exited => return,
            _ => {}
        }
    }
}

/// Deletes `$CODEX_HOME/generated_images/<threadId>/`, which Codex writes even for ephemeral threads and
/// never cleans. Only threads codex-img started get here, and the id must be a plain name.
async fn remove_generated_images(live: &Live, thread_id: &str) {
    let plain = !thread_id.is_empty()
        && thread_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let Some(home) = live.codex_home.as_ref().filter(|_| plain) else {
        return;
    };
    let dir = home.join("generated_images").join(thread_id);
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => tracing::debug!(dir = %dir.display(), "removed Codex's copy of the image"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "cannot remove Codex's copy of the image: {e}")
        }
    }
}
