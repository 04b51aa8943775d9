//! The one place that answers requests the app-server sends. Every request gets an answer, because an
//! unanswered one leaves the turn waiting forever.
//!
//! The policy never grants anything: approvals are declined, questions and elicitations cancelled, client
//! tool calls, token refreshes and attestations refused with an error, `currentTime/read` told the time,
//! and anything unknown answered with -32601 (method not found).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::protocol::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse, ErrorCode,
    ErrorObject, FileChangeApprovalDecision, FileChangeRequestApprovalResponse,
    GrantedPermissionProfile, McpServerElicitationAction, McpServerElicitationRequestResponse,
    PermissionGrantScope, PermissionsRequestApprovalResponse, ReviewDecision, ServerRequest,
    ToolRequestUserInputResponse,
};

/// What codex-img answers to one server request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Result(Value),
    Error(ErrorObject),
}

/// Asked by releases that are not in the pinned bundle's `ServerRequest` union.
const CURRENT_TIME_READ: &str = "currentTime/read";

pub(crate) fn answer(request: &ServerRequest, now: SystemTime) -> Answer {
    answer_method(request.method(), now)
}

/// The answer by method alone, so a request whose params could not be decoded is still answered.
pub(crate) fn answer_method(method: &str, now: SystemTime) -> Answer {
    use crate::protocol::server_request as m;
    use crate::protocol::ServerRequestMethod as R;
    match method {
        _ if method == m::CommandExecutionRequestApproval::METHOD => {
            result(CommandExecutionRequestApprovalResponse {
                decision: CommandExecutionApprovalDecision::Decline,
            })
        }
        _ if method == m::FileChangeRequestApproval::METHOD => {
            result(FileChangeRequestApprovalResponse {
                decision: FileChangeApprovalDecision::Decline,
            })
        }
        _ if method == m::ApplyPatchApproval::METHOD
            || method == m::ExecCommandApproval::METHOD =>
        {
            result(json!({ "decision": ReviewDecision::Abort }))
        }
        _ if method == m::PermissionsRequestApproval::METHOD => {
            result(PermissionsRequestApprovalResponse {
                permissions: GrantedPermissionProfile::default(),
                scope: Some(PermissionGrantScope::Turn),
                strict_auto_review: None,
            })
        }
        _ if method == m::ToolRequestUserInput::METHOD => result(ToolRequestUserInputResponse {
            answers: Value::Object(Default::default()),
        }),
        _ if method == m::McpServerElicitationRequest::METHOD => {
            result(McpServerElicitationRequestResponse {
                action: McpServerElicitationAction::Cancel,
                content: None,
                meta: None,
            })
        }
        _ if method == m::DynamicToolCall::METHOD => {
            refuse("codex-img does not run client-side tools")
        }
        _ if method == m::ChatgptAuthTokensRefresh::METHOD => refuse(
            "codex-img does not manage ChatGPT tokens; run `codex login` to refresh the login",
        ),
        _ if method == m::AttestationGenerate::METHOD => {
            refuse("codex-img does not provide attestations")
        }
        CURRENT_TIME_READ => {
            let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
            Answer::Result(json!({
                "currentTimeMs": u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
                "currentTime": since_epoch.as_secs(),
            }))
        }
        _ => Answer::Error(ErrorObject {
            code: ErrorCode::METHOD_NOT_FOUND,
            message: format!("codex-img does not handle `{method}`"),
            data: None,
        }),
    }
}

fn result(response: impl Serialize) -> Answer {
    match serde_json::to_value(response) {
        Ok(value) => Answer::Result(value),
        Err(e) => refuse(&format!("codex-img could not encode its answer: {e}")),
    }
}

fn refuse(message: &str) -> Answer {
    Answer::Error(ErrorObject {
        code: ErrorCode::INTERNAL_ERROR,
        message: message.to_owned(),
        data: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn decode(method: &str, params: Value) -> ServerRequest {
        match ServerRequest::decode(method, params) {
            Ok(request) => request,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    #[test]
    fn approvals_are_declined_and_unknown_methods_rejected() {
        let ids = json!({"threadId": "t", "turnId": "u", "itemId": "i"});
        let cases = [
            (
                "item/commandExecution/requestApproval",
                ids.clone(),
                Answer::Result(json!({"decision": "decline"})),
            ),
            (
                "item/fileChange/requestApproval",
                ids.clone(),
                Answer::Result(json!({"decision": "decline"})),
            ),
            (
                "execCommandApproval",
                json!({"conversationId": "t", "callId": "c", "command": ["ls"]}),
                Answer::Result(json!({"decision": "abort"})),
            ),
            (
                "applyPatchApproval",
                json!({"conversationId": "t", "callId": "c"}),
                Answer::Result(json!({"decision": "abort"})),
            ),
            (
                "item/permissions/requestApproval",
                ids.clone(),
                Answer::Result(json!({"permissions": {}, "scope": "turn"})),
            ),
            (
                "item/tool/requestUserInput",
                ids.clone(),
                Answer::Result(json!({"answers": {}})),
            ),
            (
                "mcpServer/elicitation/request",
                json!({"threadId": "t", "serverName": "s"}),
                Answer::Result(json!({"action": "cancel"})),
            ),
            (
                "future/thing",
                json!({}),
                Answer::Error(ErrorObject {
                    code: ErrorCode::METHOD_NOT_FOUND,
                    message: "codex-img does not handle `future/thing`".into(),
                    data: None,
                }),
            ),
        ];
        for (method, params, expected) in cases {
            assert_eq!(
                answer(&decode(method, params), UNIX_EPOCH),
                expected,
                "{method}"
            );
        }
    }

    #[test]
    fn tool_calls_and_token_refresh_get_errors_and_time_is_told() {
        let call = decode(
            "item/tool/call",
            json!({"threadId": "t", "turnId": "u", "callId": "c", "tool": "x", "arguments": {}}),
        );
        assert_eq!(
            answer(&call, UNIX_EPOCH),
            Answer::Error(ErrorObject {
                code: ErrorCode::INTERNAL_ERROR,
                message: "codex-img does not run client-side tools".into(),
                data: None,
            })
        );
        let refresh = decode(
            "account/chatgptAuthTokens/refresh",
            json!({"reason": "unauthorized"}),
        );
        assert_eq!(
            answer(&refresh, UNIX_EPOCH),
            Answer::Error(ErrorObject {
                code: ErrorCode::INTERNAL_ERROR,
                message: "codex-img does not manage ChatGPT tokens; run `codex login` to refresh the login".into(),
                data: None,
            })
        );
        assert_eq!(
            answer_method("attestation/generate", UNIX_EPOCH),
            Answer::Error(ErrorObject {
                code: ErrorCode::INTERNAL_ERROR,
                message: "codex-img does not provide attestations".into(),
                data: None,
            })
        );
        let time = decode("currentTime/read", json!({}));
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(
            answer(&time, at),
            Answer::Result(
                json!({"currentTimeMs": 1_700_000_000_123u64, "currentTime": 1_700_000_000u64})
            )
        );
    }
}
