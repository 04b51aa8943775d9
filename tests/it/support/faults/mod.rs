//! Shared support for the fault tests (`tests/faults_*.rs`): one `eventually` helper instead of sleeps,
//! a really full filesystem, and checks made through the OS (pids in /proc, files left on disk).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or `deadline` passes (then `None`). The only way these tests
/// wait: on a loaded machine a fixed sleep is either too short or wasted.
pub fn eventually<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// [`eventually`] for async tests: polls without blocking the runtime.
pub async fn eventually_async<T>(
    deadline: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if tokio::time::Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A folder on a filesystem that is really full: a 64 KiB tmpfs, filled to `ENOSPC` by one file.
/// Mounting needs root; [`FullFs::mount`] says why when it cannot. Unmounted when dropped.
pub struct FullFs {
    pub dir: PathBuf,
}

impl FullFs {
    /// Mounts and fills it at `dir` (created). `Err` says why a full filesystem is not available here.
    pub fn mount(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount could not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs was refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let fs = Self {
            dir: dir.to_path_buf(),
        };
        fs.fill()?;
        Ok(fs)
    }

    fn fill(&self) -> Result<(), String> {
        use std::io::Write as _;
        let mut filler =
            std::fs::File::create(self.dir.join("filler")).map_err(|e| e.to_string())?;
        let block = [0u8; 4096];
        loop {
            match filler.write_all(&block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => return Err(format!("filling the tmpfs: {e}")),
            }
        }
        // Make sure the last partial block is taken too.
        let _ = filler.write_all(&[0u8; 1]);
        let _ = filler.sync_all();
        Ok(())
    }

    /// Every entry of the folder but the filler: what a save left behind.
    pub fn left_behind(&self) -> Vec<String> {
        entries(&self.dir)
            .into_iter()
            .filter(|n| n != "filler")
            .collect()
    }
}

impl Drop for FullFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

/// The names in `dir`, sorted; empty when it cannot be read.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Lowercase hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// `codex-img serve-stdio` as a real child process, read on a thread so every wait has a deadline.
pub struct Serve {
    pub child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<serde_json::Value>,
    pending: Vec<serde_json::Value>,
}

impl Serve {
    /// Starts `serve-stdio` on the fake Codex of `world`, with `env` on top; stderr goes to `stderr`.
    pub fn spawn(
        bin: &str,
        world: &crate::support::World,
        env: &[(&str, &std::ffi::OsStr)],
        stderr: std::process::Stdio,
    ) -> Self {
        Self::spawn_face(
            bin,
            &[std::ffi::OsStr::new("serve-stdio")],
            world,
            env,
            stderr,
        )
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    /// Sends a request without waiting for its answer.
    pub fn send(&mut self, id: serde_json::Value, method: &str, params: serde_json::Value) {
        use std::io::Write as _;
        let request =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{request}").expect("write a request");
        stdin.flush().expect("flush");
    }

    /// The answer to `id` (result or error) within `deadline`; `None` if none came (or output ended).
    pub fn answer(
        &mut self,
        id: &serde_json::Value,
        deadline: Duration,
    ) -> Option<serde_json::Value> {
        let is_answer = |v: &serde_json::Value| {
            &v["id"] == id && (v.get("result").is_some() || v.get("error").is_some())
        };
        if let Some(pos) = self.pending.iter().position(is_answer) {
            return Some(self.pending.remove(pos));
        }
        let until = Instant::now() + deadline;
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            let v = self.lines.recv_timeout(left).ok()?;
            if is_answer(&v) {
                return Some(v);
            }
            self.pending.push(v);
        }
    }

    /// Sends a request and waits up to a minute for its answer.
    pub fn ask(
        &mut self,
        id: serde_json::Value,
        method: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        self.send(id.clone(), method, params);
        self.answer(&id, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("no answer to {id} within a minute"))
    }

    /// Every line received so far that was not an answer asked for (progress notifications...).
    pub fn others(&mut self) -> Vec<serde_json::Value> {
        while let Ok(v) = self.lines.try_recv() {
            self.pending.push(v);
        }
        self.pending.clone()
    }

    /// Closes stdin and waits up to `deadline` for the process to exit; its status, or `None`.
    pub fn close(&mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        self.stdin = None;
        self.wait(deadline)
    }

    /// Waits up to `deadline` for the process to exit.
    pub fn wait(&mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        eventually(deadline, || self.child.try_wait().ok().flatten())
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid this test started and still holds (not yet reaped).
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.pid());
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `codex-img-*` work folders in `tmp`, sorted.
pub fn work_folders(tmp: &Path) -> Vec<String> {
    entries(tmp)
        .into_iter()
        .filter(|n| n.starts_with("codex-img-"))
        .collect()
}

pub mod face;
