//! Running generations on one warm `codex app-server`: the child process, the line codec, the worker
//! that owns the connection, the server-request policy, the version gate, and the manager that keeps
//! one process alive across requests.

mod cleanup;
pub mod codec;
pub mod config;
pub mod generation;
pub mod manager;
mod outcome;
pub mod params;
pub mod policy;
pub mod preflight;
pub mod process;
pub mod transport;
pub mod version;

#[cfg(test)]
mod conformance_tests;
