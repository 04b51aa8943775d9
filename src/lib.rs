//! codex-img: generate images through a person's own signed-in Codex CLI.
//!
//! The crate drives one warm `codex app-server` child over JSON-RPC on stdio and turns each request into
//! one ephemeral Codex thread whose only job is to call the built-in image tool. Data flows one way: a face
//! (the `codex-img` binary or the stdio bridge) builds a request, [`session`] runs it on the warm child,
//! [`protocol`] carries it on the wire, and [`image`] checks and saves what comes back.

pub mod bridge;
pub mod client;
pub mod confine;
pub mod error;
pub mod image;
pub mod output;
pub mod progress;
pub mod protocol;
pub mod report;
pub mod request;
pub mod session;
mod time;

pub use client::{Client, ClientBuilder};
pub use error::{Category, Error, Result};
pub use image::{IfExists, ImageFormat};
pub use output::{CodexIds, GeneratedImage, Timings};
pub use progress::{Phase, Progress};
pub use report::{DoctorReport, ErrorReport, ImageReport};
pub use request::{Aspect, Background, GenerateRequest, Hints, ImageSource, Quality, Size};
pub use session::preflight::{Check, PreflightReport, Status, Window};
