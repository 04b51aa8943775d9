//! Client configuration: which Codex to run, where its home is, what to pass it, and the limits that
//! keep a long-running host safe (concurrency, deadlines, idle shutdown).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use semver::Version;

/// The oldest Codex release codex-img supports: image generation is on by default from here.
pub(crate) const MIN_CODEX_VERSION: Version = Version::new(0, 122, 0);
/// The newest release codex-img was tested against; newer ones get a warning, not a refusal.
pub(crate) const NEWEST_TESTED_VERSION: Version = Version::new(0, 171, 0);
/// How many generations run at once unless the caller says. There is no documented cap for one login;
/// users report 4 image generations in parallel on a Plus plan succeeding (17-25 s each), and 429s
/// when several processes generate at once even with quota left (see the facts file, "Quota and
/// concurrency"). So 4, the most that is known to work, on the one process codex-img keeps; a 429 or a
/// usage limit stops the queue rather than letting more requests learn it one turn at a time.
pub(crate) const DEFAULT_CONCURRENCY: usize = 4;
/// Threads kept started ahead. One serves a sequential host with no wait: it is replaced while the
/// request's turn runs, and a `thread/start` is far shorter than a turn. The second covers a request
/// that arrives while that refill is still in flight (two at once, or a host that answers at once).
pub(crate) const DEFAULT_POOL_SIZE: usize = 2;
/// A pre-started thread older than this is released and replaced unused, so a request never gets a
/// thread opened under a login or configuration the server has since changed.
pub(crate) const DEFAULT_POOL_REFRESH: Duration = Duration::from_secs(300);
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// An idle process is replaced after this many images: Codex's process tree grows by 0.7 to 1 MiB an
/// image and keeps it (measured on 0.171.0: 266 MiB after 20 images, about 730 MiB after 500, about
/// 930 MiB from 1,000 on; see BENCHMARKS.md, "A server that runs for weeks"), and a new process starts in
/// well under a second. At 100 the tree stays near 300 MiB.
pub(crate) const DEFAULT_RECYCLE_AFTER_IMAGES: u64 = 100;
/// An idle process is replaced when its tree holds more than this, whatever the count (Linux).
pub(crate) const DEFAULT_RECYCLE_ABOVE_BYTES: u64 = 512 * 1024 * 1024;

/// Overrides that keep the app-server's start and every image turn lean: no user MCP servers, and
/// everything the image path does not use switched off (apps and their connector, plugins, tool
/// suggestions, sub-agents, the shell and exec tools, `view_image`, `update_plan`, `request_user_input`,
/// browser and computer use, hooks, web search, memories, analytics, and the environment, permissions,
/// apps and collaboration-mode text in every model request). Short base instructions on
/// `thread/start` (see `params::BASE_INSTRUCTIONS`) complete the lean turn.
///
/// Every key was checked on every release of the live matrix (0.122.0 to 0.171.0): a key a release does
/// not know is ignored by it, and the image tool is still offered and called
/// (`tests/live/tests/live_lean/mod.rs`). No key in this list is unknown to every release, so none
/// makes 0.160+ report "ignoring unrecognized configuration settings" on each thread. Some tools have a
/// key only on later releases: `tools.experimental_request_user_input` from 0.140 (its `_async`
/// variant from 0.165), and `tools.update_plan` and `features.view_image` from 0.150. `apply_patch`
/// has none: it follows the model's `apply_patch_tool_type` in Codex's model catalog, which no config
/// key overrides (`include_apply_patch_tool` and `features.apply_patch_freeform` only add it for a
/// model without one), so the read-only sandbox on every thread is what stops it. The live test keeps
/// that table per release. `features.image_generation` and the `code_mode*` features are left alone:
/// from 0.145 the image tool is offered through code mode. The user's own `-c` overrides come after
/// these and win.
pub(crate) const LEAN_OVERRIDES: &[&str] = &[
    "mcp_servers={}",
    "features.apps=false",
    "features.plugins=false",
    "features.remote_plugin=false",
    "features.tool_suggest=false",
    "features.tool_search=false",
    "features.multi_agent=false",
    "features.multi_agent_v2=false",
    "features.enable_fanout=false",
    "features.request_permissions_tool=false",
    "features.standalone_web_search=false",
    "features.token_budget=false",
    "features.shell_tool=false",
    "features.unified_exec=false",
    "features.shell_snapshot=false",
    "features.view_image=false",
    "features.browser_use=false",
    "features.in_app_browser=false",
    "features.computer_use=false",
    "features.hooks=false",
    "features.codex_hooks=false",
    "features.goals=false",
    "features.guardian_approval=false",
    "features.sleep_tool=false",
    "features.memories=false",
    "features.skill_mcp_dependency_install=false",
    "skills.include_instructions=false",
    "skills.bundled.enabled=false",
    "cloud.skills.enabled=false",
    "tools.experimental_request_user_input.enabled=false",
    "tools.update_plan.enabled=false",
    "analytics.enabled=false",
    "feedback.enabled=false",
    "check_for_update_on_startup=false",
    "web_search=\"disabled\"",
    "include_environment_context=false",
    "include_permissions_instructions=false",
    "include_apps_instructions=false",
    "include_collaboration_mode_instructions=false",
    "project_doc_max_bytes=0",
    "history.persistence=\"none\"",
];

