//! A stand-in of Anthropic's Messages API, playing Claude Code's model from a [`Script`].
//!
//! Claude Code runs offline against it with `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT` and any
//! `ANTHROPIC_API_KEY`. It serves plain HTTP on 127.0.0.1 (Claude Code takes a plain-HTTP base URL,
//! so no certificate is needed) and records every request whole, in arrival order.
//!
//! - `POST /v1/messages` with tools (the agent's conversation): the script's next [`Step`], streamed
//!   as server-sent events the way the API streams them (`message_start`, a `tool_use` or `text`
//!   content block with its deltas, `message_delta` with the stop reason, `message_stop`), or as one
//!   JSON message when the request does not ask for a stream. The step is the number of `tool_use`
//!   blocks the assistant messages of the request already hold (Claude Code merges consecutive
//!   assistant turns into one message), so a retry gets the same answer.
//! - `POST /v1/messages` without tools (a side request, such as a title): a short text.
//! - `POST /v1/messages/count_tokens`: an estimate (a quarter of the body's bytes).
//! - `GET /v1/models`: the model the agent asked for last, or a default.
//! - anything else: 404 with the API's error shape, recorded like the rest.
//!
//! [`Messages::returns`] reads what the model received for each of its calls (the `tool_result`
//! blocks of the requests that followed), decoded into [`ToolReturn`]s.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::agent::{decode_base64, step_at, Block, Script, Step, ToolReturn};
use crate::error::{Error, Result};
use crate::record::RecordedRequest;
use crate::routes::Reply;
use crate::server::{accept_loop, lock, Handler};

/// The model Claude Code is told exists when it lists models before asking for one.
const DEFAULT_MODEL: &str = "claude-opus-5-5";

struct State {
    script: Mutex<Script>,
    log: Mutex<Vec<RecordedRequest>>,
}

/// A running Messages API stand-in. Dropping it stops the server.
pub struct Messages {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Messages {
    /// Binds 127.0.0.1 on a free port and serves `script`. Needs a tokio runtime.
    pub async fn start(script: Script) -> Result<Messages> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::context("binding 127.0.0.1", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::context("reading the bound address", e))?;
        let state = Arc::new(State {
            script: Mutex::new(script),
            log: Mutex::new(Vec::new()),
        });
        // Plain HTTP: Claude Code takes a plain-HTTP base URL.
        let task = tokio::spawn(accept_loop(listener, None, Arc::clone(&state)));
        Ok(Messages { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the script, for the next conversation.
    pub fn set_script(&self, script: Script) {
        *lock(&self.state.script) = script;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.log).clone()
    }

    /// Forgets every recorded request.
    pub fn clear_requests(&self) {
        lock(&self.state.log).clear();
    }

    /// The requests of the agent's conversation: `POST /v1/messages` with tools.
    pub fn conversation(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| is_conversation(r).is_some())
            .collect()
    }

    /// What the model received for each of its calls, in the order of the calls: the first
    /// `tool_result` for each `tool_use` in the conversation, decoded.
    pub fn returns(&self) -> Vec<ToolReturn> {
        returns_in(&self.conversation())
    }

