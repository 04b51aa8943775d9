//! Pointing a Codex process at the backend.
//!
//! Codex finds its backend through configuration: `chatgpt_base_url` (account checks and the
//! images endpoints) and `openai_base_url` (the Responses stream; older releases read the
//! `OPENAI_BASE_URL` environment variable instead, so both are set). Over HTTPS it trusts the
//! private CA through `CODEX_CA_CERTIFICATE`. `CODEX_HOME` is always a temporary folder, so the
//! real user's `~/.codex` is never read or written, and API keys are removed from the
//! environment so the paid API path is never taken by accident.

use std::path::Path;

use crate::server::{Backend, Transport};

/// Everything a Codex process needs to talk to the backend.
#[derive(Debug, Clone, Default)]
pub struct CodexEnv {
    /// `key=value` TOML overrides, each passed as `-c key=value`.
    pub config_overrides: Vec<String>,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// Environment variables to remove.
    pub env_remove: Vec<String>,
}

impl CodexEnv {
    /// The overrides as command-line arguments: `-c key=value ...`.
    pub fn config_args(&self) -> Vec<String> {
        self.config_overrides
            .iter()
            .flat_map(|o| ["-c".to_string(), o.clone()])
            .collect()
    }

    /// Applies the environment to a command.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        for name in &self.env_remove {
            command.env_remove(name);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
    }
}

/// The overrides and environment that point Codex at `backend`, with `codex_home` as its home.
pub fn codex_command_env(backend: &Backend, codex_home: &Path) -> CodexEnv {
    let base = backend.base_url();
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let config_overrides = vec![
        format!(
            "chatgpt_base_url={}",
            quote(&format!("{base}/backend-api/"))
        ),
        format!(
            "openai_base_url={}",
            quote(&format!("{base}/backend-api/codex"))
        ),
        "cli_auth_credentials_store=\"file\"".to_string(),
        "mcp_servers={}".to_string(),
    ];
    let mut env = vec![
        ("CODEX_HOME".to_string(), codex_home.display().to_string()),
        (
            "OPENAI_BASE_URL".to_string(),
            format!("{base}/backend-api/codex"),
        ),
        ("NO_PROXY".to_string(), "127.0.0.1,localhost".to_string()),
        ("no_proxy".to_string(), "127.0.0.1,localhost".to_string()),
    ];
    if backend.transport() == Transport::Https {
        env.push((
            "CODEX_CA_CERTIFICATE".to_string(),
            backend.ca_pem_path().display().to_string(),
        ));
    }
    let env_remove = [
        "OPENAI_API_KEY",
        "CODEX_API_KEY",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    CodexEnv {
        config_overrides,
        env,
        env_remove,
    }
}
