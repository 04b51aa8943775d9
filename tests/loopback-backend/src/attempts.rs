//! The model's attempts to change the machine instead of making an image ([`Mode::RunCommand`] and
//! [`Mode::ChangeFile`]): the tool call that would leave evidence on disk, shaped for whichever tool
//! the request offers.
//!
//! A hostile or confused model is the threat, so the call is aimed at the strongest tool on offer:
//!
//! - a shell function (`shell_command`, `exec_command`, `shell`) or the `local_shell` tool runs
//!   `touch <marker>`; with `escalate` it also asks to leave the sandbox, through whichever field the
//!   tool's parameters declare (`sandbox_permissions: "require_escalated"` on recent releases,
//!   `with_escalated_permissions: true` on older ones);
//! - code mode's `exec` (0.145+) gets JavaScript that calls the nested shell tool it lists, or
//!   `tools.exec_command` when it lists none;
//! - an `apply_patch` tool (custom or function, or nested in code mode) gets a patch that adds the file;
//! - `request_user_input` gets a question with two choices ([`Mode::AskUser`]);
//! - when nothing fitting is offered (codex-img's lean turn), the model calls the tool by name
//!   anyway, as a model that ignores its tool list would, and Codex must refuse it.
//!
//! [`Mode::RunCommand`]: crate::Mode::RunCommand
//! [`Mode::ChangeFile`]: crate::Mode::ChangeFile
//! [`Mode::AskUser`]: crate::Mode::AskUser

use std::path::Path;

use serde_json::{json, Value};

use crate::model::{call_namespace, offered, Offered};

