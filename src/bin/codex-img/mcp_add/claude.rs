//! Claude Code keeps its user-level MCP servers in `~/.claude.json`, a file it rewrites itself while it
//! runs, so codex-img never edits it: it reads it to compare, and changes it through Claude Code's own
//! `claude mcp add --scope user` (and `claude mcp remove` before a forced replace).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::edit::Change;
use super::entry::Entry;
use super::error::ConfigError;

/// The `claude` executable on PATH.
pub fn find() -> Option<PathBuf> {
    super::launch::find_on_path("claude")
}

/// The command line that adds `entry`, as it is run and as it is shown:
/// `claude mcp add --scope user NAME [-e KEY=VALUE]... -- COMMAND ARGS...`. The `-e` option takes
/// several values, so it comes after the name and ends at `--`.
pub fn add_command(name: &str, entry: &Entry) -> Vec<String> {
    let mut words: Vec<String> = ["claude", "mcp", "add", "--scope", "user", name]
        .into_iter()
        .map(String::from)
        .collect();
    let json = entry.to_json();
    if let Some(env) = json.get("env").and_then(Value::as_object) {
        for (key, value) in env {
            words.push("-e".into());
            words.push(format!("{key}={}", value.as_str().unwrap_or_default()));
        }
    }
    words.push("--".into());
    if let Some(command) = json.get("command").and_then(Value::as_str) {
        words.push(command.to_owned());
    }
    for arg in json
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        words.push(arg.as_str().unwrap_or_default().to_owned());
    }
    words
}

/// What adding would do, judged from `config` (Claude Code's own file, read only).
pub fn plan(config: &Path, name: &str, entry: &Entry, force: bool) -> Result<Change, ConfigError> {
    let existing = match super::write::read(config)? {
        Some(text) => jsonc_parser::parse_to_serde_value::<Value>(&text, &Default::default())
            .ok()
            .and_then(|v| v.get("mcpServers")?.get(name).cloned()),
        None => None,
    };
    match existing {
        None => Ok(Change::Added(String::new())),
        Some(found) if normal(&found) == normal(&entry.to_json()) => Ok(Change::Unchanged),
        Some(_) if force => Ok(Change::Replaced(String::new())),
        Some(found) => Err(ConfigError::Exists {
            file: config.to_path_buf(),
            name: name.to_owned(),
            existing: serde_json::to_string_pretty(&found).unwrap_or_default(),
        }),
    }
}

/// An entry as Claude Code compares: an empty `env` is no `env`.
fn normal(entry: &Value) -> Value {
    let mut entry = entry.clone();
    if let Some(object) = entry.as_object_mut() {
        if object
            .get("env")
            .is_some_and(|env| env.as_object().is_some_and(|e| e.is_empty()))
        {
            object.remove("env");
        }
    }
    entry
}

/// Runs `claude` with `args` (the first word replaced by the executable found).
pub fn run(claude: &Path, args: &[String]) -> Result<String, ConfigError> {
    let output = Command::new(claude)
        .args(&args[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| ConfigError::Io {
            action: "running",
            file: claude.to_path_buf(),
            source,
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text.trim().to_owned())
    } else {
        Err(ConfigError::AgentFailed {
            command: args[..args.len().min(6)].join(" "),
            status: output.status.to_string(),
            output: text.trim().to_owned(),
        })
    }
}
