//! The one error type every face of codex-img reports, with a stable machine-readable code, a message
//! that says what to do next, and whether trying again can help.
//!
//! Codes are `category/name` strings (`runtime/usage_limit`) and never change meaning: scripts, the CLI's
//! `--json` output and the bridge's error `data` all carry them. `retryable` is advice to the caller; codex-img
//! itself only ever retries requests that cannot have started a turn, because every turn spends quota.

use std::path::PathBuf;
use std::time::Duration;

use crate::image::SaveError;

/// The install command named in messages.
pub const INSTALL_HINT: &str = "npm install -g @openai/codex";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the Codex CLI was not found ({detail}); install it with `{INSTALL_HINT}`, or set CODEX_BIN to its path")]
    CodexMissing { detail: String },

    #[error("Codex {found} is older than {floor}, the oldest release codex-img supports; update with `{INSTALL_HINT}@latest`")]
    UnsupportedVersion { found: String, floor: String },

    #[error("Codex is not signed in; run `codex login` and sign in with ChatGPT")]
    NotSignedIn,

    #[error("Codex is signed in with an API key, but image generation needs a ChatGPT login; run `codex logout`, then `codex login` and choose ChatGPT")]
    ApiKeyLogin,

    #[error("image generation is not available: {reason}")]
    ImageGenerationUnavailable { reason: String },

    #[error(
        "Codex could not reach its backend ({detail}); check the network connection and try again"
    )]
    BackendUnreachable { detail: String },

    #[error("invalid prompt: {reason}")]
    InvalidPrompt { reason: String },

    #[error("invalid image {which}: {reason}")]
    InvalidImage { which: String, reason: String },

    #[error("the ChatGPT plan's usage limit is reached{}; wait for the reset or upgrade the plan", reset_phrase(*resets_at))]
    UsageLimit {
        resets_at: Option<i64>,
        message: String,
    },

    #[error("the request was refused: {message}")]
    Refused { message: String },

    #[error("Codex finished without an image: {detail}")]
    NoImage { detail: String },

    #[error("no image after {:.1}s (while {phase}); the turn was interrupted, but whether it spent quota is unknown, so codex-img does not retry it", after.as_secs_f64())]
    Timeout {
        after: Duration,
        phase: &'static str,
    },

    #[error("the generation was cancelled")]
    Cancelled,

    #[error("the Codex app-server exited{}{}", exit_phrase(status.as_deref()), stderr_phrase(stderr_tail))]
    AppServerExited {
        status: Option<String>,
        stderr_tail: String,
        turn_started: bool,
    },

    #[error("the Codex app-server is overloaded after {attempts} attempts; try again shortly")]
    Overloaded { attempts: u32 },

    #[error("the Codex app-server sent a message codex-img cannot read: {detail}")]
    InvalidMessage { detail: String },

    #[error("{} already exists; choose another path or ask to overwrite", path.display())]
    OutputExists { path: PathBuf },

    #[error("cannot write to {}: {reason}", path.display())]
    OutputInvalidTarget { path: PathBuf, reason: String },

    #[error("writing {} failed: {source}", path.display())]
    OutputWriteFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The four families of codes, which the CLI maps to distinct exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Preflight,
    Request,
    Runtime,
    Protocol,
    Output,
}

