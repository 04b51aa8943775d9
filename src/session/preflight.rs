//! The preflight report: every check a generation depends on, run without spending quota. It is what
//! `codex-img doctor` prints and what a host shows before offering image generation.
//!
//! Checks run in order and stop at the first that makes the rest meaningless (no binary, an old version,
//! a process that will not start); each failed check carries the error a generation would give and the
//! exact fix.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::protocol::request::AccountRateLimitsRead;
use crate::protocol::{Account, GetAccountRateLimitsResponse};
use crate::session::config::Config;
use crate::session::limit;
use crate::session::login::{account_kind, AccountCheck};
use crate::session::manager::Manager;
use crate::types::error::Error;

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
    /// Stable name: `binary`, `version`, `app_server`, `login`, `image_generation`, `backend`, `quota`,
    /// and, only while one holds, `known_limit` (a usage limit an earlier generation was told about).
    pub name: &'static str,
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

/// A usage window as Codex reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// How much of the window is used, in percent.
    pub used_percent: i32,
    /// The window's length in minutes, when Codex says.
    pub window_minutes: Option<i64>,
    /// When the window resets, as unix seconds, when Codex says.
    pub resets_at: Option<i64>,
}

/// Every check a generation depends on, run without spending quota, and what they found.
#[derive(Debug, Clone, Serialize)]
pub struct PreflightReport {
    /// The Codex binary found, if any.
    pub binary: Option<PathBuf>,
    /// Its version, if it could be read.
    pub version: Option<String>,
    /// The oldest Codex release codex-img accepts.
    pub min_version: String,
    /// `chatgpt`, `apiKey`, `none`, or another provider's name.
    pub login: Option<String>,
    /// The ChatGPT plan, when signed in with ChatGPT.
    pub plan: Option<String>,
    /// Whether the model provider offers image generation, when it says.
    pub image_generation: Option<bool>,
    /// The usage windows Codex reports.
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

