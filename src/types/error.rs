//! The one error type every face of codex-img reports, with a stable machine-readable code, a message
//! that says what to do next, and whether trying again can help.
//!
//! Codes are `category/name` strings (`runtime/usage_limit`) and never change meaning: scripts, the CLI's
//! `--json` output and the bridge's error `data` all carry them. `retryable` is advice to the caller; codex-img
//! itself only ever retries requests that cannot have started a turn, because every turn spends quota.

use std::path::PathBuf;
use std::time::Duration;

use crate::image::SaveError;
use crate::types::options::OptionError;
use crate::types::output::GeneratedImage;
use crate::types::recovery::Recovery;

/// The install command named in messages.
pub(crate) const INSTALL_HINT: &str = "npm install -g @openai/codex";

/// Everything that can go wrong in codex-img, each with a stable [`code`](Error::code).
///
/// New variants may be added (the enum is `#[non_exhaustive]`); a code, once published, never changes
/// meaning. The "Error codes" table in docs/errors.md lists every code, and a test keeps the two in step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `preflight/codex_missing`: the `codex` binary was not found, or could not be started.
    #[error("the Codex CLI was not found ({detail}); install it with `{INSTALL_HINT}`, or set CODEX_BIN to its path")]
    CodexMissing {
        /// What was looked for and why it failed (`no `codex` on PATH`, an OS error).
        detail: String,
    },

    /// `preflight/unsupported_version`: Codex is older than the floor codex-img supports.
    #[error("Codex {found} is older than {floor}, the oldest release codex-img supports; update with `{INSTALL_HINT}@latest`")]
    UnsupportedVersion {
        /// The version Codex reported.
        found: String,
        /// The oldest version accepted.
        floor: String,
    },

    /// `preflight/unsupported_version` too: the host allows only some exact versions, and this is not
    /// one of them.
    #[error("Codex {found} is not one of the versions this host allows ({}); install one with `{INSTALL_HINT}@{}`, or change CODEX_IMG_ALLOWED_VERSIONS", allowed.join(", "), allowed.first().map_or("<version>", String::as_str))]
    VersionNotAllowed {
        /// The version Codex reported.
        found: String,
        /// The versions accepted.
        allowed: Vec<String>,
    },

    /// `preflight/invalid_version_policy`: a version setting from the environment does not parse.
    #[error("{setting} is invalid: {reason}; fix or unset it")]
    InvalidVersionPolicy {
        /// The variable (`CODEX_IMG_MIN_VERSION`, `CODEX_IMG_ALLOWED_VERSIONS`).
        setting: String,
        /// What is wrong with its value.
        reason: String,
    },

    /// `preflight/not_signed_in`: Codex has no login.
    #[error("Codex is not signed in; run `codex login` and sign in with ChatGPT")]
    NotSignedIn,

    /// `preflight/api_key_login`: Codex is signed in with an API key, not ChatGPT.
    #[error("Codex is signed in with an API key, but image generation needs a ChatGPT login; run `codex logout`, then `codex login` and choose ChatGPT")]
    ApiKeyLogin,

    /// `preflight/image_generation_unavailable`: the login or model provider offers no image generation.
    #[error("image generation is not available: {reason}")]
    ImageGenerationUnavailable {
        /// Why, and what to change.
        reason: String,
    },

    /// `preflight/backend_unreachable`: Codex could not reach its backend (read at process start).
    #[error(
        "Codex could not reach its backend ({detail}); check the network connection and try again"
    )]
    BackendUnreachable {
        /// Codex's own account of the failure.
        detail: String,
    },

    /// `request/invalid_prompt`: the prompt is empty, too long or contains a control character.
    #[error("invalid prompt: {reason}")]
    InvalidPrompt {
        /// What is wrong with it.
        reason: String,
    },

    /// `request/invalid_image`: an input or reference image cannot be used.
    #[error("invalid image {which}: {reason}")]
    InvalidImage {
        /// Which image (`input`, `reference 2`), as the caller named it.
        which: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `runtime/usage_limit`: the ChatGPT plan's usage limit is reached.
    #[error("the ChatGPT plan's usage limit{} is reached{}; wait for the reset or upgrade the plan{}", bucket_phrase(limit_id.as_deref()), reset_phrase(*resets_at), known_limit_phrase(*refused_locally))]
    UsageLimit {
        /// The usage bucket that is spent, as Codex names it: `image_gen` (image generation, metered
        /// apart), `codex` (the model every turn uses), or another; `None` when Codex did not say.
        limit_id: Option<String>,
        /// When the limit resets, in unix seconds, if Codex said.
        resets_at: Option<i64>,
        /// Codex's message, as it gave it, or codex-img's when it refused the request itself.
        message: String,
        /// Whether codex-img refused the request itself, without a model request, from a limit Codex
        /// reported earlier; `ignore_known_usage_limit` sends such a request anyway.
        refused_locally: bool,
    },

    /// `runtime/rate_limited`: the backend answered 429, too many requests at once for this login. The
    /// requests still queued behind it fail with it too, without a turn.
    #[error("the ChatGPT backend is limiting how fast this login sends requests (429): {message}; wait a minute, or generate fewer at once (--concurrency)")]
    RateLimited {
        /// Codex's message, as it gave it.
        message: String,
    },

    /// `runtime/refused`: the request was refused (for example by the safety system).
    #[error("the request was refused: {message}")]
    Refused {
        /// The refusal as Codex gave it.
        message: String,
    },

    /// `runtime/no_image`: the turn ended without a usable image.
    #[error("Codex finished without an image: {detail}")]
    NoImage {
        /// How the turn ended instead.
        detail: String,
    },

    /// `runtime/timeout`: no image before the deadline; the turn was interrupted and may have spent quota.
    #[error("no image after {:.1}s (while {phase}); the turn was interrupted, but whether it spent quota is unknown, so codex-img does not retry it", after.as_secs_f64())]
    Timeout {
        /// The deadline that passed.
        after: Duration,
        /// What the generation was doing when it passed (`generating`, `saving`...).
        phase: &'static str,
    },

    /// `runtime/cancelled`: the caller cancelled the generation.
    #[error("the generation was cancelled")]
    Cancelled,

    /// `runtime/shutting_down`: the client is shutting down, or was shut down. A generation in flight had
    /// its turn interrupted; a new one is refused before it starts a process or a turn.
    #[error("{}", shutting_down_phrase(*turn_started))]
    ShuttingDown {
        /// Whether a turn may have started (it was interrupted, and may have spent quota).
        turn_started: bool,
    },

    /// `runtime/thread_lost`: `turn/start` said the thread was gone on every fresh thread tried. Each
    /// refusal came before a turn started, so nothing was spent and the request may be sent again.
    #[error("Codex did not know the thread it had just started, on {attempts} fresh threads in a row ({detail}); no turn was started and nothing was spent, so send the request again")]
    ThreadLost {
        /// How many threads were tried.
        attempts: u32,
        /// Codex's last answer.
        detail: String,
    },

    /// `runtime/app_server_exited`: the app-server process ended under a request.
    #[error("the Codex app-server exited{}; {}{}", exit_phrase(status.as_deref()), exited_phrase(*turn_started), stderr_phrase(stderr_tail))]
    AppServerExited {
        /// The process's exit status (`exit status: 1`, `signal: 9`), when it was collected.
        status: Option<String>,
        /// The last lines it wrote to stderr, with secrets masked.
        stderr_tail: String,
        /// Whether a turn had been started: then it may have spent quota, and is not retryable.
        turn_started: bool,
    },

    /// `runtime/start_timeout`: the app-server started but did not answer `initialize` in time.
    #[error("the Codex app-server did not answer `initialize` within {:.1}s; it is stuck or very slow to start: run `codex app-server` by hand to see why, and set RUST_LOG=codex_img=debug for its log{}", after.as_secs_f64(), stderr_phrase(stderr_tail))]
    StartTimeout {
        /// How long codex-img waited.
        after: Duration,
        /// The last lines it wrote to stderr, with secrets masked.
        stderr_tail: String,
    },

    /// `runtime/workdir_unavailable`: codex-img could not create the private working directory each
    /// app-server runs in.
    #[error("cannot create codex-img's private working directory under {}: {source}; check that TMPDIR exists, is writable and has free space", parent.display())]
    WorkdirUnavailable {
        /// The directory it was to be created in (the temp dir).
        parent: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// `runtime/staging_failed`: the input images could not be copied into the private working
    /// directory that Codex reads them from. Nothing was sent to Codex.
    #[error("cannot stage the input images in codex-img's private working directory ({}): {source}; check that TMPDIR is writable and has free space", path.display())]
    StagingFailed {
        /// The file or folder that could not be written.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// `runtime/overloaded`: the app-server stayed overloaded through every retry of `thread/start`.
    #[error("the Codex app-server is overloaded after {attempts} attempts; try again shortly")]
    Overloaded {
        /// How many times `thread/start` was sent.
        attempts: u32,
    },

    /// `protocol/invalid_message`: Codex sent a message codex-img cannot read.
    #[error("the Codex app-server sent a message codex-img cannot read: {detail}")]
    InvalidMessage {
        /// Which message, and what did not decode.
        detail: String,
    },

    /// `output/exists`: the output file exists and overwriting was not asked for.
    #[error("{} already exists; choose another path or ask to overwrite", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },

    /// `output/invalid_target`: the output path cannot be written as asked.
    #[error("cannot write to {}: {reason}", path.display())]
    OutputInvalidTarget {
        /// The output path.
        path: PathBuf,
        /// Why (a missing directory, a symlink, no file name).
        reason: String,
    },

    /// `output/write_failed`: writing the output file failed.
    #[error("writing {} failed: {source}", path.display())]
    OutputWriteFailed {
        /// The output path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A save that failed after the image was in hand (its code is `source`'s: `output/write_failed`,
    /// `output/exists`...). The image the quota paid for was written to the recovery folder instead,
    /// or, when that failed too, the message says so.
    #[error("{source}; {}", recovery.phrase())]
    NotSaved {
        /// Why the save failed.
        source: Box<Error>,
        /// Where the image went instead.
        recovery: Recovery,
        /// The image itself, when the recovery copy failed too: the last place the paid-for bytes
        /// live, so a face can still hand them to its caller ([`Error::unsaved_image`]).
        unsaved: Option<Box<GeneratedImage>>,
    },
    /// `request/unsupported_format`, `request/format_mismatch`, `request/invalid_option`,
    /// `request/missing_option`, `request/conflicting_options`: the output options cannot be honoured
    /// (see [`OptionError`]); found before any turn.
    #[error(transparent)]
    Option(OptionError),

    /// `output/process_failed`: the image came back, but converting, keying or fitting it failed. The
    /// image was paid for, so it is carried here untouched, and a face that saves keeps it (at `kept`).
    #[error("the image came back, but post-processing it failed: {reason}{}", kept_phrase(kept.as_deref()))]
    ProcessFailed {
        /// What failed.
        reason: String,
        /// The image as Codex returned it.
        image: Box<GeneratedImage>,
        /// Where the untouched image was saved instead, when it was.
        kept: Option<PathBuf>,
    },
}

fn kept_phrase(kept: Option<&std::path::Path>) -> String {
    match kept {
        Some(path) => format!(
            "; the image Codex returned is saved unchanged at {}",
            path.display()
        ),
        None => String::new(),
    }
}

impl From<OptionError> for Error {
    fn from(e: OptionError) -> Self {
        Self::Option(e)
    }
}

/// The families of codes (the part before the `/`), which the CLI maps to distinct exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `preflight/*`: the machine's setup (Codex, its version, its login, its backend).
    Preflight,
    /// `request/*`: the request itself (prompt, images).
    Request,
    /// `runtime/*`: something while running (limits, refusals, timeouts, the process).
    Runtime,
    /// `protocol/*`: a message from Codex that codex-img cannot read.
    Protocol,
    /// `output/*`: saving the image.
    Output,
}

impl Error {
    /// The stable code, such as `runtime/usage_limit`.
    pub fn code(&self) -> &'static str {
        self.classified().1
    }

    /// The family of [`code`](Self::code).
    pub fn category(&self) -> Category {
        self.classified().0
    }

    /// The family and the code, side by side, so they are written once per variant.
    fn classified(&self) -> (Category, &'static str) {
        match self {
            Self::CodexMissing { .. } => (Category::Preflight, "preflight/codex_missing"),
            Self::UnsupportedVersion { .. } | Self::VersionNotAllowed { .. } => {
                (Category::Preflight, "preflight/unsupported_version")
            }
            Self::InvalidVersionPolicy { .. } => {
                (Category::Preflight, "preflight/invalid_version_policy")
            }
            Self::NotSignedIn => (Category::Preflight, "preflight/not_signed_in"),
            Self::ApiKeyLogin => (Category::Preflight, "preflight/api_key_login"),
            Self::ImageGenerationUnavailable { .. } => (
                Category::Preflight,
                "preflight/image_generation_unavailable",
            ),
            Self::BackendUnreachable { .. } => {
                (Category::Preflight, "preflight/backend_unreachable")
            }
            Self::InvalidPrompt { .. } => (Category::Request, "request/invalid_prompt"),
            Self::InvalidImage { .. } => (Category::Request, "request/invalid_image"),
            Self::UsageLimit { .. } => (Category::Runtime, "runtime/usage_limit"),
            Self::RateLimited { .. } => (Category::Runtime, "runtime/rate_limited"),
            Self::Refused { .. } => (Category::Runtime, "runtime/refused"),
            Self::NoImage { .. } => (Category::Runtime, "runtime/no_image"),
            Self::Timeout { .. } => (Category::Runtime, "runtime/timeout"),
            Self::Cancelled => (Category::Runtime, "runtime/cancelled"),
            Self::ShuttingDown { .. } => (Category::Runtime, "runtime/shutting_down"),
            Self::ThreadLost { .. } => (Category::Runtime, "runtime/thread_lost"),
            Self::AppServerExited { .. } => (Category::Runtime, "runtime/app_server_exited"),
            Self::StartTimeout { .. } => (Category::Runtime, "runtime/start_timeout"),
            Self::WorkdirUnavailable { .. } => (Category::Runtime, "runtime/workdir_unavailable"),
            Self::StagingFailed { .. } => (Category::Runtime, "runtime/staging_failed"),
            Self::Overloaded { .. } => (Category::Runtime, "runtime/overloaded"),
            Self::InvalidMessage { .. } => (Category::Protocol, "protocol/invalid_message"),
            Self::OutputExists { .. } => (Category::Output, "output/exists"),
            Self::OutputInvalidTarget { .. } => (Category::Output, "output/invalid_target"),
            Self::OutputWriteFailed { .. } => (Category::Output, "output/write_failed"),
            Self::NotSaved { source, .. } => source.classified(),
            Self::Option(e) => (Category::Request, e.code()),
            Self::ProcessFailed { .. } => (Category::Output, "output/process_failed"),
        }
    }

    /// Whether the same request may succeed if sent again later, as is. A timeout is never retryable:
    /// its turn may have run and spent quota. A start timeout is: no turn was started, and a new
    /// process may answer. A working directory that cannot be made needs the machine fixed first.
    pub fn retryable(&self) -> bool {
        match self {
            Self::BackendUnreachable { .. }
            | Self::Overloaded { .. }
            | Self::RateLimited { .. }
            | Self::NoImage { .. }
            | Self::ThreadLost { .. }
            | Self::StartTimeout { .. } => true,
            Self::AppServerExited { turn_started, .. } => !turn_started,
            Self::NotSaved { source, .. } => source.retryable(),
            _ => false,
        }
    }

    /// The usage bucket a usage limit is in (`image_gen`, `codex`, ...), if Codex said.
    pub fn limit_id(&self) -> Option<&str> {
        match self {
            Self::UsageLimit { limit_id, .. } => limit_id.as_deref(),
            _ => None,
        }
    }

    /// When the usage limit resets (unix seconds), if Codex said.
    pub fn resets_at(&self) -> Option<i64> {
        match self {
            Self::UsageLimit { resets_at, .. } => *resets_at,
            _ => None,
        }
    }

    /// Whether codex-img refused the request itself, without a model request, from a usage limit Codex
    /// reported earlier (see [`Error::UsageLimit`]).
    pub fn refused_locally(&self) -> bool {
        matches!(
            self,
            Self::UsageLimit {
                refused_locally: true,
                ..
            }
        )
    }

    /// Where the image was kept when it could not be saved as asked (see [`Error::NotSaved`]).
    pub fn recovered_path(&self) -> Option<&std::path::Path> {
        match self {
            Self::NotSaved { recovery, .. } => recovery.path(),
            _ => None,
        }
    }

    /// The image that was made and paid for but is on no disk: its save and its recovery copy both
    /// failed ([`Error::NotSaved`]), or its post-processing failed and the original could not be kept
    /// ([`Error::ProcessFailed`]). A face that can carry bytes returns it, so nothing paid for is lost.
    pub fn unsaved_image(&self) -> Option<&GeneratedImage> {
        match self {
            Self::NotSaved {
                unsaved: Some(image),
                ..
            }
            | Self::ProcessFailed {
                image, kept: None, ..
            } => Some(image),
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
        Some(t) => format!(" until {} (unix time {t})", crate::types::time::rfc3339(t)),
        None => String::new(),
    }
}

/// Which bucket is spent, in words a person reads, with Codex's id for a program.
fn bucket_phrase(limit_id: Option<&str>) -> String {
    match limit_id {
        Some("image_gen") => " for image generation (`image_gen`)".to_owned(),
        Some("codex") => " for Codex's model (`codex`, used by every image turn)".to_owned(),
        Some(other) => format!(" (bucket `{other}`)"),
        None => String::new(),
    }
}

/// A refusal from a known limit says so, and how to try anyway: the host cannot tell it from
/// Codex's own answer otherwise.
fn known_limit_phrase(refused_locally: bool) -> &'static str {
    if refused_locally {
        " (codex-img refused this request itself, without a model request, from the limit Codex reported earlier; set ignore_known_usage_limit to try anyway)"
    } else {
        ""
    }
}

fn shutting_down_phrase(turn_started: bool) -> &'static str {
    if turn_started {
        "codex-img is shutting down: the turn was interrupted before its image arrived; whether it spent quota is unknown, so it is not retried"
    } else {
        "codex-img is shutting down and starts no new generation; nothing was sent to Codex and no quota was spent; send the request to a codex-img that is running (a program builds a new Client)"
    }
}

