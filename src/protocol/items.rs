//! Hand-written conveniences over the generated types: the image payload of an `imageGeneration` item,
//! the usage-limit reading of errors, and the usage buckets of a rate-limits answer.

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

    /// The usage-limit failure on the item: the bucket it names (`image_gen`) and its reset time (unix
    /// seconds) when Codex gives one.
    pub fn usage_limit(&self) -> Option<SpentBucket> {
        match self.failure.as_ref()? {
            ImageGenerationFailure::UsageLimitExceeded(f) => Some(SpentBucket {
                limit_id: Some(f.limit_id.clone()).filter(|id| !id.is_empty()),
                resets_at: f.resets_at,
            }),
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

/// A usage bucket at 100%: which one, and when it resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentBucket {
    /// The bucket's id as Codex names it (`codex`, `image_gen`, ...), when it gives one.
    pub limit_id: Option<String>,
    /// When its spent window resets (unix seconds), when Codex says.
    pub resets_at: Option<i64>,
}

impl RateLimitSnapshot {
    /// `Some(resets_at)` when one of the bucket's windows is spent (at 100%), with the latest reset a
    /// spent window gives.
    pub fn spent(&self) -> Option<Option<i64>> {
        let spent: Vec<&RateLimitWindow> = [&self.primary, &self.secondary]
            .into_iter()
            .flatten()
            .filter(|w| w.used_percent >= 100)
            .collect();
        (!spent.is_empty()).then(|| spent.iter().filter_map(|w| w.resets_at).max())
    }
}

impl GetAccountRateLimitsResponse {
    /// Every bucket once: the main one (`rateLimits`, which Codex names `codex`), then each other one
    /// in `rateLimitsByLimitId` (image generation is metered apart, as `image_gen`), in id order. Ids
    /// are open-ended: an unknown one is a bucket like any other.
    pub fn buckets(&self) -> Vec<RateLimitSnapshot> {
        let main = self.rate_limits.clone();
        let mut others: Vec<RateLimitSnapshot> = self
            .rate_limits_by_limit_id
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(id, v)| {
                let mut snapshot = serde_json::from_value::<RateLimitSnapshot>(v.clone()).ok()?;
                snapshot.limit_id.get_or_insert_with(|| id.clone());
                Some(snapshot)
            })
            .filter(|b| main.limit_id.is_none() || b.limit_id != main.limit_id)
            .collect();
        others.sort_by(|a, b| a.limit_id.cmp(&b.limit_id));
        std::iter::once(main).chain(others).collect()
    }

    /// The spent bucket whose reset is the latest, if any bucket is spent: what a request must wait
    /// for.
    pub fn spent(&self) -> Option<SpentBucket> {
        self.buckets()
            .into_iter()
            .filter_map(|b| {
                b.spent().map(|resets_at| SpentBucket {
                    limit_id: b.limit_id.clone(),
                    resets_at,
                })
            })
            .max_by_key(|s| s.resets_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn buckets_are_each_given_once_and_spent_names_the_bucket_and_its_reset() {
        let limits: GetAccountRateLimitsResponse = serde_json::from_value(serde_json::json!({
            "rateLimits": {"limitId": "codex", "primary": {"usedPercent": 12, "windowDurationMins": 300, "resetsAt": 10}},
            "rateLimitsByLimitId": {
                "image_gen": {"limitId": "image_gen", "primary": {"usedPercent": 100, "windowDurationMins": 1440, "resetsAt": 99}},
                "codex": {"limitId": "codex", "primary": {"usedPercent": 12, "windowDurationMins": 300, "resetsAt": 10}},
                "video": {"primary": {"usedPercent": 100, "resetsAt": 50}}
            }
        }))
        .expect("decodes");
        let seen: Vec<(Option<String>, Vec<i32>)> = limits
            .buckets()
            .iter()
            .map(|b| {
                let used = [&b.primary, &b.secondary].into_iter().flatten();
                (b.limit_id.clone(), used.map(|w| w.used_percent).collect())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (Some("codex".to_owned()), vec![12]),
                (Some("image_gen".to_owned()), vec![100]),
                (Some("video".to_owned()), vec![100]),
            ]
        );
        assert_eq!(
            limits.spent(),
            Some(SpentBucket {
                limit_id: Some("image_gen".to_owned()),
                resets_at: Some(99)
            })
        );
        let healthy: GetAccountRateLimitsResponse = serde_json::from_value(serde_json::json!({
            "rateLimits": {"primary": {"usedPercent": 99, "resetsAt": 10}}
        }))
        .expect("decodes");
        assert_eq!(healthy.spent(), None);
        assert_eq!(healthy.buckets().len(), 1);
    }
}
