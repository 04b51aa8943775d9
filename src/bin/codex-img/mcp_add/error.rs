//! What can go wrong while adding codex-img to an agent's configuration, each with a stable code.

use std::path::PathBuf;

/// A failed `mcp add`. Nothing is written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `config/exists`: the agent already has a different entry under that name.
    #[error("{file} already has an MCP server named `{name}`, with other settings:\n{existing}\npass --force to replace it with the one above, or --name to add codex-img under another name")]
    Exists {
        file: PathBuf,
        name: String,
        existing: String,
    },
    /// `config/invalid`: the file is not what the agent itself would read.
    #[error("{file} cannot be read as {what}: {reason}; fix it (the agent would fail on it too), or pass --file to write another file")]
    Invalid {
        file: PathBuf,
        what: &'static str,
        reason: String,
    },
    /// `config/io`: reading or writing the file failed.
    #[error("{action} {file} failed: {source}")]
    Io {
        action: &'static str,
        file: PathBuf,
        source: std::io::Error,
    },
    /// `config/agent_missing`: the agent's own command is needed and not on PATH.
    #[error("`{command}` was not found on PATH; install {agent} first, or pass --file FILE to write a project's .mcp.json instead")]
    AgentMissing {
        command: &'static str,
        agent: &'static str,
    },
    /// `config/agent_failed`: the agent's own command refused the change.
    #[error("`{command}` failed ({status}): {output}")]
    AgentFailed {
        command: String,
        status: String,
        output: String,
    },
    /// `config/no_home`: no home folder to find the agent's configuration in.
    #[error("no home folder is known (HOME is not set); pass --file FILE")]
    NoHome,
}

impl ConfigError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Exists { .. } => "config/exists",
            Self::Invalid { .. } => "config/invalid",
            Self::Io { .. } => "config/io",
            Self::AgentMissing { .. } => "config/agent_missing",
            Self::AgentFailed { .. } => "config/agent_failed",
            Self::NoHome => "config/no_home",
        }
    }
}
