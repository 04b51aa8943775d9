//! The one slot that holds the warm process, and the backoff between restarts when it keeps dying.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::session::live::Live;

/// The longest wait before a restart.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The warm process, if any, and what the last starts and deaths say about the next start.
#[derive(Default)]
pub(crate) struct Slot {
    /// The process requests use.
    pub live: Option<Arc<Live>>,
    /// Consecutive deaths or failed starts, for backoff.
    pub failures: u32,
    /// No start before this instant.
    pub retry_at: Option<Instant>,
}

impl Slot {
    /// A death or a failed start at `now`: the next start waits longer, up to the cap.
    pub(crate) fn note_failure(&mut self, now: Instant) {
        self.failures += 1;
        self.retry_at = Some(now + backoff(self.failures));
    }

    /// A healthy start or generation: forget earlier failures.
    pub(crate) fn note_success(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }

    /// How long a start at `now` must wait first.
    pub(crate) fn wait_before_start(&self, now: Instant) -> Option<Duration> {
        self.retry_at
            .and_then(|at| at.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }
}

/// The wait after `failures` consecutive failures: 0.5 s, doubling, capped at [`MAX_BACKOFF`].
pub(crate) fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    (Duration::from_millis(500) * 2u32.pow(exp)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_the_cap() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            vec![500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn failures_push_the_next_start_back_and_a_success_clears_it() {
        let now = Instant::now();
        let mut slot = Slot::default();
        assert_eq!(slot.wait_before_start(now), None);
        slot.note_failure(now);
        slot.note_failure(now);
        assert_eq!(slot.failures, 2);
        assert_eq!(slot.wait_before_start(now), Some(Duration::from_secs(1)));
        assert_eq!(
            slot.wait_before_start(now + Duration::from_millis(400)),
            Some(Duration::from_millis(600))
        );
        assert_eq!(slot.wait_before_start(now + Duration::from_secs(1)), None);
        slot.note_success();
        assert_eq!((slot.failures, slot.wait_before_start(now)), (0, None));
    }
}
