//! What the peer hands its callers: the events a thread's subscriber receives, and why a request got
//! no answer. Shared by the transport, which produces them, and the router, which delivers them.

use crate::protocol::{ErrorObject, ServerNotification};

/// What a thread's subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Notification(Box<ServerNotification>),
    /// A line for this connection that could not be read; the generation may be missing a message.
    Invalid {
        detail: String,
        /// The turn an unreadable `turn/completed` names: that turn is over all the same.
        ended_turn: Option<String>,
    },
    /// The app-server is gone.
    Exited,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum RpcError {
    #[error("the app-server answered with error {}: {}", .0.code.0, .0.message)]
    Server(ErrorObject),
    /// The request may have been read: the process went away before it answered.
    #[error("the app-server exited")]
    Exited,
    /// The request was never written whole (stdin closed, or the worker already gone), so the
    /// app-server cannot have acted on it.
    #[error("the request was not sent: the app-server's stdin is closed")]
    NotSent,
    #[error("the app-server's answer could not be read: {0}")]
    Decode(String),
}
