//! Test images: the workspace's one PNG encoder (`tests/test-png`), re-exported so the backend's
//! users need no second dependency for the bytes it serves.
//!
//! The backend must serve a real PNG so that Codex (and codex-img behind it) accept the bytes, and
//! tests compare those exact bytes end to end. [`subject_png`] is what the fake model draws when the
//! user asks for a transparent or a flat solid background.

pub use test_png::{encode_rgb, encode_rgba, png_size, subject_png, test_png, SUBJECT_RGB};
