//! `codex-img mcp add AGENT`: adds codex-img to a coding agent's MCP configuration, with the settings
//! that agent needs (timeouts, Codex's approval mode), so nothing has to be copied by hand.
//!
//! Claude Code is changed through its own `claude mcp add`; the others by editing their config file
//! in place, keeping every comment and setting the user wrote ([`edit`]), written atomically
//! ([`write`]). An entry of the same name with other settings is refused unless `--force`; the same
//! entry is left alone; `--dry-run` shows the change and writes nothing.
//!
//! | file | owns |
//! |---|---|
//! | `agent` | the agents, where each keeps its servers, and each one's entry |
//! | `launch` | the command an agent starts codex-img with (`npx`, `uvx` or a path) |
//! | `entry` | an entry's fields and their JSON, JSONC and TOML spellings |
//! | `edit` | putting an entry into a config file's text |
//! | `claude` | Claude Code, through its own command |
//! | `write` | atomic writes that keep permissions and symlinks |
//! | `error` | what can fail, with stable codes |

mod agent;
mod claude;
mod edit;
mod entry;
mod error;
mod launch;
mod write;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use agent::Agent;
use edit::Change;
use entry::Entry;
use error::ConfigError;
use launch::{Launch, Via};

use crate::exit;
use crate::print::print_stdout;

pub const HELP: &str = "\
Examples:
  npx -y codex-img mcp add codex
  codex-img mcp add claude-code
  codex-img mcp add cursor --dry-run
  codex-img mcp add codex --env CODEX_HOME=/home/me/.codex-work -- --root /home/me/site/images

Adds codex-img to the agent's user-level MCP configuration: Claude Code through `claude mcp add`,
Codex in $CODEX_HOME/config.toml (with tool_timeout_sec = 300, the server's --timeout 280 below it,
and default_tools_approval_mode = \"approve\", without which `codex exec` refuses generate_image),
Cursor in ~/.cursor/mcp.json, Gemini CLI in ~/.gemini/settings.json (timeout 300000 ms) and VS Code in
its user mcp.json. Comments and other settings in the file are kept. The agent starts codex-img the
way this one was started (npx, uvx, or this binary's path) unless --via says otherwise. Arguments
after -- go to serve-mcp.
Exit code: 0 when added or already there, 8 when the configuration could not be changed (an entry
of that name with other settings needs --force), 2 on bad arguments.
";

/// `codex-img mcp ...`.
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Add codex-img to a coding agent's MCP configuration.
    #[command(after_help = HELP)]
    Add(AddArgs),
}

/// `codex-img mcp add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The agent whose configuration to change.
    #[arg(value_enum)]
    pub agent: Agent,

    /// The server's name in the agent's configuration.
    #[arg(long, default_value = "codex-img")]
    pub name: String,

    /// How the agent starts codex-img (default: the way this codex-img was started).
    #[arg(long, value_enum)]
    pub via: Option<Via>,

    /// An environment variable the agent sets for the server; repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Change this file instead of the agent's user-level one (for example a project's .mcp.json,
    /// .cursor/mcp.json or .vscode/mcp.json).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Replace an entry of the same name that has other settings.
    #[arg(long)]
    pub force: bool,

    /// Show the change without making it.
    #[arg(long)]
    pub dry_run: bool,

    /// Arguments for serve-mcp, after `--` (for example `-- --root ~/images`).
    #[arg(last = true, value_name = "SERVE_MCP_ARGS")]
    pub serve_args: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Runs `mcp add`; `codex_home` is the global `--codex-home` (or `CODEX_HOME`).
pub fn run(command: &McpCommand, codex_home: Option<&Path>) -> u8 {
    let McpCommand::Add(args) = command;
    match add(args, codex_home) {
        Ok(report) => {
            print_stdout(&report);
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            exit::CONFIG
        }
    }
}

fn add(args: &AddArgs, codex_home: Option<&Path>) -> Result<String, ConfigError> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("codex-img"));
    let launch = Launch::resolve(args.via, &exe, launch::on_path().as_deref());
    let entry = args.agent.entry(&launch, &args.serve_args, &args.env);
    let home = || home_dir().ok_or(ConfigError::NoHome);
    match (&args.file, args.agent) {
        (None, Agent::ClaudeCode) => {
            let config = Agent::ClaudeCode.user_config(&home()?, None);
            add_through_claude(args, &config, &entry)
        }
        (file, agent) => {
            let file = match file {
                Some(file) => file.clone(),
                None => agent.user_config(&home()?, codex_home),
            };
            add_to_file(args, &file, &entry)
        }
    }
}

