//! The model of a Codex that is itself the agent ([`Mode::Agent`](crate::Mode::Agent)): Codex under
//! `codex exec`, with MCP servers in its configuration, follows a [`Script`].
//!
//! Codex 0.171 hides MCP tools until the model searches for them. The answers, by step:
//!
//! - [`Step::Search`]: a `tool_search_call` item with `"execution": "client"` and `arguments: {query,
//!   limit}`. Codex runs the search itself (BM25 over the tools' names and descriptions) and sends a
//!   `tool_search_output` whose `tools` hold `{"name": "mcp__<server>", "description": ..., "tools":
//!   [...]}` entries (0.171 writes the server's `-` as `_`: `mcp__codex_img`).
//! - [`Step::Call`]: a `function_call` with the MCP tool's `namespace` and `name` (Codex refuses a flat
//!   `mcp__server__tool` name). The namespace is the one the search returned for that tool, else the
//!   one the request offers it in, else `mcp__<server>` with `-` as `_`.
//! - [`Step::Say`]: an assistant message, which ends the turn.
//!
//! The step is the number of answers the model already gave in the request's `input`.
//! [`returns_in`] reads each call's output as the request after it carries it.

use serde_json::{json, Value};

use crate::agent::{decode_data_url, step_at, Block, Script, Step, ToolReturn};
use crate::record::RecordedRequest;

/// How many tools a search asks for, as Codex's own model does by default.
pub const SEARCH_LIMIT: u64 = 8;

/// Item types of the model's own answers, as a later request's `input` carries them.
const ANSWERS: &[&str] = &[
    "function_call",
    "custom_tool_call",
    "local_shell_call",
    "tool_search_call",
];

/// The items that answer a request of the agent's conversation.
pub(crate) fn answer(script: &Script, body: &Value, id: u64) -> Vec<Value> {
    let input = body["input"].as_array().cloned().unwrap_or_default();
    let answered = input
        .iter()
        .filter(|item| {
            let kind = item["type"].as_str().unwrap_or_default();
            ANSWERS.contains(&kind) || (kind == "message" && item["role"] == "assistant")
        })
        .count();
    match step_at(script, answered) {
        Step::Search(query) => vec![json!({
            "type": "tool_search_call",
            "id": format!("tsc_{id}"),
            "call_id": format!("call_search_{id}"),
            "status": "completed",
            "execution": "client",
            "arguments": {"query": query, "limit": SEARCH_LIMIT},
        })],
        Step::Call {
            server,
            tool,
            arguments,
        } => vec![json!({
            "type": "function_call",
            "id": format!("fc_{id}"),
            "call_id": format!("call_{id}"),
            "namespace": namespace_of(body, &server, &tool),
            "name": tool,
            "arguments": arguments.to_string(),
        })],
        Step::Say(text) => vec![json!({
            "type": "message",
            "id": format!("msg_{id}"),
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        })],
    }
}

