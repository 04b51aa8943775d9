//! The bounds on one request, so a client can neither exhaust memory nor hold a connection open.
//!
//! A body may hold five 20 MiB images even as base64 in JSON, plus the other fields; headers may take
//! [`MAX_HEADER_BYTES`]; and the whole request must arrive within the receive timeout (headers are
//! timed by hyper, the body here). A body that would exceed the limit is refused with 413 before it is
//! read (by `Content-Length`) or as soon as it passes the limit, and a body that stalls gets 408; both
//! close the connection, since the rest of the body would otherwise be read as the next request.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use tokio::time::Instant;

use super::errors::ApiError;
use crate::types::limits::MAX_IMAGE_BYTES;

/// The most input images one edit may carry: the image to edit and four references.
pub(crate) const MAX_IMAGES: usize = 5;

/// Five images as base64 (4/3 of their bytes), with 1 MiB for the prompt and the other fields.
pub(crate) const MAX_BODY_BYTES: usize = MAX_IMAGES * MAX_IMAGE_BYTES / 3 * 4 + (1 << 20);

/// The most bytes of a request head (the request line and every header).
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most header fields in one request.
pub(crate) const MAX_HEADERS: usize = 64;

/// The declared body length, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads the whole body within `limit` bytes and by `deadline`.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    deadline: Instant,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "http/body_too_large",
            format!(
                "the request body is over {limit} bytes (room for {MAX_IMAGES} images of {} MiB as base64)",
                MAX_IMAGE_BYTES >> 20
            ),
        )
        .closing()
    };
    if content_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            // `to_bytes` reports the limit as a `LengthLimitError` somewhere in the source chain.
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(too_large());
                }
                source = s.source();
            }
            Err(ApiError::http(
                StatusCode::BAD_REQUEST,
                "http/body_unreadable",
                format!("the request body could not be read: {e}"),
            )
            .closing())
        }
        Err(_) => Err(timeout_error()),
    }
}

/// 408 for a client that did not send its request in time.
pub(crate) fn timeout_error() -> ApiError {
    ApiError::http(
        StatusCode::REQUEST_TIMEOUT,
        "http/request_timeout",
        "the request was not received in time; send it again at once",
    )
    .closing()
}

/// The deadline for receiving a request that arrived at `started`.
pub(crate) fn receive_deadline(started: Instant, timeout: Duration) -> Instant {
    started + timeout
}
