//! `codex-img serve-stdio`: hands the process's stdin and stdout to the JSON-RPC bridge. Nothing else
//! writes to stdout in this mode; logs and the final error go to stderr.

use clap::Args;
use codex_img::Client;
use codex_img::{serve_bridge_stdio, BridgeOptions};

use crate::shared::{ConcurrencyArg, RecycleArgs, RootArg};
use crate::signal::serve_until;
use crate::{exit, Interrupted};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub root: RootArg,

    #[command(flatten)]
    pub concurrency: ConcurrencyArg,

    #[command(flatten)]
    pub recycle: RecycleArgs,
}

/// Serves until stdin closes, a host asks `bridge/shutdown`, or a signal (see [`serve_until`]). The
/// caller shuts the client down.
pub async fn run(
    client: &Client,
    args: &ServeArgs,
    interrupted: impl std::future::Future<Output = Interrupted>,
) -> u8 {
    let options = BridgeOptions {
        root: args.root.root.clone(),
    };
    match serve_until(
        client,
        serve_bridge_stdio(client.clone(), options),
        interrupted,
    )
    .await
    {
        Ok(Ok(())) => exit::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("codex-img serve-stdio: {e}");
            exit::OTHER
        }
        Err(signal) => signal.exit_code(),
    }
}
