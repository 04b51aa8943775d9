//! The image runtime on top of the JSON-RPC peer ([`crate::rpc`]): starting `codex app-server` and
//! the handshake, the version gate and the login check, the pre-started threads, the manager that keeps
//! one process alive across requests, and a generation from `thread/start` to the image in hand.

pub(crate) mod auth_file;
mod cleanup;
pub(crate) mod config;
pub(crate) mod generation;
mod handshake;
mod limit;
mod live;
mod login;
pub(crate) mod manager;
mod outcome;
pub(crate) mod params;
mod pool;
pub(crate) mod postprocess;
pub(crate) mod preflight;
pub(crate) mod queue;
mod recycle;
mod slot;
mod spawn;
mod thread;
mod tree;
pub(crate) mod turn_text;
mod upkeep;
pub(crate) mod version;
mod workdir;

#[cfg(test)]
mod conformance_tests;
