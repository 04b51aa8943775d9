//! Strict JSON-RPC 2.0 on the bridge's own stdio: what a host may send, and every line the bridge writes.
//!
//! Toward Codex codex-img reads leniently (see [`crate::protocol::envelope`]); toward hosts it is strict,
//! because a host is written against this document, and an early, precise refusal is kinder than a
//! guess. One incoming line is one JSON object with `"jsonrpc": "2.0"`, a string `method`, an `id` that is
//! a string or an integer (absent for a notification) and `params` that is an object or an array when
//! present; any other member is refused. Batches (JSON arrays) are refused with one `-32600` error.
//!
//! Every outgoing line carries `"jsonrpc": "2.0"` and ends with `\n`. Parsing happens here, typed params
//! decoding happens per method in [`super::methods`].

use serde::Serialize;
use serde_json::{Map, Value};

use crate::protocol::envelope::{ErrorCode, ErrorObject, RequestId};

/// The longest line accepted: room for one request carrying a 20 MiB input image as base64 (27 MiB).
/// Send several large images by path instead.
pub const MAX_LINE: usize = 32 * 1024 * 1024;

/// Codes the bridge uses besides the standard ones; see the bridge documentation for the table.
pub(crate) mod codes {
    use crate::protocol::envelope::ErrorCode;

    /// The bridge is shutting down and takes no new work.
    pub(crate) const SHUTTING_DOWN: ErrorCode = ErrorCode(-32000);
    /// codex-img errors, one code per category; `data.code` names the exact error.
    pub(crate) const PREFLIGHT: ErrorCode = ErrorCode(-32001);
    pub(crate) const REQUEST: ErrorCode = ErrorCode(-32002);
    pub(crate) const RUNTIME: ErrorCode = ErrorCode(-32003);
    pub(crate) const PROTOCOL: ErrorCode = ErrorCode(-32004);
    pub(crate) const OUTPUT: ErrorCode = ErrorCode(-32005);
}

/// A message from the host that passed the envelope checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    Request {
        id: RequestId,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
}

/// An error answer: to a request whose id is known, or with `id: null`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejection {
    pub id: Option<RequestId>,
    /// Boxed: rejections are rare, and `parse` returns them on every line's hot path.
    pub error: Box<ErrorObject>,
}

impl Rejection {
    pub(crate) fn new(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id,
            error: Box::new(ErrorObject {
                code,
                message: message.into(),
                data: None,
            }),
        }
    }

    pub(crate) fn to_line(&self) -> Vec<u8> {
        error_line(self.id.as_ref(), &self.error)
    }
}

const VERSION: &str = "2.0";
const MEMBERS: [&str; 4] = ["jsonrpc", "id", "method", "params"];

/// Parses one line (without its newline) as a request or a notification.
pub(crate) fn parse(line: &[u8]) -> Result<Incoming, Rejection> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        Rejection::new(
            None,
            ErrorCode::PARSE_ERROR,
            format!("parse error: not valid JSON ({e})"),
        )
    })?;
    let map = match value {
        Value::Object(map) => map,
        Value::Array(items) if items.is_empty() => {
            return Err(invalid(None, "an empty array is not a request"))
        }
        Value::Array(_) => {
            return Err(invalid(
                None,
                "batches are not supported; send one request per line",
            ))
        }
        _ => return Err(invalid(None, "a request must be a JSON object")),
    };
    from_object(map)
}

fn from_object(mut map: Map<String, Value>) -> Result<Incoming, Rejection> {
    // The id first, so that later refusals can name the request they refuse.
    let id = match map.get("id") {
        None => None,
        Some(Value::String(s)) => Some(RequestId::String(s.clone())),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => Some(RequestId::Integer(n)),
            None => {
                return Err(invalid(
                    None,
                    "`id` must be a string or an integer that fits in 64 bits",
                ))
            }
        },
        Some(_) => {
            return Err(invalid(
                None,
                "`id` must be a string or an integer (null is not accepted)",
            ))
        }
    };
    match map.get("jsonrpc") {
        Some(Value::String(v)) if v == VERSION => {}
        Some(_) => return Err(invalid(id, "`jsonrpc` must be \"2.0\"")),
        None => return Err(invalid(id, "`jsonrpc` is missing; it must be \"2.0\"")),
    }
    if let Some(extra) = map.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        let what = if extra == "result" || extra == "error" {
            "the bridge sends no requests, so it takes no responses".to_owned()
        } else {
            format!("unknown member `{extra}`; a request has only jsonrpc, id, method and params")
        };
        return Err(invalid(id, what));
    }
    let method = match map.remove("method") {
        Some(Value::String(m)) => m,
        Some(_) => return Err(invalid(id, "`method` must be a string")),
        None => return Err(invalid(id, "`method` is missing")),
    };
    let params = match map.remove("params") {
        None => None,
        Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
        Some(_) => {
            return Err(invalid(
                id,
                "`params` must be an object (or an array) when present",
            ))
        }
    };
    Ok(match id {
        Some(id) => Incoming::Request { id, method, params },
        None => Incoming::Notification { method, params },
    })
}

