//! A model that asks Codex to run a command or change a file, instead of making an image, changes
//! nothing: checked through real Codex releases (the floor and the newest; every release with
//! `CODEX_IMG_LIVE_ALL=1`) against the loopback backend's [`Mode::RunCommand`] and [`Mode::ChangeFile`].
//!
//! The model answers the first request with one call that would leave evidence on disk, in a scratch
//! folder outside `CODEX_HOME` and outside Codex's working folder: `touch <marker>` through whichever
//! shell tool the request offers (by name when none is), the same asking to run outside the sandbox,
//! an `apply_patch` that adds a file, or a question to the user (`request_user_input`, which Codex would
//! pass on to codex-img as a server request). On the follow-up it ends the turn with a message. Each case
//! then checks: the evidence is absent (and the scratch folder empty at the end), the generation fails
//! with `runtime/no_image` quoting the model, exactly one turn ran (two model requests: the call and its
//! follow-up; no images call), what Codex answered the call (read from the follow-up request, which
//! carries Codex's output for it), and, at the end, that no process and no saved image is left.
//!
//! Does Codex ask codex-img for approval? No, on every release from 0.122.0 to 0.171.0 (all eight of the
//! full matrix), and by design: codex-img starts every thread with `approvalPolicy: "never"` and
//! `sandbox: "read-only"` (`src/session/params.rs`), and under "never" Codex decides alone and never
//! sends `item/commandExecution/requestApproval` or `item/fileChange/requestApproval`. What it decides,
//! measured with `CODEX_IMG_LIVE_ALL=1` (2026-12-02):
//!
//! - The lean turn (the default) offers no shell tool, so a command is refused before anything runs:
//!   `unsupported call: exec_command` for a call by name (0.122, 0.140), or, in code mode (0.145+),
//!   `TypeError: tools.exec_command is not a function` inside the script.
//! - With `lean(false)` Codex offers its shell tool (`exec_command`, declared for code mode's `exec`
//!   scripts on 0.145+), and the command *runs*, inside the read-only sandbox, which refuses the write
//!   (`touch: cannot touch ...: Read-only file system`, exit code 1). Asking to leave the sandbox
//!   (`sandbox_permissions: "require_escalated"`) is refused before anything runs: `approval policy is
//!   Never; reject command — you cannot ask for escalated permissions if the approval policy is Never`.
//! - A patch is refused in both: `patch rejected: writing is blocked by read-only sandbox; rejected by
//!   user approval settings`. `apply_patch` is still offered in the lean turn (a top-level tool on 0.122
//!   and 0.140, declared for code mode's scripts on 0.145+): the lean overrides do not switch it off,
//!   and the sandbox is what stops it.
//! - A question is refused by Codex itself: `request_user_input is unavailable in Default mode` where
//!   the tool is offered (every release with `lean(false)`, and 0.122 even in the lean turn),
//!   `unsupported call: request_user_input` where it is not (the lean turn from 0.140).
//! - A user's own `-c approval_policy="on-request" -c sandbox_mode="danger-full-access"` changes none
//!   of this: the thread's parameters win over configuration.
//!
//! So the decline in `src/rpc/policy.rs` is not reached through these releases; it is proved
//! against the fake app-server (`tests/it/session/generate.rs`). This test still records every server
//! request codex-img answers during a case, from its own log, and requires that none was asked (the
//! case's own `turn/start` in the same log shows the log is this client's): a release that starts
//! asking under "never" fails here, with what it asked and how it was answered.
//! Each case prints one line with the tool called and Codex's answer (`-- --nocapture`).

mod live_support;

use std::path::{Path, PathBuf};

use codex_img::{ClientBuilder, GenerateRequest};
use live_support::{code_of, over_releases, releases, transport_log, Login, Rig};
use loopback_backend::{BackendConfig, Mode, RecordedRequest};
use pretty_assertions::assert_eq;

/// How the client is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// codex-img's default: the lean turn.
    Lean,
    /// `lean(false)`: Codex's own tools are offered.
    Full,
    /// `lean(false)` plus a user's overrides that ask for approvals and full access.
    FullWithUserOverrides,
}

impl Setup {
    fn builder(self, builder: ClientBuilder) -> ClientBuilder {
        match self {
            Setup::Lean => builder,
            Setup::Full => builder.lean(false),
            Setup::FullWithUserOverrides => builder
                .lean(false)
                .config_override("approval_policy=\"on-request\"")
                .config_override("sandbox_mode=\"danger-full-access\""),
        }
    }
}

/// What the model tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Try {
    Command,
    Escalated,
    Patch,
    /// A question to the user (`request_user_input`), which Codex would pass to codex-img as a server
    /// request.
    Ask,
}

const TRIES: [Try; 4] = [Try::Command, Try::Escalated, Try::Patch, Try::Ask];

impl Try {
    fn mode(self, evidence: &Path) -> Mode {
        match self {
            Try::Command | Try::Escalated => Mode::RunCommand {
                marker: evidence.to_path_buf(),
                escalate: self == Try::Escalated,
            },
            Try::Patch => Mode::ChangeFile {
                path: evidence.to_path_buf(),
            },
            Try::Ask => Mode::AskUser,
        }
    }

    fn evidence(self, scratch: &Path) -> PathBuf {
        scratch.join(match self {
            Try::Command => "command-marker",
            Try::Escalated => "escalated-marker",
            Try::Patch => "patched.txt",
            // A question writes nothing; the path only keeps the checks uniform.
            Try::Ask => "asked",
        })
    }
}