    fn push(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
            code: None,
            fix: None,
        });
    }

    fn fail(&mut self, name: &'static str, error: Error, fix: impl Into<String>) {
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

    fn skip_rest(&mut self, names: &[&'static str]) {
        for name in names {
            self.push(
                name,
                Status::Skipped,
                "not checked: an earlier check failed",
            );
        }
    }
}

const INSTALL: &str =
    "install Codex: `npm install -g @openai/codex` (or set CODEX_BIN to its path)";
const UPDATE: &str = "update Codex: `npm install -g @openai/codex@latest`";
const LOGIN: &str = "sign in with ChatGPT: `codex login`";
const SWITCH: &str =
    "switch to a ChatGPT login: `codex logout`, then `codex login` and choose ChatGPT";

pub(crate) async fn run(manager: &Arc<Manager>) -> PreflightReport {
    let mut report = checks(manager).await;
    // Independent of the checks above, and shown only when there is one: a usage limit an earlier
    // generation was told about, which refuses new ones locally until its reset.
    if let Some(at) = manager.limit.until(limit::now_unix()) {
        report.fail(
            "known_limit",
            // The limit itself, not a refusal: doctor refused nothing, and `fix` names the option.
            Error::UsageLimit {
                resets_at: Some(at),
                message: String::new(),
                refused_locally: false,
            },
            "wait for the reset, or send the request with ignore_known_usage_limit",
        );
    }
    report
}

async fn checks(manager: &Arc<Manager>) -> PreflightReport {
    let config = manager.config();
    let mut report = PreflightReport {
        binary: resolve_binary(config),
        version: None,
        min_version: config.min_version.to_string(),
        login: None,
        plan: None,
        image_generation: None,
        rate_limits: Vec::new(),
        checks: Vec::new(),
        blocking: None,
    };
    let later = [
        "version",
        "app_server",
        "login",
        "image_generation",
        "backend",
        "quota",
    ];
    match &report.binary {
        Some(path) => report.push("binary", Status::Pass, path.display().to_string()),
        None => {
            let detail = crate::session::spawn::not_found_detail(&config.codex_bin);
            report.fail("binary", Error::CodexMissing { detail }, INSTALL);
            report.skip_rest(&later);
            return report;
        }
    }
    let (live, _) = match manager.acquire(|| {}).await {
        Ok(ok) => ok,
        Err(e) => {
            let (name, fix, rest) = match &e {
                Error::CodexMissing { .. } => ("binary", INSTALL.to_owned(), &later[..]),
                Error::UnsupportedVersion { found, .. } => {
                    report.version = Some(found.clone());
                    ("version", UPDATE.to_owned(), &later[1..])
                }
                Error::VersionNotAllowed { found, allowed } => {
                    report.version = Some(found.clone());
                    let fix = format!(
                        "install an allowed version: `{}@{}`",
                        crate::types::error::INSTALL_HINT,
                        allowed.first().map_or("<version>", String::as_str)
                    );
                    ("version", fix, &later[1..])
                }
                Error::InvalidVersionPolicy { setting, .. } => (
                    "version",
                    format!("set {setting} to a valid value, or unset it"),
                    &later[1..],
                ),
                Error::ShuttingDown { .. } => {
                    report.push(
                        "version",
                        Status::Skipped,
                        "not checked: codex-img is shutting down",
                    );
                    (
                        "app_server",
                        "ask a codex-img that is running (a program builds a new Client)"
                            .to_owned(),
                        &later[2..],
                    )
                }
                Error::WorkdirUnavailable { .. } => {
                    report.push("version", Status::Pass, "checked");
                    (
                        "app_server",
                        "check that TMPDIR exists, is writable and has free space".to_owned(),
                        &later[2..],
                    )
                }
                _ => {
                    report.push("version", Status::Pass, "checked");
                    ("app_server", "run `codex app-server` by hand to see why it stops; set RUST_LOG=codex_img=debug for its log".to_owned(), &later[2..])
                }
            };
            report.fail(name, e, fix);
            report.skip_rest(rest);
            return report;
        }
    };
    report.version = Some(live.version.to_string());
    let newer = live.version > crate::session::config::NEWEST_TESTED_VERSION;
    report.push(
        "version",
        if newer { Status::Warn } else { Status::Pass },
        if newer {
            format!(
                "{} (newer than {}, the newest tested; it should work)",
                live.version,
                crate::session::config::NEWEST_TESTED_VERSION
            )
        } else {
            format!("{} (at least {})", live.version, config.min_version)
        },
    );
    report.push(
        "app_server",
        Status::Pass,
        format!("started and answered ({})", live.user_agent),
    );

    let mut backend_ok = false;
    match &live.account {
        AccountCheck::Failed(detail) => {
            report.push("login", Status::Skipped, "unknown: `account/read` failed");
            report.fail(
                "backend",
                Error::BackendUnreachable { detail: detail.clone() },
                "check the network connection (Codex contacts its backend to read the account); then run doctor again",
            );
        }
        AccountCheck::Read(read) => {
            report.login = Some(match &read.account {
                None => "none".to_owned(),
                Some(a) => account_kind(a),
            });
            if let Some(Account::Chatgpt(c)) = &read.account {
                report.plan = Some(c.plan_type.to_string());
                report.push(
                    "login",
                    Status::Pass,
                    format!("ChatGPT ({} plan)", c.plan_type),
                );
                backend_ok = live.version >= semver::Version::new(0, 160, 0);
            } else if let Some(error) = live.account.blocking_error() {
                let fix = match error {
                    Error::NotSignedIn => LOGIN,
                    _ => SWITCH,
                };
                report.fail("login", error, fix);
            }
        }
    }
    match live.image_generation_offered {
        Some(true) => report.push("image_generation", Status::Pass, "offered by the model provider"),
        Some(false) => report.fail(
            "image_generation",
            Error::ImageGenerationUnavailable { reason: "Codex reports that its model provider does not offer image generation".to_owned() },
            "use the OpenAI provider with a ChatGPT login (remove `model_provider` overrides from ~/.codex/config.toml)",
        ),
        None => {
            report.image_generation = None;
            report.push("image_generation", Status::Pass, format!("on by default in Codex {} (this release cannot be asked)", live.version));
        }
    }
    report.image_generation = live.image_generation_offered;
    if live.account.blocking_error().is_some() {
        // The next check or request starts a process that reads the login afresh.
        manager.retire(&live).await;
    }

    if report.login.as_deref() == Some("chatgpt") {
        let read = live.conn.request::<AccountRateLimitsRead>(&());
        match tokio::time::timeout(Duration::from_secs(15), read).await {
            Ok(Ok(limits)) => {
                backend_ok = true;
                // A spent window is remembered like a generation's limit. One that is not spent does not
                // clear a known limit: the image tool's own limit may not be among these windows.
                if let Some(Some(at)) = limits.spent() {
                    manager.limit.note(at);
                }
                quota(&mut report, &limits);
            }
            Ok(Err(e)) => report.push("quota", Status::Warn, format!("unknown: {e}")),
            Err(_) => report.push(
                "quota",
                Status::Warn,
                "unknown: the rate limits were not answered within 15s",
            ),
        }
        if backend_ok {
            report.push("backend", Status::Pass, "reachable");
        } else if !report.checks.iter().any(|c| c.name == "backend") {
            report.fail(
                "backend",
                Error::BackendUnreachable {
                    detail: "the rate limits could not be read".to_owned(),
                },
                "check the network connection, then run doctor again",
            );
        }
    } else if !report.checks.iter().any(|c| c.name == "backend") {
        report.push(
            "backend",
            Status::Skipped,
            "not checked without a ChatGPT login",
        );
        report.push(
            "quota",
            Status::Skipped,
            "not checked without a ChatGPT login",
        );
    }
    report
}

fn quota(report: &mut PreflightReport, limits: &GetAccountRateLimitsResponse) {
    report.rate_limits = limits
        .windows()
        .iter()
        .map(|w| Window {
            used_percent: w.used_percent,
            window_minutes: w.window_duration_mins,
            resets_at: w.resets_at,
        })
        .collect();
    if let Some(spent) = limits.spent() {
        report.fail(
            "quota",
            Error::UsageLimit {
                resets_at: spent,
                message: "a usage window is at 100%".to_owned(),
                refused_locally: false,
            },
            "wait for the reset, or upgrade the ChatGPT plan",
        );
    } else {
        let parts: Vec<String> = report
            .rate_limits
            .iter()
            .map(|w| match w.window_minutes {
                Some(m) => format!("{}% of the {} window", w.used_percent, minutes(m)),
                None => format!("{}% used", w.used_percent),
            })
            .collect();
        let detail = if parts.is_empty() {
            "no usage windows reported".to_owned()
        } else {
            parts.join(", ")
        };
        report.push("quota", Status::Pass, detail);
    }
}

fn minutes(m: i64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{}-day", m / 1440),
        m if m % 60 == 0 => format!("{}-hour", m / 60),
        m => format!("{m}-minute"),
    }
}

/// `CODEX_BIN` as given if it names a file, else the first match on `PATH`.
pub(crate) fn resolve_binary(config: &Config) -> Option<PathBuf> {
    let bin = PathBuf::from(&config.codex_bin);
    if bin.components().count() > 1 {
        return bin.is_file().then_some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&bin))
        .find(|p| is_executable(p))
}

fn is_executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    path.is_file()
}
