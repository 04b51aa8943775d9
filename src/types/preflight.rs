//! The shape of a preflight: every check a generation depends on and what each found. The checks
//! themselves run in `session::preflight`; `doctor --json`, the bridge's `codex/doctor` and the MCP
//! `codex_status` tool print this report (wrapped as the `DoctorReport`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::error::Error;

/// Which check a line is, by its stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// `binary`: the `codex` executable.
    Binary,
    /// `version`: its version against the floor (and an allowlist, when set).
    Version,
    /// `app_server`: `codex app-server` starts and answers.
    AppServer,
    /// `login`: signed in with ChatGPT.
    Login,
    /// `image_generation`: the model provider offers image generation.
    ImageGeneration,
    /// `backend`: Codex reaches its backend.
    Backend,
    /// `quota`: the usage windows Codex reports.
    Quota,
    /// `known_limit`: shown only while a usage limit an earlier generation was told about holds.
    KnownLimit,
}

impl CheckName {
    /// The stable name, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Version => "version",
            Self::AppServer => "app_server",
            Self::Login => "login",
            Self::ImageGeneration => "image_generation",
            Self::Backend => "backend",
            Self::Quota => "quota",
            Self::KnownLimit => "known_limit",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so `{:<17}` lines the names up.
        f.pad(self.as_str())
    }
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but worth knowing (for example, little quota left).
    Warn,
    /// A generation would fail; `code` and `fix` say why and what to do.
    Fail,
    /// Not run, because an earlier check failed.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Which check, by its stable name.
    pub name: CheckName,
    /// How it came out.
    pub status: Status,
    /// What was found, for a person.
    pub detail: String,
    /// The error code a generation would fail with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// A usage window as Codex reports it, in its bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// The bucket the window belongs to, as Codex names it: `codex` (the model every turn uses),
    /// `image_gen` (image generation, metered apart), or another; `None` when Codex did not name it.
    pub limit_id: Option<String>,
    /// How much of the window is used, in percent.
    pub used_percent: i32,
    /// The window's length in minutes, when Codex says.
    pub window_minutes: Option<i64>,
    /// When the window resets, as unix seconds, when Codex says.
    pub resets_at: Option<i64>,
}

/// The app-server serving now, as a long-running codex-img sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppServerState {
    /// Images made on this process since it started.
    pub images: u64,
    /// The memory its whole process tree holds, in bytes, where it can be read (Linux).
    pub tree_rss_bytes: Option<u64>,
    /// How many idle app-servers this codex-img replaced so far because they made many images or
    /// grew (see `ClientBuilder::recycle_after_images`).
    pub recycles: u64,
}

/// Every check a generation depends on, run without spending quota, and what they found.
#[derive(Debug, Clone, Serialize)]
pub struct PreflightReport {
    /// The Codex binary found, if any.
    pub binary: Option<PathBuf>,
    /// Its version, if it could be read.
    pub version: Option<String>,
    /// The version that ran before it, when Codex changed while this codex-img ran (an upgrade, a
    /// downgrade, another binary); `None` otherwise.
    pub previous_version: Option<String>,
    /// The oldest Codex release codex-img accepts.
    pub min_version: String,
    /// `chatgpt`, `apiKey`, `none`, or another provider's name.
    pub login: Option<String>,
    /// The ChatGPT plan, when signed in with ChatGPT.
    pub plan: Option<String>,
    /// Whether the model provider offers image generation, when it says.
    pub image_generation: Option<bool>,
    /// The process serving now, once one answered.
    pub app_server: Option<AppServerState>,
    /// The usage windows Codex reports, each with its bucket.
    pub rate_limits: Vec<Window>,
    /// Each check, in the order run.
    pub checks: Vec<Check>,
    /// The first blocking problem, as the error a generation would give.
    #[serde(skip)]
    pub blocking: Option<Arc<Error>>,
}

impl PreflightReport {
    /// True when a generation would not fail on any check.
    pub fn ready(&self) -> bool {
        self.blocking.is_none()
    }

    pub(crate) fn push(&mut self, name: CheckName, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
            code: None,
            fix: None,
        });
    }

    pub(crate) fn fail(&mut self, name: CheckName, error: Error, fix: impl Into<String>) {
        self.checks.push(Check {
            name,
            status: Status::Fail,
            detail: error.to_string(),
            code: Some(error.code()),
            fix: Some(fix.into()),
        });
        if self.blocking.is_none() {
            self.blocking = Some(Arc::new(error));
        }
    }

    /// The check `name`, to add to what it says.
    pub(crate) fn check_mut(&mut self, name: CheckName) -> Option<&mut Check> {
        self.checks.iter_mut().find(|c| c.name == name)
    }

    pub(crate) fn skip_rest(&mut self, names: &[CheckName]) {
        for name in names {
            self.push(
                *name,
                Status::Skipped,
                "not checked: an earlier check failed",
            );
        }
    }
}
