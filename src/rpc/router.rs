//! Where the worker sends what the app-server says: each response to the request that waits for it,
//! and each notification to the thread's subscriber.
//!
//! A generation subscribes to the thread named in its `thread/start` response, and the route is set
//! while that response is handled, so every later line reaches it in order. Lines for a thread that came
//! earlier (Codex can emit `thread/started` before answering) wait in a small buffer and are delivered
//! first. The buffer is bounded ([`EARLY_THREADS`] threads of [`EARLY_PER_THREAD`] lines, the oldest
//! thread's dropped first: it belongs to a thread nobody subscribed to); routes are not, because a
//! dropped `item/completed` would lose an image already paid for. No I/O happens here.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::event::{Event, RpcError};
use crate::protocol::RequestId;

/// Threads whose early lines are buffered at once.
pub(crate) const EARLY_THREADS: usize = 64;
/// Early lines kept per thread; later ones are dropped until someone subscribes.
pub(crate) const EARLY_PER_THREAD: usize = 256;

/// A request waiting for its answer, and where its thread's notifications go once it names one.
pub(crate) struct Pending {
    /// Receives the answer.
    pub reply: oneshot::Sender<Result<Value, RpcError>>,
    /// Subscribes to the thread in the answer's `thread.id`, when set.
    pub subscribe: Option<mpsc::UnboundedSender<Event>>,
}

/// The worker's routing state: pending requests, thread routes, and the early buffer.
#[derive(Default)]
pub(crate) struct Router {
    pending: HashMap<RequestId, Pending>,
    routes: HashMap<String, mpsc::UnboundedSender<Event>>,
    early: VecDeque<(String, Vec<Event>)>,
}

impl Router {
    /// Waits for the answer to request `id`. Callers that gave up (a deadline, an interrupt whose answer
    /// never comes) leave closed entries behind; sweeping them here keeps the map small over hours.
    pub(crate) fn expect(&mut self, id: RequestId, pending: Pending) {
        self.pending.retain(|_, p| !p.reply.is_closed());
        self.pending.insert(id, pending);
    }

    /// Hands the answer to request `id` to its caller, first routing the thread it names if the caller
    /// subscribed, with that thread's early lines ahead of everything later.
    pub(crate) fn resolve(&mut self, id: &RequestId, result: Result<Value, RpcError>) {
        let Some(pending) = self.pending.remove(id) else {
            tracing::debug!(%id, "response to a request nobody waits for");
            return;
        };
        if let (Some(events), Ok(result)) = (pending.subscribe, &result) {
            if let Some(thread_id) = result.pointer("/thread/id").and_then(Value::as_str) {
                self.subscribe(thread_id, events);
            }
        }
        let _ = pending.reply.send(result);
    }

    fn subscribe(&mut self, thread_id: &str, events: mpsc::UnboundedSender<Event>) {
        if let Some(pos) = self.early.iter().position(|(t, _)| t == thread_id) {
            if let Some((_, buffered)) = self.early.remove(pos) {
                for event in buffered {
                    let _ = events.send(event);
                }
            }
        }
        self.routes.insert(thread_id.to_owned(), events);
    }

    /// Delivers one line for `thread_id`, or keeps it for a subscriber still to come.
    pub(crate) fn notify(&mut self, thread_id: &str, event: Event) {
        if let Some(route) = self.routes.get(thread_id) {
            if route.send(event).is_err() {
                self.routes.remove(thread_id);
            }
            return;
        }
        match self.early.iter_mut().find(|(t, _)| t == thread_id) {
            Some((_, buffered)) if buffered.len() < EARLY_PER_THREAD => buffered.push(event),
            Some(_) => tracing::debug!(%thread_id, "early buffer full; notification dropped"),
            None => {
                if self.early.len() == EARLY_THREADS {
                    self.early.pop_front();
                }
                self.early.push_back((thread_id.to_owned(), vec![event]));
            }
        }
    }

    /// Stops routing a thread, and forgets anything buffered for it.
    pub(crate) fn unsubscribe(&mut self, thread_id: &str) {
        self.routes.remove(thread_id);
        self.early.retain(|(t, _)| t != thread_id);
    }

    /// Sends `event` to every subscribed thread, dropping routes whose subscriber is gone.
    pub(crate) fn broadcast(&mut self, event: Event) {
        self.routes
            .retain(|_, route| route.send(event.clone()).is_ok());
    }

