//! codex-img's integration tests, one crate: each module tests one face or area through the public
//! library and the built `codex-img` binary against the fake app-server (`tests/fake-app-server`), and
//! `support` holds what they share. `cargo test --test it <module>` runs one area, such as `mcp::python`.
//! The tests against real Codex releases are the `codex-img-live` crate in `tests/live`.

mod support;

mod architecture;
mod bad_input;
mod bridge;
mod cli;
mod faces_agree;
mod faults;
mod http;
mod load;
mod mcp;
mod modly;
mod protocol;
mod session;
mod usage_limit_faces;
