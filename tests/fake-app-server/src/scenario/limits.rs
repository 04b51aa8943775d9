//! Turn scenarios about the plan's limits, for codex-img's quota tests: `account/rateLimits/updated`
//! with a spent or a healthy window, a usage limit announced that way before the turn fails, and a 429
//! after Codex gave up retrying. The shapes and texts are real Codex's (0.171.0 sources:
//! `CodexErr::RetryLimit` maps to `responseTooManyFailedAttempts` with the last HTTP status, and
//! `UsageLimitReachedError` words the usage-limit message); each scenario is listed in the README.
//!
//! `account/rateLimits/read` stays as the README gives it whatever these send, so a test can tell what
//! codex-img learned from the update from what it read.

use serde_json::{json, Value};

use super::{turn_error, End, Interrupted, Payload, Turn};
use crate::wire::now_secs;

/// What Codex 0.171.0 says for a Plus plan whose limit resets today.
const USAGE_LIMIT_MESSAGE: &str = "You've hit your usage limit. Upgrade to Pro \
     (https://chatgpt.com/explore/pro), visit https://chatgpt.com/codex/settings/usage to purchase \
     more credits or try again at 3:05 PM.";

/// `RetryLimitReachedError`'s text after the last attempt was answered 429.
const TOO_MANY_REQUESTS_MESSAGE: &str = "exceeded retry limit, last status: 429 Too Many Requests";

impl Turn {
    /// Plays a limits scenario; `None` when `name` is not one.
    pub(super) fn limits(
        &mut self,
        name: &str,
        small: (u32, u32),
    ) -> Option<Result<End, Interrupted>> {
        let now = now_secs();
        Some(match name {
            "rate-limits-spent" => {
                self.rate_limits_updated(spent_snapshot(now));
                self.image_then_wait(Payload::Result, small)
            }
            "rate-limits-fine" => {
                // Both resets are later than `rate-limits-spent`'s, so a test can tell whether a
                // healthy update was wrongly taken for a limit ("the later reset wins").
                let snapshot = snapshot(
                    window(40, 300, now + 5 * 3600),
                    window(70, 10080, now + 5 * 86400),
                    Value::Null,
                );
                self.rate_limits_updated(snapshot);
                self.image_then_wait(Payload::Result, small)
            }
            "usage-limit-updated" => {
                self.rate_limits_updated(spent_snapshot(now));
                let info = json!("usageLimitExceeded");
                self.error_notification(turn_error(USAGE_LIMIT_MESSAGE, info.clone()), false);
                End::failed(USAGE_LIMIT_MESSAGE, info)
            }
            "too-many-requests" => {
                let info = json!({ "responseTooManyFailedAttempts": { "httpStatusCode": 429 } });
                self.error_notification(turn_error(TOO_MANY_REQUESTS_MESSAGE, info.clone()), false);
                End::failed(TOO_MANY_REQUESTS_MESSAGE, info)
            }
            _ => return None,
        })
    }

    /// `account/rateLimits/updated {rateLimits}`, recorded with the snapshot sent.
    fn rate_limits_updated(&mut self, snapshot: Value) {
        self.server.rec.event(
            "rate_limits_updated",
            json!({ "threadId": self.start.thread_id, "rateLimits": snapshot }),
        );
        self.notify(
            "account/rateLimits/updated",
            json!({ "rateLimits": snapshot }),
        );
    }
}

/// The primary (5-hour) window spent, resetting in an hour; the weekly one not.
fn spent_snapshot(now: u64) -> Value {
    snapshot(
        window(100, 300, now + 3600),
        window(64, 10080, now + 3 * 86400),
        json!("rate_limit_reached"),
    )
}

fn window(used_percent: u32, minutes: u64, resets_at: u64) -> Value {
    json!({ "usedPercent": used_percent, "windowDurationMins": minutes, "resetsAt": resets_at })
}

/// A snapshot with only the members both the 0.122.0 and the 0.171.0 schema declare.
fn snapshot(primary: Value, secondary: Value, reached: Value) -> Value {
    json!({
        "limitId": "codex",
        "limitName": null,
        "primary": primary,
        "secondary": secondary,
        "credits": null,
        "planType": "plus",
        "rateLimitReachedType": reached,
    })
}
