//! One error type for the harness.
//!
//! The backend and the helpers fail only while a test sets up (a port that cannot be bound, npm
//! missing, a folder that cannot be written), so a message with context is all a test needs.

use std::fmt;

/// What went wrong while setting up the backend, a login or a Codex install.
#[derive(Debug)]
pub struct Error(String);

/// The harness's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub(crate) fn context(what: &str, err: impl fmt::Display) -> Self {
        Self(format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
