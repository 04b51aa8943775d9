//! What the backend saw.
//!
//! Tests assert on what left Codex: that no model request was made before a preflight error, that
//! the edits endpoint got the input images in order, that a private folder name never appeared.
//! So every request is kept whole, with its body, in arrival order.

use std::time::SystemTime;

/// One request the backend received, whatever its path.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method, such as `POST`.
    pub method: String,
    /// The path with its query, such as `/backend-api/codex/responses`.
    pub path: String,
    /// Every header, names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (decoded when Codex compressed it).
    pub body: Vec<u8>,
    /// When the request arrived.
    pub at: SystemTime,
    /// The status the backend answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// Whether this is a model request (a Responses call).
    pub fn is_model_request(&self) -> bool {
        self.method == "POST" && self.route().ends_with("/responses")
    }

    /// Whether this is a call to an images endpoint.
    pub fn is_images_request(&self) -> bool {
        let route = self.route();
        route.ends_with("/images/generations") || route.ends_with("/images/edits")
    }

    /// Whether `needle` occurs anywhere in the path, the headers or the body.
    pub fn mentions(&self, needle: &str) -> bool {
        let needle = needle.as_bytes();
        let found_in =
            |hay: &[u8]| !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle);
        found_in(self.path.as_bytes())
            || self
                .headers
                .iter()
                .any(|(k, v)| found_in(k.as_bytes()) || found_in(v.as_bytes()))
            || found_in(&self.body)
    }

    /// A one-line summary for a failure log: method, path, status, body size.
    pub fn summary(&self) -> String {
        format!(
            "{} {} -> {} ({} bytes)",
            self.method,
            self.path,
            self.status,
            self.body.len()
        )
    }
}

/// The input images of one `/images/edits` call, decoded from their data URLs, in request order.
#[derive(Debug, Clone, Default)]
pub struct EditInputs {
    /// Each image's bytes.
    pub images: Vec<Vec<u8>>,
    /// Each image's media type from its data URL, such as `image/png`.
    pub media_types: Vec<String>,
}
