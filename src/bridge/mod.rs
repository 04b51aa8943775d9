//! `codex-img serve-stdio`: a strict JSON-RPC 2.0 bridge on codex-img's own stdin and stdout, so hosts in
//! any language share one warm app-server without linking Rust.
//!
//! | file | owns |
//! |---|---|
//! | `wire` | strict framing: what an incoming line must be, and every line written |
//! | `methods` | method names and their params types, decoded strictly |
//! | `server` | the loop that owns the table of requests in flight, the tasks, the writer |
//!
//! Methods: `image/generate`, `image/cancel`, `codex/doctor`, `bridge/shutdown`; the bridge sends
//! `image/progress` notifications. docs/bridge.md has the method table, a wire
//! transcript and the error table.

mod methods;
mod server;
mod wire;

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::api::client::Client;

pub use wire::MAX_LINE;

/// Settings of the bridge.
#[derive(Debug, Clone, Default)]
pub struct BridgeOptions {
    /// When set, output targets and input images must lie inside this folder.
    pub root: Option<PathBuf>,
}

/// Serves requests read from `input` until it closes, writing protocol messages only to `output`.
///
/// Returns when `input` ends (every request still in flight is answered `runtime/cancelled`), or after
/// `bridge/shutdown` or a [`Client::shutdown`] from elsewhere, once the requests in flight are answered
/// (after a shutdown, with `runtime/shutting_down`). Either way every task has stopped and
/// `client` is shut down (its app-server stopped) before it returns. An error means the root is unusable
/// or reading or writing failed.
pub async fn serve<R, W>(
    client: Client,
    input: R,
    output: W,
    options: BridgeOptions,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let root = match &options.root {
        Some(dir) => Some(crate::face::root::Root::new(dir)?),
        None => None,
    };
    server::run(client, root, input, output).await
}

/// [`serve`] on the process's own stdin and stdout.
///
/// Stdin is read on a plain thread rather than with `tokio::io::stdin`, whose blocking read cannot be
/// cancelled and would hold the runtime open after `bridge/shutdown` until the host closes stdin.
pub async fn serve_stdio(client: Client, options: BridgeOptions) -> std::io::Result<()> {
    serve(
        client,
        crate::face::stdin::pipe(),
        tokio::io::stdout(),
        options,
    )
    .await
}
