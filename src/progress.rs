//! Progress events: one per phase of a generation, so a terminal can show a spinner and a host can show
//! where a request is.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// The phases of one generation, in order. `StartingProcess` only appears when no warm process is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Queued,
    StartingProcess,
    ThreadStarted,
    Generating,
    ImageReceived,
    Done,
}

impl Phase {
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
    pub phase: Phase,
    pub elapsed: Duration,
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;
