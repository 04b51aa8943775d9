//! What the fault tests share: a really full filesystem, the secrets the fake plants in Codex's errors
//! (none may reach an answer or a log line), and the fake's record of the images it sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pretty_assertions::assert_eq;

use super::{entries, eventually, World};

/// Fragments of the secrets the fake plants (its `error-secrets` scenario and [`STDERR_LINE`]): none
/// may reach an answer or a log line.
pub const PLANTED: &[&str] = &[
    "person@example.com",
    "abcdef0123456789",
    "eyJhbGciOiJIUzI1NiJ9",
    "eyJzdWIiOiIxMjM0NSJ9",
    "sk-proj-0123456789abcdef",
];

/// A stderr line for `FAKE_STDERR_LINE` carrying every planted secret.
pub const STDERR_LINE: &str = "fatal: refresh failed for person@example.com Bearer abcdef0123456789 token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl sk-proj-0123456789abcdef";

/// The error message when the fake, started with [`STDERR_LINE`] and `exit-on-thread-start`, exits:
/// its stderr tail quoted, every secret masked.
pub const EXITED_MESSAGE: &str =
    "the Codex app-server exited (exit status: 5); no turn had started, so no quota was spent: send the request again (a new app-server is started); its last output was:\n\
    fatal: refresh failed for [redacted] Bearer [redacted] token=[redacted] [redacted]\n\
    fatal: refresh failed for [redacted] Bearer [redacted] token=[redacted] [redacted]\n\
    fake-app-server: FAKE_START_FAULT=exit-on-thread-start: exiting with status 5";

/// How long to wait for the fake's record of an image: it writes the record just after the image's
/// line, so an answer built from that line can arrive first.
const RECORD_LAG: Duration = Duration::from_secs(20);

/// The sha256 of every image the fake sent, once at least `count` are recorded (whatever is there after
/// [`RECORD_LAG`] otherwise, so the caller's comparison fails with what was found).
pub fn images_sent(world: &World, count: usize) -> Vec<String> {
    let read = || -> Vec<String> {
        world
            .events("image")
            .iter()
            .map(|e| e["sha256"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    eventually(RECORD_LAG, || {
        let found = read();
        (found.len() >= count).then_some(found)
    })
    .unwrap_or_else(read)
}

/// Whether the fake sent an image with this sha256, waiting up to [`RECORD_LAG`] for its record.
pub fn was_sent(world: &World, sha256: &str) -> bool {
    eventually(RECORD_LAG, || {
        world
            .events("image")
            .iter()
            .any(|e| e["sha256"] == sha256)
            .then_some(())
    })
    .is_some()
}

/// The planted fragments found in `text`.
pub fn secrets_in(text: &str) -> Vec<&'static str> {
    PLANTED
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

/// A face's log (at `RUST_LOG=codex_img=trace`, in the file `log`) carries no planted secret, and the
/// fake's stderr line is in it, masked.
pub fn assert_log_masked(log: &Path) {
    let logged = std::fs::read_to_string(log).expect("log");
    assert_eq!(secrets_in(&logged), Vec::<&str>::new(), "{logged}");
    assert!(
        logged.contains("auth failed for [redacted] with Bearer [redacted]"),
        "the fake's stderr line was logged, masked:\n{logged}"
    );
}

/// A folder on a filesystem that is really full: a 64 KiB tmpfs, filled to `ENOSPC` by one file.
/// Mounting needs root; [`FullFs::mount`] says why when it cannot. Unmounted when dropped.
pub struct FullFs {
    pub dir: PathBuf,
}

impl FullFs {
    /// A full filesystem at `full` in `world`'s folder. Mounting needs root (as CI runs): where it is
    /// refused the test fails and says so; it never passes without the check.
    pub fn under(world: &World) -> Self {
        Self::mount(&world.dir.path().join("full")).unwrap_or_else(|why| {
            panic!("this test needs a full filesystem, and none can be made here ({why}): run the tests as root")
        })
    }

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

/// The `codex-img-*` work folders in `tmp`, sorted.
pub fn work_folders(tmp: &Path) -> Vec<String> {
    entries(tmp)
        .into_iter()
        .filter(|n| n.starts_with("codex-img-"))
        .collect()
}
