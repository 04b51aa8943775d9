//! The gate in front of every endpoint: the `Host` header must name this server (against DNS
//! rebinding), a browser's `Origin` must be this server's own, and every request but `GET /health`
//! must carry the key. No CORS header is ever sent, so a web page cannot read an answer either.
//!
//! The `Origin` rule is keyed on `Origin` alone: server-side clients such as Node's fetch send
//! `sec-fetch-mode: cors` without an `Origin`, and must keep working. A refused request's body is
//! drained (up to [`DRAIN_BYTES`], within the receive timeout) so the connection stays usable for the
//! client's next request; a bigger or stalled body is not read, and the answer closes the connection,
//! because its unread bytes would otherwise be taken for the next request.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::errors::ApiError;
use super::limits;
use super::routes::AppState;

/// The most body bytes read from a refused request to keep its connection alive.
pub(crate) const DRAIN_BYTES: usize = 4 << 20;

/// Which `Host` values name this server.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    port: u16,
    /// Lowercase `host:port` values (and bare hosts when the port is 80).
    names: Vec<String>,
    /// With `--allow-remote`: any IP literal with this port is accepted too (DNS rebinding needs a name).
    any_ip: bool,
}

impl Hosts {
    pub(crate) fn new(listen: SocketAddr, allow_remote: bool) -> Self {
        let port = listen.port();
        let mut bare = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "[::1]".to_owned(),
        ];
        let own = match listen.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        if !bare.contains(&own) {
            bare.push(own);
        }
        let mut names: Vec<String> = bare.iter().map(|h| format!("{h}:{port}")).collect();
        if port == 80 {
            names.extend(bare);
        }
        Self {
            port,
            names,
            any_ip: allow_remote,
        }
    }

    pub(crate) fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        self.any_ip
            && host
                .parse::<SocketAddr>()
                .is_ok_and(|addr| addr.port() == self.port)
    }

    /// An `Origin` of a page served from this server itself (which serves no pages, so only a tool
    /// that sets it deliberately sends one).
    fn allows_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|rest| self.allows(rest))
    }
}

/// Runs the gate; `next` only sees requests that passed.
pub(crate) async fn gate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    match check(&state, request.headers(), request.uri().path()) {
        Ok(()) => {
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let response = next.run(request).await;
            // Method, path, status and time only: never a header, so never the key.
            tracing::info!(
                %method,
                path,
                status = response.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "answered"
            );
            response
        }
        Err(refusal) => {
            tracing::info!(
                path = request.uri().path(),
                code = refusal.code,
                "refused a request"
            );
            let deadline = limits::receive_deadline(started, state.receive_timeout);
            let drained = drain(request, deadline).await;
            let refusal = if drained { refusal } else { refusal.closing() };
            refusal.into_response()
        }
    }
}

fn check(state: &AppState, headers: &HeaderMap, path: &str) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !state.hosts.allows(host) {
        return Err(ApiError::http(
            StatusCode::MISDIRECTED_REQUEST,
            "http/host_not_allowed",
            format!(
                "the Host header must name this server (127.0.0.1:{} or localhost:{}); requests through other names are refused",
                state.hosts.port, state.hosts.port
            ),
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| state.hosts.allows_origin(o));
        if !allowed {
            return Err(ApiError::http(
                StatusCode::FORBIDDEN,
                "http/origin_not_allowed",
                "cross-origin requests from web pages are refused; call this server from an app or a script",
            ));
        }
    }
    if path == "/health" {
        return Ok(());
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .and_then(bearer);
    match presented {
        None => Err(ApiError::http(
            StatusCode::UNAUTHORIZED,
            "http/missing_api_key",
            "no API key: send Authorization: Bearer <key> with the key serve-http printed",
        )),
        Some(token) if state.key.matches(token) => Ok(()),
        Some(_) => Err(ApiError::http(
            StatusCode::UNAUTHORIZED,
            "http/invalid_api_key",
            "wrong API key: use the key serve-http printed (its key file, or CODEX_IMG_HTTP_TOKEN)",
        )),
    }
}

/// The token of `Bearer <token>` (the scheme in any case).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Reads and discards the body, if it is small enough and arrives in time; `true` when it ended.
async fn drain(request: Request, deadline: Instant) -> bool {
    let (parts, body) = request.into_parts();
    if limits::content_length(&parts.headers).is_some_and(|n| n > DRAIN_BYTES as u64) {
        return false;
    }
    matches!(
        tokio::time::timeout_at(deadline, axum::body::to_bytes(body, DRAIN_BYTES)).await,
        Ok(Ok(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        let local = Hosts::new("127.0.0.1:8787".parse().expect("addr"), false);
        for ok in ["127.0.0.1:8787", "LOCALHOST:8787", "[::1]:8787"] {
            assert!(local.allows(ok), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:8788",
            "evil.example:8787",
            "192.168.1.2:8787",
        ] {
            assert!(!local.allows(bad), "{bad}");
        }
        assert!(local.allows_origin("http://localhost:8787"));
        assert!(!local.allows_origin("https://localhost:8787"));
        assert!(!local.allows_origin("http://evil.example:8787"));
        assert!(!local.allows_origin("null"));
        let remote = Hosts::new("0.0.0.0:9000".parse().expect("addr"), true);
        assert!(remote.allows("192.168.1.2:9000"));
        assert!(!remote.allows("192.168.1.2:9001"));
        assert!(!remote.allows("rebind.example:9000"));
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
        assert_eq!(bearer(b"abc"), None);
    }
}
