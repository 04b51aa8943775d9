//! The wire envelope toward Codex: JSON-RPC 2.0 messages without the `"jsonrpc"` field, one per line.
//!
//! Reads are lenient (a `"jsonrpc"` member is ignored if present, unknown members are ignored) and
//! writes never add `"jsonrpc"`, matching what `codex app-server` sends and accepts. `params` stays raw
//! JSON here; typed decoding happens at the edge, by method.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request id: Codex accepts and sends both integers and strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Integer(i64),
    String(String),
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Integer(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A JSON-RPC error code. A newtype, not an enum, so any code a peer sends fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    pub const PARSE_ERROR: Self = Self(-32700);
    pub const INVALID_REQUEST: Self = Self(-32600);
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    pub const INVALID_PARAMS: Self = Self(-32602);
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// Codex's answer when its request ingress is full: "Server overloaded; retry later."
    pub const SERVER_OVERLOADED: Self = Self(-32001);
}

/// The `error` member of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: RequestId,
    pub result: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// Absent (null) when the peer could not read the request's id.
    pub id: Option<RequestId>,
    pub error: ErrorObject,
}

/// One message in either direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
    Error(ErrorResponse),
}

/// Why a line is not a message.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("not a JSON-RPC message: {0}")]
    NotAMessage(&'static str),
    #[error("invalid {kind}: {source}")]
    Invalid {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Message {
    /// Parses one line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Self, EnvelopeError> {
        let value: Value = serde_json::from_slice(line).map_err(EnvelopeError::NotJson)?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, EnvelopeError> {
        let Value::Object(map) = value else {
            return Err(EnvelopeError::NotAMessage("expected a JSON object"));
        };
        let kind = classify(&map)?;
        let value = Value::Object(map);
        let invalid = |kind| move |source| EnvelopeError::Invalid { kind, source };
        match kind {
            "request" => serde_json::from_value(value)
                .map(Self::Request)
                .map_err(invalid(kind)),
            "notification" => serde_json::from_value(value)
                .map(Self::Notification)
                .map_err(invalid(kind)),
            "response" => serde_json::from_value(value)
                .map(Self::Response)
                .map_err(invalid(kind)),
            _ => serde_json::from_value(value)
                .map(Self::Error)
                .map_err(invalid(kind)),
        }
    }

    /// The message as one line of wire text, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing these plain structs of `Value`s and strings cannot fail.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

fn classify(map: &Map<String, Value>) -> Result<&'static str, EnvelopeError> {
    let has = |k: &str| map.contains_key(k);
    match (has("method"), has("id")) {
        (true, true) => Ok("request"),
        (true, false) => Ok("notification"),
        (false, _) if has("error") => Ok("error response"),
        (false, true) if has("result") => Ok("response"),
        _ => Err(EnvelopeError::NotAMessage(
            "no `method`, `result` or `error` member",
        )),
    }
}
