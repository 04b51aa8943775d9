//! `notifications/progress` for a tool call whose request carried a `progressToken`: one for each phase
//! the library reports, and a heartbeat every few seconds in between, so a client that resets its
//! timeout on progress keeps waiting through a 30–140 s image.
//!
//! The library calls its progress callback on its own tasks, so the callback only queues the event; a
//! task of the call's own sends the notifications. The call awaits that task before it returns its
//! result, so every progress notification precedes the result, and none follows it.
//!
//! Each notification's `progress` is a counter (1, 2, 3, ...), which always increases as the
//! protocol requires; `message` is `<phase>: <what is happening> (<seconds>s)`, the phase being one of
//! `queued`, `starting_process`, `thread_started`, `generating`, `image_received`, `done`.

use std::time::{Duration, Instant};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::types::progress::{Phase, Progress};

/// How often a heartbeat is sent while no phase changes.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(5);

/// The sending side of one call's progress.
pub(crate) struct Notifier {
    finish: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Starts notifying `peer` for `token`; returns the callback for the library and the notifier.
pub(crate) fn start(
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
) -> (impl Fn(Progress) + Send + Sync + 'static, Notifier) {
    let (events, received) = mpsc::unbounded_channel::<Progress>();
    let callback = move |p: Progress| {
        // The receiver is gone only once the call has ended; then nobody wants the event.
        let _ = events.send(p);
    };
    let Some(token) = token else {
        return (
            callback,
            Notifier {
                finish: None,
                task: None,
            },
        );
    };
    let (finish, finished) = oneshot::channel();
    let task = tokio::spawn(run(peer, token, received, finished));
    (
        callback,
        Notifier {
            finish: Some(finish),
            task: Some(task),
        },
    )
}

impl Notifier {
    /// Sends what is still queued, then stops. Call it after the work, before answering.
    pub(crate) async fn finish(mut self) {
        if let Some(finish) = self.finish.take() {
            let _ = finish.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Notifier {
    /// A call that is cancelled sends nothing more.
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn run(
    peer: Peer<RoleServer>,
    token: ProgressToken,
    mut events: mpsc::UnboundedReceiver<Progress>,
    mut finished: oneshot::Receiver<()>,
) {
    let started = Instant::now();
    let mut count = 0u32;
    let mut phase = Phase::Queued;
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut send = |phase: Phase, elapsed: Duration| {
        count += 1;
        let message = format!(
            "{}: {} ({:.1}s)",
            phase.as_str(),
            describe(phase),
            elapsed.as_secs_f64()
        );
        ProgressNotificationParam::new(token.clone(), f64::from(count)).with_message(message)
    };
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(p) => {
                    phase = p.phase;
                    heartbeat.reset();
                    notify(&peer, send(p.phase, p.elapsed)).await;
                }
                None => return,
            },
            _ = heartbeat.tick() => notify(&peer, send(phase, started.elapsed())).await,
            _ = &mut finished => {
                while let Ok(p) = events.try_recv() {
                    notify(&peer, send(p.phase, p.elapsed)).await;
                }
                return;
            }
        }
    }
}

async fn notify(peer: &Peer<RoleServer>, param: ProgressNotificationParam) {
    if let Err(e) = peer.notify_progress(param).await {
        tracing::debug!("a progress notification could not be sent: {e}");
    }
}

/// What a phase means, for the notification's message.
fn describe(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued => "waiting for a free slot",
        Phase::StartingProcess => "starting the Codex app-server",
        Phase::ThreadStarted => "Codex thread started",
        Phase::Generating => "generating the image",
        Phase::ImageReceived => "image received, checking it",
        Phase::Done => "done",
    }
}
