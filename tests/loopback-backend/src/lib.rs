//! A loopback backend that plays Codex's backend for live tests of codex-img.
//!
//! codex-img drives a real, signed-in Codex CLI. To test that path end to end with no network, the
//! tests run real Codex releases against this crate: an HTTPS server on 127.0.0.1 with a private CA
//! made at start, which answers the Responses stream as a model that calls Codex's image tool, the
//! images endpoints, and the account endpoints Codex calls at start. It records every request it
//! gets, so tests can assert on what left Codex.
//!
//! Around the server sit the pieces a live test needs: a fake ChatGPT login for a temporary
//! `CODEX_HOME` ([`login`]), installing a Codex release from npm once into a cache ([`install`]),
//! and the `-c` overrides and environment that point Codex at the server ([`env`]).
//!
//! | module | owns |
//! |---|---|
//! | [`server`] | binding, TLS, the accept loop, recording, shutdown on drop |
//! | `tls` | the private CA and the leaf certificate |
//! | `routes` | which handler answers which path |
//! | `model` | the Responses stream: which tool the model calls, and when it stops |
//! | `attempts` | the calls a model makes to run a command, change a file or ask the user instead of making an image |
//! | `images` | `/images/generations` and `/images/edits` |
//! | [`png`] | test images (the workspace's one encoder, `tests/test-png`) |
//! | [`agent`] | the script an agent's model follows, and what it got back from each call |
//! | `codex_agent` | the model of a Codex that is itself the agent ([`Mode::Agent`]) |
//! | [`anthropic`] | a plain-HTTP stand-in of Anthropic's Messages API, playing Claude Code's model |

mod attempts;
mod codex_agent;
mod error;
mod images;
mod model;
mod record;
mod routes;
mod tls;

pub mod agent;
pub mod anthropic;
pub mod env;
pub mod install;
pub mod login;
pub mod png;
pub mod server;

pub use agent::{Block, Script, Step, ToolReturn};
pub use anthropic::Messages;
pub use env::{codex_command_env, CodexEnv};
pub use error::{Error, Result};
pub use install::{
    at_least, ensure_claude_code, ensure_codex, BELOW_FLOOR, CI_RELEASES, CLAUDE_CODE, FLOOR,
    NEWEST, RELEASES,
};
pub use login::{rfc3339, write_api_key_login, write_fake_chatgpt_login, FAKE_ACCOUNT_ID};
pub use png::{png_size, subject_png, test_png, SUBJECT_RGB};
pub use record::{EditInputs, RecordedRequest, ToolExchange};
pub use server::{Backend, BackendConfig, Mode, Transport};
