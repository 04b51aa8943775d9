//! `codex-img serve-http`: an OpenAI-compatible Images API on loopback, so apps that already speak it
//! (Open Design's `custom-image` provider, Open WebUI, the official `openai` SDKs) get images from the
//! user's own Codex with no code, and nothing else on the machine can spend the user's quota through it.
//!
//! | file | owns |
//! |---|---|
//! | [`key`] | the API key: where it comes from, the private key file, the constant-time check |
//! | `security` | the gate every request passes: `Host`, `Origin`, the key; rejected bodies drained |
//! | `limits` | the bounds on a request: body size, header size, time to receive it |
//! | `routes` | the endpoints and what each one does with a request |
//! | `fields` | OpenAI request fields mapped onto codex-img's request, honestly |
//! | `edits` | the two shapes of an edit: multipart uploads and JSON `images: [{image_url}]` |
//! | `answer` | the success body: `created`, `data[]`, and what was really delivered |
//! | `errors` | OpenAI-shaped errors, the statuses the SDKs map, `Retry-After`, `x-should-retry` |
//! | `server` | binding, the accept loop, per-connection limits, graceful shutdown |
//!
//! docs/http.md documents the endpoints, the field mapping and the security rules.

mod answer;
mod edits;
mod errors;
mod fields;
pub(crate) mod key;
mod limits;
mod routes;
mod security;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use key::{default_key_file, ApiKey, KeyError, KeySource, TOKEN_ENV};
pub use server::HttpServer;

/// The listen address when none is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// The time a client gets to send a whole request (headers and body) when none is given.
pub const DEFAULT_RECEIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// How `serve-http` is set up.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Where to listen. A non-loopback address is refused unless `allow_remote`.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen`: anyone who can reach it and holds the key spends the quota.
    pub allow_remote: bool,
    /// The key every request (except `GET /health`) must carry as `Authorization: Bearer <key>`.
    pub key: ApiKey,
    /// When set, an edit's `image_url` may also be a path inside this folder.
    pub root: Option<PathBuf>,
    /// The time a client gets to send a whole request; a slower one is answered 408 and disconnected.
    pub receive_timeout: Duration,
}

/// Why the server could not start. Codes are stable, like the library's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A non-loopback listen address without `allow_remote`.
    #[error("refusing to listen on {addr}: it is not a loopback address, so other machines could spend your quota; use 127.0.0.1, or pass --allow-remote if you really mean it")]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `--root` folder is unusable.
    #[error("{0}")]
    Root(std::io::Error),
    /// The key could not be read, made or saved.
    #[error(transparent)]
    Key(#[from] key::KeyError),
}

impl HttpError {
    /// The stable code, such as `http/not_loopback`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotLoopback { .. } => "http/not_loopback",
            Self::Bind { .. } => "http/bind_failed",
            Self::Root(_) => "http/invalid_root",
            Self::Key(e) => e.code(),
        }
    }
}
