//! Errors in the OpenAI Images API's shape, `{"error": {"message", "type", "param", "code"}}`, with the
//! status each official SDK maps to the right exception, and the headers that keep retries from spending
//! quota twice.
//!
//! `message` comes first and is short, because some apps show only the status and the first 240
//! characters of the body. `code` is codex-img's stable `category/name` code. The SDKs retry 408, 409,
//! 429 and 5xx by themselves, so every answer that a retry cannot fix, or whose turn may have spent
//! quota, carries `x-should-retry: false`; only failures that cannot have started a turn leave the
//! retry to the client. A usage limit is 429 with `Retry-After`, the seconds until the reset.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::types::error::Error;
use crate::types::options::OptionError;

/// One failed request, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: &'static str,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// Whether a client may send the same request again by itself.
    pub may_retry: bool,
    /// Close the connection after answering (the request was not read to its end).
    pub close: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

// Field order is the wire order: `message` first.
#[derive(Serialize)]
struct Detail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: String) -> Self {
        Self {
            status,
            message,
            kind,
            param: None,
            code,
            retry_after: None,
            may_retry: false,
            close: false,
        }
    }

    /// 400: the request is wrong as sent.
    pub(crate) fn bad_request(
        code: &'static str,
        param: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message.into(),
        )
        .param(param)
    }

    /// A refusal by the HTTP face itself (auth, origin, limits, routing).
    pub(crate) fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let kind = match status {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN | StatusCode::MISDIRECTED_REQUEST => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            _ => "invalid_request_error",
        };
        Self::new(status, kind, code, message.into())
    }

    pub(crate) fn param(mut self, param: Option<&str>) -> Self {
        self.param = param.map(str::to_owned);
        self
    }

    pub(crate) fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// The answer for a library error; `now` (unix seconds) turns a reset time into `Retry-After`.
    pub(crate) fn from_library(e: &Error, now: i64) -> Self {
        let message = e.to_string();
        let code = e.code();
        let (status, kind) = match e {
            Error::InvalidPrompt { .. } | Error::InvalidImage { .. } | Error::Option(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request_error")
            }
            Error::Refused { .. } => (StatusCode::BAD_REQUEST, "image_generation_user_error"),
            Error::UsageLimit { .. } => (StatusCode::TOO_MANY_REQUESTS, "insufficient_quota"),
            Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded"),
            Error::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "server_error"),
            Error::NoImage { .. }
            | Error::AppServerExited { .. }
            | Error::InvalidMessage { .. } => (StatusCode::BAD_GATEWAY, "server_error"),
            Error::CodexMissing { .. }
            | Error::UnsupportedVersion { .. }
            | Error::VersionNotAllowed { .. }
            | Error::InvalidVersionPolicy { .. }
            | Error::NotSignedIn
            | Error::ApiKeyLogin
            | Error::ImageGenerationUnavailable { .. }
            | Error::BackendUnreachable { .. }
            | Error::Overloaded { .. }
            | Error::ThreadLost { .. }
            | Error::Cancelled
            | Error::ShuttingDown { .. } => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let param = match e {
            Error::InvalidPrompt { .. } => Some("prompt"),
            Error::InvalidImage { .. } => Some("image"),
            Error::Option(o) => option_param(o),
            _ => None,
        };
        let mut out = Self::new(status, kind, code, message).param(param);
        // Only failures before any turn may be retried by the client on its own; `NoImage` is
        // retryable advice for a person, but its turn ran, so an automatic retry would spend again.
        out.may_retry = match e {
            Error::BackendUnreachable { .. } | Error::Overloaded { .. } => true,
            Error::AppServerExited { .. } => e.retryable(),
            _ => false,
        };
        out.retry_after = match (e, e.resets_at()) {
            (Error::UsageLimit { .. }, Some(at)) => Some(at.saturating_sub(now).max(1) as u64),
            (Error::Overloaded { .. }, _) => Some(2),
            _ => None,
        };
        out
    }
}

/// The request field an option error is about, by the OpenAI API's name for it.
fn option_param(e: &OptionError) -> Option<&'static str> {
    let option = match e {
        OptionError::UnsupportedFormat { .. } | OptionError::FormatMismatch { .. } => "format",
        OptionError::Invalid { option, .. } | OptionError::Missing { option, .. } => *option,
        _ => return None,
    };
    Some(match option {
        "format" => "output_format",
        "compression" => "output_compression",
        other => other,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Detail {
                message: &self.message,
                kind: self.kind,
                param: self.param.as_deref(),
                code: self.code,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if !self.may_retry {
            headers.insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    async fn written(e: ApiError) -> (u16, Vec<(String, String)>, String) {
        let response = e.into_response();
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
            .collect();
        headers.sort();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn usage_limit_is_429_with_retry_after_and_no_retry() {
        let e = Error::UsageLimit {
            limit_id: None,
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: false,
        };
        let (status, headers, body) = written(ApiError::from_library(&e, 1_800_000_000 - 90)).await;
        assert_eq!(status, 429);
        assert_eq!(
            headers,
            h(&[
                ("content-type", "application/json"),
                ("retry-after", "90"),
                ("x-should-retry", "false"),
            ])
        );
        assert!(
            body.starts_with(r#"{"error":{"message":"the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z"#),
            "{body}"
        );
        assert!(
            body.ends_with(
                r#","type":"insufficient_quota","param":null,"code":"runtime/usage_limit"}}"#
            ),
            "{body}"
        );
    }

    #[test]
    fn statuses_and_retry_advice_by_error() {
        let cases: Vec<(Error, u16, bool)> = vec![
            (Error::InvalidPrompt { reason: "x".into() }, 400, false),
            (
                Error::Refused {
                    message: "x".into(),
                },
                400,
                false,
            ),
            (Error::NotSignedIn, 503, false),
            (
                Error::VersionNotAllowed {
                    found: "0.150.0".into(),
                    allowed: vec!["0.171.0".into()],
                },
                503,
                false,
            ),
            (
                Error::InvalidVersionPolicy {
                    setting: "CODEX_IMG_MIN_VERSION".into(),
                    reason: "x".into(),
                },
                503,
                false,
            ),
            (Error::BackendUnreachable { detail: "x".into() }, 503, true),
            (Error::Overloaded { attempts: 4 }, 503, true),
            (Error::NoImage { detail: "x".into() }, 502, false),
            (
                Error::Timeout {
                    after: std::time::Duration::from_secs(1),
                    phase: "generating",
                },
                504,
                false,
            ),
            (
                Error::AppServerExited {
                    status: None,
                    stderr_tail: String::new(),
                    turn_started: true,
                },
                502,
                false,
            ),
            (
                Error::AppServerExited {
                    status: None,
                    stderr_tail: String::new(),
                    turn_started: false,
                },
                502,
                true,
            ),
        ];
        for (e, status, may_retry) in cases {
            let got = ApiError::from_library(&e, 0);
            assert_eq!(
                (got.status.as_u16(), got.may_retry),
                (status, may_retry),
                "{e}"
            );
        }
    }
}