/// What an exit cost, and so what to do: the same request is safe to send again only when no turn started.
fn exited_phrase(turn_started: bool) -> &'static str {
    if turn_started {
        "its turn had started, so it may have spent quota and is not retried; sending it again may spend quota again"
    } else {
        "no turn had started, so no quota was spent: send the request again (a new app-server is started)"
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

/// `Result` with codex-img's [`Error`].
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
    fn a_save_failure_keeps_its_code_and_names_where_the_image_went() {
        let failed = || Error::OutputWriteFailed {
            path: "out/a.png".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        let kept = Error::NotSaved {
            source: Box::new(failed()),
            recovery: Recovery::Saved("/state/recovered/codex-img-abc.png".into()),
            unsaved: None,
        };
        let lost = Error::NotSaved {
            source: Box::new(failed()),
            recovery: Recovery::Failed {
                dir: Some("/state/recovered".into()),
                reason: "Permission denied (os error 13)".into(),
            },
            unsaved: None,
        };
        assert_eq!(
            (kept.code(), kept.category(), kept.retryable()),
            ("output/write_failed", Category::Output, false)
        );
        assert_eq!(
            kept.to_string(),
            "writing out/a.png failed: No space left on device (os error 28); the image was kept at /state/recovered/codex-img-abc.png; move it from there (codex-img never deletes it)"
        );
        assert_eq!(
            kept.recovered_path(),
            Some(std::path::Path::new("/state/recovered/codex-img-abc.png"))
        );
        assert_eq!(
            lost.to_string(),
            "writing out/a.png failed: No space left on device (os error 28); keeping a copy in /state/recovered failed too (Permission denied (os error 13)), so the image was not saved anywhere"
        );
        assert_eq!(lost.recovered_path(), None);
    }

    #[test]
    fn an_exit_says_whether_quota_may_have_been_spent_and_what_to_do() {
        let exited = |turn_started| Error::AppServerExited {
            status: Some("signal: 9".to_owned()),
            stderr_tail: String::new(),
            turn_started,
        };
        assert_eq!(
            [exited(true).to_string(), exited(false).to_string()],
            [
                "the Codex app-server exited (signal: 9); its turn had started, so it may have spent quota and is not retried; sending it again may spend quota again",
                "the Codex app-server exited (signal: 9); no turn had started, so no quota was spent: send the request again (a new app-server is started)",
            ]
        );
    }

    #[test]
    fn usage_limit_message_names_the_reset_time() {
        let e = Error::UsageLimit {
            limit_id: None,
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: false,
        };
        assert_eq!(
            e.to_string(),
            "the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan"
        );
        assert_eq!(e.resets_at(), Some(1_800_000_000));
        // The bucket Codex named, in words and by its id.
        let bucket = |id: &str| Error::UsageLimit {
            limit_id: Some(id.to_owned()),
            resets_at: None,
            message: String::new(),
            refused_locally: false,
        };
        assert_eq!(
            ["image_gen", "codex", "video"].map(|id| bucket(id).to_string()),
            [
                "the ChatGPT plan's usage limit for image generation (`image_gen`) is reached; wait for the reset or upgrade the plan",
                "the ChatGPT plan's usage limit for Codex's model (`codex`, used by every image turn) is reached; wait for the reset or upgrade the plan",
                "the ChatGPT plan's usage limit (bucket `video`) is reached; wait for the reset or upgrade the plan",
            ]
        );
        assert_eq!(bucket("image_gen").limit_id(), Some("image_gen"));
        // A refusal from a limit codex-img already knew says so, and names the option to try anyway.
        let known = Error::UsageLimit {
            limit_id: None,
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: true,
        };
        assert_eq!(
            known.to_string(),
            "the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan (codex-img refused this request itself, without a model request, from the limit Codex reported earlier; set ignore_known_usage_limit to try anyway)"
        );
    }

    fn io() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::PermissionDenied)
    }

    /// One sample of every variant (two where `retryable` depends on a field). The match below stops
    /// compiling when a variant is added, so the docs check cannot miss it.
    fn samples() -> Vec<Error> {
        let all = vec![
            Error::CodexMissing {
                detail: String::new(),
            },
            Error::UnsupportedVersion {
                found: "0.1.0".into(),
                floor: "0.122.0".into(),
            },
            Error::VersionNotAllowed {
                found: "0.170.0".into(),
                allowed: vec!["0.169.0".into()],
            },
            Error::InvalidVersionPolicy {
                setting: "CODEX_IMG_MIN_VERSION".into(),
                reason: String::new(),
            },
            Error::NotSignedIn,
            Error::ApiKeyLogin,
            Error::ImageGenerationUnavailable {
                reason: String::new(),
            },
            Error::BackendUnreachable {
                detail: String::new(),
            },
            Error::InvalidPrompt {
                reason: String::new(),
            },
            Error::InvalidImage {
                which: String::new(),
                reason: String::new(),
            },
            Error::UsageLimit {
                limit_id: None,
                resets_at: None,
                message: String::new(),
                refused_locally: false,
            },
            Error::RateLimited {
                message: String::new(),
            },
            Error::Refused {
                message: String::new(),
            },
            Error::NoImage {
                detail: String::new(),
            },
            Error::Timeout {
                after: Duration::from_secs(1),
                phase: "generating",
            },
            Error::Cancelled,
            Error::ShuttingDown {
                turn_started: false,
            },
            Error::ShuttingDown { turn_started: true },
            Error::ThreadLost {
                attempts: 3,
                detail: String::new(),
            },
            Error::AppServerExited {
                status: None,
                stderr_tail: String::new(),
                turn_started: false,
            },
            Error::AppServerExited {
                status: None,
                stderr_tail: String::new(),
                turn_started: true,
            },
            Error::StartTimeout {
                after: Duration::from_secs(30),
                stderr_tail: String::new(),
            },
            Error::WorkdirUnavailable {
                parent: "/tmp".into(),
                source: io(),
            },
            Error::StagingFailed {
                path: "/tmp/x".into(),
                source: io(),
            },
            Error::Overloaded { attempts: 4 },
            Error::InvalidMessage {
                detail: String::new(),
            },
            Error::OutputExists {
                path: "a.png".into(),
            },
            Error::OutputInvalidTarget {
                path: "a.png".into(),
                reason: String::new(),
            },
            Error::OutputWriteFailed {
                path: "a.png".into(),
                source: io(),
            },
            Error::NotSaved {
                source: Box::new(Error::OutputWriteFailed {
                    path: "a.png".into(),
                    source: io(),
                }),
                recovery: Recovery::Saved("/state/codex-img-a.png".into()),
                unsaved: None,
            },
            Error::Option(OptionError::UnsupportedFormat {
                what: ".gif".into(),
            }),
            Error::Option(OptionError::FormatMismatch {
                format: crate::types::options::OutputFormat::Png,
                extension: "jpg".into(),
            }),
            Error::Option(OptionError::Invalid {
                option: "n",
                reason: String::new(),
            }),
            Error::Option(OptionError::Missing {
                option: "fit",
                needs: "a size",
            }),
            Error::Option(OptionError::Conflict(String::new())),
            Error::ProcessFailed {
                reason: String::new(),
                image: Box::new(crate::types::output::GeneratedImage::sample()),
                kept: None,
            },
        ];
        for e in &all {
            match e {
                Error::CodexMissing { .. }
                | Error::UnsupportedVersion { .. }
                | Error::VersionNotAllowed { .. }
                | Error::InvalidVersionPolicy { .. }
                | Error::NotSignedIn
                | Error::ApiKeyLogin
                | Error::ImageGenerationUnavailable { .. }
                | Error::BackendUnreachable { .. }
                | Error::InvalidPrompt { .. }
                | Error::InvalidImage { .. }
                | Error::UsageLimit { .. }
                | Error::RateLimited { .. }
                | Error::Refused { .. }
                | Error::NoImage { .. }
                | Error::Timeout { .. }
                | Error::Cancelled
                | Error::ShuttingDown { .. }
                | Error::ThreadLost { .. }
                | Error::AppServerExited { .. }
                | Error::StartTimeout { .. }
                | Error::WorkdirUnavailable { .. }
                | Error::StagingFailed { .. }
                | Error::Overloaded { .. }
                | Error::InvalidMessage { .. }
                | Error::OutputExists { .. }
                | Error::OutputInvalidTarget { .. }
                | Error::OutputWriteFailed { .. }
                | Error::NotSaved { .. }
                | Error::Option(_)
                | Error::ProcessFailed { .. } => {}
            }
        }
        all
    }

    fn category_name(category: Category) -> &'static str {
        match category {
            Category::Preflight => "preflight",
            Category::Request => "request",
            Category::Runtime => "runtime",
            Category::Protocol => "protocol",
            Category::Output => "output",
        }
    }

    /// The cells of the table rows in the docs/errors.md section `heading`, up to the next heading.
    fn table(heading: &str) -> Vec<Vec<String>> {
        let readme = include_str!("../../docs/errors.md");
        let start = readme
            .find(&format!("\n## {heading}\n"))
            .unwrap_or_else(|| panic!("docs/errors.md has no section {heading:?}"));
        let body = &readme[start + heading.len() + 5..];
        let body = &body[..body.find("\n## ").unwrap_or(body.len())];
        body.lines()
            .filter(|l| l.starts_with('|'))
            .skip(2) // the header and the |---| line
            .map(|l| {
                l.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_docs_error_table_lists_exactly_the_codes_with_their_retry_advice_and_exit() {
        use std::collections::BTreeMap;
        let samples = samples();
        let mut by_code: BTreeMap<&str, Vec<&Error>> = BTreeMap::new();
        for e in &samples {
            by_code.entry(e.code()).or_default().push(e);
        }
        // The exit of each family, from the "Exit codes" table in docs/errors.md (`| 3 | `preflight/*` |`).
        let exits: BTreeMap<String, String> = table("Exit codes")
            .into_iter()
            .filter_map(|row| {
                let family = row
                    .get(1)?
                    .strip_prefix('`')?
                    .split_once("/*`")?
                    .0
                    .to_owned();
                Some((family, row[0].clone()))
            })
            .collect();
        let rows = table("Error codes");
        let listed: Vec<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            by_code.keys().copied().collect::<Vec<_>>(),
            "docs/errors.md codes vs Error::code"
        );
        for row in &rows {
            let code = row[0].trim_matches('`');
            let errors = &by_code[code];
            let family = category_name(errors[0].category());
            assert_eq!(code.split('/').next(), Some(family), "{code}: category");
            let advice: Vec<bool> = errors.iter().map(|e| e.retryable()).collect();
            let cell = if advice.iter().all(|r| *r) {
                "yes"
            } else if advice.iter().all(|r| !*r) {
                if row[2] == "**never**" {
                    "**never**"
                } else {
                    "no"
                }
            } else {
                "only if no turn had started"
            };
            assert_eq!(
                (row.len(), row[2].as_str(), Some(&row[3])),
                (4, cell, exits.get(family)),
                "{code}: retryable and exit columns"
            );
        }
    }
}
