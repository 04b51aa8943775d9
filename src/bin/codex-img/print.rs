//! What goes to stdout and stderr besides progress: results, JSON objects, and coded errors with hints.

use std::io::Write as _;

use codex_img::Error;
use codex_img::ErrorReport;

/// Writes to stdout, ignoring a closed pipe (a script that stopped reading is not an error here).
pub fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// One JSON object on one line of stdout.
pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => print_stdout(&format!("{line}\n")),
        Err(e) => eprintln!("codex-img: the result could not be serialized: {e}"),
    }
}

/// `error[<code>]: <message>` on stderr, plus a hint when waiting or retrying can help.
pub fn print_error(error: &Error) {
    let report = ErrorReport::from(error);
    let mut text = format!("error[{}]: {}\n", report.code, report.message);
    if let Some(hint) = hint(&report) {
        text.push_str(&format!("hint: {hint}\n"));
    }
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

fn hint(report: &ErrorReport) -> Option<String> {
    match (report.code, &report.resets_at_text) {
        ("runtime/usage_limit", Some(at)) => Some(format!(
            "the usage limit resets at {at}; codex-img does not retry on its own"
        )),
        ("runtime/usage_limit", None) => Some(
            "wait for the usage window to reset; `codex-img doctor` shows the quota".to_owned(),
        ),
        ("output/exists", _) => Some("pass --overwrite to replace it".to_owned()),
        _ if report.retryable => {
            Some("this is likely temporary; running the same command again may work".to_owned())
        }
        _ => None,
    }
}
