//! Wire-text round trips for every kind of message codex-img exchanges with `codex app-server`.
//!
//! Each case parses a literal line, compares the whole decoded [`Message`], then writes it back with
//! [`Message::to_line`] and compares the exact bytes: no `"jsonrpc"` member, keys in the order the
//! envelope structs serialize (`id`, `method`, `params` / `id`, `result` / `id`, `error`). The keys
//! inside `params` and `result` are written in sorted order in these literals, so the expected bytes
//! hold whether or not `serde_json` preserves insertion order.

use codex_img::protocol::envelope::{
    EnvelopeError, ErrorResponse, Notification, Request, Response,
};
use codex_img::protocol::{ErrorCode, ErrorObject, Message, RequestId, ServerRequest};
use pretty_assertions::assert_eq;
use serde_json::json;

/// Parses `line`, checks the decoded value, and checks that writing it back gives `line` exactly.
fn round_trip(line: &str, expected: Message) {
    let decoded = Message::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(decoded, expected, "decoding {line}");
    assert_eq!(written(&decoded), format!("{line}\n"), "writing {line}");
}

fn written(message: &Message) -> String {
    String::from_utf8(message.to_line()).expect("to_line writes UTF-8")
}

fn parse_err(line: &str) -> EnvelopeError {
    match Message::parse(line.as_bytes()) {
        Ok(message) => panic!("{line} parsed as {message:?}, expected an error"),
        Err(e) => e,
    }
}

#[test]
fn request_with_integer_id() {
    round_trip(
        r#"{"id":7,"method":"thread/start","params":{"approvalPolicy":"never","cwd":"/tmp/w","ephemeral":true,"sandbox":"read-only"}}"#,
        Message::Request(Request {
            id: RequestId::Integer(7),
            method: "thread/start".into(),
            params: Some(json!({
                "approvalPolicy": "never",
                "cwd": "/tmp/w",
                "ephemeral": true,
                "sandbox": "read-only",
            })),
        }),
    );
}

#[test]
fn request_with_zero_and_large_integer_ids() {
    round_trip(
        r#"{"id":0,"method":"account/read","params":{"refreshToken":false}}"#,
        Message::Request(Request {
            id: RequestId::Integer(0),
            method: "account/read".into(),
            params: Some(json!({"refreshToken": false})),
        }),
    );
    round_trip(
        r#"{"id":9223372036854775807,"method":"turn/interrupt","params":{"threadId":"t","turnId":"u"}}"#,
        Message::Request(Request {
            id: RequestId::Integer(i64::MAX),
            method: "turn/interrupt".into(),
            params: Some(json!({"threadId": "t", "turnId": "u"})),
        }),
    );
}

#[test]
fn request_with_string_id() {
    round_trip(
        r#"{"id":"s-1","method":"account/read","params":{"refreshToken":false}}"#,
        Message::Request(Request {
            id: RequestId::String("s-1".into()),
            method: "account/read".into(),
            params: Some(json!({"refreshToken": false})),
        }),
    );
}

#[test]
fn a_numeric_looking_string_id_stays_a_string() {
    round_trip(
        r#"{"id":"42","method":"turn/start","params":{"input":[],"threadId":"t"}}"#,
        Message::Request(Request {
            id: RequestId::String("42".into()),
            method: "turn/start".into(),
            params: Some(json!({"input": [], "threadId": "t"})),
        }),
    );
}

#[test]
fn request_without_params() {
    round_trip(
        r#"{"id":2,"method":"account/rateLimits/read"}"#,
        Message::Request(Request {
            id: RequestId::Integer(2),
            method: "account/rateLimits/read".into(),
            params: None,
        }),
    );
}

#[test]
fn response() {
    round_trip(
        r#"{"id":1,"result":{"codexHome":"/home/a/.codex","platformFamily":"unix","platformOs":"linux","userAgent":"codex-img/0.169.0 (Debian 12.0.0; x86_64) xterm (codex-img; 0.1.0)"}}"#,
        Message::Response(Response {
            id: RequestId::Integer(1),
            result: json!({
                "codexHome": "/home/a/.codex",
                "platformFamily": "unix",
                "platformOs": "linux",
                "userAgent": "codex-img/0.169.0 (Debian 12.0.0; x86_64) xterm (codex-img; 0.1.0)",
            }),
        }),
    );
}

#[test]
fn response_with_string_id_empty_and_null_results() {
    round_trip(
        r#"{"id":"s-1","result":{"account":null,"requiresOpenaiAuth":true}}"#,
        Message::Response(Response {
            id: RequestId::String("s-1".into()),
            result: json!({"account": null, "requiresOpenaiAuth": true}),
        }),
    );
    round_trip(
        r#"{"id":4,"result":{}}"#,
        Message::Response(Response {
            id: RequestId::Integer(4),
            result: json!({}),
        }),
    );
    round_trip(
        r#"{"id":5,"result":null}"#,
        Message::Response(Response {
            id: RequestId::Integer(5),
            result: serde_json::Value::Null,
        }),
    );
}

