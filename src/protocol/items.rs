//! Hand-written conveniences over the generated types: the image payload of an `imageGeneration` item,
//! the usage-limit reading of errors, and the usage windows of a rate-limits answer.

use crate::protocol::generated::{
    CodexErrorInfo, GetAccountRateLimitsResponse, ImageGenerationFailure,
    ImageGenerationThreadItem, RateLimitSnapshot, RateLimitWindow,
};

/// Where an `imageGeneration` item keeps its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePayload<'a> {
    /// Base64 bytes inline (every release; the only form up to 0.160).
    Inline(&'a str),
    /// A durable attachment-store id (0.165 and later), which codex-img cannot fetch itself.
    FileId(&'a str),
    /// Neither: an empty `result` and no `fileId`.
    Missing,
}

impl ImageGenerationThreadItem {
    /// The payload, preferring inline bytes: rollouts written during Codex's migration carry both an
    /// empty `result` and a `fileId`, so an empty `result` counts as absent.
    pub fn payload(&self) -> ImagePayload<'_> {
        match (self.result.as_deref(), self.file_id.as_deref()) {
            (Some(b64), _) if !b64.is_empty() => ImagePayload::Inline(b64),
            (_, Some(id)) if !id.is_empty() => ImagePayload::FileId(id),
            _ => ImagePayload::Missing,
        }
    }

    /// The usage-limit failure on the item, with its reset time (unix seconds) when Codex gives one.
    pub fn usage_limit(&self) -> Option<Option<i64>> {
        match self.failure.as_ref()? {
            ImageGenerationFailure::UsageLimitExceeded(f) => Some(f.resets_at),
            ImageGenerationFailure::Unrecognized(_) => None,
        }
    }
}

impl CodexErrorInfo {
    /// The wire name of the value (`"usageLimitExceeded"`, `"responseStreamDisconnected"`, or whatever an
    /// unknown one says), for messages and logs.
    pub fn name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
            _ => "other".to_owned(),
        }
    }
}

impl GetAccountRateLimitsResponse {
    /// Every usage window, from the main snapshot and from each `rateLimitsByLimitId` bucket (image
    /// generation can be metered apart from the main limit), each distinct window once.
    pub fn windows(&self) -> Vec<RateLimitWindow> {
        let buckets = self
            .rate_limits_by_limit_id
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(|v| serde_json::from_value::<RateLimitSnapshot>(v.clone()).ok());
        let mut windows: Vec<RateLimitWindow> = Vec::new();
        for snapshot in std::iter::once(self.rate_limits.clone()).chain(buckets) {
            for window in [snapshot.primary, snapshot.secondary].into_iter().flatten() {
                if !windows.contains(&window) {
                    windows.push(window);
                }
            }
        }
        windows
    }

    /// `Some(resets_at)` when a window is spent (at 100%), with the latest reset any spent window gives.
    pub fn spent(&self) -> Option<Option<i64>> {
        let spent: Vec<RateLimitWindow> = self
            .windows()
            .into_iter()
            .filter(|w| w.used_percent >= 100)
            .collect();
        (!spent.is_empty()).then(|| spent.iter().filter_map(|w| w.resets_at).max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn windows_cover_every_bucket_once_and_spent_names_the_reset() {
        let limits: GetAccountRateLimitsResponse = serde_json::from_value(serde_json::json!({
            "rateLimits": {"limitId": "codex", "primary": {"usedPercent": 12, "windowDurationMins": 300, "resetsAt": 10}},
            "rateLimitsByLimitId": {
                "codex": {"limitId": "codex", "primary": {"usedPercent": 12, "windowDurationMins": 300, "resetsAt": 10}},
                "image_gen": {"limitId": "image_gen", "primary": {"usedPercent": 100, "windowDurationMins": 60, "resetsAt": 99}}
            }
        }))
        .expect("decodes");
        let seen: Vec<(i32, Option<i64>)> = limits
            .windows()
            .iter()
            .map(|w| (w.used_percent, w.resets_at))
            .collect();
        assert_eq!(seen, vec![(12, Some(10)), (100, Some(99))]);
        assert_eq!(limits.spent(), Some(Some(99)));
    }
}
