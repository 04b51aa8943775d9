//! Loopback backend.