#[test]
fn error_response_without_data() {
    round_trip(
        r#"{"id":4,"error":{"code":-32600,"message":"Already initialized"}}"#,
        Message::Error(ErrorResponse {
            id: Some(RequestId::Integer(4)),
            error: ErrorObject {
                code: ErrorCode::INVALID_REQUEST,
                message: "Already initialized".into(),
                data: None,
            },
        }),
    );
}

#[test]
fn error_response_with_data() {
    round_trip(
        r#"{"id":"s-9","error":{"code":-32603,"message":"workspace routing discovery failed","data":{"retryable":true,"status":503}}}"#,
        Message::Error(ErrorResponse {
            id: Some(RequestId::String("s-9".into())),
            error: ErrorObject {
                code: ErrorCode::INTERNAL_ERROR,
                message: "workspace routing discovery failed".into(),
                data: Some(json!({"retryable": true, "status": 503})),
            },
        }),
    );
}

#[test]
fn error_response_with_codes_outside_the_standard_range() {
    round_trip(
        r#"{"id":3,"error":{"code":-32001,"message":"Server overloaded; retry later."}}"#,
        Message::Error(ErrorResponse {
            id: Some(RequestId::Integer(3)),
            error: ErrorObject {
                code: ErrorCode::SERVER_OVERLOADED,
                message: "Server overloaded; retry later.".into(),
                data: None,
            },
        }),
    );
    assert_eq!(ErrorCode::SERVER_OVERLOADED, ErrorCode(-32001));
    round_trip(
        r#"{"id":3,"error":{"code":12345,"message":"custom"}}"#,
        Message::Error(ErrorResponse {
            id: Some(RequestId::Integer(3)),
            error: ErrorObject {
                code: ErrorCode(12345),
                message: "custom".into(),
                data: None,
            },
        }),
    );
    round_trip(
        r#"{"id":3,"error":{"code":12345,"message":"custom","data":"why"}}"#,
        Message::Error(ErrorResponse {
            id: Some(RequestId::Integer(3)),
            error: ErrorObject {
                code: ErrorCode(12345),
                message: "custom".into(),
                data: Some(json!("why")),
            },
        }),
    );
}

#[test]
fn error_response_with_null_id() {
    round_trip(
        r#"{"id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
        Message::Error(ErrorResponse {
            id: None,
            error: ErrorObject {
                code: ErrorCode::PARSE_ERROR,
                message: "Parse error".into(),
                data: None,
            },
        }),
    );
}

