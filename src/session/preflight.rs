//! The preflight checks: every check a generation depends on, run without spending quota, into the
//! [`PreflightReport`] that `codex-img doctor` prints and a host shows before offering image
//! generation.
//!
//! Checks run in order and stop at the first that makes the rest meaningless (no binary, an old version,
//! a process that will not start); each failed check carries the error a generation would give and the
//! exact fix.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::request::AccountRateLimitsRead;
use crate::protocol::{Account, GetAccountRateLimitsResponse};
use crate::session::config::Config;
use crate::session::limit;
use crate::session::live::Live;
use crate::session::login::{account_kind, AccountCheck};
use crate::session::manager::Manager;
use crate::session::version;
use crate::types::error::Error;
use crate::types::preflight::{AppServerState, CheckName, PreflightReport, Status, Window};

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
    if let Some(known) = manager.limit.holding(limit::now_unix()) {
        report.fail(
            CheckName::KnownLimit,
            // The limit itself, not a refusal: doctor refused nothing, and `fix` names the option.
            Error::UsageLimit {
                limit_id: known.limit_id,
                resets_at: Some(known.resets_at),
                message: String::new(),
                refused_locally: false,
            },
            "wait for the reset, or send the request with ignore_known_usage_limit",
        );
    }
    report
}

/// The checks after `binary`, in the order they run: each later one needs the earlier ones to pass.
const AFTER_BINARY: [CheckName; 6] = [
    CheckName::Version,
    CheckName::AppServer,
    CheckName::Login,
    CheckName::ImageGeneration,
    CheckName::Backend,
    CheckName::Quota,
];

async fn checks(manager: &Arc<Manager>) -> PreflightReport {
    let config = manager.config();
    let mut report = PreflightReport {
        binary: resolve_binary(config),
        version: None,
        previous_version: None,
        min_version: config.min_version.to_string(),
        login: None,
        plan: None,
        image_generation: None,
        app_server: None,
        rate_limits: Vec::new(),
        checks: Vec::new(),
        blocking: None,
    };
    match &report.binary {
        Some(path) => report.push(CheckName::Binary, Status::Pass, path.display().to_string()),
        None => {
            let detail = crate::session::spawn::not_found_detail(&config.codex_bin);
            report.fail(CheckName::Binary, Error::CodexMissing { detail }, INSTALL);
            report.skip_rest(&AFTER_BINARY);
            return report;
        }
    }
    // Held to the end: the process is in use while it is checked, so no recycle stops it meanwhile.
    crate::session::upkeep::ensure(manager);
    let (active, started_now) = match manager.acquire(|| {}).await {
        Ok((active, start)) => (active, start.is_some()),
        Err(e) => {
            not_started(&mut report, e);
            // The last version that ran, when the one found now differs (or cannot run at all).
            let (_, last) = manager.versions();
            changed(&mut report, last.map(|v| v.to_string()));
            return report;
        }
    };
    let live = active.live().clone();
    started(&mut report, &live, config);
    let state = AppServerState {
        images: live.made(),
        tree_rss_bytes: live.tree_rss(),
        recycles: manager.recycler.count(),
    };
    if let Some(check) = report.check_mut(CheckName::AppServer) {
        check.detail.push_str(&running_for(&state));
    }
    report.app_server = Some(state);
    changed(&mut report, manager.versions().0.map(|v| v.to_string()));
    if !started_now {
        // A process started by this check was just probed and gated: nothing can differ yet.
        installed_now(&mut report, &live, config).await;
    }
    let signed_in = login(&mut report, &live);
    image_generation(&mut report, &live);
    if live.account.blocking_error().is_some() {
        // The next check or request starts a process that reads the login afresh.
        manager.retire(&live).await;
    }
    backend_and_quota(&mut report, manager, &live, signed_in).await;
    report
}

/// What a long-running codex-img's process has done so far, for the `app_server` check.
fn running_for(state: &AppServerState) -> String {
    let mut text = format!("; {} images made on it", state.images);
    if let Some(bytes) = state.tree_rss_bytes {
        text.push_str(&format!(
            ", its process tree holds {} MiB",
            bytes / (1024 * 1024)
        ));
    }
    if state.recycles > 0 {
        text.push_str(&format!(
            "; {} idle app-servers replaced so far",
            state.recycles
        ));
    }
    text
}

/// Codex changed while codex-img ran: `before` ran until now, and the `version` check says so.
fn changed(report: &mut PreflightReport, before: Option<String>) {
    let Some(before) = before.filter(|b| report.version.as_ref() != Some(b)) else {
        return;
    };
    if let Some(check) = report.check_mut(CheckName::Version) {
        check.detail.push_str(&format!(
            "; Codex changed while codex-img ran: {before} ran before"
        ));
    }
    report.previous_version = Some(before);
}