    /// The app-server is gone: every waiting request fails, every subscriber hears [`Event::Exited`].
    pub(crate) fn close(&mut self) {
        for (_, pending) in self.pending.drain() {
            let _ = pending.reply.send(Err(RpcError::Exited));
        }
        self.broadcast(Event::Exited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn line(n: usize) -> Event {
        Event::Invalid {
            detail: format!("line {n}"),
            ended_turn: None,
        }
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(event) = rx.try_recv() {
            out.push(event);
        }
        out
    }

    /// Request `id` waiting with a subscription; returns the reply and events receivers.
    fn thread_start(
        router: &mut Router,
        id: i64,
    ) -> (
        oneshot::Receiver<Result<Value, RpcError>>,
        mpsc::UnboundedReceiver<Event>,
    ) {
        let (reply, answer) = oneshot::channel();
        let (tx, rx) = mpsc::unbounded_channel();
        router.expect(
            RequestId::Integer(id),
            Pending {
                reply,
                subscribe: Some(tx),
            },
        );
        (answer, rx)
    }

    fn started(thread: &str) -> Result<Value, RpcError> {
        Ok(json!({"thread": {"id": thread}}))
    }

    #[test]
    fn early_lines_come_first_and_in_order_then_later_ones() {
        let mut router = Router::default();
        let (mut answer, mut rx) = thread_start(&mut router, 1);
        router.notify("th", line(1));
        router.notify("other", line(100));
        router.notify("th", line(2));
        router.resolve(&RequestId::Integer(1), started("th"));
        router.notify("th", line(3));
        assert_eq!(answer.try_recv().expect("answered"), started("th"));
        assert_eq!(drain(&mut rx), vec![line(1), line(2), line(3)]);
    }

    #[test]
    fn a_thread_keeps_at_most_early_per_thread_lines_the_first_ones() {
        let mut router = Router::default();
        for n in 0..EARLY_PER_THREAD + 10 {
            router.notify("th", line(n));
        }
        let (_answer, mut rx) = thread_start(&mut router, 1);
        router.resolve(&RequestId::Integer(1), started("th"));
        let got = drain(&mut rx);
        assert_eq!(got.len(), EARLY_PER_THREAD);
        assert_eq!(got, (0..EARLY_PER_THREAD).map(line).collect::<Vec<_>>());
    }

    #[test]
    fn beyond_early_threads_the_oldest_threads_buffer_is_dropped() {
        let mut router = Router::default();
        for n in 0..=EARLY_THREADS {
            router.notify(&format!("t{n}"), line(n));
        }
        assert_eq!(router.early.len(), EARLY_THREADS);
        for (id, thread, expected) in [
            (1, "t0".to_owned(), vec![]),
            (2, "t1".to_owned(), vec![line(1)]),
            (3, format!("t{EARLY_THREADS}"), vec![line(EARLY_THREADS)]),
        ] {
            let (_answer, mut rx) = thread_start(&mut router, id);
            router.resolve(&RequestId::Integer(id), started(&thread));
            assert_eq!(drain(&mut rx), expected, "{thread}");
        }
    }

    #[test]
    fn abandoned_pending_requests_are_swept_by_the_next_request() {
        let mut router = Router::default();
        for id in 1..=3 {
            let (reply, answer) = oneshot::channel();
            router.expect(
                RequestId::Integer(id),
                Pending {
                    reply,
                    subscribe: None,
                },
            );
            drop(answer); // the caller gave up
        }
        let (reply, mut waiting) = oneshot::channel();
        router.expect(
            RequestId::Integer(4),
            Pending {
                reply,
                subscribe: None,
            },
        );
        assert_eq!(
            router.pending.keys().cloned().collect::<Vec<_>>(),
            vec![RequestId::Integer(4)]
        );
        // An answer to a swept request goes nowhere; the live one still gets its own.
        router.resolve(&RequestId::Integer(2), Ok(json!(2)));
        router.resolve(&RequestId::Integer(4), Ok(json!(4)));
        assert_eq!(waiting.try_recv().expect("answered"), Ok(json!(4)));
    }

    #[test]
    fn unsubscribing_forgets_the_route_and_the_buffer() {
        let mut router = Router::default();
        let (_answer, mut rx) = thread_start(&mut router, 1);
        router.resolve(&RequestId::Integer(1), started("th"));
        router.notify("early", line(1));
        router.unsubscribe("th");
        router.unsubscribe("early");
        router.notify("th", line(2));
        assert_eq!(drain(&mut rx), vec![]);
        // The line for "th" after the unsubscribe waits as an early line of a new thread.
        assert_eq!(
            router
                .early
                .iter()
                .map(|(t, b)| (t.as_str(), b.len()))
                .collect::<Vec<_>>(),
            vec![("th", 1)]
        );
    }

    #[test]
    fn a_gone_subscriber_loses_its_route_and_close_fails_what_waits() {
        let mut router = Router::default();
        let (_a, rx_gone) = thread_start(&mut router, 1);
        router.resolve(&RequestId::Integer(1), started("gone"));
        let (_b, mut rx_kept) = thread_start(&mut router, 2);
        router.resolve(&RequestId::Integer(2), started("kept"));
        drop(rx_gone);
        router.notify("gone", line(1));
        assert!(!router.routes.contains_key("gone"));
        let (reply, mut waiting) = oneshot::channel();
        router.expect(
            RequestId::Integer(3),
            Pending {
                reply,
                subscribe: None,
            },
        );
        router.close();
        assert_eq!(waiting.try_recv().expect("failed"), Err(RpcError::Exited));
        assert_eq!(drain(&mut rx_kept), vec![Event::Exited]);
    }
}
