//! The params codex-img sends, built in one place so the conformance test can check every one of them
//! against the pinned schema bundle.
//!
//! Only fields that every supported release accepts are sent (the generator enforces this for the typed
//! structs); `approvalPolicy: "on-failure"` and `approvalsReviewer` are deliberately absent, because some
//! supported releases reject them.

use std::path::Path;

use crate::protocol::{
    AskForApproval, ClientInfo, GetAccountParams, InitializeCapabilities, InitializeParams,
    LocalImageUserInput, SandboxMode, TextUserInput, ThreadStartParams, ThreadUnsubscribeParams,
    TurnInterruptParams, TurnStartParams, UserInput,
};

/// What the model is told for every generation thread: one image with the built-in tool, nothing else.
pub(crate) const DEVELOPER_INSTRUCTIONS: &str = "You are an image generator serving a program, not a person. \
For every request, call the built-in image generation tool exactly once, with a prompt that follows the \
user's request and any attached images, and then stop. Do not run commands, do not read, write or check \
files, do not browse, do not call any other tool, and do not ask questions. If you cannot make the image, \
reply with one short sentence saying why.";

/// The base instructions of every generation thread, in place of Codex's own coding-agent prompt (tens of
/// kilobytes about editing code, running commands and formatting answers, sent with every model request
/// and paid for in input tokens). Part of the lean turn; Codex's own prompt is kept when the lean set is
/// off ([`thread_start_for`]).
pub(crate) const BASE_INSTRUCTIONS: &str = "You are an image generation agent inside a program. Your only tool \
is the built-in image generation tool. Make exactly the image the user asks for with one call to it, \
then end your turn.";

pub(crate) fn initialize(client_version: &str) -> InitializeParams {
    InitializeParams {
        client_info: ClientInfo {
            name: "codex-img".to_owned(),
            title: Some("codex-img".to_owned()),
            version: client_version.to_owned(),
        },
        capabilities: Some(InitializeCapabilities::default()),
    }
}

pub(crate) fn account_read() -> GetAccountParams {
    GetAccountParams {
        refresh_token: Some(false),
    }
}

/// An ephemeral, read-only thread in the private working directory `cwd`. Ephemeral threads leave no
/// session file (which would hold the image a second time); read-only keeps Codex from marking the
/// folder trusted in the user's config.
// Used by the conformance tests; generation goes through `thread_start_for`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn thread_start(cwd: &Path, model: Option<&str>) -> ThreadStartParams {
    thread_start_for(cwd, model, true)
}

/// [`thread_start`], with the short [`BASE_INSTRUCTIONS`] when `lean` and Codex's own base instructions
/// otherwise (for measuring what the defaults cost).
pub(crate) fn thread_start_for(cwd: &Path, model: Option<&str>, lean: bool) -> ThreadStartParams {
    ThreadStartParams {
        base_instructions: lean.then(|| BASE_INSTRUCTIONS.to_owned()),
        cwd: Some(cwd.to_string_lossy().into_owned()),
        ephemeral: Some(true),
        approval_policy: Some(AskForApproval::Never),
        sandbox: Some(SandboxMode::ReadOnly),
        model: model.map(str::to_owned),
        developer_instructions: Some(DEVELOPER_INSTRUCTIONS.to_owned()),
        ..ThreadStartParams::default()
    }
}

/// The turn input: the text, then each staged image as a `localImage` by its neutral path.
pub(crate) fn turn_start(thread_id: &str, text: &str, staged_images: &[&Path]) -> TurnStartParams {
    let mut input = vec![UserInput::Text(TextUserInput {
        text: text.to_owned(),
        text_elements: Vec::new(),
    })];
    input.extend(staged_images.iter().map(|path| {
        UserInput::LocalImage(LocalImageUserInput {
            path: path.to_string_lossy().into_owned(),
            detail: None,
        })
    }));
    TurnStartParams {
        thread_id: thread_id.to_owned(),
        input,
    }
}

pub(crate) fn turn_interrupt(thread_id: &str, turn_id: &str) -> TurnInterruptParams {
    TurnInterruptParams {
        thread_id: thread_id.to_owned(),
        turn_id: turn_id.to_owned(),
    }
}

/// Releases a thread so the server does not keep it loaded. (`thread/archive` fails on ephemeral
/// threads: they have no rollout.)
pub(crate) fn thread_unsubscribe(thread_id: &str) -> ThreadUnsubscribeParams {
    ThreadUnsubscribeParams {
        thread_id: thread_id.to_owned(),
    }
}
