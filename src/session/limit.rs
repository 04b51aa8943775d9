//! The usage limit codex-img has been told about: once Codex reports that the plan's limit is reached
//! and when it resets (the image item's `failure.resetsAt`, the turn's error, a spent window in
//! `account/rateLimits/read`, or `account/rateLimits/updated`), new generations are refused locally
//! with `runtime/usage_limit` until that time, so none spends a model request to learn it again.
//! A host may ignore it (`ignore_known_usage_limit`), for example after the user upgraded the plan.
//!
//! The updates arrive on a channel of their own, beside the turns' events. They are read here,
//! synchronously, before every answer, rather than by a task in the background: the transport routes an
//! update before the image that follows it, so the request after that image always sees the limit,
//! which a task that may not have run yet could not promise.

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::{error::TryRecvError, UnboundedReceiver};

use crate::protocol::{RateLimitSnapshot, ServerNotification};
use crate::rpc::transport::Event;
use crate::types::error::Error;

/// The latest reset time Codex gave for a reached limit.
#[derive(Debug, Default)]
pub(crate) struct KnownLimit {
    resets_at: Mutex<Option<i64>>,
    /// The `account/*` notifications of each process started, until its connection closes.
    updates: Mutex<Vec<UnboundedReceiver<Event>>>,
}

/// The current unix time in seconds.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl KnownLimit {
    /// Remembers that the limit is reached until `resets_at` (unix seconds); a later reset wins.
    pub(crate) fn note(&self, resets_at: i64) {
        let mut known = self.lock();
        if known.is_none_or(|at| at < resets_at) {
            tracing::info!(
                resets_at,
                "usage limit reached; refusing new generations until the reset"
            );
            *known = Some(resets_at);
        }
    }

    /// Reads a process's `account/*` notifications from now on (see the module's note).
    pub(crate) fn watch(&self, updates: UnboundedReceiver<Event>) {
        lock(&self.updates).push(updates);
    }

    /// Notes every spent window the watched updates announced so far; forgets closed connections.
    fn read_updates(&self) {
        let mut spent = Vec::new();
        lock(&self.updates).retain_mut(|updates| loop {
            match updates.try_recv() {
                Ok(Event::Notification(n)) => {
                    if let ServerNotification::AccountRateLimitsUpdated(update) = *n {
                        spent.extend(spent_reset(&update.rate_limits));
                    }
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        });
        for at in spent {
            self.note(at);
        }
    }

    /// The reset time, while it is still ahead of `now` (unix seconds).
    pub(crate) fn until(&self, now: i64) -> Option<i64> {
        self.read_updates();
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
    pub(crate) fn refusal(&self, now: i64) -> Option<Error> {
        self.until(now).map(refusal)
    }

    fn lock(&self) -> MutexGuard<'_, Option<i64>> {
        lock(&self.resets_at)
    }
}

/// Every operation leaves the value consistent, so a poisoned lock is still good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The latest reset of a spent (100%) window in a rate-limit update, if any window is spent.
pub(crate) fn spent_reset(snapshot: &RateLimitSnapshot) -> Option<i64> {
    [&snapshot.primary, &snapshot.secondary]
        .into_iter()
        .flatten()
        .filter(|w| w.used_percent >= 100)
        .filter_map(|w| w.resets_at)
        .max()
}

/// `runtime/usage_limit` for a request refused before it reached Codex.
pub(crate) fn refusal(resets_at: i64) -> Error {
    Error::UsageLimit {
        resets_at: Some(resets_at),
        message: "refused by codex-img without a model request: Codex reported the limit earlier"
            .to_owned(),
        refused_locally: true,
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

    fn update(used_percent: i32, resets_at: i64) -> Event {
        let n: ServerNotification = ServerNotification::decode(
            "account/rateLimits/updated",
            serde_json::json!({"rateLimits": {"limitId": "codex",
                "primary": {"usedPercent": used_percent, "resetsAt": resets_at}}}),
        )
        .expect("decodes");
        Event::Notification(Box::new(n))
    }

    #[test]
    fn an_update_already_routed_is_seen_by_the_next_answer_without_any_task() {
        let known = KnownLimit::default();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        known.watch(rx);
        tx.send(update(40, 900)).expect("send");
        assert_eq!(known.until(100), None, "a healthy window notes nothing");
        tx.send(update(100, 300)).expect("send");
        assert_eq!(known.until(100), Some(300));
        // A closed connection's updates still count, and its channel is then forgotten.
        tx.send(update(100, 400)).expect("send");
        drop(tx);
        assert_eq!(known.until(100), Some(400));
        assert_eq!(lock(&known.updates).len(), 0);
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
