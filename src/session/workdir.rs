//! The private working folders app-servers run in (`$TMPDIR/codex-img-*`), marked with their owner so
//! that one a killed codex-img left behind can be swept by the next one to start.
//!
//! A folder is normally removed when its process is stopped, but a SIGKILL runs no destructor. Each
//! folder therefore holds an owner mark: the pid, the process's start time (from `/proc/<pid>/stat`, so
//! a pid the kernel has since given to another process is not taken for the owner) and the boot id. A
//! sweep removes a folder only when its mark proves the owner gone; an unmarked folder, one whose mark
//! cannot be read, or one owned by another user is never touched. The liveness check needs `/proc`, so
//! outside Linux nothing is swept.

use std::path::{Path, PathBuf};

/// The prefix of every work folder in the temp dir.
pub(crate) const PREFIX: &str = "codex-img-";
/// The owner mark inside each folder.
pub(crate) const OWNER_FILE: &str = ".codex-img-owner";

/// Who made a folder: enough to tell whether that process still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pid: u32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot, unique per process for one boot.
    start_time: String,
    boot_id: String,
}

impl Owner {
    /// The owner mark of this process; `None` where `/proc` does not say.
    pub(crate) fn current() -> Option<Self> {
        Self::of(std::process::id())
    }

    /// The owner mark of the running process `pid`, as `/proc` tells it.
    pub(crate) fn of(pid: u32) -> Option<Self> {
        Some(Self {
            pid,
            start_time: start_time(pid)?,
            boot_id: boot_id()?,
        })
    }

    fn line(&self) -> String {
        format!("{} {} {}\n", self.pid, self.start_time, self.boot_id)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        let owner = Self {
            pid: words.next()?.parse().ok()?,
            start_time: words.next()?.to_owned(),
            boot_id: words.next()?.to_owned(),
        };
        words.next().is_none().then_some(owner)
    }

    /// Whether this exact process still runs (a zombie does not count: it runs no code).
    fn alive(&self) -> bool {
        boot_id().as_deref() == Some(self.boot_id.as_str())
            && start_time(self.pid).as_deref() == Some(self.start_time.as_str())
    }
}

/// Creates a fresh work folder in `parent`, marked with this process as its owner.
pub(crate) fn create(parent: &Path) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix(PREFIX).tempdir_in(parent)?;
    if let Some(owner) = Owner::current() {
        // Written aside and renamed in, so a sweep never reads half a mark.
        let part = dir.path().join(format!("{OWNER_FILE}.part"));
        std::fs::write(&part, owner.line())?;
        std::fs::rename(&part, dir.path().join(OWNER_FILE))?;
    }
    Ok(dir)
}

/// Removes the work folders in `parent` whose owner is gone, and returns them. Errors are logged and
/// skipped: a sweep is housekeeping and never fails a request.
pub(crate) fn sweep(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) || !stale(&path) {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(folder = %path.display(), "removed a work folder whose owner is gone");
                removed.push(path);
            }
            Err(e) => {
                tracing::warn!(folder = %path.display(), "cannot remove a stale work folder: {e}")
            }
        }
    }
    removed
}

/// A real folder (not a link) of this user, whose owner mark names a process that no longer runs.
fn stale(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_dir() || !mine(&meta) {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path.join(OWNER_FILE)) else {
        return false;
    };
    // Without /proc the owner cannot be checked, so it is presumed alive.
    match (Owner::parse(&text), boot_id()) {
        (Some(owner), Some(_)) => !owner.alive(),
        _ => false,
    }
}

#[cfg(unix)]
fn mine(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    meta.uid() == rustix::process::getuid().as_raw()
}

#[cfg(not(unix))]
fn mine(_: &std::fs::Metadata) -> bool {
    false
}

/// The start time of `pid` from `/proc/<pid>/stat`; `None` when it is gone or a zombie.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; the fields after its last `)` don't.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // `rest` now starts at field 4; the start time is field 22.
    rest.nth(18).map(str::to_owned)
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn folder(parent: &Path, name: &str, mark: Option<&str>) -> PathBuf {
        let dir = parent.join(name);
        std::fs::create_dir_all(dir.join("gen-1")).expect("mkdir");
        if let Some(mark) = mark {
            std::fs::write(dir.join(OWNER_FILE), mark).expect("mark");
        }
        dir
    }

    #[test]
    fn only_folders_whose_owner_is_proven_gone_are_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let me = Owner::current().expect("this process has a /proc entry");
        let boot = boot_id().expect("boot id");
        let live = create(tmp.path()).expect("create");
        let reused = Owner {
            start_time: "1".into(),
            ..me.clone()
        };
        let rebooted = Owner {
            boot_id: "another-boot".into(),
            ..me.clone()
        };
        // A pid above the kernel's pid_max (4194304 at most) can never be running.
        let gone = format!("4194305 123 {boot}\n");
        let cases = [
            ("codex-img-live", Some(me.line()), false),
            ("codex-img-reused-pid", Some(reused.line()), true),
            ("codex-img-other-boot", Some(rebooted.line()), true),
            ("codex-img-gone", Some(gone), true),
            ("codex-img-unmarked", None, false),
            ("codex-img-garbled", Some("12 x".into()), false),
            (
                "not-ours-gone",
                Some(format!("4194305 123 {boot}\n")),
                false,
            ),
        ];
        let mut expected = Vec::new();
        for (name, mark, removed) in &cases {
            let dir = folder(tmp.path(), name, mark.as_deref());
            if *removed {
                expected.push(dir);
            }
        }
        let mut got = sweep(tmp.path());
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let live_name = live
            .path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut want = vec![
            "codex-img-garbled".to_owned(),
            "codex-img-live".to_owned(),
            "codex-img-unmarked".to_owned(),
            live_name,
            "not-ours-gone".to_owned(),
        ];
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn a_fresh_folder_is_marked_with_this_process() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = create(tmp.path()).expect("create");
        let text = std::fs::read_to_string(dir.path().join(OWNER_FILE)).expect("mark");
        assert_eq!(Owner::parse(&text), Owner::current());
        assert!(Owner::parse(&text).is_some_and(|o| o.alive()));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![OWNER_FILE.to_owned()]);
    }

    #[test]
    fn a_link_named_like_a_work_folder_is_never_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let boot = boot_id().expect("boot id");
        let target = folder(
            elsewhere.path(),
            "victim",
            Some(&format!("4194305 1 {boot}\n")),
        );
        std::os::unix::fs::symlink(&target, tmp.path().join("codex-img-link")).expect("link");
        assert_eq!(sweep(tmp.path()), Vec::<PathBuf>::new());
        assert!(target.join("gen-1").is_dir());
    }
}
