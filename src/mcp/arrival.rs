//! Arrival order for `generate_image`: calls take their places in the library's queue in the order they
//! were read from the input, not in the order rmcp's tasks happen to run.
//!
//! rmcp reads messages one at a time but runs every request on a task of its own, and the runtime
//! starts those tasks in any order (a worker runs the task it spawned last first). The library's queue
//! is FIFO from the moment `Client::generate_batch` is called, so a burst of calls could be served out
//! of order. [`Ordered`] wraps the transport: its `receive` is sequential, so it numbers each
//! `generate_image` call as it arrives and attaches an [`Arrival`] to the request's extensions, which
//! rmcp hands to the tool in its `RequestContext`. The tool then waits at the [`Turnstile`] until every
//! earlier-numbered call has taken its place or ended (refused, cancelled, never dispatched: a place is
//! also passed when its last handle is dropped), takes its own, and passes. Nothing between arrival and
//! the place is slow (decoding and checking the arguments), so the wait is short; it is still bounded
//! by [`PATIENCE`], after which the call goes on rather than hang.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{ClientRequest, JsonRpcMessage, JsonRpcRequest};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::RoleServer;
use tokio::sync::watch;

/// The tool whose calls are kept in order.
pub(crate) const ORDERED_TOOL: &str = "generate_image";

/// The longest a call waits for earlier ones before it goes on regardless (and the log says so).
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct State {
    /// Every number below this one has passed.
    next: u64,
    /// Numbers at or above `next` that have passed already.
    ahead: BTreeSet<u64>,
}

/// Numbers calls as they arrive and lets each go once all earlier ones have passed.
#[derive(Debug)]
pub(crate) struct Turnstile {
    issued: AtomicU64,
    state: watch::Sender<State>,
}

impl Default for Turnstile {
    fn default() -> Self {
        Self {
            issued: AtomicU64::new(0),
            state: watch::Sender::new(State::default()),
        }
    }
}

impl Turnstile {
    /// The next number, for a call that has just arrived.
    pub(crate) fn arrive(self: &Arc<Self>) -> Arrival {
        let number = self.issued.fetch_add(1, Ordering::SeqCst);
        Arrival(Arc::new(Place {
            number,
            turnstile: self.clone(),
            passed: AtomicBool::new(false),
        }))
    }

    fn pass(&self, number: u64) {
        self.state.send_modify(|s| {
            if number < s.next {
                return;
            }
            s.ahead.insert(number);
            while s.ahead.remove(&s.next) {
                s.next += 1;
            }
        });
    }
}

#[derive(Debug)]
struct Place {
    number: u64,
    turnstile: Arc<Turnstile>,
    passed: AtomicBool,
}

impl Place {
    fn pass(&self) {
        if !self.passed.swap(true, Ordering::SeqCst) {
            self.turnstile.pass(self.number);
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.pass();
    }
}

/// A call's number at the turnstile, carried in the request's extensions (which need `Clone`).
#[derive(Debug, Clone)]
pub(crate) struct Arrival(Arc<Place>);

impl Arrival {
    /// Waits until every call that arrived before this one has passed, for at most `patience`.
    /// False when the patience ran out.
    pub(crate) async fn wait_turn(&self, patience: Duration) -> bool {
        let number = self.0.number;
        let mut state = self.0.turnstile.state.subscribe();
        let waited = tokio::time::timeout(patience, state.wait_for(|s| s.next >= number)).await;
        matches!(waited, Ok(Ok(_)))
    }

    /// This call has taken its place in the queue, or will not take one: later calls may go.
    pub(crate) fn pass(&self) {
        self.0.pass();
    }

    /// The call's number, from 0 in arrival order.
    pub(crate) fn number(&self) -> u64 {
        self.0.number
    }
}

/// Passes its arrival when dropped, so every way out of a call lets the next one go.
#[derive(Debug)]
pub(crate) struct PassOnDrop(pub Option<Arrival>);

impl Drop for PassOnDrop {
    fn drop(&mut self) {
        if let Some(arrival) = &self.0 {
            arrival.pass();
        }
    }
}

/// A transport that numbers each `generate_image` call as it is received.
pub(crate) struct Ordered<T> {
    inner: T,
    turnstile: Arc<Turnstile>,
}

impl<T> Ordered<T> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            turnstile: Arc::new(Turnstile::default()),
        }
    }
}

/// `input` and `output` as rmcp's stream transport, with `generate_image` calls numbered on arrival.
pub(crate) fn ordered<R, W>(
    input: R,
    output: W,
) -> Ordered<impl Transport<RoleServer, Error = std::io::Error>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    Ordered::new(rmcp::transport::IntoTransport::<
        RoleServer,
        std::io::Error,
        _,
    >::into_transport((input, output)))
}

impl<T: Transport<RoleServer>> Transport<RoleServer> for Ordered<T> {
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        let mut message = self.inner.receive().await?;
        if let JsonRpcMessage::Request(JsonRpcRequest {
            request: ClientRequest::CallToolRequest(call),
            ..
        }) = &mut message
        {
            if call.params.name == ORDERED_TOOL {
                call.extensions.insert(self.turnstile.arrive());
            }
        }
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const SHORT: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn a_call_goes_only_after_every_earlier_one_passed() {
        let turnstile = Arc::new(Turnstile::default());
        let first = turnstile.arrive();
        let second = turnstile.arrive();
        let third = turnstile.arrive();
        assert_eq!((first.number(), second.number(), third.number()), (0, 1, 2));
        assert!(first.wait_turn(SHORT).await, "the first never waits");
        assert!(!third.wait_turn(SHORT).await);
        // Out of order: the second passes first; the third still waits for the first.
        second.pass();
        assert!(!third.wait_turn(SHORT).await);
        first.pass();
        assert!(third.wait_turn(SHORT).await);
    }

    #[tokio::test]
    async fn a_call_dropped_without_passing_lets_the_next_go() {
        let turnstile = Arc::new(Turnstile::default());
        let first = turnstile.arrive();
        let copy = first.clone();
        let second = turnstile.arrive();
        drop(first);
        assert!(
            !second.wait_turn(SHORT).await,
            "a clone still holds the place"
        );
        drop(copy);
        assert!(second.wait_turn(SHORT).await);
        // Passing twice, or after the drop, changes nothing.
        let third = turnstile.arrive();
        second.pass();
        second.pass();
        assert!(third.wait_turn(SHORT).await);
    }

    #[tokio::test]
    async fn pass_on_drop_passes_on_every_way_out() {
        let turnstile = Arc::new(Turnstile::default());
        let first = turnstile.arrive();
        let second = turnstile.arrive();
        {
            let _guard = PassOnDrop(Some(first.clone()));
        }
        assert!(second.wait_turn(SHORT).await);
        drop(first);
    }
}
