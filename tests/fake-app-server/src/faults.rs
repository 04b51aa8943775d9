//! Process-level faults, chosen by environment variables, that happen outside any turn: a crash or a
//! hang around the handshake, a slow start, and stderr noise (megabytes of it, or planted secrets).
//! The turn-level faults are scenarios, in `scenario/faults.rs`.

use std::io::Write;
use std::time::Duration;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `FAKE_START_FAULT`: `exit-at-start`, `no-initialize-answer`, `exit-on-thread-start`,
/// `deaf-after-handshake`, `deaf-after-thread-start`. With
/// `FAKE_FAULT_ONCE=<path>` it fires only while that file does not exist (and creates it when it
/// fires), so the next process started is healthy.
pub fn start_fault() -> Option<String> {
    static FAULT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FAULT.get_or_init(decide_fault).clone()
}

/// Decided once per process, so the once-flag is taken by the process that fires.
fn decide_fault() -> Option<String> {
    let fault = var("FAKE_START_FAULT")?;
    if let Some(flag) = var("FAKE_FAULT_ONCE") {
        let fresh = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&flag)
            .is_ok();
        if !fresh {
            return None;
        }
    }
    Some(fault)
}

/// Writes `FAKE_STDERR_LINE` (planted text) and `FAKE_STDERR_BYTES` of log lines to stderr.
pub fn stderr_noise() {
    let mut err = std::io::stderr().lock();
    if let Some(bytes) = var("FAKE_STDERR_BYTES") {
        let total: usize = bytes.parse().unwrap_or_else(|_| {
            panic!("fake-app-server: FAKE_STDERR_BYTES={bytes:?} is not a number")
        });
        let line = format!("{}\n", "x".repeat(99));
        let mut written = 0;
        while written < total {
            if err.write_all(line.as_bytes()).is_err() {
                break;
            }
            written += line.len();
        }
    }
    planted_line();
    let _ = err.flush();
}

/// Writes `FAKE_STDERR_LINE`, if set, as one stderr line.
pub fn planted_line() {
    if let Some(line) = var("FAKE_STDERR_LINE") {
        eprintln!("{line}");
    }
}

/// `deaf-after-handshake` and `deaf-after-thread-start`: on the handshake's last request
/// (`modelProvider/capabilities/read`), or on the first `thread/start`, the process closes its stdin
/// before it answers, and stays alive with stdout open. The client writes nothing while it waits for
/// that answer, so its next write fails, while the process still runs.
pub fn deaf_on(method: &str) -> bool {
    match start_fault().as_deref() {
        Some("deaf-after-handshake") => method == "modelProvider/capabilities/read",
        Some("deaf-after-thread-start") => method == "thread/start",
        _ => false,
    }
}

/// Closes fd 0, so every later write to our stdin fails with a broken pipe.
pub fn stop_reading() {
    use std::os::fd::FromRawFd;
    // SAFETY: fd 0 is our stdin; the caller dropped its reader and nothing reads it again.
    drop(unsafe { std::fs::File::from_raw_fd(0) });
}

/// Runs the start faults that happen before any message is read.
pub fn at_start() {
    stderr_noise();
    if start_fault().as_deref() == Some("exit-at-start") {
        eprintln!("fake-app-server: FAKE_START_FAULT=exit-at-start: exiting with status 4");
        std::process::exit(4);
    }
}

/// What `initialize` does: `None` to answer now (after `FAKE_INIT_DELAY_MS`), `Some(())` never to.
pub fn before_initialize() -> Option<()> {
    if let Some(ms) = var("FAKE_INIT_DELAY_MS").and_then(|v| v.parse().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    (start_fault().as_deref() == Some("no-initialize-answer")).then_some(())
}

/// `exit-on-thread-start`: the process dies once the handshake is done, when a thread is asked for.
pub fn on_thread_start() {
    if start_fault().as_deref() == Some("exit-on-thread-start") {
        planted_line();
        eprintln!("fake-app-server: FAKE_START_FAULT=exit-on-thread-start: exiting with status 5");
        std::process::exit(5);
    }
}
