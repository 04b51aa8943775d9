//! The tool calls in flight, so that when the input closes the server can wait for each one to drop its
//! generation (which interrupts the turn) before it stops the app-server, and so that no call can start
//! after that: a late call would start a new app-server that nobody stops.

use std::time::Duration;

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Default)]
struct State {
    running: usize,
    closed: bool,
}

/// Counts calls in flight; closing it refuses new ones.
#[derive(Debug)]
pub(crate) struct Calls {
    state: watch::Sender<State>,
}

impl Default for Calls {
    fn default() -> Self {
        Self {
            state: watch::Sender::new(State::default()),
        }
    }
}

/// Held by a call while it runs.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    calls: &'a Calls,
}

impl Calls {
    /// A call starts, unless the server is closing.
    pub(crate) fn enter(&self) -> Option<Call<'_>> {
        let mut entered = false;
        self.state.send_modify(|s| {
            if !s.closed {
                s.running += 1;
                entered = true;
            }
        });
        entered.then_some(Call { calls: self })
    }

    /// Refuses new calls, then waits up to `within` for the running ones to end. False on timeout.
    pub(crate) async fn drained(&self, within: Duration) -> bool {
        self.state.send_modify(|s| s.closed = true);
        let mut state = self.state.subscribe();
        tokio::time::timeout(within, state.wait_for(|s| s.running == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        self.calls
            .state
            .send_modify(|s| s.running = s.running.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_waits_for_running_calls_and_refuses_new_ones() {
        let calls = std::sync::Arc::new(Calls::default());
        let call = calls.enter().expect("open");
        assert!(!calls.drained(Duration::from_millis(20)).await);
        assert!(calls.enter().is_none());
        drop(call);
        assert!(calls.drained(Duration::from_secs(5)).await);
    }
}