#[test]
fn error_response_in_codex_member_order_and_without_id_is_read() {
    // Codex writes `error` before `id`; codex-img writes the struct order.
    let decoded =
        Message::parse(br#"{"error":{"code":-32600,"message":"Already initialized"},"id":4}"#)
            .unwrap();
    let expected = Message::Error(ErrorResponse {
        id: Some(RequestId::Integer(4)),
        error: ErrorObject {
            code: ErrorCode::INVALID_REQUEST,
            message: "Already initialized".into(),
            data: None,
        },
    });
    assert_eq!(decoded, expected);
    assert_eq!(
        written(&decoded),
        "{\"id\":4,\"error\":{\"code\":-32600,\"message\":\"Already initialized\"}}\n"
    );

    // A peer that could not read the id may leave it out; it is written back as null.
    let decoded = Message::parse(br#"{"error":{"code":-32700,"message":"Parse error"}}"#).unwrap();
    let expected = Message::Error(ErrorResponse {
        id: None,
        error: ErrorObject {
            code: ErrorCode::PARSE_ERROR,
            message: "Parse error".into(),
            data: None,
        },
    });
    assert_eq!(decoded, expected);
    assert_eq!(
        written(&decoded),
        "{\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n"
    );
}

#[test]
fn notification_with_params() {
    round_trip(
        r#"{"method":"turn/started","params":{"threadId":"t1","turn":{"error":null,"id":"u1","items":[],"status":"inProgress"}}}"#,
        Message::Notification(Notification {
            method: "turn/started".into(),
            params: Some(json!({
                "threadId": "t1",
                "turn": {"error": null, "id": "u1", "items": [], "status": "inProgress"},
            })),
        }),
    );
}

#[test]
fn notification_without_params() {
    round_trip(
        r#"{"method":"initialized"}"#,
        Message::Notification(Notification {
            method: "initialized".into(),
            params: None,
        }),
    );
}

#[test]
fn notification_with_top_level_emitted_at_ms_is_read_and_not_written() {
    // From 0.145 Codex adds an undeclared top-level `emittedAtMs` to every notification.
    let decoded = Message::parse(
        br#"{"method":"warning","params":{"message":"Falling back","threadId":"t"},"emittedAtMs":1795448379624}"#,
    )
    .unwrap();
    let expected = Message::Notification(Notification {
        method: "warning".into(),
        params: Some(json!({"message": "Falling back", "threadId": "t"})),
    });
    assert_eq!(decoded, expected);
    assert_eq!(
        written(&decoded),
        "{\"method\":\"warning\",\"params\":{\"message\":\"Falling back\",\"threadId\":\"t\"}}\n"
    );
}

#[test]
fn server_request() {
    let line = r#"{"id":0,"method":"item/commandExecution/requestApproval","params":{"command":"rm -rf /","itemId":"i1","threadId":"t1","turnId":"u1"}}"#;
    round_trip(
        line,
        Message::Request(Request {
            id: RequestId::Integer(0),
            method: "item/commandExecution/requestApproval".into(),
            params: Some(
                json!({"command": "rm -rf /", "itemId": "i1", "threadId": "t1", "turnId": "u1"}),
            ),
        }),
    );
    let Ok(Message::Request(request)) = Message::parse(line.as_bytes()) else {
        panic!("not a request")
    };
    let typed = ServerRequest::decode(&request.method, request.params.unwrap_or_default()).unwrap();
    assert_eq!(
        typed,
        ServerRequest::CommandExecutionRequestApproval(
            codex_img::protocol::CommandExecutionRequestApprovalParams {
                command: Some("rm -rf /".into()),
                item_id: "i1".into(),
                thread_id: "t1".into(),
                turn_id: "u1".into(),
            }
        )
    );
}

#[test]
fn server_request_with_string_id() {
    round_trip(
        r#"{"id":"srv-3","method":"currentTime/read","params":{}}"#,
        Message::Request(Request {
            id: RequestId::String("srv-3".into()),
            method: "currentTime/read".into(),
            params: Some(json!({})),
        }),
    );
}

#[test]
fn jsonrpc_member_is_accepted_on_read_and_never_written() {
    let cases = [
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"x","version":"1"}}}"#,
            Message::Request(Request {
                id: RequestId::Integer(1),
                method: "initialize".into(),
                params: Some(json!({"clientInfo": {"name": "x", "version": "1"}})),
            }),
            "{\"id\":1,\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"x\",\"version\":\"1\"}}}\n",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"initialized"}"#,
            Message::Notification(Notification { method: "initialized".into(), params: None }),
            "{\"method\":\"initialized\"}\n",
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","result":{"ok":true}}"#,
            Message::Response(Response { id: RequestId::String("a".into()), result: json!({"ok": true}) }),
            "{\"id\":\"a\",\"result\":{\"ok\":true}}\n",
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"nope"}}"#,
            Message::Error(ErrorResponse {
                id: Some(RequestId::Integer(2)),
                error: ErrorObject { code: ErrorCode::METHOD_NOT_FOUND, message: "nope".into(), data: None },
            }),
            "{\"id\":2,\"error\":{\"code\":-32601,\"message\":\"nope\"}}\n",
        ),
    ];
    for (line, expected, out) in cases {
        let decoded = Message::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(decoded, expected, "{line}");
        assert_eq!(written(&decoded), out, "{line}");
    }
}

#[test]
fn non_objects_are_not_messages() {
    for line in [
        "[]",
        r#"[{"id":1,"result":{}}]"#,
        "1",
        r#""initialize""#,
        "null",
        "true",
    ] {
        let e = parse_err(line);
        assert!(matches!(e, EnvelopeError::NotAMessage(_)), "{line}: {e:?}");
    }
}

#[test]
fn objects_without_method_result_or_error_are_not_messages() {
    for line in [
        "{}",
        r#"{"id":1}"#,
        r#"{"id":"x","params":{}}"#,
        r#"{"jsonrpc":"2.0"}"#,
    ] {
        let e = parse_err(line);
        assert!(matches!(e, EnvelopeError::NotAMessage(_)), "{line}: {e:?}");
    }
}

#[test]
fn a_result_without_id_is_not_a_message() {
    let e = parse_err(r#"{"result":{}}"#);
    assert!(matches!(e, EnvelopeError::NotAMessage(_)), "{e:?}");
}

#[test]
fn invalid_json_is_not_json() {
    for line in ["", "{", r#"{"id":1,"result":}"#, "not json"] {
        let e = parse_err(line);
        assert!(matches!(e, EnvelopeError::NotJson(_)), "{line:?}: {e:?}");
    }
}

#[test]
fn wrongly_typed_members_are_invalid_messages() {
    let cases = [
        (r#"{"id":true,"method":"x"}"#, "request"),
        (r#"{"id":1.5,"method":"x"}"#, "request"),
        (r#"{"method":7}"#, "notification"),
        (r#"{"id":{},"result":{}}"#, "response"),
        (r#"{"id":1,"error":"boom"}"#, "error response"),
        (
            r#"{"id":1,"error":{"code":"x","message":"m"}}"#,
            "error response",
        ),
        (r#"{"id":1,"error":{"code":1}}"#, "error response"),
    ];
    for (line, expected_kind) in cases {
        match parse_err(line) {
            EnvelopeError::Invalid { kind, .. } => assert_eq!(kind, expected_kind, "{line}"),
            other => panic!("{line}: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn request_ids_display_unambiguously() {
    assert_eq!(RequestId::Integer(42).to_string(), "42");
    assert_eq!(RequestId::String("42".into()).to_string(), "\"42\"");
}
