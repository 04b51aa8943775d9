//! The two tools, `generate_image` and `codex_status`, on one `ImageServer` that holds the shared
//! `Client`.
//!
//! Arguments arrive as a raw JSON object and decode in `params`, so a bad call gets a
//! coded `isError` result rather than the SDK's bare protocol error. A call races its generation against
//! its cancellation token, which rmcp fires on `notifications/cancelled` and when the input closes:
//! cancelled first, the generation future is dropped (the library interrupts the turn and frees the
//! slot) and nothing is written; generated first, the image is saved even if a cancel follows, because
//! it has been paid for (the log names the file). The annotations tell the truth: generating is not
//! read-only, not idempotent, reaches the outside world, and with `overwrite` replaces a file.
//! `generate_image` takes its places in the queue in arrival order, through the turnstile of
//! `arrival`.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, Implementation, JsonObject, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, RoleServer, ServerHandler};

use crate::api::client::Client;
use crate::face::root::Root;
use crate::image::PreviewSpec;
use crate::types::error::Error;

use super::arrival::{self, Arrival, PassOnDrop};
use super::calls::Calls;
use super::params::{self, GenerateImageArgs, StatusArgs};
use super::{progress, results, schema};

// The first sentence carries the words a model searches with: both Claude Code and Codex hide MCP
// tools until their model finds them by a search over names and descriptions.
const GENERATE_DESCRIPTION: &str = "\
Generate an image (a picture, illustration, photo, icon or logo, as PNG, JPEG or WebP, optionally with \
a transparent background) from a text prompt, or edit an image, with the user's own signed-in Codex CLI. \
Each image spends the user's ChatGPT image quota and takes 30-140 s: call it only when an image is \
wanted (n > 1 makes several in one call, each spending quota), and never to retry a timeout (it may \
already have spent quota). The image is always saved: to `output` when given (a file, or an existing \
folder), otherwise in {saves}. The result's text gives the saved file's absolute path, format, size and \
revised prompt, and a preview of the image is attached for viewing ({preview}); the saved file is the \
full image. size, aspect, quality and background are hints the model may not follow; format, fit and key \
are applied by codex-img; the real format, size and alpha are measured and reported. image and \
references take file paths, data:image/...;base64,... URIs or base64. After a usage limit, calls are \
refused with runtime/usage_limit until its reset, spending nothing; set ignore_known_usage_limit only \
when the user asks to try anyway.";

// Few words it shares with generate_image's: Codex ranks tools with BM25, which favours a short
// description, so "generate image" would otherwise find this one first.
const STATUS_DESCRIPTION: &str = "\
Check Codex's status and quota, without spending any: whether Codex is installed and recent enough, \
signed in with ChatGPT, can reach its backend and has quota left, with each check's fix.";

const INSTRUCTIONS: &str = "\
codex-img generates and edits images with the user's own Codex login and ChatGPT plan. generate_image \
spends the user's image quota on every call and takes 30-140 s; codex_status checks readiness for free.";

