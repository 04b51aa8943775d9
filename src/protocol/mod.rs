//! Everything that crosses the wire to `codex app-server`, and no I/O.
//!
//! [`envelope`] is the JSON-RPC framing without `"jsonrpc"`. [`generated`] holds the typed messages,
//! written by `cargo xtask codegen` from the schema bundle pinned in `schemas/`, with the method tables
//! expanded by the private `methods` macros. [`items`] adds the few hand-written conveniences the session needs on top.
//! Decoding is tolerant throughout: unknown fields are ignored, fields some supported release omits are
//! optional, and every union keeps what it does not model as raw JSON.

pub mod envelope;
/// The typed messages, generated from the pinned schema bundle by `cargo xtask codegen`.
pub mod generated;
pub mod items;
mod methods;
pub(crate) mod support;

pub use envelope::{ErrorCode, ErrorObject, Message, RequestId};
pub use generated::*;
pub use items::SpentBucket;
pub use methods::{ClientRequest, MethodEntry, ServerRequestMethod};