/// Raises (or lowers) the oldest Codex accepted, as `X.Y.Z`.
pub(crate) const MIN_VERSION_ENV: &str = "CODEX_IMG_MIN_VERSION";
/// Restricts the Codex versions accepted to an exact list, `0.169.0,0.171.0`.
pub(crate) const ALLOWED_VERSIONS_ENV: &str = "CODEX_IMG_ALLOWED_VERSIONS";
/// The one override kept when the lean set is switched off: no user MCP servers, which is about
/// safety as much as speed.
pub(crate) const SAFE_OVERRIDES: &[&str] = &["mcp_servers={}"];

/// Environment variables removed from the child, so the paid API path is never taken silently.
pub(crate) const REMOVED_ENV: &[&str] = &["OPENAI_API_KEY", "CODEX_API_KEY"];

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The `codex` executable: `CODEX_BIN`, else `codex` on `PATH`.
    pub codex_bin: OsString,
    /// `CODEX_HOME` for the child; `None` leaves the user's own.
    pub codex_home: Option<PathBuf>,
    /// Extra `-c key=value` overrides.
    pub overrides: Vec<String>,
    /// Extra environment for the child (tests point Codex at a loopback backend this way).
    pub env: Vec<(OsString, OsString)>,
    pub min_version: Version,
    /// When set, only these exact versions are accepted (the floor still applies).
    pub allowed_versions: Option<Vec<Version>>,
    /// Version settings from the environment that did not parse: `(variable, why)`. Reported as
    /// `preflight/invalid_version_policy` before anything starts; a builder setting clears its own.
    pub version_env_errors: Vec<(&'static str, String)>,
    pub concurrency: usize,
    /// Threads started ahead on the warm process; 0 starts each thread on the request's path.
    pub pool_size: usize,
    /// The age at which a pre-started thread is replaced unused.
    pub pool_refresh_after: Duration,
    /// Whether a known usage limit is ignored, so requests reach Codex before its reset time.
    pub ignore_known_usage_limit: bool,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long `initialize` may take on a fresh process.
    pub start_timeout: Duration,
    /// How long a graceful shutdown waits before killing.
    pub shutdown_grace: Duration,
    /// How long to wait for the turn to end after `turn/interrupt`.
    pub interrupt_grace: Duration,
    /// Where an image that cannot be saved as asked is kept (see [`crate::types::recovery`]).
    pub recovery_dir: Option<PathBuf>,
    /// Replace an idle process after this many images; `None` never does.
    pub(crate) recycle_after_images: Option<u64>,
    /// Replace an idle process whose tree holds more than this many bytes; `None` never does.
    pub(crate) recycle_above_bytes: Option<u64>,
    /// Whether the lean set ([`LEAN_OVERRIDES`] and the short base instructions) is sent. On by
    /// default; off only to measure what Codex's defaults cost.
    pub lean: bool,
}

/// A non-empty environment variable.
fn env_value(key: &str) -> Option<String> {
    std::env::var_os(key)
        .map(|v| v.to_string_lossy().trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `0.169.0, 0.171.0` as versions; an error names the entry that is not `X.Y.Z`.
pub(crate) fn parse_version_list(text: &str) -> std::result::Result<Vec<Version>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| Version::parse(v).map_err(|e| format!("`{v}` is not a version X.Y.Z ({e})")))
        .collect()
}

