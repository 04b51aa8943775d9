//! The fake model: answers `POST .../responses` with an SSE stream.
//!
//! Codex's image tool changed shape across releases, so the model looks at the tools each request
//! offers and calls whichever image tool is there:
//!
//! - a hosted `{"type":"image_generation"}` tool (Codex up to 0.140): the stream itself carries an
//!   `image_generation_call` output item with the PNG as base64 `result`;
//! - a plain function `imagegen` in namespace `image_gen` (or flat `image_gen__imagegen`): the
//!   model emits a `function_call`, and Codex itself calls the images endpoint;
//! - "code mode", one custom tool `exec` whose description lists `image_gen__imagegen`: the model
//!   emits a `custom_tool_call` named `exec` whose input is JavaScript calling the tool.
//!
//! A request whose newest input item is a tool output (or a finished hosted image) is a
//! follow-up: the model then says it is done, unless [`Mode::KeepWorking`] asks it to go on.
//!
//! In [`Mode::RunCommand`], [`Mode::ChangeFile`] and [`Mode::AskUser`] the model makes no image: its
//! first answer is a call that would change the machine or ask the user (see `attempts`), and the
//! follow-up ends the turn.
//!
//! Like a real model, it reads the user's text ([`Wants`]): when the text asks for a transparent
//! background, the client tool's arguments carry `transparent_background: true` (Codex 0.145+ declares
//! that argument); when it also names a flat solid key colour (`solid #RRGGBB`), the tool's prompt
//! asks for that background. The hosted tool (up to 0.140) has no transparency argument, so there the
//! model draws the subject on the flat key colour when one was named, and otherwise returns the
//! configured image.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::attempts::Attempt;
use crate::record::RecordedRequest;
use crate::routes::{usage_limit, Limit, Reply};
use crate::server::{lock, Mode, Shared};

/// The image tool a request offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageTool {
    Hosted,
    Function {
        name: String,
        namespace: Option<String>,
    },
    CodeMode {
        name: String,
        namespace: Option<String>,
    },
    Missing,
}

pub(crate) async fn answer(shared: &Shared, request: &RecordedRequest) -> Reply {
    let (mode, mut png, delay) = {
        let config = lock(&shared.config);
        (
            config.mode.clone(),
            config.image_png.clone(),
            config.image_delay,
        )
    };
    let body = request.json().unwrap_or(Value::Null);
    let wants = Wants::read(&user_text(&body));
    let tool = image_tool(&body);
    let follow_up = is_follow_up(&body);
    let id = shared.next_id();
    if let Some(key) = wants.key {
        let (w, h) = crate::png::png_size(&png).unwrap_or((64, 48));
        let comment = format!("loopback subject {id}");
        png = crate::png::subject_png(w, h, Some(key), Some(&comment));
    }

    if let Mode::Agent(script) = &mode {
        return Reply::sse(stream(id, &crate::codex_agent::answer(script, &body, id)));
    }
    if let Mode::ModelUsageLimit { resets_at } = mode {
        return usage_limit(Limit::Model, resets_at);
    }
    if let (Mode::UsageLimit { resets_at }, ImageTool::Hosted, false) = (&mode, &tool, follow_up) {
        return usage_limit(Limit::Model, *resets_at);
    }

    let mut items = Vec::new();
    match (&mode, follow_up) {
        (Mode::AskUser, false) => items.push(crate::attempts::call(id, &body, &Attempt::Ask)),
        (Mode::RunCommand { .. } | Mode::ChangeFile { .. } | Mode::AskUser, true) => {
            items.push(message(id, "I could not do that, so there is no image."));
        }
        (Mode::RunCommand { marker, escalate }, false) => {
            let attempt = Attempt::Command {
                marker,
                escalate: *escalate,
            };
            items.push(crate::attempts::call(id, &body, &attempt));
        }
        (Mode::ChangeFile { path }, false) => {
            items.push(crate::attempts::call(id, &body, &Attempt::Patch { path }));
        }
        (Mode::NoImage, _) => items.push(message(id, "I can only describe it: a red square.")),
        (Mode::KeepWorking, true) => {
            tokio::time::sleep(Duration::from_millis(50)).await;
            items.push(keep_working_call(id, &body));
        }
        (_, true) => items.push(message(id, "Done: the image is ready.")),
        (_, false) => {
            let prompt = wants.tool_prompt();
            let prompt = prompt.as_str();
            match &tool {
                ImageTool::Hosted => {
                    // The hosted tool makes the image inside the model call, so that call takes
                    // as long as the images endpoint would.
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
                    items.push(json!({
                        "type": "image_generation_call",
                        "id": format!("ig_{id}"),
                        "status": "completed",
                        "revised_prompt": prompt,
                        "result": b64,
                    }));
                    if mode == Mode::KeepWorking {
                        items.push(keep_working_call(id, &body));
                    } else {
                        items.push(message(id, "Here is the image."));
                    }
                }
                ImageTool::Function { name, namespace } => {
                    let mut call = json!({
                        "type": "function_call",
                        "id": format!("fc_{id}"),
                        "call_id": format!("call_{id}"),
                        "name": name,
                        "arguments": wants.args(image_args(&body, prompt)).to_string(),
                    });
                    if let Some(namespace) = namespace {
                        call["namespace"] = json!(namespace);
                    }
                    items.push(call);
                }
                ImageTool::CodeMode { name, namespace } => {
                    let input = format!(
                        "const result = await tools.image_gen__imagegen({}); generatedImage(result);",
                        wants.args(image_args(&body, prompt))
                    );
                    let mut call = json!({
                        "type": "custom_tool_call",
                        "id": format!("ctc_{id}"),
                        "call_id": format!("call_{id}"),
                        "name": name,
                        "input": input,
                    });
                    if let Some(namespace) = namespace {
                        call["namespace"] = json!(namespace);
                    }
                    items.push(call);
                }
                ImageTool::Missing => {
                    items.push(message(id, "No image tool was offered to me."));
                }
            }
        }
    }
    Reply::sse(stream(id, &items))
}

