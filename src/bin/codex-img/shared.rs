//! The options several subcommands take, defined once: `--concurrency` (every command that runs
//! generations), `--root` and the recycle bounds (every server), each with one way to reach the client
//! or the face.

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

/// `--recycle-after-images N` and `--recycle-above-mib MIB`: when a long-running server replaces an idle
/// app-server.
#[derive(Debug, Args)]
pub struct RecycleArgs {
    /// Replace the app-server, while idle, after it made N images (default 100; 0 never). Codex keeps
    /// about 1 MiB for every image it made; the new process starts its threads before it takes over.
    #[arg(long, value_name = "N")]
    pub recycle_after_images: Option<u64>,
    /// Replace the app-server, while idle, once its process tree holds more than MIB mebibytes
    /// (default 512; 0 never; Linux).
    #[arg(long, value_name = "MIB")]
    pub recycle_above_mib: Option<u64>,
}

impl RecycleArgs {
    /// The client with these bounds, where given (0 switches one off).
    pub fn apply(&self, mut builder: ClientBuilder) -> ClientBuilder {
        if let Some(n) = self.recycle_after_images {
            builder = builder.recycle_after_images(Some(n));
        }
        if let Some(mib) = self.recycle_above_mib {
            builder = builder.recycle_above_bytes(Some(mib.saturating_mul(1024 * 1024)));
        }
        builder
    }
}
