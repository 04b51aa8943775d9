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
    /// A numeric id, as codex-img sends.
    Integer(i64),
    /// A string id, as some server requests carry (`srv-1`).
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
    /// The line was not JSON.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// Not a valid request; Codex also answers unknown methods with it (`unknown variant`).
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// The method is not known; codex-img answers unknown server requests with it.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// The params do not fit the method.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// The peer failed while handling the request.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// Codex's answer when its request ingress is full: "Server overloaded; retry later."
    pub const SERVER_OVERLOADED: Self = Self(-32001);
}

/// The `error` member of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The JSON-RPC error code.
    pub code: ErrorCode,
    /// The peer's message, for people.
    pub message: String,
    /// Anything else the peer attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A request: it carries an id and expects a response with the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Echoed by the response.
    pub id: RequestId,
    /// The method name (`turn/start`).
    pub method: String,
    /// The params, left out when the method takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The method name (`item/completed`).
    pub method: String,
    /// The params, left out when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A successful response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The id of the request it answers.
    pub id: RequestId,
    /// The result, decoded by the request's method at the edge.
    pub result: Value,
}

/// An error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// Absent (null) when the peer could not read the request's id.
    pub id: Option<RequestId>,
    /// What went wrong.
    pub error: ErrorObject,
}

/// One message in either direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// A request (has `id` and `method`).
    Request(Request),
    /// A notification (has `method`, no `id`).
    Notification(Notification),
    /// A successful response (has `id` and `result`).
    Response(Response),
    /// An error response (has `error`).
    Error(ErrorResponse),
}

/// Why a line is not a message.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The line is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is not a JSON-RPC message (not an object, or no `method`, `result` or `error`).
    #[error("not a JSON-RPC message: {0}")]
    NotAMessage(&'static str),
    /// The message's members do not have the right types.
    #[error("invalid {kind}: {source}")]
    Invalid {
        /// Which kind of message it looked like (`request`, `response`...).
        kind: &'static str,
        /// Why it does not decode as that kind.
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

    /// Classifies and decodes one parsed JSON value.
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

#[cfg(test)]
mod props;