/// What the user's text asks of the image, as a model would read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wants {
    /// The text asks for a transparent background.
    pub(crate) transparent: bool,
    /// The text names a flat solid background colour (`solid #RRGGBB`).
    pub(crate) key: Option<[u8; 3]>,
}

/// The prompt the model passes to the tool when the user asked for nothing special.
const DEFAULT_TOOL_PROMPT: &str = "a red square on a white background";

impl Wants {
    pub(crate) fn read(text: &str) -> Wants {
        let lower = text.to_ascii_lowercase();
        Wants {
            transparent: lower.contains("transparent background"),
            key: solid_colour(&lower),
        }
    }

    /// The tool's prompt: the default, or an orange disc on the asked background.
    pub(crate) fn tool_prompt(&self) -> String {
        match self.key {
            Some([r, g, b]) => {
                format!("an orange disc on a flat solid #{r:02X}{g:02X}{b:02X} background")
            }
            None if self.transparent => "an orange disc on a transparent background".to_string(),
            None => DEFAULT_TOOL_PROMPT.to_string(),
        }
    }

    /// The tool's arguments, with `transparent_background: true` when it was asked for.
    fn args(&self, mut args: Value) -> Value {
        if self.transparent {
            args["transparent_background"] = json!(true);
        }
        args
    }
}

/// The first `#RRGGBB` that follows the word `solid` in `text` (lowercase).
pub(crate) fn solid_colour(text: &str) -> Option<[u8; 3]> {
    let mut rest = text;
    while let Some(at) = rest.find("solid") {
        rest = &rest[at + 5..];
        let hash = rest.find('#')?;
        // Only within the same phrase: a `#` much later belongs to something else.
        if hash > 40 {
            continue;
        }
        let hex = rest.get(hash + 1..hash + 7)?;
        if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
            return Some([byte(0)?, byte(2)?, byte(4)?]);
        }
    }
    None
}

/// The text of the newest user message (every `input_text` part, joined).
fn user_text(body: &Value) -> String {
    let last_user = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|item| item["type"] == "message" && item["role"] == "user");
    let Some(message) = last_user else {
        return String::new();
    };
    match &message["content"] {
        Value::String(text) => text.clone(),
        parts => parts
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// One offered tool, flattened out of its namespace.
pub(crate) struct Offered<'a> {
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) tool: &'a Value,
}

