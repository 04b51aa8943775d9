//! Processes as the OS sees them: whether a pid is alive, waiting for a set of pids to be gone, and
//! finding the processes a test started by a variable in their environment (asked of `/proc`).

use std::ffi::OsStr;
use std::time::Duration;

use super::wait::{eventually, eventually_async};

/// Whether a process with this pid is alive, asked of the OS (a zombie counts as gone).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to `within` for every pid to be gone.
pub async fn all_gone(pids: &[i32], within: Duration) -> bool {
    eventually_async(within, || pids.iter().all(|p| !alive(*p)).then_some(()))
        .await
        .is_some()
}

/// [`all_gone`] for tests that are not async.
pub fn all_gone_blocking(pids: &[i32], within: Duration) -> bool {
    eventually(within, || pids.iter().all(|p| !alive(*p)).then_some(())).is_some()
}

/// Waits up to `within` until a child of this test process has exited whole, so its parent can
/// reap it (asked with `WNOWAIT`, so the library still reaps it itself). A leader shown as a zombie
/// in `/proc` may still have threads exiting, with its pipes open and `waitpid` not yet answering:
/// "killed between requests" means this, not that.
pub async fn exited_whole(pid: i32, within: Duration) -> bool {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return false;
    };
    eventually_async(within, || {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(pid), options) {
            // Exited and waiting to be reaped, or already reaped.
            Ok(Some(_)) | Err(_) => Some(()),
            Ok(None) => None,
        }
    })
    .await
    .is_some()
}

/// Pids of live processes whose environment holds `name=value`, once none is left or `within` passed:
/// the processes a test started and everything they started in turn, found by a variable private to
/// the test (its `CODEX_HOME`, a mark).
pub fn processes_with_env(name: &str, value: &OsStr, within: Duration) -> Vec<i32> {
    let mut entry = format!("{name}=").into_bytes();
    entry.extend_from_slice(value.as_encoded_bytes());
    let find = || -> Vec<i32> {
        std::fs::read_dir("/proc")
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|pid| {
                        std::fs::read(format!("/proc/{pid}/environ"))
                            .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == entry))
                            && alive(*pid)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    eventually(within, || {
        let found = find();
        found.is_empty().then_some(found)
    })
    .unwrap_or_else(find)
}
