//! After a usage limit with a known reset time, new generations are refused here until the reset, with
//! the same `runtime/usage_limit` answer and no turn started: a client (or an SDK) that tries again before
//! the reset spends nothing. The first request after the reset goes through.

use std::sync::Mutex;

use crate::error::Error;

/// The reset time of the last usage limit seen, in unix seconds.
#[derive(Debug, Default)]
pub struct QuotaGate {
    until: Mutex<Option<i64>>,
}

impl QuotaGate {
    /// The error to answer with instead of generating, while a known limit lasts.
    pub fn check(&self, now: i64) -> Option<Error> {
        let until = self.until.lock().ok().and_then(|u| *u)?;
        (now < until).then(|| Error::UsageLimit {
            resets_at: Some(until),
            message: String::new(),
        })
    }

    /// Remembers the reset time of a usage limit.
    pub fn observe(&self, e: &Error) {
        if let (Error::UsageLimit { .. }, Some(at)) = (e, e.resets_at()) {
            if let Ok(mut until) = self.until.lock() {
                *until = Some(until.map_or(at, |u| u.max(at)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_until_the_reset_only() {
        let gate = QuotaGate::default();
        assert!(gate.check(100).is_none());
        gate.observe(&Error::UsageLimit {
            resets_at: None,
            message: String::new(),
        });
        assert!(gate.check(100).is_none());
        gate.observe(&Error::UsageLimit {
            resets_at: Some(200),
            message: String::new(),
        });
        assert_eq!(gate.check(199).map(|e| e.resets_at()), Some(Some(200)));
        assert!(gate.check(200).is_none());
    }
}
