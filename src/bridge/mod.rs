//! `codex-img serve-stdio`: a strict JSON-RPC 2.0 bridge on codex-img's own stdin and stdout, so hosts in
//! any language share one warm app-server without linking Rust.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::Client;

/// Settings of the bridge.
#[derive(Debug, Clone, Default)]
pub struct BridgeOptions {
    /// When set, output targets and input images must lie inside this folder.
    pub root: Option<PathBuf>,
}

/// Serves requests read from `input` until it closes, writing protocol messages only to `output`.
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
    let _ = (client, input, output, options);
    Err(std::io::Error::other("serve-stdio is not implemented yet"))
}

/// [`serve`] on the process's own stdin and stdout.
pub async fn serve_stdio(client: Client, options: BridgeOptions) -> std::io::Result<()> {
    serve(client, tokio::io::stdin(), tokio::io::stdout(), options).await
}