impl Error {
    /// The stable code, such as `runtime/usage_limit`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CodexMissing { .. } => "preflight/codex_missing",
            Self::UnsupportedVersion { .. } => "preflight/unsupported_version",
            Self::NotSignedIn => "preflight/not_signed_in",
            Self::ApiKeyLogin => "preflight/api_key_login",
            Self::ImageGenerationUnavailable { .. } => "preflight/image_generation_unavailable",
            Self::BackendUnreachable { .. } => "preflight/backend_unreachable",
            Self::InvalidPrompt { .. } => "request/invalid_prompt",
            Self::InvalidImage { .. } => "request/invalid_image",
            Self::UsageLimit { .. } => "runtime/usage_limit",
            Self::Refused { .. } => "runtime/refused",
            Self::NoImage { .. } => "runtime/no_image",
            Self::Timeout { .. } => "runtime/timeout",
            Self::Cancelled => "runtime/cancelled",
            Self::AppServerExited { .. } => "runtime/app_server_exited",
            Self::Overloaded { .. } => "runtime/overloaded",
            Self::InvalidMessage { .. } => "protocol/invalid_message",
            Self::OutputExists { .. } => "output/exists",
            Self::OutputInvalidTarget { .. } => "output/invalid_target",
            Self::OutputWriteFailed { .. } => "output/write_failed",
        }
    }

    pub fn category(&self) -> Category {
        match self.code().split('/').next() {
            Some("preflight") => Category::Preflight,
            Some("request") => Category::Request,
            Some("protocol") => Category::Protocol,
            Some("output") => Category::Output,
            _ => Category::Runtime,
        }
    }

    /// Whether the same request may succeed if sent again later, as is. A timeout is never retryable:
    /// its turn may have run and spent quota.
    pub fn retryable(&self) -> bool {
        match self {
            Self::BackendUnreachable { .. } | Self::Overloaded { .. } | Self::NoImage { .. } => {
                true
            }
            Self::AppServerExited { turn_started, .. } => !turn_started,
            _ => false,
        }
    }

    /// When the usage limit resets (unix seconds), if Codex said.
    pub fn resets_at(&self) -> Option<i64> {
        match self {
            Self::UsageLimit { resets_at, .. } => *resets_at,
            _ => None,
        }
    }
}

impl From<SaveError> for Error {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::Exists { path } => Self::OutputExists { path },
            SaveError::InvalidTarget { path, reason } => Self::OutputInvalidTarget { path, reason },
            SaveError::WriteFailed { path, source } => Self::OutputWriteFailed { path, source },
        }
    }
}

fn reset_phrase(resets_at: Option<i64>) -> String {
    match resets_at {
        Some(t) => format!(" until {} (unix time {t})", crate::time::rfc3339(t)),
        None => String::new(),
    }
}

fn exit_phrase(status: Option<&str>) -> String {
    status.map(|s| format!(" ({s})")).unwrap_or_default()
}

fn stderr_phrase(tail: &str) -> String {
    let tail = tail.trim();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its last output was:\n{tail}")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn codes_categories_and_retry_advice() {
        let cases: Vec<(Error, &str, Category, bool)> = vec![
            (
                Error::NotSignedIn,
                "preflight/not_signed_in",
                Category::Preflight,
                false,
            ),
            (
                Error::InvalidPrompt {
                    reason: "empty".into(),
                },
                "request/invalid_prompt",
                Category::Request,
                false,
            ),
            (
                Error::Timeout {
                    after: Duration::from_secs(5),
                    phase: "generating",
                },
                "runtime/timeout",
                Category::Runtime,
                false,
            ),
            (
                Error::Overloaded { attempts: 4 },
                "runtime/overloaded",
                Category::Runtime,
                true,
            ),
            (
                Error::AppServerExited {
                    status: None,
                    stderr_tail: String::new(),
                    turn_started: true,
                },
                "runtime/app_server_exited",
                Category::Runtime,
                false,
            ),
            (
                Error::InvalidMessage { detail: "x".into() },
                "protocol/invalid_message",
                Category::Protocol,
                false,
            ),
            (
                Error::OutputExists {
                    path: "a.png".into(),
                },
                "output/exists",
                Category::Output,
                false,
            ),
        ];
        for (error, code, category, retryable) in cases {
            assert_eq!(
                (error.code(), error.category(), error.retryable()),
                (code, category, retryable)
            );
        }
    }

    #[test]
    fn usage_limit_message_names_the_reset_time() {
        let e = Error::UsageLimit {
            resets_at: Some(1_800_000_000),
            message: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan"
        );
        assert_eq!(e.resets_at(), Some(1_800_000_000));
    }
}
