//! The peer's child process: how it is started on pipes, how its stderr is kept, and how it is stopped
//! so that nothing outlives it. What it runs, and where, is the caller's (`session::spawn` builds the
//! `codex app-server` command).
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
use tokio::sync::watch;

const TAIL_LINES: usize = 40;
const TAIL_LINE_BYTES: usize = 1024;
/// How long an exit's error waits for the last lines of stderr.
pub(crate) const STDERR_SETTLE: Duration = Duration::from_millis(250);

/// How long an exited process's status may take to be reported after its pipes closed.
const EXIT_SETTLE: Duration = Duration::from_millis(500);

/// The last lines the child wrote to stderr, and whether its stderr has ended.
#[derive(Debug, Clone)]
pub(crate) struct StderrTail(Arc<Tail>);

#[derive(Debug)]
struct Tail {
    lines: Mutex<VecDeque<String>>,
    /// Set once the reader saw the end of stderr: every line is in `lines`.
    ended: watch::Sender<bool>,
}

impl Default for StderrTail {
    fn default() -> Self {
        Self(Arc::new(Tail {
            lines: Mutex::default(),
            ended: watch::Sender::new(false),
        }))
    }
}

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
        if let Ok(mut tail) = self.0.lines.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }

    /// Waits, at most `within`, until the child's stderr has ended, so a message about its exit quotes
    /// its last words. Helpers that outlive it may hold stderr open; hence the bound.
    pub(crate) async fn settled(&self, within: Duration) {
        let mut ended = self.0.ended.subscribe();
        let _ = tokio::time::timeout(within, ended.wait_for(|ended| *ended)).await;
    }

    pub(crate) fn text(&self) -> String {
        self.0
            .lines
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }
}

/// A running child, its stderr tail, and what must live exactly as long as it (its working folder).
pub(crate) struct ChildProcess {
    child: Child,
    pgid: Option<i32>,
    tail: StderrTail,
    /// Dropped after the group is signalled: the caller's working folder, removed only once no process
    /// of the group can still be using it.
    _keep: Box<dyn Send + Sync>,
    /// Set once the group was swept, so `Drop` never signals a process-group id that may be reused.
    stopped: bool,
}

impl std::fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildProcess")
            .field("pgid", &self.pgid)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// The pipes of a freshly spawned process, handed to the transport.
pub(crate) struct Spawned {
    pub process: ChildProcess,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
}

/// Starts `cmd` on pipes, leading its own process group, its stderr kept in a tail and logged under
/// `codex_img::app_server`; `keep` is dropped only after the process and its group are gone.
pub(crate) fn start(
    mut cmd: Command,
    shown: &str,
    keep: Box<dyn Send + Sync>,
) -> std::io::Result<Spawned> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn()?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(std::io::Error::other("the child's pipes were not created"));
    };
    let tail = StderrTail::default();
    let sink = tail.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink.push(&line);
            tracing::debug!(target: "codex_img::app_server", "{}", redact(&line));
        }
        sink.0.ended.send_replace(true);
    });
    tracing::info!(pid, bin = %shown, "started codex app-server");
    Ok(Spawned {
        process: ChildProcess {
            child,
            pgid: pid,
            tail,
            _keep: keep,
            stopped: false,
        },
        stdin,
        stdout,
    })
}

impl ChildProcess {
    pub(crate) fn tail(&self) -> StderrTail {
        self.tail.clone()
    }

    pub(crate) fn pid(&self) -> Option<i32> {
        self.pgid
    }

    /// The exit status, if the process has ended.
    pub(crate) fn exit_status(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|s| s.to_string())
    }

    /// The exit status of a process whose pipes closed, waiting at most [`EXIT_SETTLE`] for it: a
    /// process closes its pipes a moment before the kernel reports it exited.
    pub(crate) async fn exit_status_settled(&mut self) -> Option<String> {
        match tokio::time::timeout(EXIT_SETTLE, self.child.wait()).await {
            Ok(Ok(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Waits for the process to end after its stdin was closed; after `grace`, terminates the group,
    /// then kills it. Helpers left in the group are killed too, even when the leader exited cleanly.
    pub(crate) async fn shutdown(mut self, grace: Duration) {
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

impl Drop for ChildProcess {
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
