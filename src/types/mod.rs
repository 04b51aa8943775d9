//! The types every layer speaks: what a caller asks for ([`request`], its [`hints`] and [`options`],
//! checked by [`check`] within [`limits`]), what comes back ([`output`], kept safe by [`save`] and
//! [`recovery`]), how far it got ([`progress`]), and what went wrong ([`error`]). Nothing here talks to
//! Codex; everything above builds on it.

pub(crate) mod check;
pub(crate) mod error;
pub(crate) mod hints;
pub(crate) mod limits;
pub(crate) mod options;
pub(crate) mod output;
pub(crate) mod preflight;
pub(crate) mod progress;
pub(crate) mod recovery;
pub(crate) mod request;
pub(crate) mod save;
pub(crate) mod time;
pub(crate) mod words;