/// Every tool the request offers: the top-level `tools`, and (0.169+) the `tools` of
/// `additional_tools` input items, with namespaces flattened.
pub(crate) fn offered(body: &Value) -> Vec<Offered<'_>> {
    fn walk<'a>(tools: &'a Value, namespace: Option<&'a str>, out: &mut Vec<Offered<'a>>) {
        for tool in tools.as_array().into_iter().flatten() {
            let kind = tool["type"].as_str().unwrap_or_default();
            let name = tool["name"].as_str().unwrap_or_default();
            if kind == "namespace" {
                walk(&tool["tools"], Some(name), out);
            } else {
                out.push(Offered {
                    kind,
                    name,
                    namespace: namespace.or_else(|| tool["namespace"].as_str()),
                    tool,
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(&body["tools"], None, &mut out);
    for item in body["input"].as_array().into_iter().flatten() {
        if item["type"] == "additional_tools" {
            walk(&item["tools"], None, &mut out);
        }
    }
    out
}

/// Every tool `body` offers, flattened out of namespaces, each as `namespace.name` (or `name`), or as
/// its type when it has no name (such as the hosted `image_generation`).
pub(crate) fn offered_tool_names(body: &Value) -> Vec<String> {
    offered(body)
        .iter()
        .map(|t| match (t.namespace, t.name) {
            (_, "") => t.kind.to_string(),
            (Some(ns), name) => format!("{ns}.{name}"),
            (None, name) => name.to_string(),
        })
        .collect()
}

/// The namespace to name in a call: none for the default `functions` namespace.
pub(crate) fn call_namespace(namespace: Option<&str>) -> Option<String> {
    namespace.filter(|n| *n != "functions").map(str::to_string)
}

/// Finds the image tool among the offered tools.
pub(crate) fn image_tool(body: &Value) -> ImageTool {
    let tools = offered(body);
    if tools.iter().any(|t| t.kind == "image_generation") {
        return ImageTool::Hosted;
    }
    for tool in &tools {
        let is_image = tool.kind == "function"
            && (tool.name == "image_gen__imagegen"
                || (tool.name == "imagegen" && tool.namespace.is_some_and(|n| n == "image_gen")));
        if is_image {
            return ImageTool::Function {
                name: tool.name.to_string(),
                namespace: call_namespace(tool.namespace),
            };
        }
    }
    for tool in &tools {
        if tool.kind == "custom" && tool.tool.to_string().contains("image_gen__imagegen") {
            return ImageTool::CodeMode {
                name: tool.name.to_string(),
                namespace: call_namespace(tool.namespace),
            };
        }
    }
    ImageTool::Missing
}

/// The image tool's arguments. With input images in the newest user message this is an edit:
/// the model names the images by the `path="..."` Codex wrote into the text when every image has
/// one (recent releases), and otherwise asks for the last N conversation images.
fn image_args(body: &Value, prompt: &str) -> Value {
    let last_user = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|item| item["type"] == "message" && item["role"] == "user");
    let Some(message) = last_user else {
        return json!({"prompt": prompt});
    };
    let parts = message["content"].as_array().cloned().unwrap_or_default();
    let images = parts.iter().filter(|p| p["type"] == "input_image").count();
    if images == 0 {
        return json!({"prompt": prompt});
    }
    let mut paths = Vec::new();
    for part in &parts {
        let text = part["text"].as_str().unwrap_or_default();
        let mut rest = text;
        while let Some(start) = rest.find("path=\"") {
            let after = &rest[start + 6..];
            match after.find('"') {
                Some(end) => {
                    paths.push(after[..end].to_string());
                    rest = &after[end..];
                }
                None => break,
            }
        }
    }
    if paths.len() == images {
        json!({"prompt": prompt, "referenced_image_paths": paths})
    } else {
        json!({"prompt": prompt, "num_last_images_to_include": images})
    }
}

/// Whether the newest input item is the answer to a tool call (or a hosted image).
fn is_follow_up(body: &Value) -> bool {
    let Some(last) = body["input"].as_array().and_then(|items| items.last()) else {
        return false;
    };
    match last["type"].as_str().unwrap_or_default() {
        "function_call_output"
        | "custom_tool_call_output"
        | "function_call"
        | "custom_tool_call"
        | "image_generation_call"
        | "local_shell_call_output" => true,
        "message" => last["role"] == "assistant",
        _ => false,
    }
}

/// A harmless tool call that keeps the turn going: a shell command when a shell tool is offered,
/// otherwise a code-mode `exec` that only prints, otherwise a plan update.
fn keep_working_call(id: u64, body: &Value) -> Value {
    let tools = offered(body);
    let names: Vec<(&str, &str)> = tools.iter().map(|t| (t.kind, t.name)).collect();
    let function = |name: &str, arguments: Value| {
        json!({
            "type": "function_call",
            "id": format!("fc_{id}"),
            "call_id": format!("call_{id}"),
            "name": name,
            "arguments": arguments.to_string(),
        })
    };
    if names.contains(&("function", "shell_command")) {
        return function(
            "shell_command",
            json!({"command": "echo checking the image"}),
        );
    }
    if names.contains(&("function", "exec_command")) {
        return function("exec_command", json!({"cmd": "echo checking the image"}));
    }
    if names.contains(&("function", "shell")) {
        return function("shell", json!({"command": ["echo", "checking the image"]}));
    }
    if let Some(tool) = tools
        .iter()
        .find(|t| t.kind == "custom" && t.name == "exec")
    {
        let mut call = json!({
            "type": "custom_tool_call",
            "id": format!("ctc_{id}"),
            "call_id": format!("call_{id}"),
            "name": tool.name,
            "input": "const r = await tools.exec_command({\"cmd\": \"echo checking the image\"}); text(String(r));",
        });
        if let Some(namespace) = call_namespace(tool.namespace) {
            call["namespace"] = json!(namespace);
        }
        return call;
    }
    function(
        "update_plan",
        json!({"plan": [{"step": "check the image", "status": "in_progress"}]}),
    )
}

fn message(id: u64, text: &str) -> Value {
    json!({
        "type": "message",
        "id": format!("msg_{id}"),
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    })
}

/// The SSE text of one response: created, each item added and done, completed.
fn stream(id: u64, items: &[Value]) -> String {
    let response_id = format!("resp_{id}");
    let mut events = vec![json!({
        "type": "response.created",
        "response": {"id": response_id, "status": "in_progress"},
    })];
    for (index, item) in items.iter().enumerate() {
        events.push(
            json!({"type": "response.output_item.added", "output_index": index, "item": item}),
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        );
    }
    events.push(json!({
        "type": "response.completed",
        "response": {
            "id": response_id,
            "status": "completed",
            "usage": {
                "input_tokens": 12,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 8,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 20,
            },
        },
    }));
    let mut out = String::new();
    for event in events {
        let kind = event["type"].as_str().unwrap_or("message").to_string();
        out.push_str(&format!("event: {kind}\ndata: {event}\n\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_shape_of_the_image_tool() {
        let tools = |t: Value| json!({"tools": t});
        assert_eq!(
            image_tool(&tools(json!([{"type": "image_generation"}]))),
            ImageTool::Hosted
        );
        assert_eq!(
            image_tool(&tools(json!([{"type": "namespace", "name": "image_gen",
                "tools": [{"type": "function", "name": "imagegen"}]}]))),
            ImageTool::Function {
                name: "imagegen".into(),
                namespace: Some("image_gen".into())
            }
        );
        let code_mode = json!({"input": [{"type": "additional_tools", "tools": [
            {"type": "namespace", "name": "functions", "tools": [
                {"type": "custom", "name": "exec", "description": "tools.image_gen__imagegen(...)"}
            ]}
        ]}]});
        assert_eq!(
            image_tool(&code_mode),
            ImageTool::CodeMode {
                name: "exec".into(),
                namespace: None
            }
        );
        assert_eq!(
            image_tool(&tools(json!([{"type": "function", "name": "shell"}]))),
            ImageTool::Missing
        );
    }

    #[test]
    fn an_edit_names_the_images_by_path_or_by_count() {
        let with_paths = json!({"input": [{"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "<image name=[Image #1] path=\"/p/a.png\">"},
            {"type": "input_image", "image_url": "data:"},
        ]}]});
        assert_eq!(
            image_args(&with_paths, "x"),
            json!({"prompt": "x", "referenced_image_paths": ["/p/a.png"]})
        );
        let without = json!({"input": [{"type": "message", "role": "user", "content": [
            {"type": "input_image", "image_url": "data:"},
            {"type": "input_image", "image_url": "data:"},
        ]}]});
        assert_eq!(
            image_args(&without, "x"),
            json!({"prompt": "x", "num_last_images_to_include": 2})
        );
    }

    #[test]
    fn reads_transparency_and_a_key_colour_from_the_user_text() {
        let body = |text: &str| {
            json!({"input": [{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": text},
            ]}]})
        };
        let cases = [
            ("a cat", Wants::default()),
            (
                "a cat. Make the background transparent background.",
                Wants { transparent: true, key: None },
            ),
            (
                "a cat on a transparent background; if that is impossible, a flat solid #00FF00 background",
                Wants { transparent: true, key: Some([0, 255, 0]) },
            ),
            ("issue #123 is solid", Wants::default()),
        ];
        for (text, want) in cases {
            assert_eq!(Wants::read(&user_text(&body(text))), want, "{text}");
        }
        let asked = Wants {
            transparent: true,
            key: Some([255, 0, 255]),
        };
        assert_eq!(
            asked.args(json!({"prompt": "p"})),
            json!({"prompt": "p", "transparent_background": true})
        );
        assert_eq!(
            asked.tool_prompt(),
            "an orange disc on a flat solid #FF00FF background"
        );
    }

    #[test]
    fn a_tool_output_makes_a_follow_up() {
        assert!(is_follow_up(
            &json!({"input": [{"type": "function_call_output"}]})
        ));
        assert!(!is_follow_up(
            &json!({"input": [{"type": "message", "role": "user"}]})
        ));
    }
}
