//! The line generations wait in for one of the client's slots. A place is taken synchronously, when
//! `Client::generate` is called and before its future is first polled, so requests are served in the
//! order they arrived: tasks spawned one per request reach their first `await` in whatever order the
//! runtime runs them, and a semaphore acquired there would serve that order instead.
//!
//! The queue can also be told that the plan's limit is reached: every request still waiting then fails
//! with the same error at once, without a turn, instead of each spending a model request to learn it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::types::error::{Error, Result};

/// A FIFO of waiting generations over a fixed number of slots.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Told each time the last slot in use is given back with nobody waiting: the moments a recycle
    /// waits for, which a periodic look would mostly miss between bursts.
    idle: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    slots: usize,
    free: usize,
    waiting: VecDeque<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    tx: oneshot::Sender<Result<Permit>>,
    /// Asked to reach Codex even past a known usage limit, so not failed with the others.
    ignores_limit: bool,
}

/// One slot, held until dropped; the slot then goes to the first request still waiting.
#[derive(Debug)]
pub(crate) struct Permit {
    queue: Option<Arc<Queue>>,
}

/// A place in the line, taken synchronously; [`Ticket::wait`] resolves when its turn comes.
#[derive(Debug)]
pub(crate) enum Ticket {
    /// A slot was free when the place was taken.
    Ready(Permit),
    /// Waiting behind earlier requests.
    Waiting(oneshot::Receiver<Result<Permit>>),
}

impl Queue {
    /// A queue with `slots` slots (at least one).
    pub(crate) fn new(slots: usize) -> Arc<Self> {
        Arc::new(Self {
            idle: tokio::sync::Notify::new(),
            state: Mutex::new(State {
                slots: slots.max(1),
                free: slots.max(1),
                waiting: VecDeque::new(),
            }),
        })
    }

    /// Takes a place in the line now, without waiting. `ignores_limit` keeps the place when the line is
    /// failed for a usage limit.
    pub(crate) fn ticket(self: &Arc<Self>, ignores_limit: bool) -> Ticket {
        let mut state = self.lock();
        if state.free > 0 && state.waiting.is_empty() {
            state.free -= 1;
            return Ticket::Ready(Permit {
                queue: Some(self.clone()),
            });
        }
        let (tx, rx) = oneshot::channel();
        state.waiting.push_back(Waiter { tx, ignores_limit });
        Ticket::Waiting(rx)
    }

    /// Fails every request still waiting (except those that ignore the limit) with the error `make`
    /// builds, one for each. Returns how many were told.
    pub(crate) fn fail_waiting(&self, make: impl Fn() -> Error) -> usize {
        let failed: Vec<Waiter> = {
            let mut state = self.lock();
            let (keep, fail) = state.waiting.drain(..).partition(|w| w.ignores_limit);
            state.waiting = keep;
            fail.into_iter().collect()
        };
        let mut told = 0;
        for waiter in failed {
            if waiter.tx.send(Err(make())).is_ok() {
                told += 1;
            }
        }
        told
    }

    /// How many requests wait for a slot.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// Resolves when the last slot in use is given back with nobody waiting (or was, since the last
    /// call).
    pub(crate) async fn went_idle(&self) {
        self.idle.notified().await;
    }

