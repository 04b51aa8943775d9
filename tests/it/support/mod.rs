//! What the integration tests share: a private world per test on the fake app-server, the faces run
//! in-process or as child processes, the official clients the tests drive, and the one way to wait.

pub mod bad_input;
pub mod bridge;
pub mod bundle;
pub mod faults;
pub mod http;
pub mod load;
pub mod mcp;
mod world;

pub use world::*;
