//! A load driver for `codex-img serve-stdio` as a separate process: generations one after another, then
//! many at once, every answer checked, and the bridge process's resident memory and open file
//! descriptors read from `/proc` before and after. Shared by the bounded test (`tests/it/load/bridge.rs`)
//! and the long runs (`examples/load.rs` against the fake app-server, `tests/live/examples/load_live.rs`
//! against real Codex). Standard library, `serde_json` and the tests' one wait (`../wait.rs`, with
//! tokio), so every package can include it by path.
#![allow(dead_code)]

// By path, so that the packages that include this file by path get it too (in the integration tests
// it is also `support::wait`: the same source, compiled twice).
#[allow(clippy::duplicate_mod)]
#[path = "../wait.rs"]
mod wait;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};

/// `codex-img serve-stdio` running as a child, its stdout read line by line on a thread.
pub struct BridgeProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    /// The bridge's pid, for `/proc`.
    pub pid: u32,
}

impl BridgeProcess {
    /// Spawns `command` (already given its program, arguments and environment) with piped stdio.
    pub fn spawn(mut command: Command) -> std::io::Result<Self> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| json!({"unparsable": line, "error": e.to_string()}));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Ok(Self {
            pid: child.id(),
            stdin: child.stdin.take(),
            child,
            lines,
        })
    }

    /// Writes one request line.
    pub fn request(&mut self, id: &str, method: &str, params: Value) -> std::io::Result<()> {
        self.write_line(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
    }

    /// Writes one notification line.
    pub fn notify(&mut self, method: &str, params: Value) -> std::io::Result<()> {
        self.write_line(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    fn write_line(&mut self, message: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stdin closed"))?;
        stdin.write_all(&line)?;
        stdin.flush()
    }

    /// Waits for the answers to every id in `ids`, skipping notifications; each answer may take up to
    /// `patience` after the previous one.
    pub fn answers(
        &mut self,
        ids: &[String],
        patience: Duration,
    ) -> Result<HashMap<String, Value>, String> {
        let mut got = HashMap::new();
        while got.len() < ids.len() {
            let value = match self.lines.recv_timeout(patience) {
                Ok(v) => v,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "no answer within {patience:?}; {} of {} answered",
                        got.len(),
                        ids.len()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "the bridge's output ended; {} of {} answered",
                        got.len(),
                        ids.len()
                    ))
                }
            };
            if value.get("unparsable").is_some() {
                return Err(format!("the bridge wrote a line that is not JSON: {value}"));
            }
            if value.get("method").is_some() {
                continue;
            }
            let id = value["id"].as_str().unwrap_or("<no id>").to_owned();
            if !ids.contains(&id) {
                return Err(format!(
                    "an answer to an id never sent or already answered: {value}"
                ));
            }
            got.insert(id, value);
        }
        Ok(got)
    }

    /// Closes stdin and waits up to `within` for the bridge to exit (it is killed after that).
    pub fn close(mut self, within: Duration) -> Result<ExitStatus, String> {
        self.stdin = None;
        exit_within(&mut self.child, within, || {
            format!("the bridge did not exit within {within:?} after stdin closed")
        })
    }
}

/// Waits up to `within` for `child` to exit; after that kills it and fails with `late()`.
pub fn exit_within(
    child: &mut Child,
    within: Duration,
    late: impl FnOnce() -> String,
) -> Result<ExitStatus, String> {
    wait::exit_within(child, within).ok_or_else(late)
}

/// What `/proc` says about a process at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// `VmRSS`, in KiB.
    pub rss_kib: u64,
    /// Entries of `/proc/<pid>/fd`.
    pub fds: usize,
}

/// Reads `pid`'s resident memory and open file descriptors.
pub fn probe(pid: u32) -> Result<Probe, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmRSS in /proc/<pid>/status")?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map_err(|e| e.to_string())?
        .count();
    Ok(Probe { rss_kib, fds })
}

/// [`probe`] once the server has settled: a recycle holds the pipes of two app-servers for a moment
/// (the new one is started before the old one stops), and connections a client closed take a moment
/// to be released. Waits, with a deadline, for the descriptors to come back within 2 of `warm`; a
/// leak never goes, and shows in the figures.
pub fn settled_probe(pid: u32, warm: Probe) -> Result<Probe, String> {
    wait::eventually(Duration::from_secs(15), || match probe(pid) {
        Ok(now) if now.fds > warm.fds + 2 => None,
        _ => Some(()),
    });
    probe(pid)
}

