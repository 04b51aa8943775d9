//! What the backend saw.
//!
//! Tests assert on what left Codex: that no model request was made before a preflight error, that
//! the edits endpoint got the input images in order, that a private folder name never appeared.
//! So every request is kept whole, with its body, in arrival order.

use std::time::SystemTime;

/// One request the backend received, whatever its path.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method, such as `POST`.
    pub method: String,
    /// The path with its query, such as `/backend-api/codex/responses`.
    pub path: String,
    /// Every header, names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (decoded when Codex compressed it).
    pub body: Vec<u8>,
    /// The body's size on the wire, before decoding: what Codex actually sent upstream.
    pub wire_len: usize,
    /// When the request arrived.
    pub at: SystemTime,
    /// The status the backend answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// A request as it arrived, before it is answered (status 0): its method, its path with the
    /// query, every header (names lowercased, in arrival order), and `body` as it is to be kept
    /// (decoded when it came compressed) with `wire_len`, the body's size on the wire.
    pub(crate) fn from_parts(
        parts: &hyper::http::request::Parts,
        body: Vec<u8>,
        wire_len: usize,
        at: SystemTime,
    ) -> Self {
        Self {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| parts.uri.path().to_owned()),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
            wire_len,
            at,
            status: 0,
        }
    }

    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// Whether this is a model request (a Responses call).
    pub fn is_model_request(&self) -> bool {
        self.method == "POST" && self.route().ends_with("/responses")
    }

    /// Whether this is a call to an images endpoint.
    pub fn is_images_request(&self) -> bool {
        let route = self.route();
        route.ends_with("/images/generations") || route.ends_with("/images/edits")
    }

    /// For a model request: every tool it offers the model (see [`Self::offers_image_tool`]), flattened
    /// out of namespaces as `namespace.name`; the hosted image tool is `image_generation`.
    pub fn offered_tools(&self) -> Vec<String> {
        self.json()
            .map(|body| crate::model::offered_tool_names(&body))
            .unwrap_or_default()
    }

    /// For a model request: the tools code mode's `exec` declares for its scripts (0.145+), such as
    /// `exec_command` or `apply_patch` with Codex's own tools on; empty without code mode.
    pub fn code_mode_tools(&self) -> Vec<String> {
        let Some(body) = self.json() else {
            return Vec::new();
        };
        crate::model::offered(&body)
            .iter()
            .filter(|t| t.kind == "custom" && t.name == "exec")
            .flat_map(|t| crate::attempts::declared(t.tool))
            .collect()
    }

    /// For a model request: whether it offers Codex's image tool in any of its shapes (hosted, a
    /// function, or code mode's `exec` that lists it), the way the fake model looks for it.
    pub fn offers_image_tool(&self) -> bool {
        self.json()
            .is_some_and(|body| crate::model::image_tool(&body) != crate::model::ImageTool::Missing)
    }

    /// For a model request: every tool call in its input (a function, custom or local shell call), in
    /// order, each with the output Codex sent back for it, so a test can read what Codex made of a call.
    pub fn tool_exchanges(&self) -> Vec<ToolExchange> {
        let Some(body) = self.json() else {
            return Vec::new();
        };
        let input = body["input"].as_array().cloned().unwrap_or_default();
        let output_of = |call_id: &str| {
            input
                .iter()
                .find(|item| {
                    item["type"]
                        .as_str()
                        .is_some_and(|t| t.ends_with("_output"))
                        && item["call_id"] == call_id
                })
                .map(|item| match &item["output"] {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
        };
        input
            .iter()
            .filter(|item| {
                matches!(
                    item["type"].as_str(),
                    Some("function_call" | "custom_tool_call" | "local_shell_call")
                )
            })
            .map(|call| ToolExchange {
                kind: call["type"].as_str().unwrap_or_default().to_owned(),
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                call: call.clone(),
                output: output_of(call["call_id"].as_str().unwrap_or_default()),
            })
            .collect()
    }

    /// Whether `needle` occurs anywhere in the path, the headers or the body.
    pub fn mentions(&self, needle: &str) -> bool {
        let needle = needle.as_bytes();
        let found_in =
            |hay: &[u8]| !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle);
        found_in(self.path.as_bytes())
            || self
                .headers
                .iter()
                .any(|(k, v)| found_in(k.as_bytes()) || found_in(v.as_bytes()))
            || found_in(&self.body)
    }

    /// Whether this is a WebSocket upgrade (Codex 0.145+ tries one before every Responses stream).
    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }

    /// Whether this request is a side request: neither a model request, nor an images call, nor a
    /// WebSocket upgrade (models list, analytics, settings, plugins, connectors, accounts...).
    pub fn is_side_request(&self) -> bool {
        !self.is_model_request() && !self.is_images_request() && !self.is_websocket_upgrade()
    }

    /// A one-line summary for a failure log: method, path, status, body size.
    pub fn summary(&self) -> String {
        format!(
            "{} {} -> {} ({} bytes)",
            self.method,
            self.path,
            self.status,
            self.body.len()
        )
    }
}

/// The request log as text, one [`RecordedRequest::summary`] line a request, for a failure message.
pub(crate) fn log_text(requests: &[RecordedRequest]) -> String {
    let mut out = String::new();
    for request in requests {
        out.push_str(&request.summary());
        out.push('\n');
    }
    out
}

/// The input images of one `/images/edits` call, decoded from their data URLs, in request order.
#[derive(Debug, Clone, Default)]
pub struct EditInputs {
    /// Each image's bytes.
    pub images: Vec<Vec<u8>>,
    /// Each image's media type from its data URL, such as `image/png`.
    pub media_types: Vec<String>,
}

/// One tool call the model made and what Codex answered, as a later model request carries them.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolExchange {
    /// The call item's type: `function_call`, `custom_tool_call` or `local_shell_call`.
    pub kind: String,
    /// The tool's name (empty for `local_shell_call`).
    pub name: String,
    /// The call item as Codex sent it back.
    pub call: serde_json::Value,
    /// The text of the matching output item (its `output`, as text when it is structured), or `None`
    /// when Codex sent no output for the call.
    pub output: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn request(body: serde_json::Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/backend-api/codex/responses".into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            wire_len: 0,
            at: SystemTime::UNIX_EPOCH,
            status: 200,
        }
    }

    #[test]
    fn tool_exchanges_pair_each_call_with_its_output() {
        let follow_up = request(json!({"input": [
            {"type": "message", "role": "user", "content": []},
            {"type": "function_call", "name": "exec_command", "call_id": "a", "arguments": "{}"},
            {"type": "custom_tool_call", "name": "exec", "call_id": "b", "input": "x"},
            {"type": "custom_tool_call_output", "call_id": "b",
                "output": [{"type": "input_text", "text": "threw"}]},
            {"type": "function_call_output", "call_id": "a", "output": "unsupported call"},
            {"type": "function_call", "name": "shell", "call_id": "c", "arguments": "{}"},
        ]}));
        let seen: Vec<(String, String, Option<String>)> = follow_up
            .tool_exchanges()
            .into_iter()
            .map(|e| (e.kind, e.name, e.output))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "function_call".into(),
                    "exec_command".into(),
                    Some("unsupported call".into())
                ),
                (
                    "custom_tool_call".into(),
                    "exec".into(),
                    Some(r#"[{"text":"threw","type":"input_text"}]"#.into())
                ),
                ("function_call".into(), "shell".into(), None),
            ]
        );
    }
}
