//! `codex-img doctor`: every check a generation depends on, each with a mark, its detail and, for a
//! failure, the exact fix. It starts no turn, so it spends no quota.
//!
//! The exit code is 0 when a generation would not fail on any check, otherwise the exit code of the
//! first blocking error's category (so a script can gate on `codex-img doctor` alone).

use std::io::IsTerminal as _;

use clap::Args;
use codex_img::{Check, Client, DoctorReport, PreflightReport, Status};

use crate::exit;
use crate::{print_json, print_stdout, Interrupted};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the whole report as one JSON object on stdout, with `"ready": true|false` and `"blocking"`
    /// (the error a generation would give, or null): the same object the bridge's `codex/doctor` returns.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command and returns the exit code. The caller shuts the client down.
pub async fn run(
    client: &Client,
    args: &DoctorArgs,
    interrupted: impl std::future::Future<Output = Interrupted>,
) -> u8 {
    let report = tokio::select! {
        report = client.preflight() => report,
        signal = interrupted => return signal.exit_code(),
    };
    if args.json {
        print_json(&DoctorReport::from(&report));
    } else {
        print_stdout(&human(&report, std::io::stdout().is_terminal()));
    }
    match &report.blocking {
        Some(error) => exit::for_error(error),
        None => exit::SUCCESS,
    }
}

fn mark(status: Status, tty: bool) -> &'static str {
    match (status, tty) {
        (Status::Pass, true) => "✔",
        (Status::Warn, true) => "!",
        (Status::Fail, true) => "✘",
        (Status::Skipped, true) => "-",
        (Status::Pass, false) => "[ok]",
        (Status::Warn, false) => "[warn]",
        (Status::Fail, false) => "[FAIL]",
        (Status::Skipped, false) => "[skip]",
    }
}

/// The report as a person reads it; `tty` picks the marks.
pub fn human(report: &PreflightReport, tty: bool) -> String {
    let width = if tty { 1 } else { 6 };
    let indent = " ".repeat(width + 1 + 18);
    let mut out = String::new();
    for Check {
        name,
        status,
        detail,
        code,
        fix,
    } in &report.checks
    {
        let mark = mark(*status, tty);
        out.push_str(&format!("{mark:<width$} {name:<17} {detail}\n"));
        if let Some(code) = code {
            out.push_str(&format!("{indent}code: {code}\n"));
        }
        if let Some(fix) = fix {
            out.push_str(&format!("{indent}fix:  {fix}\n"));
        }
    }
    match &report.blocking {
        None => out.push_str("\nReady: codex-img can generate images with this Codex.\n"),
        Some(error) => out.push_str(&format!(
            "\nNot ready ({}): apply the fix above, then run `codex-img doctor` again.\n",
            error.code()
        )),
    }
    out
}
