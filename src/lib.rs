//! codex-img: generate images through a person's own signed-in Codex CLI.
//!
//! The crate drives one warm `codex app-server` child over JSON-RPC on stdio and turns each request into
//! one ephemeral Codex thread whose only job is to call the built-in image tool. Data flows one way: a face
//! (the `codex-img` binary, the stdio bridge, the MCP server, the Images API, or a Rust program) builds a
//! [`GenerateRequest`], a [`Client`] runs it on the warm child, and what comes back is checked, measured
//! and saved as a [`GeneratedImage`].
//!
//! ```no_run
//! # async fn demo() -> codex_img::Result<()> {
//! use codex_img::{Client, GenerateRequest, IfExists};
//!
//! let client = Client::builder().build();
//! let image = client.generate(GenerateRequest::new("a lighthouse at dawn, watercolour")).await?;
//! image.save("lighthouse.png".as_ref(), IfExists::Fail)?;
//! client.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Everything a program uses is here at the root: [`Client`] and its builder, the request and its
//! options, the image and the reports every face prints, the [`Error`], and the faces themselves
//! ([`serve_bridge`], [`serve_mcp`], [`HttpServer`]). The modules are private; the layers they form
//! (`types` ← `rpc` ← `session` ← `api` ← `face` ← the faces) are described in `ARCHITECTURE.md`. The
//! generated app-server protocol and the pixel pipeline are public for codex-img's own tests and
//! benchmarks only (`#[doc(hidden)]`): they are not part of the stable surface.
//!
//! Cargo features: `cli` (default) builds the `codex-img` binary and brings `clap`, `tracing-subscriber`,
//! the config editors and signal handling; `mcp` (default) adds [`serve_mcp`], the MCP server behind
//! `codex-img serve-mcp`, and brings `rmcp` and `schemars`; `http` (default) adds [`HttpServer`], the
//! OpenAI-compatible Images API behind `serve-http`, with axum and hyper;
//! `codex-img = { version = "…", default-features = false }` is the library alone.

#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod api;
mod bridge;
mod face;
#[cfg(feature = "http")]
mod http;
#[doc(hidden)]
pub mod image;
#[cfg(feature = "mcp")]
mod mcp;
#[doc(hidden)]
pub mod protocol;
mod rpc;
mod session;
mod types;

pub use api::batch::{numbered_path, BatchOutcome, Delivered, Failed};
pub use api::client::{Client, ClientBuilder};
pub use api::report::{BatchError, BatchReport, DoctorReport, ErrorReport, ImageReport};
pub use bridge::{
    serve as serve_bridge, serve_stdio as serve_bridge_stdio, BridgeOptions,
    MAX_LINE as BRIDGE_MAX_LINE,
};
pub use face::answer::{Answer, Failure};
pub use face::image_input::ImageInput;
pub use face::params::{GenerateParams, Job, Refusal, Rules};
#[cfg(feature = "http")]
pub use http::{
    default_key_file, ApiKey, HttpError, HttpOptions, HttpServer, KeyError, KeySource,
    DEFAULT_LISTEN, DEFAULT_RECEIVE_TIMEOUT, TOKEN_ENV,
};
pub use image::{Alpha, Fit, IfExists, ImageFormat, Key, OutputFormat, PreviewSpec};
#[cfg(feature = "mcp")]
pub use mcp::{serve as serve_mcp, serve_stdio as serve_mcp_stdio, McpOptions};
pub use types::error::{Category, Error, Result};
pub use types::hints::{Aspect, Background, Hints, Quality, Size};
pub use types::limits::{
    MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_PROMPT_CHARS, MAX_REFERENCES,
};
pub use types::options::{OptionError, Options, Plan, MAX_N};
pub use types::output::{CodexIds, GeneratedImage, Timings, TimingsMs};
pub use types::preflight::{Check, CheckName, PreflightReport, Status, Window};
pub use types::progress::{Phase, Progress};
pub use types::recovery::Recovery;
pub use types::request::{GenerateRequest, ImageSource};
pub use types::save::precheck_target;
pub use types::words::Words;