/// The MCP server: the tools and what they share.
#[derive(Clone)]
pub(crate) struct ImageServer {
    client: Client,
    root: Option<Arc<Root>>,
    calls: Arc<Calls>,
    /// `--structured`: results carry `structuredContent`, and the tools declare `outputSchema`.
    structured: bool,
    /// The previews attached to results.
    preview: PreviewSpec,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl ImageServer {
    pub(super) fn new(
        client: Client,
        root: Option<Root>,
        calls: Arc<Calls>,
        structured: bool,
        preview: PreviewSpec,
    ) -> Self {
        let mut tool_router = Self::tool_router();
        // The agent is told exactly where an image without `output` goes on this server.
        let saves = match &root {
            Some(root) => format!("the server's root folder, {}", root.path().display()),
            None => format!(
                "the user's cache folder, {}",
                super::target::default_folder().display()
            ),
        };
        let preview_text = format!(
            "at most {} px on its long side and {} KB",
            preview.max_side,
            preview.max_bytes / 1000
        );
        if let Some(route) = tool_router.map.get_mut("generate_image") {
            route.attr.description = Some(
                GENERATE_DESCRIPTION
                    .replace("{saves}", &saves)
                    .replace("{preview}", &preview_text)
                    .into(),
            );
            if structured {
                route.attr.output_schema = Some(schema::generate_report());
            }
        }
        if let (true, Some(route)) = (structured, tool_router.map.get_mut("codex_status")) {
            route.attr.output_schema = Some(schema::status_report());
        }
        Self {
            client,
            root: root.map(Arc::new),
            calls,
            structured,
            preview,
            tool_router,
        }
    }

    #[tool(
        name = "generate_image",
        description = GENERATE_DESCRIPTION,
        input_schema = params::generate_schema(),
        annotations(
            title = "Generate an image with Codex",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn generate_image(
        &self,
        arguments: JsonObject,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        // Every way out of this call before its place is taken passes its arrival, so the next call
        // never waits on it.
        let arrival = context.extensions.get::<Arrival>().cloned();
        let mut turn = PassOnDrop(arrival.clone());
        let Some(_call) = self.calls.enter() else {
            return results::app_error(
                &Error::ShuttingDown {
                    turn_started: false,
                },
                self.structured,
            );
        };
        let job = match params::decode::<GenerateImageArgs>("generate_image", arguments)
            .and_then(|args| args.into_job(self.root.as_deref()))
        {
            Ok(job) => job,
            Err(refusal) => return results::error(&refusal.report(), None, self.structured),
        };
        let (callback, notifier) =
            progress::start(context.peer.clone(), context.meta.get_progress_token());
        let request = job.request.on_progress(callback);
        let n = request.options.n;
        if let Some(arrival) = &arrival {
            tokio::select! {
                in_turn = arrival.wait_turn(arrival::PATIENCE) => if !in_turn {
                    tracing::warn!(id = %context.id, arrival = arrival.number(), "calls that arrived earlier did not take their places within {:?}; this one goes on", arrival::PATIENCE);
                },
                _ = context.ct.cancelled() => {
                    drop(notifier);
                    return results::app_error(&Error::Cancelled, self.structured);
                }
            }
        }
        // The library's one way to make and save images: it checks the options and every target
        // before its first turn, and saves each image the moment it is in hand. Calling it takes the
        // places in the queue, so the next call to arrive may take its own.
        let batch = self
            .client
            .generate_batch(request, Some(&job.target), job.if_exists);
        if let Some(arrival) = turn.0.take() {
            arrival.pass();
        }
        let outcome = tokio::select! {
            outcome = batch => outcome,
            _ = context.ct.cancelled() => {
                drop(notifier);
                tracing::info!(id = %context.id, "generate_image cancelled: its turns are interrupted, and no image still being made is saved");
                return results::app_error(&Error::Cancelled, self.structured);
            }
        };
        notifier.finish().await;
        match outcome {
            Ok(outcome) => {
                if context.ct.is_cancelled() {
                    for d in &outcome.delivered {
                        if let Some(path) = &d.path {
                            tracing::warn!(id = %context.id, "generate_image was cancelled after its image arrived; it is saved at {}", path.display());
                        }
                    }
                }
                let shape = results::Shape {
                    structured: self.structured,
                    preview: self.preview,
                    inline: job.inline,
                };
                results::batch(&outcome, n, shape).await
            }
            Err(e) => results::app_error(&e, self.structured),
        }
    }

    #[tool(
        name = "codex_status",
        description = STATUS_DESCRIPTION,
        input_schema = params::status_schema(),
        annotations(
            title = "Check Codex image generation",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn codex_status(
        &self,
        arguments: JsonObject,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let Some(_call) = self.calls.enter() else {
            return results::app_error(
                &Error::ShuttingDown {
                    turn_started: false,
                },
                self.structured,
            );
        };
        if let Err(refusal) = params::decode::<StatusArgs>("codex_status", arguments) {
            return results::error(&refusal.report(), None, self.structured);
        }
        tokio::select! {
            report = self.client.preflight() => results::status(&report, self.structured),
            _ = context.ct.cancelled() => results::app_error(&Error::Cancelled, self.structured),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ImageServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("codex-img", env!("CARGO_PKG_VERSION")).with_title("codex-img"),
            )
            .with_instructions(INSTRUCTIONS)
    }
}
