//! Installs the pinned Claude Code release the agent tests run ([`loopback_backend::install::CLAUDE_CODE`]) into
//! the cache, ahead of the tests, so CI fails early and clearly when the npm registry cannot serve it.
//! Prints the path of its native binary.

use std::process::ExitCode;

use loopback_backend::install::{ensure_claude_code, CLAUDE_CODE};

fn main() -> ExitCode {
    match ensure_claude_code() {
        Ok(path) => {
            println!("claude-code {CLAUDE_CODE}: {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("claude-code {CLAUDE_CODE}: {e}");
            ExitCode::FAILURE
        }
    }
}
