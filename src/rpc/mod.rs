//! The JSON-RPC peer: everything between codex-img and a `codex app-server` child that knows nothing
//! of images. One worker task owns the connection and the pending map ([`transport`]); handles are
//! channel senders.
//!
//! | file | owns |
//! |---|---|
//! | `codec` | the bounded line codec, and finding an image's base64 inside a line without copying it |
//! | `transport` | the worker that owns the child's pipes, the pending map and the writes |
//! | `router` | which caller a response or a thread's notification goes to |
//! | `event` | what a caller receives: a thread's events, and why a request got no answer |
//! | `policy` | the answer to every request the server sends (approvals declined, unknown refused) |
//! | `process` | the child on pipes in its own process group, its stderr tail, and stopping it |

pub(crate) mod codec;
pub(crate) mod event;
pub(crate) mod policy;
pub(crate) mod process;
pub(crate) mod router;
pub(crate) mod transport;