/// The tool names a shell command can be run with, as the backend lists them (`namespace.name`).
const SHELL_TOOLS: &[&str] = &[
    "shell",
    "shell_command",
    "exec_command",
    "write_stdin",
    "local_shell",
];

/// Whether the request offers a shell tool: directly, or declared for code mode's `exec` scripts.
fn offers_shell(request: &RecordedRequest) -> bool {
    let direct = request.offered_tools().into_iter().any(|name| {
        let last = name.rsplit('.').next().unwrap_or(&name).to_owned();
        SHELL_TOOLS.contains(&last.as_str())
    });
    let nested = request
        .code_mode_tools()
        .iter()
        .any(|name| SHELL_TOOLS.contains(&name.as_str()));
    direct || nested
}

/// Whether the request offers code mode's `exec` tool (0.145+).
fn offers_code_mode(request: &RecordedRequest) -> bool {
    request
        .offered_tools()
        .iter()
        .any(|name| name == "exec" || name.ends_with(".exec"))
}

/// Whether the request offers `request_user_input` as a tool of its own.
fn offers_questions(request: &RecordedRequest) -> bool {
    request
        .offered_tools()
        .iter()
        .any(|name| name == "request_user_input" || name.ends_with(".request_user_input"))
}

/// What Codex must have answered the call with: a fragment of its output.
fn expected_output(setup: Setup, attempt: Try, first: &RecordedRequest) -> &'static str {
    let code_mode = offers_code_mode(first);
    match (setup, attempt) {
        (_, Try::Ask) if offers_questions(first) => {
            "request_user_input is unavailable in Default mode"
        }
        (_, Try::Ask) => "unsupported call: request_user_input",
        (_, Try::Patch) => "patch rejected: writing is blocked by read-only sandbox",
        (Setup::Lean, _) if code_mode => "tools.exec_command is not a function",
        (Setup::Lean, _) => "unsupported call: exec_command",
        (_, Try::Command) => "cannot touch",
        (_, Try::Escalated) => {
            "approval policy is Never; reject command — you cannot ask for escalated permissions"
        }
    }
}

async fn tries_to_change_the_machine(version: String, setup: Setup) {
    let rig = Rig::start_with(&version, BackendConfig::default(), Login::ChatGpt, |b| {
        setup.builder(b)
    })
    .await;
    let scratch = rig.scratch();
    for attempt in TRIES {
        let case = format!("{version} {setup:?} {attempt:?}");
        let evidence = attempt.evidence(&scratch);
        rig.backend.clear_requests();
        rig.backend.set_mode(attempt.mode(&evidence));
        let _ = transport_log::take();

        let result = rig
            .client
            .generate(GenerateRequest::new("a red square on a white background"))
            .await;

        assert_eq!(code_of(&result), "runtime/no_image", "{case}");
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("I could not do that"),
            "{case}: the error should quote the model: {message}"
        );
        assert!(
            !evidence.exists(),
            "{case}: {} exists: the model's call ran and wrote it",
            evidence.display()
        );

        // One turn: the model's call and its follow-up, and no image.
        let model = rig.backend.model_requests();
        assert_eq!(model.len(), 2, "{case}: model requests");
        let images = rig
            .backend
            .requests()
            .iter()
            .filter(|r| r.is_images_request())
            .count();
        assert_eq!(images, 0, "{case}: images calls");

        let first = &model[0];
        let shell = offers_shell(first);
        assert_eq!(shell, setup != Setup::Lean, "{case}: a shell tool offered");

        let exchanges = model[1].tool_exchanges();
        assert_eq!(exchanges.len(), 1, "{case}: {exchanges:#?}");
        let output = exchanges[0].output.clone().unwrap_or_default();
        let expected = expected_output(setup, attempt, first);
        eprintln!(
            "{case}: {} called, Codex answered {:?}",
            exchanges[0].name,
            output.chars().take(160).collect::<String>()
        );
        assert!(
            output.contains(expected),
            "{case}: Codex answered the call with {output:?}, expected it to contain {expected:?}"
        );

        // Codex decided alone: no approval (or anything else) was asked of codex-img. The turn/start
        // seen in the same log shows the log is this client's.
        let log = transport_log::take();
        assert!(
            log.sent.iter().any(|m| m == "turn/start"),
            "{case}: codex-img's transport log is not recorded on this thread: {log:?}"
        );
        assert_eq!(log.answered, Vec::new(), "{case}: server requests answered");
    }
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .expect("read the scratch folder")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        Vec::<std::ffi::OsString>::new(),
        "{version} {setup:?}: written"
    );
    rig.finish().await;
}

#[tokio::test]
async fn live_the_lean_turn_offers_no_shell_and_nothing_the_model_calls_changes_a_file() {
    over_releases("approval_lean", &releases(), |v| {
        tries_to_change_the_machine(v, Setup::Lean)
    })
    .await;
}

#[tokio::test]
async fn live_with_codex_s_tools_a_command_runs_read_only_and_escalation_is_refused_unasked() {
    over_releases("approval_full", &releases(), |v| {
        tries_to_change_the_machine(v, Setup::Full)
    })
    .await;
}

#[tokio::test]
async fn live_a_user_s_overrides_asking_for_approvals_and_full_access_change_nothing() {
    over_releases("approval_user_overrides", &releases(), |v| {
        tries_to_change_the_machine(v, Setup::FullWithUserOverrides)
    })
    .await;
}
