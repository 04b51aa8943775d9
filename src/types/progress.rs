//! Progress events: one per phase of a generation, so a terminal can show a spinner and a host can show
//! where a request is.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// The phases of one generation, in order. `StartingProcess` only appears when no warm process is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for a concurrency slot.
    Queued,
    /// Starting and handshaking a new app-server.
    StartingProcess,
    /// The Codex thread exists; the turn is about to start.
    ThreadStarted,
    /// The turn is running and the image tool is at work.
    Generating,
    /// The image arrived and is being checked.
    ImageReceived,
    /// The image is checked and returned.
    Done,
}

impl Phase {
    /// The phase in `snake_case`, as the CLI and the bridge's `image/progress` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::StartingProcess => "starting_process",
            Self::ThreadStarted => "thread_started",
            Self::Generating => "generating",
            Self::ImageReceived => "image_received",
            Self::Done => "done",
        }
    }
}

/// One progress event: the phase just entered and the time since the request was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The phase just entered.
    pub phase: Phase,
    /// Time since the request was made.
    pub elapsed: Duration,
}

pub(crate) type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;
