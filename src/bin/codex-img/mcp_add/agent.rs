//! The agents `codex-img mcp add` knows: where each keeps its MCP servers, and the entry each gets, with
//! the settings each needs for a tool that runs 30-140 s and spends quota.
//!
//! - Codex ends a tool call at `tool_timeout_sec`, a hard wall-clock limit that progress does not
//!   extend, so it gets 300 s and the server's own `--timeout` stays below it (280), so a slow image
//!   ends as a clear `runtime/timeout` rather than a call Codex gave up on. Under `codex exec` (approval
//!   policy `never`) a tool that is not read-only fails at once unless its server says
//!   `default_tools_approval_mode = "approve"`. A first `npx -y` start downloads the package, longer
//!   than Codex's default 10 s start-up timeout, hence `startup_timeout_sec = 60`.
//! - Gemini CLI's `timeout` is in milliseconds: 300000, with the same `--timeout 280` below it.
//! - Claude Code, Cursor and VS Code take the command alone; the server's default deadline (300 s)
//!   bounds each image.

use std::path::{Path, PathBuf};

use super::entry::{Entry, Field};
use super::launch::Launch;

/// A coding agent whose MCP configuration `mcp add` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    /// Claude Code, through `claude mcp add --scope user` (or a `.mcp.json` given by --file).
    ClaudeCode,
    /// Codex: `[mcp_servers.NAME]` in `$CODEX_HOME/config.toml` (default `~/.codex/config.toml`).
    Codex,
    /// Cursor: `mcpServers` in `~/.cursor/mcp.json`.
    Cursor,
    /// Gemini CLI: `mcpServers` in `~/.gemini/settings.json`.
    Gemini,
    /// VS Code: `servers` in the user's `mcp.json`.
    Vscode,
}

/// The client timeout Codex and Gemini CLI get, in seconds: one image plus a queue.
pub const CLIENT_TIMEOUT_SECS: u64 = 300;
/// The server's own deadline below it.
pub const SERVER_TIMEOUT_SECS: u64 = 280;
/// How long Codex waits for the server to start: room for a first `npx -y` download.
pub const STARTUP_TIMEOUT_SECS: u64 = 60;

impl Agent {
    /// The agent's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Self::ClaudeCode => "Claude Code",
            Self::Codex => "Codex",
            Self::Cursor => "Cursor",
            Self::Gemini => "Gemini CLI",
            Self::Vscode => "VS Code",
        }
    }

    /// The key of the servers' object in the agent's JSON file (Codex's TOML has `mcp_servers`).
    pub fn servers_key(self) -> &'static str {
        match self {
            Self::Vscode => "servers",
            Self::Codex => "mcp_servers",
            _ => "mcpServers",
        }
    }

    /// The user-level file the agent reads, under `home`; for Codex, `codex_home` when set.
    pub fn user_config(self, home: &Path, codex_home: Option<&Path>) -> PathBuf {
        match self {
            Self::ClaudeCode => std::env::var_os("CLAUDE_CONFIG_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.to_path_buf())
                .join(".claude.json"),
            Self::Codex => codex_home
                .map(Path::to_path_buf)
                .unwrap_or_else(|| home.join(".codex"))
                .join("config.toml"),
            Self::Cursor => home.join(".cursor/mcp.json"),
            Self::Gemini => home.join(".gemini/settings.json"),
            Self::Vscode => vscode_user_dir(home).join("mcp.json"),
        }
    }

    /// The entry for this agent: `launch` then `serve-mcp` then `extra` (the user's own serve-mcp
    /// arguments), with `env`.
    pub fn entry(self, launch: &Launch, extra: &[String], env: &[(String, String)]) -> Entry {
        let given = server_timeout(extra);
        let mut args = launch.args.clone();
        args.push("serve-mcp".to_owned());
        let bounded = matches!(self, Self::Codex | Self::Gemini);
        if bounded && given.is_none() {
            args.extend(["--timeout".to_owned(), SERVER_TIMEOUT_SECS.to_string()]);
        }
        args.extend(extra.iter().cloned());
        // The client must wait longer than the server's own deadline, whatever the user chose.
        let client_secs = CLIENT_TIMEOUT_SECS.max(given.unwrap_or(0) + 20);
        let mut entry = Entry::default();
        if matches!(self, Self::ClaudeCode | Self::Vscode) {
            entry = entry.with("type", Field::Text("stdio".into()));
        }
        entry = entry
            .with("command", Field::Text(launch.command.clone()))
            .with("args", Field::List(args));
        if !env.is_empty() {
            entry = entry.with("env", Field::Map(env.to_vec()));
        }
        match self {
            Self::Codex => entry
                .with("startup_timeout_sec", Field::Number(STARTUP_TIMEOUT_SECS))
                .with("tool_timeout_sec", Field::Number(client_secs))
                .with("default_tools_approval_mode", Field::Text("approve".into())),
            Self::Gemini => entry.with("timeout", Field::Number(client_secs * 1000)),
            _ => entry,
        }
    }
}

/// The `--timeout` among the user's serve-mcp arguments, if any.
fn server_timeout(extra: &[String]) -> Option<u64> {
    let mut words = extra.iter();
    while let Some(word) = words.next() {
        if word == "--timeout" {
            return words.next().and_then(|v| v.parse().ok());
        }
        if let Some(v) = word.strip_prefix("--timeout=") {
            return v.parse().ok();
        }
    }
    None
}

/// VS Code's user settings folder.
fn vscode_user_dir(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/Code/User")
    } else if cfg!(windows) {
        std::env::var_os("APPDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("AppData/Roaming"))
            .join("Code/User")
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".config"))
            .join("Code/User")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn npx() -> Launch {
        Launch {
            command: "npx".into(),
            args: vec!["-y".into(), "codex-img".into()],
        }
    }

    #[test]
    fn each_agent_gets_what_it_needs() {
        let entry = |agent: Agent| agent.entry(&npx(), &[], &[]).to_json();
        assert_eq!(
            entry(Agent::Codex),
            json!({"command": "npx", "args": ["-y", "codex-img", "serve-mcp", "--timeout", "280"],
                   "startup_timeout_sec": 60, "tool_timeout_sec": 300, "default_tools_approval_mode": "approve"})
        );
        assert_eq!(
            entry(Agent::ClaudeCode),
            json!({"type": "stdio", "command": "npx", "args": ["-y", "codex-img", "serve-mcp"]})
        );
        assert_eq!(
            entry(Agent::Gemini),
            json!({"command": "npx", "args": ["-y", "codex-img", "serve-mcp", "--timeout", "280"], "timeout": 300000})
        );
        assert_eq!(
            entry(Agent::Vscode),
            json!({"type": "stdio", "command": "npx", "args": ["-y", "codex-img", "serve-mcp"]})
        );
    }

    #[test]
    fn a_longer_server_timeout_of_the_users_raises_the_clients() {
        let extra = [
            "--root".to_owned(),
            "/img".to_owned(),
            "--timeout=600".to_owned(),
        ];
        let env = [("CODEX_HOME".to_owned(), "/c".to_owned())];
        assert_eq!(
            Agent::Codex.entry(&npx(), &extra, &env).to_json(),
            json!({"command": "npx", "args": ["-y", "codex-img", "serve-mcp", "--root", "/img", "--timeout=600"],
                   "env": {"CODEX_HOME": "/c"},
                   "startup_timeout_sec": 60, "tool_timeout_sec": 620, "default_tools_approval_mode": "approve"})
        );
    }
}
