//! `codex-img serve-mcp`: hands the process's stdin and stdout to the MCP server. Nothing else writes
//! to stdout in this mode; logs and the final error go to stderr.

use std::time::Duration;

use clap::Args;
use codex_img::image::PreviewSpec;
use codex_img::{serve_mcp_stdio, McpOptions};
use codex_img::{Client, ClientBuilder};

use crate::shared::{ConcurrencyArg, RecycleArgs, RootArg};
use crate::signal::serve_until;
use crate::{exit, Interrupted};

pub const HELP: &str = "\
Examples:
  codex-img mcp add codex          (or claude-code, cursor, gemini, vscode: writes the agent's config)
  codex-img serve-mcp
  codex-img serve-mcp --root ~/projects/site/images --concurrency 3 --timeout 170

Speaks the Model Context Protocol on stdin and stdout until stdin closes, offering the tools
generate_image (spends the ChatGPT plan's image quota; 30-140 s) and codex_status (spends none).
Without `output`, an image is saved in --root, or else in ~/.cache/codex-img/images. Each result's
text gives the saved file's path and facts, with a preview of the image for the agent's model to look
at (--preview-size, --preview-max-kb); --structured adds structuredContent for programmatic clients.
Keep --timeout below the agent's own tool timeout (`mcp add` sets both). Ctrl-C or SIGTERM interrupts
every turn in flight, answers its call with runtime/shutting_down, stops the app-server and exits.
Logs go to stderr.
Exit code: 0 when stdin closed, 130 on Ctrl-C, 143 on SIGTERM, 1 otherwise.
";

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub root: RootArg,

    #[command(flatten)]
    pub concurrency: ConcurrencyArg,

    #[command(flatten)]
    pub recycle: RecycleArgs,

    /// The deadline for one image, queue included (default 300). Keep it below the agent's own tool
    /// timeout, so a slow image ends as a clear runtime/timeout rather than a vanished call.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// The longest side of the preview attached to a result, in pixels (default 1024). The full image
    /// is always saved; the preview is what the agent's model looks at, and pays for.
    #[arg(long, value_name = "PX", default_value_t = PreviewSpec::DEFAULT_MAX_SIDE,
          value_parser = clap::value_parser!(u32).range(i64::from(PreviewSpec::MIN_SIDE)..=4096))]
    pub preview_size: u32,

    /// The most kilobytes (1000 bytes) of the preview attached to a result (default 200).
    #[arg(long, value_name = "KB", default_value_t = (PreviewSpec::DEFAULT_MAX_BYTES / 1000) as u32,
          value_parser = clap::value_parser!(u32).range((PreviewSpec::MIN_BYTES / 1000) as i64..=20_000))]
    pub preview_max_kb: u32,

    /// Add structuredContent (the --json report) to every result and declare each tool's
    /// outputSchema, for programmatic MCP clients. Leave it off for agents: with it, Codex shows its
    /// model only that JSON, and Claude Code drops the text.
    #[arg(long)]
    pub structured: bool,
}

impl McpArgs {
    /// Applies `--concurrency`, the recycle bounds and `--timeout` to the client.
    pub fn configure(&self, builder: ClientBuilder) -> ClientBuilder {
        let mut builder = self.recycle.apply(self.concurrency.apply(builder));
        if let Some(timeout) = self.timeout {
            builder = builder.request_timeout(Duration::from_secs(timeout));
        }
        builder
    }
}

/// Serves until stdin closes or a signal (see [`serve_until`]). The caller shuts the client down.
pub async fn run(
    client: &Client,
    args: &McpArgs,
    interrupted: impl std::future::Future<Output = Interrupted>,
) -> u8 {
    let options = McpOptions {
        root: args.root.root.clone(),
        structured: args.structured,
        preview: PreviewSpec {
            max_side: args.preview_size,
            max_bytes: args.preview_max_kb as usize * 1000,
        },
    };
    match serve_until(
        client,
        serve_mcp_stdio(client.clone(), options),
        interrupted,
    )
    .await
    {
        Ok(Ok(())) => exit::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("codex-img serve-mcp: {e}");
            exit::OTHER
        }
        Err(signal) => signal.exit_code(),
    }
}