/// The Codex installed now, when it is not what the running process runs: an upgrade, a downgrade or a
/// removal underneath a long-running codex-img, which the next process (after a recycle, an idle exit,
/// a crash) will meet. The running process keeps working meanwhile, so only a warning.
async fn installed_now(report: &mut PreflightReport, live: &Live, config: &Config) {
    let now = match version::probe(config, Duration::from_secs(15)).await {
        Ok(now) if now == live.version => return,
        found => found.and_then(|now| version::check(&now, config).map(|()| now)),
    };
    let (status, note) = match now {
        Ok(now) => (
            None,
            format!("; Codex {now} is installed now, and the next app-server will run it"),
        ),
        Err(e) => (
            Some(Status::Warn),
            format!("; the Codex installed now will not run ({e}); the running app-server works until it is replaced"),
        ),
    };
    if let Some(check) = report.check_mut(CheckName::Version) {
        check.detail.push_str(&note);
        if let Some(status) = status {
            check.status = status;
        }
    }
}

/// The app-server did not start: which check that fails, its fix, and the checks it leaves unrun.
fn not_started(report: &mut PreflightReport, e: Error) {
    let (name, fix, rest) = match &e {
        Error::CodexMissing { .. } => (CheckName::Binary, INSTALL.to_owned(), &AFTER_BINARY[..]),
        Error::UnsupportedVersion { found, .. } => {
            report.version = Some(found.clone());
            (CheckName::Version, UPDATE.to_owned(), &AFTER_BINARY[1..])
        }
        Error::VersionNotAllowed { found, allowed } => {
            report.version = Some(found.clone());
            let fix = format!(
                "install an allowed version: `{}@{}`",
                crate::types::error::INSTALL_HINT,
                allowed.first().map_or("<version>", String::as_str)
            );
            (CheckName::Version, fix, &AFTER_BINARY[1..])
        }
        Error::InvalidVersionPolicy { setting, .. } => (
            CheckName::Version,
            format!("set {setting} to a valid value, or unset it"),
            &AFTER_BINARY[1..],
        ),
        Error::ShuttingDown { .. } => {
            report.push(
                CheckName::Version,
                Status::Skipped,
                "not checked: codex-img is shutting down",
            );
            (
                CheckName::AppServer,
                "ask a codex-img that is running (a program builds a new Client)".to_owned(),
                &AFTER_BINARY[2..],
            )
        }
        Error::WorkdirUnavailable { .. } => {
            report.push(CheckName::Version, Status::Pass, "checked");
            (
                CheckName::AppServer,
                "check that TMPDIR exists, is writable and has free space".to_owned(),
                &AFTER_BINARY[2..],
            )
        }
        _ => {
            report.push(CheckName::Version, Status::Pass, "checked");
            (
                CheckName::AppServer,
                "run `codex app-server` by hand to see why it stops; set RUST_LOG=codex_img=debug for its log".to_owned(),
                &AFTER_BINARY[2..],
            )
        }
    };
    report.fail(name, e, fix);
    report.skip_rest(rest);
}

/// `version` and `app_server`, once the process answered.
fn started(report: &mut PreflightReport, live: &Live, config: &Config) {
    report.version = Some(live.version.to_string());
    let newest = crate::session::config::NEWEST_TESTED_VERSION;
    if live.version > newest {
        report.push(
            CheckName::Version,
            Status::Warn,
            format!(
                "{} (newer than {newest}, the newest tested; it should work)",
                live.version
            ),
        );
    } else {
        report.push(
            CheckName::Version,
            Status::Pass,
            format!("{} (at least {})", live.version, config.min_version),
        );
    }
    report.push(
        CheckName::AppServer,
        Status::Pass,
        format!("started and answered ({})", live.user_agent),
    );
}

/// `login` (or `backend`, when the account could not be read). True when signed in with ChatGPT on a
/// release that reads the account from the backend (0.160+), which proves the backend reachable.
fn login(report: &mut PreflightReport, live: &Live) -> bool {
    match &live.account {
        AccountCheck::Failed(detail) => {
            report.push(
                CheckName::Login,
                Status::Skipped,
                "unknown: `account/read` failed",
            );
            report.fail(
                CheckName::Backend,
                Error::BackendUnreachable { detail: detail.clone() },
                "check the network connection (Codex contacts its backend to read the account); then run doctor again",
            );
            false
        }
        AccountCheck::Read(read) => {
            report.login = Some(match &read.account {
                None => "none".to_owned(),
                Some(a) => account_kind(a),
            });
            if let Some(Account::Chatgpt(c)) = &read.account {
                report.plan = Some(c.plan_type.to_string());
                report.push(
                    CheckName::Login,
                    Status::Pass,
                    format!("ChatGPT ({} plan)", c.plan_type),
                );
                return live.version >= semver::Version::new(0, 160, 0);
            }
            if let Some(error) = live.account.blocking_error() {
                let fix = match error {
                    Error::NotSignedIn => LOGIN,
                    _ => SWITCH,
                };
                report.fail(CheckName::Login, error, fix);
            }
            false
        }
    }
}

