//! The options several subcommands take, defined once: `--concurrency` (every command that runs
//! generations) and `--root` (every server), each with one way to reach the client or the face.

use std::path::PathBuf;

use clap::Args;
use codex_img::ClientBuilder;

/// `--concurrency N`.
#[derive(Debug, Args)]
pub struct ConcurrencyArg {
    /// How many generations run at once (default 4); the rest wait in the order they were asked for.
    /// Each one spends quota.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: Option<u16>,
}

impl ConcurrencyArg {
    /// The client with this concurrency, when one was given.
    pub fn apply(&self, builder: ClientBuilder) -> ClientBuilder {
        match self.concurrency {
            Some(n) => builder.concurrency(usize::from(n)),
            None => builder,
        }
    }
}

/// `--root DIR`.
#[derive(Debug, Args)]
pub struct RootArg {
    /// Confine output targets and input images to this directory (serve-mcp also saves an image whose
    /// call names no output there; serve-http lets an edit's image_url name a file in it).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}