    /// How many requests hold a slot or wait for one: zero only when no generation is anywhere
    /// between its call and its answer.
    pub(crate) fn busy(&self) -> usize {
        let state = self.lock();
        state.waiting.len() + state.slots.saturating_sub(state.free)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a counter and a list that every operation leaves consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn release(self: Arc<Self>) {
        loop {
            let next = {
                let mut state = self.lock();
                match state.waiting.pop_front() {
                    Some(waiter) => waiter.tx,
                    None => {
                        state.free += 1;
                        if state.free >= state.slots {
                            drop(state);
                            // Stored when nobody listens yet, so the moment is not lost.
                            self.idle.notify_one();
                        }
                        return;
                    }
                }
            };
            // Sent outside the lock: a permit the receiver drops unread releases itself again.
            match next.send(Ok(Permit {
                queue: Some(self.clone()),
            })) {
                Ok(()) => return,
                // That request gave up its place: disarm the permit that came back, try the next.
                Err(Ok(mut unsent)) => {
                    unsent.queue = None;
                }
                Err(Err(_)) => {}
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(queue) = self.queue.take() {
            queue.release();
        }
    }
}

impl Ticket {
    /// Waits for this request's turn: a slot, or the error the queue was failed with.
    pub(crate) async fn wait(self) -> Result<Permit> {
        match self {
            Ticket::Ready(permit) => Ok(permit),
            Ticket::Waiting(rx) => rx.await.unwrap_or(Err(Error::Cancelled)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[tokio::test]
    async fn slots_go_to_waiters_in_the_order_their_tickets_were_taken() {
        let queue = Queue::new(1);
        let first = queue.ticket(false).wait().await.expect("a free slot");
        let tickets: Vec<Ticket> = (0..5).map(|_| queue.ticket(false)).collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Polled in reverse: the order served must still be the order the tickets were taken in.
        let mut tasks = Vec::new();
        for (n, ticket) in tickets.into_iter().enumerate().rev() {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                let permit = ticket.wait().await.expect("a slot");
                tx.send(n).expect("send");
                drop(permit);
            }));
        }
        drop(first);
        for task in tasks {
            task.await.expect("task");
        }
        drop(tx);
        let mut order = Vec::new();
        while let Some(n) = rx.recv().await {
            order.push(n);
        }
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn busy_counts_places_held_and_waited_for_until_every_one_is_given_back() {
        let queue = Queue::new(2);
        assert_eq!(queue.busy(), 0);
        let held: Vec<Permit> = vec![
            queue.ticket(false).wait().await.expect("a free slot"),
            queue.ticket(false).wait().await.expect("a free slot"),
        ];
        let waiting = queue.ticket(false);
        assert_eq!((queue.busy(), queue.waiting()), (3, 1));
        drop(held);
        // The waiter now holds a slot it has not looked at yet: still busy.
        assert_eq!((queue.busy(), queue.waiting()), (1, 0));
        let permit = waiting.wait().await.expect("a slot");
        drop(permit);
        assert_eq!(queue.busy(), 0);
    }

    #[tokio::test]
    async fn went_idle_is_told_once_the_last_place_is_given_back_with_nobody_waiting() {
        let queue = Queue::new(2);
        let idle = |queue: &Arc<Queue>| {
            let queue = queue.clone();
            tokio::spawn(async move { queue.went_idle().await })
        };
        let first = queue.ticket(false).wait().await.expect("a free slot");
        let second = queue.ticket(false).wait().await.expect("a free slot");
        let waiter = queue.ticket(false);
        let told = idle(&queue);
        drop(first); // goes to the waiter
        drop(second); // one slot still in use
        tokio::task::yield_now().await;
        assert!(!told.is_finished(), "a slot is still in use");
        let last = waiter.wait().await.expect("a slot");
        drop(last);
        tokio::time::timeout(std::time::Duration::from_secs(10), told)
            .await
            .expect("told within the deadline")
            .expect("task");
        // A moment nobody listened for is kept for the next listener.
        drop(queue.ticket(false).wait().await.expect("a free slot"));
        tokio::time::timeout(std::time::Duration::from_secs(10), queue.went_idle())
            .await
            .expect("the stored moment");
    }

    #[tokio::test]
    async fn an_abandoned_place_passes_the_slot_on() {
        let queue = Queue::new(1);
        let first = queue.ticket(false).wait().await.expect("a free slot");
        let gone = queue.ticket(false);
        let next = queue.ticket(false);
        drop(gone);
        drop(first);
        let permit = next.wait().await.expect("the slot");
        drop(permit);
        assert_eq!(queue.waiting(), 0);
        // The slot came back: a new ticket is served at once.
        assert!(matches!(queue.ticket(false), Ticket::Ready(_)));
    }

    #[tokio::test]
    async fn failing_the_line_tells_every_waiter_and_keeps_the_slots() {
        let queue = Queue::new(1);
        let first = queue.ticket(false).wait().await.expect("a free slot");
        let a = queue.ticket(false);
        let stays = queue.ticket(true);
        let b = queue.ticket(false);
        let told = queue.fail_waiting(|| Error::UsageLimit {
            limit_id: None,
            resets_at: Some(7),
            message: "limit".to_owned(),
            refused_locally: true,
        });
        assert_eq!(told, 2);
        for ticket in [a, b] {
            let code = ticket
                .wait()
                .await
                .map(|_| ())
                .map_err(|e| (e.code(), e.resets_at()));
            assert_eq!(code, Err(("runtime/usage_limit", Some(7))));
        }
        assert_eq!(
            queue.waiting(),
            1,
            "the one that ignores the limit keeps its place"
        );
        drop(first);
        let permit = stays.wait().await.expect("the slot");
        drop(permit);
        assert!(matches!(queue.ticket(false), Ticket::Ready(_)));
    }
}
