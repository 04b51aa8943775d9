//! Running generations on one warm `codex app-server`: the child process, the line codec, the worker
//! that owns the connection, the server-request policy, the version gate, and the manager that keeps
//! one process alive across requests.

mod cleanup;
pub mod codec;
pub mod config;
pub mod generation;
mod handshake;
mod live;
mod login;
pub mod manager;
mod outcome;
pub mod params;
pub mod policy;
pub mod preflight;
pub mod process;
mod router;
mod slot;
pub mod transport;
pub mod version;