fn invalid(id: Option<RequestId>, why: impl std::fmt::Display) -> Rejection {
    Rejection::new(
        id,
        ErrorCode::INVALID_REQUEST,
        format!("invalid request: {why}"),
    )
}

#[derive(Serialize)]
struct ResultLine<'a, T> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    result: &'a T,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    error: &'a ErrorObject,
}

#[derive(Serialize)]
struct NotificationLine<'a, T> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a T,
}

fn finish<T: Serialize>(message: &T) -> Vec<u8> {
    // Our own plain structs and `Value`s always serialize.
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.push(b'\n');
    line
}

pub(crate) fn result_line<T: Serialize>(id: &RequestId, result: &T) -> Vec<u8> {
    finish(&ResultLine {
        jsonrpc: VERSION,
        id,
        result,
    })
}

pub(crate) fn error_line(id: Option<&RequestId>, error: &ErrorObject) -> Vec<u8> {
    finish(&ErrorLine {
        jsonrpc: VERSION,
        id,
        error,
    })
}

pub(crate) fn notification_line<T: Serialize>(method: &str, params: &T) -> Vec<u8> {
    finish(&NotificationLine {
        jsonrpc: VERSION,
        method,
        params,
    })
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn rejected(line: &str) -> String {
        match parse(line.as_bytes()) {
            Ok(m) => panic!("accepted {line}: {m:?}"),
            Err(r) => String::from_utf8(r.to_line()).expect("utf-8"),
        }
    }

    #[test]
    fn accepts_requests_and_notifications() {
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":7,"method":"image/cancel","params":{"id":"a"}}"#),
            Ok(Incoming::Request {
                id: RequestId::Integer(7),
                method: "image/cancel".into(),
                params: Some(json!({"id": "a"})),
            })
        );
        assert_eq!(
            parse(br#"{"method":"bridge/shutdown","jsonrpc":"2.0"}"#),
            Ok(Incoming::Notification {
                method: "bridge/shutdown".into(),
                params: None,
            })
        );
    }

    #[test]
    fn refusals_pin_the_wire_text() {
        let cases = [
            (
                "{oops",
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: not valid JSON (key must be a string at line 1 column 2)"}}"#,
            ),
            (
                r#"{"id":1,"method":"codex/doctor"}"#,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"invalid request: `jsonrpc` is missing; it must be \"2.0\""}}"#,
            ),
            (
                r#"{"jsonrpc":"1.0","id":"x","method":"codex/doctor"}"#,
                r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32600,"message":"invalid request: `jsonrpc` must be \"2.0\""}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"codex/doctor"}"#,
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: `id` must be a string or an integer that fits in 64 bits"}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"codex/doctor"}"#,
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: `id` must be a string or an integer (null is not accepted)"}}"#,
            ),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"codex/doctor"}]"#,
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: batches are not supported; send one request per line"}}"#,
            ),
            (
                "[]",
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: an empty array is not a request"}}"#,
            ),
            (
                "42",
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a request must be a JSON object"}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":3}"#,
                r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"invalid request: `method` must be a string"}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"codex/doctor","params":"x"}"#,
                r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"invalid request: `params` must be an object (or an array) when present"}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"codex/doctor","parms":{}}"#,
                r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"invalid request: unknown member `parms`; a request has only jsonrpc, id, method and params"}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"result":{}}"#,
                r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"invalid request: the bridge sends no requests, so it takes no responses"}}"#,
            ),
        ];
        for (input, output) in cases {
            assert_eq!(rejected(input), format!("{output}\n"), "for {input}");
        }
    }

    #[test]
    fn outgoing_lines_always_carry_the_version() {
        assert_eq!(
            String::from_utf8(result_line(&RequestId::Integer(1), &json!({}))).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"
        );
        assert_eq!(
            String::from_utf8(notification_line(
                "image/progress",
                &json!({"id": "a", "phase": "queued", "elapsedMs": 0})
            ))
            .unwrap(),
            "{\"jsonrpc\":\"2.0\",\"method\":\"image/progress\",\"params\":{\"elapsedMs\":0,\"id\":\"a\",\"phase\":\"queued\"}}\n"
        );
    }
}