impl Default for Config {
    /// Every setting at its default; nothing is read from the environment (that is
    /// [`Config::from_env`]'s).
    fn default() -> Self {
        Self {
            codex_bin: "codex".into(),
            codex_home: None,
            overrides: Vec::new(),
            env: Vec::new(),
            min_version: MIN_CODEX_VERSION,
            allowed_versions: None,
            version_env_errors: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            pool_size: DEFAULT_POOL_SIZE,
            pool_refresh_after: DEFAULT_POOL_REFRESH,
            ignore_known_usage_limit: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            start_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(2),
            interrupt_grace: Duration::from_secs(3),
            recovery_dir: crate::types::recovery::default_dir(),
            recycle_after_images: Some(DEFAULT_RECYCLE_AFTER_IMAGES),
            recycle_above_bytes: Some(DEFAULT_RECYCLE_ABOVE_BYTES),
            lean: true,
        }
    }
}

impl Config {
    /// The defaults, then what the environment sets: `CODEX_BIN`, `CODEX_HOME`, and a host's version
    /// policy (`CODEX_IMG_MIN_VERSION`, `CODEX_IMG_ALLOWED_VERSIONS`; a value that is not a version is
    /// kept as an error for the first request to report).
    pub(crate) fn from_env() -> Self {
        let mut config = Self::default();
        if let Some(bin) = std::env::var_os("CODEX_BIN").filter(|v| !v.is_empty()) {
            config.codex_bin = bin;
        }
        config.codex_home = std::env::var_os("CODEX_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        match env_value(MIN_VERSION_ENV).map(|v| Version::parse(&v)) {
            Some(Ok(v)) => config.min_version = v,
            Some(Err(e)) => config
                .version_env_errors
                .push((MIN_VERSION_ENV, format!("not a version X.Y.Z ({e})"))),
            None => {}
        }
        match env_value(ALLOWED_VERSIONS_ENV).map(|v| parse_version_list(&v)) {
            Some(Ok(list)) if !list.is_empty() => config.allowed_versions = Some(list),
            Some(Ok(_)) | None => {}
            Some(Err(e)) => config.version_env_errors.push((ALLOWED_VERSIONS_ENV, e)),
        }
        config
    }
}

impl Config {
    /// Where the app-server reads its login from: the configured `CODEX_HOME`, else Codex's default,
    /// `~/.codex`.
    pub(crate) fn login_home(&self) -> Option<PathBuf> {
        self.codex_home.clone().or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".codex"))
        })
    }

    /// The environment every `codex` codex-img runs gets (`--version` and `app-server` alike, so the gate
    /// checks the binary the server will be): API keys removed, `CODEX_HOME` and the extra variables set.
    pub(crate) fn apply_env(&self, cmd: &mut tokio::process::Command) {
        for key in REMOVED_ENV {
            cmd.env_remove(key);
        }
        if let Some(home) = &self.codex_home {
            cmd.env("CODEX_HOME", home);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
    }

    /// The `-c` overrides passed to the child, lean ones first (or only the safe ones when the lean set
    /// is off).
    pub(crate) fn child_overrides(&self) -> Vec<String> {
        let ours = if self.lean {
            LEAN_OVERRIDES
        } else {
            SAFE_OVERRIDES
        };
        ours.iter()
            .map(|s| (*s).to_owned())
            .chain(self.overrides.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_lean_set_comes_first_and_the_users_overrides_win() {
        let config = Config {
            overrides: vec!["features.shell_tool=true".into()],
            ..Config::default()
        };
        let all = config.child_overrides();
        assert_eq!(all.len(), LEAN_OVERRIDES.len() + 1);
        assert_eq!(all[..LEAN_OVERRIDES.len()], *LEAN_OVERRIDES);
        assert_eq!(
            all.last().map(String::as_str),
            Some("features.shell_tool=true")
        );
    }

    #[test]
    fn without_the_lean_set_only_the_safe_overrides_are_sent() {
        let config = Config {
            overrides: vec!["model=\"x\"".into()],
            lean: false,
            ..Config::default()
        };
        assert_eq!(
            config.child_overrides(),
            vec!["mcp_servers={}".to_owned(), "model=\"x\"".to_owned()]
        );
    }
}