/// The figures of one load run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Generations one after another, and their answers' latencies (sorted).
    pub sequential: usize,
    pub sequential_ms: Vec<f64>,
    /// Generations sent at once, and the time until the last answer.
    pub concurrent: usize,
    pub concurrent_wall_ms: f64,
    /// Every answer that was not a saved image, with its id.
    pub failures: Vec<String>,
    /// After one warm-up generation, after the sequential run, and after the burst.
    pub warm: Probe,
    pub after_sequential: Probe,
    pub after_concurrent: Probe,
}

impl Report {
    /// The latency at quantile `q` (0 to 1) of the sequential run, in ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let xs = &self.sequential_ms;
        if xs.is_empty() {
            return f64::NAN;
        }
        xs[((xs.len() - 1) as f64 * q).round() as usize]
    }

    /// Fails unless the server stayed flat: its open descriptors within 2 of the warm-up's after the
    /// run one after another and after the burst (a leaked pipe, staging file or socket per generation
    /// would show as one per generation), and its resident memory within 16 MiB (far below the
    /// images' worth).
    pub fn assert_flat(&self) {
        let (warm, after) = (self.warm, self.after_sequential);
        assert!(
            after.fds <= warm.fds + 2,
            "open file descriptors grew from {} to {}",
            warm.fds,
            after.fds
        );
        assert!(
            after.rss_kib <= warm.rss_kib + 16 * 1024,
            "resident memory grew from {} KiB to {} KiB",
            warm.rss_kib,
            after.rss_kib
        );
        assert!(
            self.after_concurrent.fds <= warm.fds + 2,
            "descriptors left open after the burst: {} against {}",
            self.after_concurrent.fds,
            warm.fds
        );
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let p = |p: Probe| format!("RSS {:.1} MiB, {} fds", p.rss_kib as f64 / 1024.0, p.fds);
        format!(
            "sequential: {} generations, {} failures, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms\n\
             at once:    {} generations, wall {:.1} ms\n\
             bridge after warm-up:    {}\n\
             bridge after sequential: {}\n\
             bridge after the burst:  {}",
            self.sequential,
            self.failures.len(),
            self.quantile_ms(0.5),
            self.quantile_ms(0.95),
            self.quantile_ms(0.99),
            self.concurrent,
            self.concurrent_wall_ms,
            p(self.warm),
            p(self.after_sequential),
            p(self.after_concurrent),
        )
    }
}

/// Checks one answer: a saved image at `root/<id>.png` with the size and hash the report gives.
fn check(id: &str, answer: &Value, root: &Path) -> Result<(), String> {
    let result = answer
        .get("result")
        .ok_or_else(|| format!("{id}: {}", answer["error"]))?;
    let path = PathBuf::from(result["path"].as_str().unwrap_or_default());
    if path != root.join(format!("{id}.png")) {
        return Err(format!("{id}: saved at {}", path.display()));
    }
    let len = std::fs::metadata(&path)
        .map_err(|e| format!("{id}: {e}"))?
        .len();
    if Some(len) != result["bytes"].as_u64() {
        return Err(format!(
            "{id}: {len} bytes on disk, {} reported",
            result["bytes"]
        ));
    }
    Ok(())
}

fn generate(id: &str, prompt: &str) -> Value {
    json!({"prompt": prompt, "output": format!("{id}.png")})
}

/// `serve-stdio --root root` under load, as a [`faces::Face`]: each generation an `image/generate`
/// saving `root/<id>.png`, checked by `check` (saved at exactly that path).
pub struct BridgeFace<'a> {
    pub bridge: &'a mut BridgeProcess,
    pub root: &'a Path,
}

impl faces::Face for BridgeFace<'_> {
    fn pid(&self) -> u32 {
        self.bridge.pid
    }

    fn start(&mut self, id: &str, prompt: &str) -> Result<(), String> {
        self.bridge
            .request(id, "image/generate", generate(id, prompt))
            .map_err(|e| e.to_string())
    }

    fn finish(
        &mut self,
        ids: &[String],
        patience: Duration,
    ) -> Result<HashMap<String, Result<(), String>>, String> {
        let answers = self.bridge.answers(ids, patience)?;
        Ok(answers
            .iter()
            .map(|(id, answer)| (id.clone(), check(id, answer, self.root)))
            .collect())
    }
}

/// Runs one warm-up generation, `sequential` one after another, then `concurrent` at once, through
/// `bridge` (started with `--root root`); `patience` bounds the wait for each answer.
pub fn run(
    bridge: &mut BridgeProcess,
    root: &Path,
    sequential: usize,
    concurrent: usize,
    patience: Duration,
) -> Result<Report, String> {
    faces::run_face(
        &mut BridgeFace { bridge, root },
        sequential,
        concurrent,
        patience,
    )
}

pub mod faces;
