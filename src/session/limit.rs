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

use crate::protocol::ServerNotification;
use crate::rpc::transport::Event;
use crate::types::error::Error;

/// The latest reset time Codex gave for a reached limit, with the bucket it is in.
#[derive(Debug, Default)]
pub(crate) struct KnownLimit {
    known: Mutex<Option<Known>>,
    /// The `account/*` notifications of each process started, until its connection closes.
    updates: Mutex<Vec<UnboundedReceiver<Event>>>,
}

/// A reached limit: when it resets, and its bucket (`image_gen`, `codex`, ...) when Codex named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    pub(crate) resets_at: i64,
    pub(crate) limit_id: Option<String>,
}

/// The current unix time in seconds.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl KnownLimit {
    /// Remembers that the limit of bucket `limit_id` is reached until `resets_at` (unix seconds); a
    /// later reset wins.
    pub(crate) fn note(&self, resets_at: i64, limit_id: Option<String>) {
        let mut known = self.lock();
        if known.as_ref().is_none_or(|k| k.resets_at < resets_at) {
            tracing::info!(
                resets_at,
                limit_id = limit_id.as_deref().unwrap_or("unnamed"),
                "usage limit reached; refusing new generations until the reset"
            );
            *known = Some(Known {
                resets_at,
                limit_id,
            });
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
                        let bucket = update.rate_limits;
                        if let Some(Some(at)) = bucket.spent() {
                            spent.push((at, bucket.limit_id));
                        }
                    }
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        });
        for (at, limit_id) in spent {
            self.note(at, limit_id);
        }
    }

    /// The limit, while its reset is still ahead of `now` (unix seconds).
    pub(crate) fn holding(&self, now: i64) -> Option<Known> {
        self.read_updates();
        let mut known = self.lock();
        match &*known {
            Some(k) if k.resets_at > now => Some(k.clone()),
            Some(_) => {
                *known = None;
                None
            }
            None => None,
        }
    }

    /// The reset time, while it is still ahead of `now` (unix seconds).
    #[cfg(test)]
    fn until(&self, now: i64) -> Option<i64> {
        self.holding(now).map(|k| k.resets_at)
    }

    /// The error a new generation gets while the limit holds.
    pub(crate) fn refusal(&self, now: i64) -> Option<Error> {
        self.holding(now).map(refusal)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Known>> {
        lock(&self.known)
    }
}

/// Every operation leaves the value consistent, so a poisoned lock is still good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `runtime/usage_limit` for a request refused before it reached Codex.
pub(crate) fn refusal(known: Known) -> Error {
    Error::UsageLimit {
        limit_id: known.limit_id,
        resets_at: Some(known.resets_at),
        message: "refused by codex-img without a model request: Codex reported the limit earlier"
            .to_owned(),
        refused_locally: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RateLimitSnapshot;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_limit_holds_until_its_reset_and_the_later_reset_wins() {
        let known = KnownLimit::default();
        assert_eq!(known.until(100), None);
        known.note(200, Some("image_gen".to_owned()));
        known.note(150, Some("codex".to_owned()));
        assert_eq!(known.until(100), Some(200));
        let refused = known
            .refusal(199)
            .map(|e| (e.code(), e.resets_at(), e.limit_id().map(str::to_owned)));
        assert_eq!(
            refused,
            Some((
                "runtime/usage_limit",
                Some(200),
                Some("image_gen".to_owned())
            ))
        );
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
        assert_eq!(
            known.holding(100),
            Some(Known {
                resets_at: 400,
                limit_id: Some("codex".to_owned())
            }),
            "the bucket the update named is remembered with it"
        );
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
        assert_eq!(snapshot.spent(), Some(Some(50)));
        let fine: RateLimitSnapshot = serde_json::from_value(serde_json::json!({
            "primary": {"usedPercent": 99, "resetsAt": 50}
        }))
        .expect("decodes");
        assert_eq!(fine.spent(), None);
    }
}
