//! The `codex app-server` child: how it is started, how its stderr is kept, and how it is stopped so
//! that nothing outlives it.
//!
//! The `codex` on PATH is usually npm's Node launcher, whose child is the real server, which starts
//! helpers of its own. Killing the direct child would leave those running, so the child leads its own
//! process group and every signal goes to the group. Stderr carries only logs: it goes to `tracing` and
//! into a bounded tail that error messages quote; it is never parsed.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::error::{Error, Result};
use crate::session::config::Config;
use crate::session::workdir;

const TAIL_LINES: usize = 40;
const TAIL_LINE_BYTES: usize = 1024;

/// The last lines the child wrote to stderr.
#[derive(Debug, Clone, Default)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

/// Codex's log lines are quoted in error messages; anything shaped like an email address, a JWT or a
/// bearer token is masked first, so no message codex-img prints carries one.
pub(crate) fn redact(line: &str) -> String {
    let mut out = Vec::new();
    let mut after_bearer = false;
    for word in line.split(' ') {
        // `token=eyJ…` keeps its name; only the value is masked.
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (&word[..=name.len()], value),
            None => ("", word),
        };
        let bare = value.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let email = bare
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        let jwt = bare.starts_with("eyJ") && bare.len() > 20;
        let secret = after_bearer || (bare.starts_with("sk-") && bare.len() > 12);
        after_bearer = bare.eq_ignore_ascii_case("bearer");
        out.push(if email || jwt || secret {
            format!("{name}[redacted]")
        } else {
            word.to_owned()
        });
    }
    out.join(" ")
}

impl StderrTail {
    fn push(&self, line: &str) {
        let mut line = redact(line.trim_end());
        if line.len() > TAIL_LINE_BYTES {
            let mut cut = TAIL_LINE_BYTES;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        if let Ok(mut tail) = self.0.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }

    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }
}

/// A running app-server, its private working directory, and its stderr tail.
#[derive(Debug)]
pub struct AppServerProcess {
    child: Child,
    pgid: Option<i32>,
    tail: StderrTail,
    workdir: tempfile::TempDir,
    /// Set once the group was swept, so `Drop` never signals a process-group id that may be reused.
    stopped: bool,
}

/// The pipes of a freshly spawned process, handed to the transport.
pub struct Spawned {
    pub process: AppServerProcess,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
}

pub fn spawn(config: &Config) -> Result<Spawned> {
    // A private, empty working directory: no AGENTS.md or project config is picked up, and staged input
    // images live here under neutral names.
    // It is marked with its owner, and the folders of owners that died without cleaning up (SIGKILL)
    // are swept first.
    let parent = std::env::temp_dir();
    workdir::sweep(&parent);
    let workdir = workdir::create(&parent).map_err(|source| Error::WorkdirUnavailable {
        parent: parent.clone(),
        source,
    })?;
    // The child runs in its private directory, so a relative path to the binary must be made absolute
    // first (a bare name is looked up on PATH as usual).
    let bin = absolute_bin(&config.codex_bin);
    let mut cmd = Command::new(&bin);
    cmd.arg("app-server");
    for o in config.child_overrides() {
        cmd.arg("-c").arg(o);
    }
    cmd.current_dir(workdir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    config.apply_env(&mut cmd);
    #[cfg(unix)]
    cmd.process_group(0);
    let shown = config.codex_bin.to_string_lossy();
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::CodexMissing {
            detail: not_found_detail(&config.codex_bin),
        },
        _ => Error::CodexMissing {
            detail: format!("cannot start `{shown} app-server`: {e}"),
        },
    })?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Error::CodexMissing {
            detail: "the app-server's pipes were not created".to_owned(),
        });
    };
    let tail = StderrTail::default();
    let sink = tail.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink.push(&line);
            tracing::debug!(target: "codex_img::app_server", "{}", redact(&line));
        }
    });
    tracing::info!(pid, bin = %shown, "started codex app-server");
    Ok(Spawned {
        process: AppServerProcess {
            child,
            pgid: pid,
            tail,
            workdir,
            stopped: false,
        },
        stdin,
        stdout,
    })
}

/// Why a binary was not found: a bare name is missing from `PATH`, a path names no file.
pub fn not_found_detail(bin: &std::ffi::OsStr) -> String {
    let shown = bin.to_string_lossy();
    if std::path::Path::new(bin).components().count() > 1 {
        format!("`{shown}` does not exist")
    } else {
        format!("no `{shown}` on PATH")
    }
}

/// `./codex` or `bin/codex` relative to the current directory, made absolute; `codex` stays a name.
pub fn absolute_bin(bin: &std::ffi::OsStr) -> std::path::PathBuf {
    let path = std::path::Path::new(bin);
    if path.is_relative() && path.components().count() > 1 {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(path);
        }
    }
    path.to_path_buf()
}

impl AppServerProcess {
    pub fn tail(&self) -> StderrTail {
        self.tail.clone()
    }

    pub fn workdir(&self) -> &std::path::Path {
        self.workdir.path()
    }

    pub fn pid(&self) -> Option<i32> {
        self.pgid
    }

    /// The exit status, if the process has ended.
    pub fn exit_status(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|s| s.to_string())
    }

    /// Waits for the process to end after its stdin was closed; after `grace`, terminates the group,
    /// then kills it. Helpers left in the group are killed too, even when the leader exited cleanly.
    pub async fn shutdown(mut self, grace: Duration) {
        let exited = tokio::time::timeout(grace, self.child.wait()).await.is_ok();
        if !exited {
            tracing::warn!(
                pid = self.pgid,
                "app-server did not exit after stdin closed; terminating it"
            );
            self.signal_group(Signal::Term);
            if tokio::time::timeout(Duration::from_secs(1), self.child.wait())
                .await
                .is_err()
            {
                self.signal_group(Signal::Kill);
                let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
            }
        }
        // Helpers the server started share its group; a short TERM-then-KILL sweep ends them.
        if self.signal_group(Signal::Term) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.signal_group(Signal::Kill);
        }
        self.stopped = true;
        tracing::info!(pid = self.pgid, "app-server stopped");
    }

    /// Signals the whole group; true if any process was there to receive it.
    fn signal_group(&self, signal: Signal) -> bool {
        #[cfg(unix)]
        if let Some(pgid) = self.pgid.and_then(rustix::process::Pid::from_raw) {
            let sig = match signal {
                Signal::Term => rustix::process::Signal::TERM,
                Signal::Kill => rustix::process::Signal::KILL,
            };
            return rustix::process::kill_process_group(pgid, sig).is_ok();
        }
        #[cfg(not(unix))]
        let _ = signal;
        false
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

impl Drop for AppServerProcess {
    fn drop(&mut self) {
        // `kill_on_drop` reaches only the direct child; the group holds the real server and its helpers.
        if !self.stopped {
            self.signal_group(Signal::Kill);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;
    use pretty_assertions::assert_eq;

    #[test]
    fn secrets_and_addresses_are_masked() {
        assert_eq!(
            redact("login ok for person@example.com (Bearer abc.def) token=eyJhbGciOiJIUzI1NiJ9.payload key sk-test-1234567890"),
            "login ok for [redacted] (Bearer [redacted] token=[redacted] key [redacted]"
        );
        assert_eq!(
            redact("listening on 127.0.0.1:80, retry @ 5s"),
            "listening on 127.0.0.1:80, retry @ 5s"
        );
    }
}
