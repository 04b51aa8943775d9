//! Running generations on one warm `codex app-server`: the child process, the line codec, the worker
//! that owns the connection, the server-request policy, the version gate, and the manager that keeps
//! one process alive across requests.

mod cleanup;
pub(crate) mod codec;
pub(crate) mod config;
pub(crate) mod generation;
mod handshake;
mod limit;
mod live;
mod login;
pub(crate) mod manager;
mod outcome;
pub(crate) mod params;
pub(crate) mod policy;
mod pool;
pub(crate) mod preflight;
pub(crate) mod process;
pub(crate) mod queue;
mod router;
mod slot;
mod thread;
pub(crate) mod transport;
pub(crate) mod version;

#[cfg(test)]
mod conformance_tests;