    /// One line a request (method, path, status, body size), for a failure message.
    pub fn request_log(&self) -> String {
        crate::record::log_text(&self.requests())
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The request's body when it is a turn of the agent's conversation (a messages call with tools).
fn is_conversation(request: &RecordedRequest) -> Option<Value> {
    if request.method != "POST" || request.route() != "/v1/messages" {
        return None;
    }
    let body = request.json()?;
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    has_tools.then_some(body)
}

/// The first `tool_result` for each `tool_use`, across the requests in order.
pub(crate) fn returns_in(requests: &[RecordedRequest]) -> Vec<ToolReturn> {
    let mut calls: Vec<(String, String, Value)> = Vec::new();
    let mut found: Vec<(String, ToolReturn)> = Vec::new();
    for request in requests {
        let Some(body) = request.json() else {
            continue;
        };
        for message in body["messages"].as_array().into_iter().flatten() {
            for block in message["content"].as_array().into_iter().flatten() {
                match (message["role"].as_str(), block["type"].as_str()) {
                    (Some("assistant"), Some("tool_use")) => {
                        let id = block["id"].as_str().unwrap_or_default().to_owned();
                        if !calls.iter().any(|(known, _, _)| *known == id) {
                            calls.push((
                                id,
                                block["name"].as_str().unwrap_or_default().to_owned(),
                                block["input"].clone(),
                            ));
                        }
                    }
                    (Some("user"), Some("tool_result")) => {
                        let id = block["tool_use_id"].as_str().unwrap_or_default().to_owned();
                        if found.iter().any(|(known, _)| *known == id) {
                            continue;
                        }
                        let (name, input) = calls
                            .iter()
                            .find(|(known, _, _)| *known == id)
                            .map(|(_, n, i)| (n.clone(), i.clone()))
                            .unwrap_or_default();
                        found.push((
                            id,
                            ToolReturn {
                                name,
                                input,
                                is_error: Some(block["is_error"].as_bool().unwrap_or(false)),
                                blocks: blocks_of(&block["content"]),
                                raw: block.clone(),
                            },
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    // In the order of the calls.
    let mut out = Vec::new();
    for (id, _, _) in &calls {
        if let Some(at) = found.iter().position(|(known, _)| known == id) {
            out.push(found.remove(at).1);
        }
    }
    out.extend(found.into_iter().map(|(_, r)| r));
    out
}

/// A `tool_result`'s content: a string, or a list of text, image and `tool_reference` blocks.
fn blocks_of(content: &Value) -> Vec<Block> {
    match content {
        Value::String(text) => vec![Block::Text(text.clone())],
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b["type"].as_str() {
                Some("text") => Block::Text(b["text"].as_str().unwrap_or_default().to_owned()),
                Some("image") if b["source"]["type"] == "base64" => {
                    match decode_base64(b["source"]["data"].as_str().unwrap_or_default()) {
                        Some(data) => Block::Image {
                            media_type: b["source"]["media_type"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            data,
                        },
                        None => Block::Other(b.clone()),
                    }
                }
                Some("tool_reference") => {
                    Block::Tool(b["tool_name"].as_str().unwrap_or_default().to_owned())
                }
                _ => Block::Other(b.clone()),
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![Block::Other(other.clone())],
    }
}

impl Handler for State {
    /// Claude Code's requests are recorded as they come.
    const DECODES_ZSTD: bool = false;

    fn log(&self) -> &Mutex<Vec<RecordedRequest>> {
        &self.log
    }

    fn answer(&self, request: &RecordedRequest) -> impl Future<Output = Reply> + Send {
        std::future::ready(answer(self, request))
    }
}

/// A reply as the API sends it: with a `request-id` header and no other (no `cache-control`, even
/// for a stream).
fn reply(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
    Reply {
        status,
        content_type,
        headers: vec![("request-id".to_owned(), "req_loopback".to_owned())],
        body,
    }
}

fn answer(state: &State, request: &RecordedRequest) -> Reply {
    let json_reply = |status: u16, value: Value| {
        reply(status, "application/json", value.to_string().into_bytes())
    };
    let route = request.route();
    match (request.method.as_str(), route) {
        ("POST", "/v1/messages/count_tokens") => json_reply(
            200,
            json!({"input_tokens": (request.body.len() / 4).max(1)}),
        ),
        ("GET", "/v1/models") => json_reply(
            200,
            json!({
                "data": [{"type": "model", "id": DEFAULT_MODEL, "display_name": "Claude (loopback)",
                          "created_at": "2026-01-01T00:00:00Z"}],
                "has_more": false, "first_id": DEFAULT_MODEL, "last_id": DEFAULT_MODEL,
            }),
        ),
        ("POST", "/v1/messages") => {
            let Some(body) = request.json() else {
                return json_reply(
                    400,
                    json!({"type": "error", "error": {"type": "invalid_request_error", "message": "the body is not JSON"}}),
                );
            };
            let content = match is_conversation(request) {
                Some(_) => {
                    let answered = answered(&body);
                    let script = lock(&state.script).clone();
                    // A safety net: a conversation that somehow does not move the script on ends
                    // instead of looping until the test's deadline.
                    let turns = lock(&state.log)
                        .iter()
                        .filter(|r| is_conversation(r).is_some())
                        .count();
                    let step = if turns > 4 * script.len() + 20 {
                        Step::Say(crate::agent::DONE.to_owned())
                    } else {
                        step_at(&script, answered)
                    };
                    content_for(&step, &body, answered)
                }
                None => json!({"type": "text", "text": "ok"}),
            };
            let model = body["model"].as_str().unwrap_or(DEFAULT_MODEL).to_owned();
            if body["stream"] == true {
                reply(200, "text/event-stream", sse(&model, &content).into_bytes())
            } else {
                json_reply(200, message(&model, &content, true))
            }
        }
        (method, _) => json_reply(
            404,
            json!({"type": "error", "error": {"type": "not_found_error",
                   "message": format!("no route for {method} {route}")}}),
        ),
    }
}

/// How many answers the model already gave in this conversation: its `tool_use` blocks. (Claude Code
/// merges consecutive assistant turns into one message, so messages cannot be counted.)
fn answered(body: &Value) -> usize {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_use")
        .count()
}

/// The content block a step answers with.
fn content_for(step: &Step, body: &Value, answered: usize) -> Value {
    let id = format!("toolu_loopback_{answered:02}");
    match step {
        Step::Search(query) => json!({
            "type": "tool_use", "id": id, "name": "ToolSearch", "input": {"query": query},
        }),
        Step::Call {
            server,
            tool,
            arguments,
        } => json!({
            "type": "tool_use", "id": id, "name": mcp_tool_name(body, server, tool), "input": arguments,
        }),
        Step::Say(text) => json!({"type": "text", "text": text}),
    }
}

/// The name Claude Code gives an MCP tool: `mcp__<server>__<tool>`, with characters outside
/// `[A-Za-z0-9_-]` replaced by `_`; or the offered tool with that ending, when the request offers one
/// of a different spelling.
fn mcp_tool_name(body: &Value, server: &str, tool: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let wanted = format!("mcp__{}__{}", clean(server), clean(tool));
    let offered: Vec<&str> = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    if offered.contains(&wanted.as_str()) {
        return wanted;
    }
    let ending = format!("__{}", clean(tool));
    offered
        .into_iter()
        .find(|name| name.starts_with("mcp__") && name.ends_with(&ending))
        .map_or(wanted, str::to_owned)
}

fn stop_reason(content: &Value) -> &'static str {
    if content["type"] == "tool_use" {
        "tool_use"
    } else {
        "end_turn"
    }
}

fn usage() -> Value {
    json!({"input_tokens": 12, "output_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

/// The whole message, as a non-streaming call returns it (`with_content`), or its start event's
/// empty shell.
fn message(model: &str, content: &Value, with_content: bool) -> Value {
    json!({
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": if with_content { json!([content]) } else { json!([]) },
        "stop_reason": if with_content { json!(stop_reason(content)) } else { Value::Null },
        "stop_sequence": null,
        "usage": usage(),
    })
}

/// The streamed form of a one-block message.
fn sse(model: &str, content: &Value) -> String {
    let (start, delta) = match content["type"].as_str() {
        Some("tool_use") => (
            json!({"type": "tool_use", "id": content["id"], "name": content["name"], "input": {}}),
            json!({"type": "input_json_delta", "partial_json": content["input"].to_string()}),
        ),
        _ => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": content["text"]}),
        ),
    };
    let events = [
        json!({"type": "message_start", "message": message(model, content, false)}),
        json!({"type": "content_block_start", "index": 0, "content_block": start}),
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(content), "stop_sequence": null},
               "usage": {"output_tokens": 8}}),
        json!({"type": "message_stop"}),
    ];
    let mut out = String::new();
    for event in events {
        let kind = event["type"].as_str().unwrap_or("message").to_owned();
        out.push_str(&format!("event: {kind}\ndata: {event}\n\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn request(body: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/v1/messages?beta=true".into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            wire_len: 0,
            at: SystemTime::UNIX_EPOCH,
            status: 200,
        }
    }

    #[test]
    fn reads_each_tool_result_once_in_the_order_of_the_calls() {
        let first = request(json!({"tools": [{"name": "ToolSearch"}], "messages": [
            {"role": "user", "content": [{"type": "text", "text": "draw"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "ToolSearch", "input": {"query": "q"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a",
                "content": [{"type": "tool_reference", "tool_name": "mcp__s__t"}]}]},
        ]}));
        let mut messages = first.json().unwrap()["messages"].clone();
        let more = json!([
            {"role": "assistant", "content": [{"type": "tool_use", "id": "b", "name": "mcp__s__t", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "b", "is_error": true, "content": [
                {"type": "text", "text": "hello"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAE="}},
            ]}]},
        ]);
        messages
            .as_array_mut()
            .unwrap()
            .extend(more.as_array().unwrap().clone());
        let second = request(json!({"tools": [{"name": "ToolSearch"}], "messages": messages}));
        let returns = returns_in(&[first, second]);
        assert_eq!(returns.len(), 2);
        assert_eq!(returns[0].tools(), vec!["mcp__s__t"]);
        assert_eq!(returns[1].name, "mcp__s__t");
        assert_eq!(returns[1].is_error, Some(true));
        assert_eq!(returns[1].text(), "hello");
        assert_eq!(returns[1].images(), vec![("image/png", &[0u8, 1][..])]);
    }

    #[test]
    fn names_an_mcp_tool_as_claude_code_does() {
        let body = json!({"tools": [{"name": "mcp__codex-img__generate_image"}]});
        assert_eq!(
            mcp_tool_name(&body, "codex-img", "generate_image"),
            "mcp__codex-img__generate_image"
        );
        assert_eq!(mcp_tool_name(&json!({}), "a.b", "t"), "mcp__a_b__t");
    }
}
