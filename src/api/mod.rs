//! The library's API above the runtime: the [`client::Client`] handle that every face and Rust program
//! uses, [`batch`] (several images from one request, each saved as it finishes), the [`sidecar`] written
//! beside an image, and the [`report`] shapes every face prints.

pub(crate) mod batch;
pub(crate) mod client;
pub(crate) mod report;
pub(crate) mod sidecar;
