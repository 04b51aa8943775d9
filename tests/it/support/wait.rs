//! The one way the tests wait: poll a check until it holds or a deadline passes. On a loaded machine a
//! fixed sleep is either too short or wasted, so no test sleeps for a result; every wait has a deadline.
//!
//! Standard library and tokio only: the load driver (`load/mod.rs`) includes this file by path too.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How often a check is asked again.
const POLL: Duration = Duration::from_millis(25);

/// Polls `check` until it returns `Some`, or `deadline` passes (then `None`).
pub fn eventually<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(POLL);
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
        tokio::time::sleep(POLL).await;
    }
}

/// [`eventually_async`] for a check that awaits (a question to the client, for example).
pub async fn eventually_await<T, F, Fut>(deadline: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits up to `within` for `child` to exit; after that kills and reaps it, and returns `None`.
pub fn exit_within(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<std::process::ExitStatus> {
    let status = eventually(within, || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// Waits up to `within` for `child` to exit, reading what it writes to its piped stdout and stderr
/// meanwhile; after that kills and reaps it. Its status (`None` when it was killed), stdout and stderr.
pub fn output_within(
    mut child: std::process::Child,
    within: Duration,
) -> (Option<std::process::ExitStatus>, Vec<u8>, Vec<u8>) {
    fn read(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = read(child.stdout.take());
    let stderr = read(child.stderr.take());
    let status = exit_within(&mut child, within);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (status, stdout, stderr)
}
