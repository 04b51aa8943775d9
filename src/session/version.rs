//! The semver gate: which Codex is installed, whether it is new enough, and whether the process that
//! answered `initialize` is the one that was asked.
//!
//! `codex --version` prints `codex-cli X.Y.Z` (prereleases look like `0.162.0-alpha.15`), and the
//! `initialize` response's user agent is `<client>/<X.Y.Z> (...)`. Versions are compared by semver
//! ordering, never with `VersionReq`, which rejects every prerelease.

use std::time::Duration;

use semver::Version;
use tokio::process::Command;

use crate::error::{Error, Result};
use crate::session::config::{Config, NEWEST_TESTED_VERSION};

/// Parses `codex-cli 0.169.0` (surrounding noise such as a PATH warning line is tolerated).
pub fn parse_cli_version(stdout: &str) -> Option<Version> {
    stdout.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("codex-cli ")?;
        Version::parse(rest.split_whitespace().next()?).ok()
    })
}

/// Parses the version out of an `initialize` user agent: `codex-img/0.169.0 (Linux; ...) ...`.
pub fn parse_user_agent_version(user_agent: &str) -> Option<Version> {
    let first = user_agent.split_whitespace().next()?;
    let (_, version) = first.split_once('/')?;
    Version::parse(version).ok()
}

/// Runs `codex --version` with a deadline, in the environment the app-server will get.
pub async fn probe(config: &Config, timeout: Duration) -> Result<Version> {
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
                detail: crate::session::process::not_found_detail(bin),
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

/// Refuses a version below the floor; warns about one newer than the newest tested.
pub fn gate(found: &Version, floor: &Version) -> Result<()> {
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