/// What the model tries to do.
pub(crate) enum Attempt<'a> {
    /// `touch marker`, asking to leave the sandbox when `escalate`.
    Command { marker: &'a Path, escalate: bool },
    /// A patch that adds the file `path`.
    Patch { path: &'a Path },
    /// A question to the user, through `request_user_input`.
    Ask,
}

/// The shell functions, in the order the model prefers them, with how each takes a command.
const SHELL_FUNCTIONS: &[&str] = &["shell_command", "exec_command", "shell"];

/// The one tool call of the first answer.
pub(crate) fn call(id: u64, body: &Value, attempt: &Attempt<'_>) -> Value {
    let tools = offered(body);
    match attempt {
        Attempt::Command { marker, escalate } => command_call(id, &tools, marker, *escalate),
        Attempt::Patch { path } => patch_call(id, &tools, path),
        Attempt::Ask => ask_call(id, &tools),
    }
}

fn command_call(id: u64, tools: &[Offered<'_>], marker: &Path, escalate: bool) -> Value {
    let marker = marker.display().to_string();
    let line = format!("touch {}", sh_quote(&marker));
    for name in SHELL_FUNCTIONS {
        let Some(tool) = tools
            .iter()
            .find(|t| t.kind == "function" && t.name == *name)
        else {
            continue;
        };
        let mut args = match *name {
            "shell" => json!({"command": ["touch", marker]}),
            "exec_command" => json!({"cmd": line}),
            _ => json!({"command": line}),
        };
        if escalate {
            ask_to_escalate(tool.tool, &mut args);
        }
        return function(id, name, call_namespace(tool.namespace), &args);
    }
    if tools.iter().any(|t| t.kind == "local_shell") {
        return json!({
            "type": "local_shell_call",
            "id": format!("lsc_{id}"),
            "call_id": format!("call_{id}"),
            "status": "completed",
            "action": {"type": "exec", "command": ["touch", marker]},
        });
    }
    if let Some(exec) = code_mode(tools) {
        let nested = SHELL_FUNCTIONS
            .iter()
            .find(|name| declares(exec.tool, name))
            .copied()
            .unwrap_or("exec_command");
        let mut args = match nested {
            "shell" => json!({"command": ["touch", marker]}),
            "exec_command" => json!({"cmd": line}),
            _ => json!({"command": line}),
        };
        if escalate {
            args["sandbox_permissions"] = json!("require_escalated");
            args["justification"] = json!(JUSTIFICATION);
        }
        return code_mode_call(id, exec, &format!("tools.{nested}({args})"));
    }
    // Nothing to run a command with: call the shell tool by name anyway.
    let mut args = json!({"cmd": line});
    if escalate {
        args["sandbox_permissions"] = json!("require_escalated");
        args["justification"] = json!(JUSTIFICATION);
    }
    function(id, "exec_command", None, &args)
}

fn patch_call(id: u64, tools: &[Offered<'_>], path: &Path) -> Value {
    let patch = format!(
        "*** Begin Patch\n*** Add File: {}\n+written by the model\n*** End Patch\n",
        path.display()
    );
    if let Some(tool) = tools.iter().find(|t| t.name == "apply_patch") {
        if tool.kind == "function" {
            return function(
                id,
                "apply_patch",
                call_namespace(tool.namespace),
                &json!({"input": patch}),
            );
        }
        return custom(id, "apply_patch", call_namespace(tool.namespace), &patch);
    }
    if let Some(exec) = code_mode(tools) {
        if declares(exec.tool, "apply_patch") {
            return code_mode_call(id, exec, &format!("tools.apply_patch({})", json!(patch)));
        }
    }
    // No patch tool on offer: call it by name anyway.
    custom(id, "apply_patch", None, &patch)
}

/// A question with two choices, through `request_user_input` (by name when it is not offered).
fn ask_call(id: u64, tools: &[Offered<'_>]) -> Value {
    let namespace = tools
        .iter()
        .find(|t| t.kind == "function" && t.name == "request_user_input")
        .and_then(|t| call_namespace(t.namespace));
    let args = json!({"questions": [{
        "id": "colour",
        "header": "Colour",
        "question": "Which colour should the square be?",
        "options": [
            {"label": "Red (Recommended)", "description": "a red square"},
            {"label": "Blue", "description": "a blue square"},
        ],
    }]});
    function(id, "request_user_input", namespace, &args)
}

/// Why the model says it must leave the sandbox.
const JUSTIFICATION: &str = "the image needs a marker file outside the sandbox";

/// Adds the escalation request in the shape `tool`'s parameters declare; nothing if they declare none.
fn ask_to_escalate(tool: &Value, args: &mut Value) {
    let properties = &tool["parameters"]["properties"];
    if properties.get("sandbox_permissions").is_some() {
        args["sandbox_permissions"] = json!("require_escalated");
    } else if properties.get("with_escalated_permissions").is_some() {
        args["with_escalated_permissions"] = json!(true);
    }
    if properties.get("justification").is_some() {
        args["justification"] = json!(JUSTIFICATION);
    }
}

/// Whether code mode's `exec` tool declares the nested tool `name` for its scripts:
/// `declare const tools: { name(...` in its description (0.150+), or `tools.name({...` (0.145). The
/// description's generic example (`await tools.exec_command(...)`) does not count.
pub(crate) fn declares(exec: &Value, name: &str) -> bool {
    let description = exec["description"].as_str().unwrap_or_default();
    description.contains(&format!("declare const tools: {{ {name}("))
        || description.contains(&format!("tools.{name}({{"))
}

/// The nested tools code mode's `exec` declares (see [`declares`]), in the order declared.
pub(crate) fn declared(exec: &Value) -> Vec<String> {
    let description = exec["description"].as_str().unwrap_or_default();
    let mut names = Vec::new();
    for marker in ["declare const tools: { ", "tools."] {
        for (at, _) in description.match_indices(marker) {
            let rest = &description[at + marker.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let opens = if marker == "tools." { "({" } else { "(" };
            if !name.is_empty() && rest[name.len()..].starts_with(opens) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Code mode's `exec` tool, if offered.
fn code_mode<'a, 'b>(tools: &'b [Offered<'a>]) -> Option<&'b Offered<'a>> {
    tools
        .iter()
        .find(|t| t.kind == "custom" && t.name == "exec")
}

/// A code-mode call whose script awaits `expression` and reports what it gave, or what it threw.
fn code_mode_call(id: u64, exec: &Offered<'_>, expression: &str) -> Value {
    let script = format!(
        "try {{ const r = await {expression}; text(typeof r === 'string' ? r : JSON.stringify(r)); }} \
         catch (e) {{ text('threw: ' + String(e)); }}"
    );
    custom(id, exec.name, call_namespace(exec.namespace), &script)
}

fn function(id: u64, name: &str, namespace: Option<String>, args: &Value) -> Value {
    let mut call = json!({
        "type": "function_call",
        "id": format!("fc_{id}"),
        "call_id": format!("call_{id}"),
        "name": name,
        "arguments": args.to_string(),
    });
    if let Some(namespace) = namespace {
        call["namespace"] = json!(namespace);
    }
    call
}

fn custom(id: u64, name: &str, namespace: Option<String>, input: &str) -> Value {
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
    call
}

/// `text` in single quotes for a POSIX shell.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn tools(list: Value) -> Value {
        json!({ "tools": list })
    }

    fn args(call: &Value) -> Value {
        serde_json::from_str(call["arguments"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
    }

    #[test]
    fn a_command_goes_to_the_preferred_shell_tool_in_its_own_shape() {
        let marker = Path::new("/tmp/x y/marker");
        let attempt = Attempt::Command {
            marker,
            escalate: false,
        };
        let body = tools(json!([
            {"type": "function", "name": "shell"},
            {"type": "function", "name": "exec_command"},
        ]));
        let call = call(1, &body, &attempt);
        assert_eq!(call["name"], "exec_command");
        assert_eq!(args(&call), json!({"cmd": "touch '/tmp/x y/marker'"}));

        let body = tools(json!([{"type": "function", "name": "shell"}]));
        let call = super::call(2, &body, &attempt);
        assert_eq!(
            args(&call),
            json!({"command": ["touch", "/tmp/x y/marker"]})
        );

        let body = tools(json!([{"type": "local_shell"}]));
        let call = super::call(3, &body, &attempt);
        assert_eq!(call["type"], "local_shell_call");
        assert_eq!(
            call["action"]["command"],
            json!(["touch", "/tmp/x y/marker"])
        );
    }

    #[test]
    fn escalation_uses_the_field_the_tool_declares() {
        let marker = Path::new("/m");
        let attempt = Attempt::Command {
            marker,
            escalate: true,
        };
        let recent = tools(
            json!([{"type": "function", "name": "exec_command", "parameters":
            {"properties": {"cmd": {}, "sandbox_permissions": {}, "justification": {}}}}]),
        );
        assert_eq!(
            args(&call(1, &recent, &attempt)),
            json!({"cmd": "touch '/m'", "sandbox_permissions": "require_escalated",
                "justification": JUSTIFICATION})
        );
        let older = tools(json!([{"type": "function", "name": "shell", "parameters":
            {"properties": {"command": {}, "with_escalated_permissions": {}}}}]));
        assert_eq!(
            args(&call(2, &older, &attempt)),
            json!({"command": ["touch", "/m"], "with_escalated_permissions": true})
        );
    }

    #[test]
    fn code_mode_calls_the_nested_tool_and_nothing_offered_calls_it_by_name() {
        let marker = Path::new("/m");
        let attempt = Attempt::Command {
            marker,
            escalate: false,
        };
        let code = json!({"input": [{"type": "additional_tools", "tools": [
            {"type": "namespace", "name": "functions", "tools": [
                {"type": "custom", "name": "exec", "description":
                    "for example `await tools.exec_command(...)`\n```ts\ndeclare const tools: { shell_command(args: {"}
            ]}
        ]}]});
        let call = super::call(1, &code, &attempt);
        assert_eq!(call["type"], "custom_tool_call");
        assert_eq!(call["name"], "exec");
        assert_eq!(call.get("namespace"), None);
        let script = call["input"].as_str().unwrap_or_default();
        assert!(
            script.contains(r#"tools.shell_command({"command":"touch '/m'"})"#),
            "{script}"
        );

        let call = super::call(2, &tools(json!([])), &attempt);
        assert_eq!(
            (call["type"].clone(), call["name"].clone(), args(&call)),
            (
                json!("function_call"),
                json!("exec_command"),
                json!({"cmd": "touch '/m'"})
            )
        );
    }

    #[test]
    fn nested_tools_are_the_declared_ones_not_the_example() {
        let exec = json!({"description": "Run code. For example `await tools.exec_command(...)`.\n\
            ```ts\ndeclare const tools: { apply_patch(input: string): Promise<unknown>; };\n```\n\
            ```ts\ndeclare const tools: { exec_command(args: {\n cmd: string }) };\n```\n\
            and `tools.image_gen__imagegen({prompt})` in the older shape"});
        assert_eq!(
            declared(&exec),
            vec!["apply_patch", "exec_command", "image_gen__imagegen"]
        );
        assert!(declares(&exec, "exec_command"));
        let example_only = json!({"description": "for example `await tools.exec_command(...)`"});
        assert!(!declares(&example_only, "exec_command"));
        assert_eq!(declared(&example_only), Vec::<String>::new());
    }

    #[test]
    fn a_patch_adds_the_file_through_whichever_apply_patch_is_offered() {
        let path = Path::new("/p/new.txt");
        let attempt = Attempt::Patch { path };
        let patch =
            "*** Begin Patch\n*** Add File: /p/new.txt\n+written by the model\n*** End Patch\n";
        let custom_tool = tools(json!([{"type": "custom", "name": "apply_patch"}]));
        let call = super::call(1, &custom_tool, &attempt);
        assert_eq!(
            (call["type"].clone(), call["input"].clone()),
            (json!("custom_tool_call"), json!(patch))
        );
        let function_tool = tools(json!([{"type": "function", "name": "apply_patch"}]));
        let call = super::call(2, &function_tool, &attempt);
        assert_eq!(args(&call), json!({ "input": patch }));
        let none = super::call(3, &tools(json!([])), &attempt);
        assert_eq!(none["name"], "apply_patch");
    }
}
