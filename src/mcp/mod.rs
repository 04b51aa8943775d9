//! `codex-img serve-mcp`: a Model Context Protocol server on stdio, so coding agents (Claude Code, Codex,
//! Cursor, Gemini CLI, opencode, ...) can make images with the user's own Codex login.
//!
//! Built on `rmcp`, the official Rust SDK. Every tool call shares one warm app-server through the
//! library's [`Client`]; the face adds only what MCP needs:
//!
//! | file | owns |
//! |---|---|
//! | `params` | the tools' arguments, their JSON Schema, and the checks made before any quota is spent |
//! | `tools` | the two tools (`generate_image`, `codex_status`), their descriptions and annotations |
//! | `results` | a tool result: the text, a preview of each image or a link to the file, the report |
//! | `summary` | the text of a result, which alone must tell the model everything |
//! | `progress` | `notifications/progress` for each phase, and a heartbeat while the image is made |
//! | `schema` | the `outputSchema` of each tool (with `--structured`): the CLI's `--json` report and the doctor report |
//! | `target` | where an image is saved when the call names no `output` |
//!
//! Lifecycle: the server runs until its input closes (the agent exits). Then every call still in flight
//! is cancelled (its turn interrupted, nothing written), the calls are awaited, and the app-server is
//! stopped, so no process is left behind. `notifications/cancelled` does the same for one call. When the
//! client is shut down from outside (the process got a signal), the calls in flight end with
//! `runtime/shutting_down` (their turns interrupted) and are answered, new ones are refused, and the
//! server stops.

#![warn(missing_docs)]

mod arrival;
mod calls;
mod images;
mod params;
mod progress;
mod results;
mod schema;
mod summary;
mod target;
mod tools;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt as _;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::api::client::Client;
use crate::face::root::Root;
use crate::image::PreviewSpec;

use tools::ImageServer;

/// How long to wait, after the input closed, for cancelled calls to finish interrupting their turns.
const DRAIN: Duration = Duration::from_secs(15);

/// Settings of the MCP server.
#[derive(Debug, Clone, Default)]
pub struct McpOptions {
    /// When set, `output`, `image` and `references` must lie inside this folder, and an image whose
    /// call names no `output` is saved here.
    pub root: Option<PathBuf>,
    /// Add `structuredContent` to every result and declare each tool's `outputSchema`, for programmatic
    /// MCP clients. Off by default: with it, Codex passes its model only that JSON (no image, no text)
    /// and Claude Code drops the text block.
    pub structured: bool,
    /// How large the preview attached to a result may be.
    pub preview: PreviewSpec,
}

/// Serves MCP on `input` and `output` until `input` closes, or `client` is shut down elsewhere (then the
/// calls in flight are answered with `runtime/shutting_down` first).
///
/// Returns after every call has stopped and `client` is shut down (its app-server stopped). An error
/// means the root is unusable or the transport failed before the handshake.
pub async fn serve<R, W>(client: Client, input: R, output: W, options: McpOptions) -> io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let root = match &options.root {
        Some(dir) => Some(Root::new(dir)?),
        None => None,
    };
    let calls = Arc::new(calls::Calls::default());
    let server = ImageServer::new(
        client.clone(),
        root,
        calls.clone(),
        options.structured,
        options.preview,
    );
    let served = match server.serve(arrival::ordered(input, output)).await {
        Ok(running) => {
            let stop = running.cancellation_token();
            let waiting = running.waiting();
            tokio::pin!(waiting);
            let quit = tokio::select! {
                quit = &mut waiting => quit,
                () = client.closed() => {
                    // The library ends every call's generation; let the calls send their answers
                    // before the service stops.
                    if !calls.drained(DRAIN).await {
                        tracing::warn!("some tool calls were still running {DRAIN:?} after the shutdown began");
                    }
                    stop.cancel();
                    waiting.await
                }
            };
            quit.map(|_| ()).map_err(io::Error::other)
        }
        Err(e) => {
            // Nothing ran: the agent left (or spoke something else) before the handshake finished.
            tracing::warn!("the MCP handshake did not complete: {e}");
            Ok(())
        }
    };
    // Input closed: rmcp has cancelled every call's token when its service stopped. Wait for the calls
    // to drop their generations, which interrupts their turns, before the app-server goes.
    if !calls.drained(DRAIN).await {
        tracing::warn!("some tool calls were still running {DRAIN:?} after the input closed");
    }
    client.shutdown().await;
    served
}

/// [`serve`] on the process's own stdin and stdout. Logs go to stderr; stdout carries only MCP.
pub async fn serve_stdio(client: Client, options: McpOptions) -> io::Result<()> {
    serve(
        client,
        crate::face::stdin::pipe(),
        tokio::io::stdout(),
        options,
    )
    .await
}
