//! The usage limit codex-img has been told about: once Codex reports that the plan's limit is reached
//! and when it resets (the image item's `failure.resetsAt`, the turn's error, a spent window in
//! `account/rateLimits/read`, or `account/rateLimits/updated`), new generations are refused locally
//! with `runtime/usage_limit` until that time, so none spends a model request to learn it again.
//! A host may ignore it (`ignore_known_usage_limit`), for example after the user upgraded the plan.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::protocol::RateLimitSnapshot;

/// The latest reset time Codex gave for a reached limit.
#[derive(Debug, Default)]
pub struct KnownLimit {
    resets_at: Mutex<Option<i64>>,
}

/// The current unix time in seconds.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl KnownLimit {
    /// Remembers that the limit is reached until `resets_at` (unix seconds); a later reset wins.
    pub fn note(&self, resets_at: i64) {
        let mut known = self.lock();
        if known.is_none_or(|at| at < resets_at) {
            tracing::info!(
                resets_at,
                "usage limit reached; refusing new generations until the reset"
            );
            *known = Some(resets_at);
        }
    }

    /// The reset time, while it is still ahead of `now` (unix seconds).
    pub fn until(&self, now: i64) -> Option<i64> {
        let mut known = self.lock();
        match *known {
            Some(at) if at > now => Some(at),
            Some(_) => {
                *known = None;
                None
            }
            None => None,
        }
    }

    /// The error a new generation gets while the limit holds.
    pub fn refusal(&self, now: i64) -> Option<Error> {
        self.until(now).map(refusal)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<i64>> {
        self.resets_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The latest reset of a spent (100%) window in a rate-limit update, if any window is spent.
pub fn spent_reset(snapshot: &RateLimitSnapshot) -> Option<i64> {
    [&snapshot.primary, &snapshot.secondary]
        .into_iter()
        .flatten()
        .filter(|w| w.used_percent >= 100)
        .filter_map(|w| w.resets_at)
        .max()
}

/// `runtime/usage_limit` for a request refused before it reached Codex.
pub fn refusal(resets_at: i64) -> Error {
    Error::UsageLimit {
        resets_at: Some(resets_at),
        message: "refused by codex-img without a model request: Codex reported the limit earlier \
                  (set ignore_known_usage_limit to try anyway)"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_limit_holds_until_its_reset_and_the_later_reset_wins() {
        let known = KnownLimit::default();
        assert_eq!(known.until(100), None);
        known.note(200);
        known.note(150);
        assert_eq!(known.until(100), Some(200));
        let refused = known.refusal(199).map(|e| (e.code(), e.resets_at()));
        assert_eq!(refused, Some(("runtime/usage_limit", Some(200))));
        assert_eq!(known.until(200), None);
        assert_eq!(known.until(100), None, "a passed reset is forgotten");
    }

    #[test]
    fn only_a_spent_window_with_a_reset_counts() {
        let snapshot: RateLimitSnapshot = serde_json::from_value(serde_json::json!({
            "limitId": "image_gen",
            "primary": {"usedPercent": 100, "resetsAt": 50},
            "secondary": {"usedPercent": 40, "resetsAt": 90}
        }))
        .expect("decodes");
        assert_eq!(spent_reset(&snapshot), Some(50));
        let fine: RateLimitSnapshot = serde_json::from_value(serde_json::json!({
            "primary": {"usedPercent": 99, "resetsAt": 50}
        }))
        .expect("decodes");
        assert_eq!(spent_reset(&fine), None);
    }
}