fn add_to_file(args: &AddArgs, file: &Path, entry: &Entry) -> Result<String, ConfigError> {
    let agent = args.agent;
    let path = write::resolve(file);
    let text = write::read(&path)?;
    let edit = if agent == Agent::Codex {
        edit::toml
    } else {
        edit::json
    };
    let change = edit(
        text.as_deref(),
        &path,
        agent.servers_key(),
        &args.name,
        entry,
        args.force,
    )?;
    let snippet = snippet(agent, &args.name, entry);
    let (verb, new_text) = match change {
        Change::Unchanged => {
            return Ok(format!(
                "{} already has `{}` with these settings in {}; nothing changed.\n",
                agent.title(),
                args.name,
                path.display()
            ))
        }
        Change::Added(new) => ("Added", new),
        Change::Replaced(new) => ("Replaced", new),
    };
    if args.dry_run {
        return Ok(format!(
            "Dry run: would change {} ({}), writing nothing:\n\n{snippet}",
            path.display(),
            agent.title()
        ));
    }
    write::write(&path, &new_text)?;
    Ok(format!(
        "{verb} `{}` in {} ({}):\n\n{snippet}\n{}\n",
        args.name,
        path.display(),
        agent.title(),
        next_step(agent)
    ))
}

fn add_through_claude(args: &AddArgs, config: &Path, entry: &Entry) -> Result<String, ConfigError> {
    let change = claude::plan(config, &args.name, entry, args.force)?;
    let command = claude::add_command(&args.name, entry);
    let shown = shell_line(&command);
    let remove = [
        "claude".to_owned(),
        "mcp".to_owned(),
        "remove".to_owned(),
        "--scope".to_owned(),
        "user".to_owned(),
        args.name.clone(),
    ];
    match change {
        Change::Unchanged => Ok(format!(
            "Claude Code already has `{}` with these settings ({}); nothing changed.\n",
            args.name,
            config.display()
        )),
        _ if args.dry_run => {
            let mut out = String::from("Dry run: would run, changing nothing now:\n\n");
            if matches!(change, Change::Replaced(_)) {
                out.push_str(&format!("{}\n", shell_line(&remove)));
            }
            out.push_str(&format!("{shown}\n"));
            Ok(out)
        }
        _ => {
            let claude = claude::find().ok_or(ConfigError::AgentMissing {
                command: "claude",
                agent: "Claude Code",
            })?;
            if matches!(change, Change::Replaced(_)) {
                claude::run(&claude, &remove)?;
            }
            let said = claude::run(&claude, &command)?;
            Ok(format!(
                "Ran: {shown}\n{said}\n\n{}\n",
                next_step(Agent::ClaudeCode)
            ))
        }
    }
}

/// What the entry looks like in the agent's file: the text a user would paste.
pub fn snippet(agent: Agent, name: &str, entry: &Entry) -> String {
    if agent == Agent::Codex {
        let mut servers = toml_edit::Table::new();
        servers.set_implicit(true);
        servers.insert(name, toml_edit::Item::Table(entry.to_toml()));
        let mut doc = toml_edit::DocumentMut::new();
        doc.insert(agent.servers_key(), toml_edit::Item::Table(servers));
        return doc.to_string();
    }
    // Through the same editor as the file, so the fields keep their order.
    match edit::json(None, Path::new(""), agent.servers_key(), name, entry, false) {
        Ok(Change::Added(text)) => text,
        _ => String::new(),
    }
}

fn next_step(agent: Agent) -> &'static str {
    match agent {
        Agent::ClaudeCode => {
            "Claude Code loads it in its next session; check with `claude mcp list`."
        }
        Agent::Codex => "Codex loads it in its next session; check with `codex mcp list`.",
        Agent::Cursor => "Cursor loads it after a restart (or Settings > MCP).",
        Agent::Gemini => "Gemini CLI loads it in its next session; check with /mcp.",
        Agent::Vscode => "VS Code offers to start it (MCP: List Servers).",
    }
}

/// A command line as a POSIX shell would take it.
fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@+,".contains(&b));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn home_dir() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn shell_lines_quote_only_what_needs_it() {
        let words = ["claude", "mcp", "add-json", "x", "{\"a\": 1}", "it's"].map(String::from);
        assert_eq!(
            shell_line(&words),
            r#"claude mcp add-json x '{"a": 1}' 'it'\''s'"#
        );
    }
}