fn image_generation(report: &mut PreflightReport, live: &Live) {
    match live.image_generation_offered {
        Some(true) => report.push(CheckName::ImageGeneration, Status::Pass, "offered by the model provider"),
        Some(false) => report.fail(
            CheckName::ImageGeneration,
            Error::ImageGenerationUnavailable { reason: "Codex reports that its model provider does not offer image generation".to_owned() },
            "use the OpenAI provider with a ChatGPT login (remove `model_provider` overrides from ~/.codex/config.toml)",
        ),
        None => report.push(CheckName::ImageGeneration, Status::Pass, format!("on by default in Codex {} (this release cannot be asked)", live.version)),
    }
    report.image_generation = live.image_generation_offered;
}

/// `quota` and `backend`, which only a ChatGPT login can check. `reached`: the backend already
/// answered (see [`login`]).
async fn backend_and_quota(
    report: &mut PreflightReport,
    manager: &Manager,
    live: &Live,
    mut reached: bool,
) {
    let already =
        |report: &PreflightReport| report.checks.iter().any(|c| c.name == CheckName::Backend);
    if report.login.as_deref() != Some("chatgpt") {
        if !already(report) {
            let why = "not checked without a ChatGPT login";
            report.push(CheckName::Backend, Status::Skipped, why);
            report.push(CheckName::Quota, Status::Skipped, why);
        }
        return;
    }
    let read = live.conn.request::<AccountRateLimitsRead>(&());
    match tokio::time::timeout(Duration::from_secs(15), read).await {
        Ok(Ok(limits)) => {
            reached = true;
            // A spent window is remembered like a generation's limit. One that is not spent does not
            // clear a known limit: the image tool's own limit may not be among these windows.
            if let Some(spent) = limits.spent() {
                if let Some(at) = spent.resets_at {
                    manager.limit.note(at, spent.limit_id);
                }
            }
            quota(report, &limits);
        }
        Ok(Err(e)) => report.push(CheckName::Quota, Status::Warn, format!("unknown: {e}")),
        Err(_) => report.push(
            CheckName::Quota,
            Status::Warn,
            "unknown: the rate limits were not answered within 15s",
        ),
    }
    if reached {
        report.push(CheckName::Backend, Status::Pass, "reachable");
    } else if !already(report) {
        report.fail(
            CheckName::Backend,
            Error::BackendUnreachable {
                detail: "the rate limits could not be read".to_owned(),
            },
            "check the network connection, then run doctor again",
        );
    }
}

/// The image bucket's id: image generation is metered apart from the model.
const IMAGE_BUCKET: &str = "image_gen";

/// `quota`: every bucket Codex reports, each named, each window with its use. A spent bucket fails the
/// check, named; the image bucket's absence is said, since no other bucket tells whether an image can
/// be made.
fn quota(report: &mut PreflightReport, limits: &GetAccountRateLimitsResponse) {
    let buckets = limits.buckets();
    report.rate_limits = buckets
        .iter()
        .flat_map(|b| {
            [&b.primary, &b.secondary]
                .into_iter()
                .flatten()
                .map(|w| Window {
                    limit_id: b.limit_id.clone(),
                    used_percent: w.used_percent,
                    window_minutes: w.window_duration_mins,
                    resets_at: w.resets_at,
                })
        })
        .collect();
    let mut parts: Vec<String> = buckets
        .iter()
        .filter(|b| b.primary.is_some() || b.secondary.is_some())
        .map(|b| {
            let windows: Vec<String> = [&b.primary, &b.secondary]
                .into_iter()
                .flatten()
                .map(|w| match w.window_duration_mins {
                    Some(m) => format!("{}% of the {} window", w.used_percent, minutes(m)),
                    None => format!("{}% used", w.used_percent),
                })
                .collect();
            format!(
                "{}: {}",
                b.limit_id.as_deref().unwrap_or("main"),
                windows.join(", ")
            )
        })
        .collect();
    if !buckets
        .iter()
        .any(|b| b.limit_id.as_deref() == Some(IMAGE_BUCKET))
    {
        parts.push(format!(
            "no {IMAGE_BUCKET} bucket reported: whether an image can be made shows only when one is asked for"
        ));
    }
    let detail = if report.rate_limits.is_empty() {
        "no usage windows reported".to_owned()
    } else {
        parts.join("; ")
    };
    match limits.spent() {
        Some(spent) => {
            report.fail(
                CheckName::Quota,
                Error::UsageLimit {
                    limit_id: spent.limit_id,
                    resets_at: spent.resets_at,
                    message: "a usage window is at 100%".to_owned(),
                    refused_locally: false,
                },
                "wait for the reset, or upgrade the ChatGPT plan",
            );
            if let Some(check) = report.checks.last_mut() {
                check.detail = format!("{} ({detail})", check.detail);
            }
        }
        None => report.push(CheckName::Quota, Status::Pass, detail),
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
