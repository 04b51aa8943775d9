//! The semver gate: which Codex is installed, whether it is new enough, and whether the process that
//! answered `initialize` is the one that was asked.
//!
//! `codex --version` prints `codex-cli X.Y.Z` (prereleases look like `0.162.0-alpha.15`), and the
//! `initialize` response's user agent is `<client>/<X.Y.Z> (...)`. Versions are compared by semver
//! ordering, never with `VersionReq`, which rejects every prerelease.

use std::time::Duration;

use semver::Version;
use tokio::process::Command;

use crate::session::config::{Config, NEWEST_TESTED_VERSION};
use crate::types::error::{Error, Result};

/// Parses `codex-cli 0.169.0` (surrounding noise such as a PATH warning line is tolerated).
pub(crate) fn parse_cli_version(stdout: &str) -> Option<Version> {
    stdout.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("codex-cli ")?;
        Version::parse(rest.split_whitespace().next()?).ok()
    })
}

/// Parses the version out of an `initialize` user agent: `codex-img/0.169.0 (Linux; ...) ...`.
pub(crate) fn parse_user_agent_version(user_agent: &str) -> Option<Version> {
    let first = user_agent.split_whitespace().next()?;
    let (_, version) = first.split_once('/')?;
    Version::parse(version).ok()
}

/// Runs `codex --version` with a deadline, in the environment the app-server will get.
pub(crate) async fn probe(config: &Config, timeout: Duration) -> Result<Version> {
    let bin = config.codex_bin.as_os_str();
    let shown = bin.to_string_lossy().into_owned();
    let mut cmd = Command::new(bin);
    cmd.arg("--version")
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    config.apply_env(&mut cmd);
    let run = cmd.output();
    let output = match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            return Err(Error::CodexMissing {
                detail: format!(
                    "`{shown} --version` did not answer within {}s",
                    timeout.as_secs()
                ),
            })
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::CodexMissing {
                detail: crate::session::spawn::not_found_detail(bin),
            })
        }
        Ok(Err(e)) => {
            return Err(Error::CodexMissing {
                detail: format!("cannot run `{shown}`: {e}"),
            })
        }
        Ok(Ok(output)) => output,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    parse_cli_version(&stdout).ok_or_else(|| Error::CodexMissing {
        detail: format!(
            "`{shown} --version` printed {:?}, not `codex-cli X.Y.Z` (exit {})",
            stdout.trim(),
            output.status
        ),
    })
}

/// Applies the host's version policy: a setting from the environment that did not parse, a version
/// outside the allowlist, or one below the floor is refused; one newer than the newest tested warns.
pub(crate) fn check(found: &Version, config: &Config) -> Result<()> {
    if let Some((key, why)) = config.version_env_errors.first() {
        return Err(Error::InvalidVersionPolicy {
            setting: (*key).to_owned(),
            reason: why.clone(),
        });
    }
    if let Some(allowed) = &config.allowed_versions {
        if !allowed.contains(found) {
            return Err(Error::VersionNotAllowed {
                found: found.to_string(),
                allowed: allowed.iter().map(Version::to_string).collect(),
            });
        }
    }
    gate(found, &config.min_version)
}

/// Refuses a version below the floor; warns about one newer than the newest tested.
pub(crate) fn gate(found: &Version, floor: &Version) -> Result<()> {
    if found < floor {
        return Err(Error::UnsupportedVersion {
            found: found.to_string(),
            floor: floor.to_string(),
        });
    }
    if found > &NEWEST_TESTED_VERSION {
        tracing::warn!(
            found = %found,
            newest_tested = %NEWEST_TESTED_VERSION,
            "this Codex release is newer than the newest one codex-img was tested with; carrying on"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_cli_and_user_agent_versions() {
        assert_eq!(parse_cli_version("codex-cli 0.169.0\n"), Some(v("0.169.0")));
        assert_eq!(
            parse_cli_version("WARNING: alias\ncodex-cli 0.162.0-alpha.15\n"),
            Some(v("0.162.0-alpha.15"))
        );
        assert_eq!(parse_cli_version("codex 1.0"), None);
        assert_eq!(
            parse_user_agent_version("codex-img/0.122.0 (Linux 6.1; x86_64) unknown"),
            Some(v("0.122.0"))
        );
        assert_eq!(parse_user_agent_version("garbage"), None);
    }

    fn policy(min: Option<&str>, allowed: Option<&str>) -> Config {
        let mut config = Config::default();
        config.version_env_errors.clear();
        config.min_version = min.map_or(crate::session::config::MIN_CODEX_VERSION, v);
        config.allowed_versions = allowed
            .map(|list| crate::session::config::parse_version_list(list).expect("a valid list"));
        config
    }

    fn verdict(found: &str, config: &Config) -> String {
        match check(&v(found), config) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("{}: {e}", e.code()),
        }
    }

    #[test]
    fn the_allowlist_and_the_floor_both_apply() {
        let allow = policy(None, Some("0.169.0, 0.171.0"));
        assert_eq!(verdict("0.169.0", &allow), "ok");
        assert_eq!(verdict("0.171.0", &allow), "ok");
        assert_eq!(
            verdict("0.170.0", &allow),
            "preflight/unsupported_version: Codex 0.170.0 is not one of the versions this host allows (0.169.0, 0.171.0); install one with `npm install -g @openai/codex@0.169.0`, or change CODEX_IMG_ALLOWED_VERSIONS"
        );
        assert!(verdict("0.169.0-alpha.1", &allow).starts_with("preflight/unsupported_version"));
        let raised = policy(Some("0.150.0"), Some("0.140.0,0.160.0"));
        assert!(verdict("0.140.0", &raised)
            .starts_with("preflight/unsupported_version: Codex 0.140.0 is older than 0.150.0"));
        assert_eq!(verdict("0.160.0", &raised), "ok");
        assert!(parse_version_list_error("0.169.0,latest").contains("`latest` is not a version"));
    }

    fn parse_version_list_error(text: &str) -> String {
        crate::session::config::parse_version_list(text).expect_err("invalid")
    }

    #[test]
    fn a_setting_that_does_not_parse_is_refused_by_name() {
        let mut config = policy(None, None);
        config.version_env_errors.push((
            crate::session::config::ALLOWED_VERSIONS_ENV,
            "`latest` is not a version X.Y.Z (unexpected character)".into(),
        ));
        assert_eq!(
            verdict("0.169.0", &config),
            "preflight/invalid_version_policy: CODEX_IMG_ALLOWED_VERSIONS is invalid: `latest` is not a version X.Y.Z (unexpected character); fix or unset it"
        );
    }

    #[test]
    fn gate_orders_prereleases_below_their_release() {
        let floor = v("0.122.0");
        assert!(gate(&v("0.122.0"), &floor).is_ok());
        assert!(gate(&v("0.170.0"), &floor).is_ok());
        for old in ["0.116.0", "0.122.0-alpha.3", "0.40.0"] {
            match gate(&v(old), &floor) {
                Err(Error::UnsupportedVersion { found, floor }) => {
                    assert_eq!((found.as_str(), floor.as_str()), (old, "0.122.0"))
                }
                other => panic!("{old}: {other:?}"),
            }
        }
    }
}
