//! codex-img: generate images through a person's own signed-in Codex CLI.
//!
//! The crate drives one warm `codex app-server` child over JSON-RPC on stdio and turns each request into
//! one ephemeral Codex thread whose only job is to call the built-in image tool. Data flows one way: a face
//! (the `codex-img` binary, the stdio [`bridge`], or a Rust program) builds a [`GenerateRequest`], a
//! [`Client`] runs it on the warm child, [`protocol`] carries it on the wire, and [`image`] checks and
//! saves what comes back as a [`GeneratedImage`].
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
//! Everything a program needs is re-exported here at the root. The modules that stay public are the
//! shared pieces faces build on: [`report`] (the JSON shapes every face prints), [`output`] (pre-checking
//! an output target), [`recovery`] (where an image that cannot be saved is kept), [`confine`] (`--root` confinement), [`image`] (pure image-byte helpers),
//! [`request`] (request limits), [`error`], [`bridge`] and [`protocol`] (the generated app-server types).
//!
//! Cargo features: `cli` (default) builds the `codex-img` binary and brings `clap`, `tracing-subscriber`
//! and signal handling; `mcp` (default) adds [`mcp`], the MCP server behind `codex-img serve-mcp`, and
//! brings `rmcp` and `schemars`; `http` (default) adds [`http`], the OpenAI-compatible Images API behind
//! `serve-http`, with axum and hyper; `codex-img = { version = "…", default-features = false }` is the
//! library alone.

#![warn(missing_docs)]

mod batch;
pub mod bridge;
mod client;
pub mod confine;
pub mod error;
pub mod host_image;
#[cfg(feature = "http")]
pub mod http;
pub mod image;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod options;
pub mod output;
mod postprocess;
mod progress;
pub mod protocol;
pub mod recovery;
pub mod report;
pub mod request;
mod rpc;
mod session;
pub mod sidecar;
mod stdin;
mod time;

pub use batch::{numbered_path, BatchOutcome, Delivered, Failed};
pub use bridge::{serve as serve_bridge, serve_stdio, BridgeOptions};
pub use client::{Client, ClientBuilder};
pub use error::{Category, Error, Result};
pub use image::{IfExists, ImageFormat};
pub use options::{Alpha, Fit, Key, OptionError, Options, OutputFormat, Plan};
pub use output::{CodexIds, GeneratedImage, Timings, TimingsMs};
pub use progress::{Phase, Progress};
pub use recovery::Recovery;
pub use report::{BatchError, BatchReport, DoctorReport, ErrorReport, ImageReport};
pub use request::{Aspect, Background, GenerateRequest, Hints, ImageSource, Quality, Size};
pub use session::preflight::{Check, PreflightReport, Status, Window};
