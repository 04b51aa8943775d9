//! How much memory a process tree holds: the resident set of every process in the app-server's
//! process group (the npm launcher, the real server, its helpers), read from `/proc`. Codex's own
//! memory grows with the threads it has run (measured: about 1 MiB an image), which is why a
//! long-running codex-img replaces an idle process that grew (see `recycle`). Elsewhere than Linux
//! there is no `/proc` to read, and only the image count triggers a recycle.

/// The resident memory of every process in process group `pgid`, in bytes; `None` where it cannot be
/// read.
pub(crate) fn rss_bytes(pgid: i32) -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let page = page_size();
    let mut total = 0u64;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // Processes come and go while the folder is read; one that is gone counts for nothing.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((group, pages)) = group_and_rss(&stat) {
            if group == pgid {
                total += pages * page;
                found = true;
            }
        }
    }
    found.then_some(total)
}

/// The process group and the resident pages of one `/proc/<pid>/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after its closing parenthesis.
fn group_and_rss(stat: &str) -> Option<(i32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) ... rss(24), so pgrp is fields[2] and rss fields[21].
    let group = fields.get(2)?.parse().ok()?;
    let rss = fields.get(21)?.parse().ok()?;
    Some((group, rss))
}

fn page_size() -> u64 {
    #[cfg(unix)]
    {
        rustix::param::page_size() as u64
    }
    #[cfg(not(unix))]
    {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_stat_line_gives_its_group_and_pages_whatever_the_name() {
        let line = "4242 (node (codex) x) S 1 4240 4240 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 11 0 123 1000000 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(group_and_rss(line), Some((4240, 2560)));
        assert_eq!(group_and_rss("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_test_process_has_a_resident_set() {
        let pgid = rustix::process::getpgrp().as_raw_nonzero().get();
        assert!(rss_bytes(pgid).is_some_and(|bytes| bytes > 0));
    }
}