/// The namespace that holds `tool`: from a search's output in the input, or among the offered tools;
/// else `mcp__<server>` with `-` written as `_`, as Codex 0.171 names it.
fn namespace_of(body: &Value, server: &str, tool: &str) -> String {
    let holds = |namespace: &Value| {
        namespace["type"] == "namespace"
            && namespace["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["name"] == tool)
    };
    let from_searches = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "tool_search_output")
        .flat_map(|item| item["tools"].as_array().cloned().unwrap_or_default())
        .find(|namespace| {
            holds(namespace)
                && namespace["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("mcp__"))
        });
    if let Some(namespace) = from_searches {
        return namespace["name"].as_str().unwrap_or_default().to_owned();
    }
    let offered = crate::model::offered(body);
    if let Some(found) = offered
        .iter()
        .find(|t| t.name == tool && t.namespace.is_some_and(|n| n.starts_with("mcp__")))
    {
        return found.namespace.unwrap_or_default().to_owned();
    }
    format!("mcp__{}", server.replace('-', "_"))
}

/// What the model received for each of its calls, in the order of the calls: the output of each
/// `function_call` and `tool_search_call`, from the first request that carries it.
pub(crate) fn returns_in(requests: &[RecordedRequest]) -> Vec<ToolReturn> {
    let mut calls: Vec<Value> = Vec::new();
    let mut outputs: Vec<(String, Value)> = Vec::new();
    for request in requests.iter().filter(|r| r.is_model_request()) {
        let Some(body) = request.json() else {
            continue;
        };
        for item in body["input"].as_array().into_iter().flatten() {
            let call_id = item["call_id"].as_str().unwrap_or_default().to_owned();
            match item["type"].as_str().unwrap_or_default() {
                "function_call" | "tool_search_call"
                    if !calls.iter().any(|c| c["call_id"] == call_id.as_str()) =>
                {
                    calls.push(item.clone());
                }
                "function_call_output" | "tool_search_output"
                    if !outputs.iter().any(|(known, _)| *known == call_id) =>
                {
                    outputs.push((call_id, item.clone()));
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for call in calls {
        let call_id = call["call_id"].as_str().unwrap_or_default();
        let Some((_, output)) = outputs.iter().find(|(known, _)| known == call_id) else {
            continue;
        };
        let (name, input) = if call["type"] == "tool_search_call" {
            ("tool_search".to_owned(), call["arguments"].clone())
        } else {
            let name = call["name"].as_str().unwrap_or_default();
            let name = match call["namespace"].as_str() {
                Some(namespace) => format!("{namespace}.{name}"),
                None => name.to_owned(),
            };
            let arguments = call["arguments"].as_str().unwrap_or_default();
            (
                name,
                serde_json::from_str(arguments).unwrap_or_else(|_| json!(arguments)),
            )
        };
        let blocks = if output["type"] == "tool_search_output" {
            search_blocks(&output["tools"])
        } else {
            output_blocks(&output["output"])
        };
        out.push(ToolReturn {
            name,
            input,
            is_error: None,
            blocks,
            raw: output.clone(),
        });
    }
    out
}

/// The tools a search returned: each function of each namespace as `<namespace>.<name>`, and each
/// top-level tool by its name.
fn search_blocks(tools: &Value) -> Vec<Block> {
    let mut out = Vec::new();
    for tool in tools.as_array().into_iter().flatten() {
        let name = tool["name"].as_str().unwrap_or_default();
        if tool["type"] == "namespace" {
            for inner in tool["tools"].as_array().into_iter().flatten() {
                let inner_name = inner["name"].as_str().unwrap_or_default();
                out.push(Block::Tool(format!("{name}.{inner_name}")));
            }
        } else {
            out.push(Block::Tool(name.to_owned()));
        }
    }
    out
}

/// A `function_call_output`'s `output`: a string, or a list of `input_text` and `input_image` items.
fn output_blocks(output: &Value) -> Vec<Block> {
    match output {
        Value::String(text) => vec![Block::Text(text.clone())],
        Value::Array(items) => items
            .iter()
            .map(|item| match item["type"].as_str() {
                Some("input_text") | Some("output_text") | Some("text") => {
                    Block::Text(item["text"].as_str().unwrap_or_default().to_owned())
                }
                Some("input_image") => {
                    let url = item["image_url"]
                        .as_str()
                        .or_else(|| item["image_url"]["url"].as_str())
                        .unwrap_or_default();
                    match decode_data_url(url) {
                        Some((media_type, data)) => Block::Image { media_type, data },
                        None => Block::Other(item.clone()),
                    }
                }
                _ => Block::Other(item.clone()),
            })
            .collect(),
        Value::Object(_) if output["content"].is_string() => {
            vec![Block::Text(
                output["content"].as_str().unwrap_or_default().to_owned(),
            )]
        }
        Value::Null => Vec::new(),
        other => vec![Block::Other(other.clone())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn request(input: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/backend-api/codex/responses".into(),
            headers: Vec::new(),
            body: json!({"input": input}).to_string().into_bytes(),
            wire_len: 0,
            at: SystemTime::UNIX_EPOCH,
            status: 200,
        }
    }

    #[test]
    fn follows_the_script_by_the_answers_in_the_input() {
        let script = vec![
            Step::Search("generate image".into()),
            Step::call("codex-img", "generate_image", json!({"prompt": "p"})),
        ];
        let first = answer(
            &script,
            &json!({"input": [{"type": "message", "role": "user"}]}),
            1,
        );
        assert_eq!(first[0]["type"], "tool_search_call");
        assert_eq!(first[0]["arguments"]["query"], "generate image");
        let after_search = json!({"input": [
            {"type": "message", "role": "user"},
            {"type": "tool_search_call", "call_id": "c1"},
            {"type": "tool_search_output", "call_id": "c1", "tools": [
                {"type": "namespace", "name": "mcp__codex_img", "tools": [{"type": "function", "name": "generate_image"}]}
            ]},
        ]});
        let second = answer(&script, &after_search, 2);
        assert_eq!(second[0]["type"], "function_call");
        assert_eq!(second[0]["namespace"], "mcp__codex_img");
        assert_eq!(second[0]["arguments"], r#"{"prompt":"p"}"#);
        let mut done = after_search.clone();
        done["input"]
            .as_array_mut()
            .unwrap()
            .push(second[0].clone());
        assert_eq!(answer(&script, &done, 3)[0]["type"], "message");
    }

    #[test]
    fn reads_search_results_text_and_images() {
        let seen = request(json!([
            {"type": "tool_search_call", "call_id": "s", "arguments": {"query": "q", "limit": 8}},
            {"type": "tool_search_output", "call_id": "s", "tools": [
                {"type": "namespace", "name": "mcp__x__", "tools": [{"type": "function", "name": "t"}]}
            ]},
            {"type": "function_call", "call_id": "f", "namespace": "mcp__x__", "name": "t", "arguments": "{\"a\":1}"},
            {"type": "function_call_output", "call_id": "f", "output": [
                {"type": "input_text", "text": "hi"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAE="},
            ]},
        ]));
        let returns = returns_in(&[seen]);
        assert_eq!(returns.len(), 2);
        assert_eq!(returns[0].name, "tool_search");
        assert_eq!(returns[0].tools(), vec!["mcp__x__.t"]);
        assert_eq!(returns[1].name, "mcp__x__.t");
        assert_eq!(returns[1].input, json!({"a": 1}));
        assert_eq!(returns[1].text(), "hi");
        assert_eq!(returns[1].images(), vec![("image/png", &[0u8, 1][..])]);
    }
}
