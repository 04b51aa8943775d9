//! What the integration tests share, once: a private world per test on the fake app-server, the one
//! way to wait, processes as the OS sees them, the binary run to its end, the faces run in-process
//! (`bridge`, `http`) or as child processes (`serve`, `load`), the official clients the tests drive
//! and install themselves (`clients`, `mcp`), and the tables and oracles of single areas.

pub mod bad_input;
pub mod bridge;
pub mod bundle;
pub mod child;
pub mod faults;
mod files;
pub mod http;
pub mod load;
pub mod mcp;
mod process;
pub mod run;
pub mod serve;
mod wait;
mod world;

pub use files::{b64, entries, png, sha256, staged};
// The official clients: declared by `mcp/sdk.rs`, which the live tests include by path.
pub use mcp::clients;
pub use process::{alive, all_gone, all_gone_blocking, exited_whole, processes_with_env};
pub use wait::{eventually, eventually_async, eventually_await};
pub use world::{fake_bin, position, World, BIN};
