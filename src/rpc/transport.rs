//! The connection to one app-server: a single worker task owns the child's pipes and a `Router`
//! (`router.rs`: the pending requests and the routes of notifications to threads). Callers hold a
//! cheap [`Connection`] (a channel sender), so no lock guards any of that state. Server requests are
//! answered here, by [`policy`], and never wait on a caller.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

use super::codec::{inline, CodecError, LineReader};
use super::policy::{self, Answer};
use super::router::{Pending, Router};
use crate::protocol::envelope::{ErrorResponse, Notification, Request, Response};
use crate::protocol::{
    ClientRequest, Message, RequestId, ServerNotification, ServerRequest, ThreadItem,
};

pub(crate) use super::event::{Event, RpcError};

enum Command {
    Request {
        method: &'static str,
        params: Option<Value>,
        reply: oneshot::Sender<Result<Value, RpcError>>,
        subscribe: Option<mpsc::UnboundedSender<Event>>,
    },
    Notify {
        method: &'static str,
    },
    Unsubscribe {
        thread_id: String,
    },
    WatchAccount {
        events: mpsc::UnboundedSender<Event>,
    },
    CloseStdin,
}

/// A handle to the worker. Cloning is cheap; when every clone is gone the worker closes stdin and ends.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    tx: mpsc::UnboundedSender<Command>,
    closed: watch::Receiver<bool>,
    /// Set once a write failed: the app-server no longer reads its stdin, though it may still write.
    unwritable: Arc<AtomicBool>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl Connection {
    /// Starts the worker over the child's pipes.
    pub(crate) fn start<R, W>(stdout: R, stdin: W, max_line: usize) -> Self
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let (closed_tx, closed) = watch::channel(false);
        let unwritable = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            unwritable: unwritable.clone(),
            reader: LineReader::new(stdout, max_line),
            stdin: Some(stdin),
            rx,
            next_id: 1,
            router: Router::default(),
            account: None,
        };
        tokio::spawn(async move {
            worker.run().await;
            let _ = closed_tx.send(true);
        });
        Self {
            tx,
            closed,
            unwritable,
        }
    }

    /// Sends a request and waits for its typed response.
    pub(crate) async fn request<R: ClientRequest>(
        &self,
        params: &R::Params,
    ) -> Result<R::Response, RpcError> {
        self.send::<R>(params, None).await
    }

    /// Like [`request`](Self::request), and routes the notifications of the thread named in the response
    /// (`result.thread.id`) to `events`, starting with any that arrived before the response.
    pub(crate) async fn request_subscribing<R: ClientRequest>(
        &self,
        params: &R::Params,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<R::Response, RpcError> {
        self.send::<R>(params, Some(events)).await
    }

    /// Queues a request at once, before anything queued after this call returns, and gives the future
    /// of its answer. A cleanup uses it so its `turn/interrupt` is written before the `turn/start` of
    /// the request that takes the freed place in the queue.
    pub(crate) fn queue<R: ClientRequest>(
        &self,
        params: &R::Params,
    ) -> impl std::future::Future<Output = Result<R::Response, RpcError>> + Send + 'static
    where
        R::Response: Send + 'static,
    {
        let queued = self.enqueue(R::METHOD, params, None);
        async move { answer::<R>(queued?).await }
    }

    async fn send<R: ClientRequest>(
        &self,
        params: &R::Params,
        subscribe: Option<mpsc::UnboundedSender<Event>>,
    ) -> Result<R::Response, RpcError> {
        let queued = self.enqueue(R::METHOD, params, subscribe)?;
        answer::<R>(queued).await
    }

    fn enqueue<P: Serialize>(
        &self,
        method: &'static str,
        params: &P,
        subscribe: Option<mpsc::UnboundedSender<Event>>,
    ) -> Result<oneshot::Receiver<Result<Value, RpcError>>, RpcError> {
        let params = to_params(params)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Request {
                method,
                params,
                reply,
                subscribe,
            })
            .map_err(|_| RpcError::NotSent)?;
        Ok(rx)
    }

    /// Sends a notification without params (`initialized`).
    pub(crate) fn notify(&self, method: &'static str) {
        let _ = self.tx.send(Command::Notify { method });
    }

    /// Stops routing a thread's notifications.
    pub(crate) fn unsubscribe(&self, thread_id: &str) {
        let _ = self.tx.send(Command::Unsubscribe {
            thread_id: thread_id.to_owned(),
        });
    }

    /// Routes the notifications about the account (`account/*`, which name no thread) to `events`.
    pub(crate) fn watch_account(&self, events: mpsc::UnboundedSender<Event>) {
        let _ = self.tx.send(Command::WatchAccount { events });
    }

    /// Closes the child's stdin: the graceful way to ask the app-server to exit.
    pub(crate) fn close_stdin(&self) {
        let _ = self.tx.send(Command::CloseStdin);
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Whether a write to the app-server has failed: nothing more can be sent to it, though what it
    /// still writes (the end of a turn already running) is read as before.
    pub(crate) fn is_unwritable(&self) -> bool {
        self.unwritable.load(Ordering::SeqCst)
    }

    /// Resolves when the worker has ended (the app-server closed its stdout).
    #[cfg(test)]
    pub(crate) async fn closed(&self) {
        let mut closed = self.closed.clone();
        let _ = closed.wait_for(|c| *c).await;
    }
}

async fn answer<R: ClientRequest>(
    rx: oneshot::Receiver<Result<Value, RpcError>>,
) -> Result<R::Response, RpcError> {
    // A reply dropped unanswered is counted as exited: only a reply that says so means unsent.
    let value = rx.await.map_err(|_| RpcError::Exited)??;
    decode_response::<R>(value)
}

/// Some releases answer with `null` where the schema says `{}` (0.169's `turn/interrupt`), so an empty
/// object is tried when `null` does not decode.
fn decode_response<R: ClientRequest>(value: Value) -> Result<R::Response, RpcError> {
    let null = value.is_null();
    serde_json::from_value(value)
        .or_else(|e| {
            if null {
                serde_json::from_value(Value::Object(Default::default()))
            } else {
                Err(e)
            }
        })
        .map_err(|e| RpcError::Decode(format!("`{}` response: {e}", R::METHOD)))
}

fn to_params<P: Serialize>(params: &P) -> Result<Option<Value>, RpcError> {
    match serde_json::to_value(params) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(RpcError::Decode(format!("cannot encode params: {e}"))),
    }
}

struct Worker<R, W> {
    reader: LineReader<R>,
    unwritable: Arc<AtomicBool>,
    stdin: Option<W>,
    rx: mpsc::UnboundedReceiver<Command>,
    next_id: i64,
    router: Router,
    /// Where `account/*` notifications go, when someone watches them.
    account: Option<mpsc::UnboundedSender<Event>>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Worker<R, W> {
    async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.rx.recv() => match command {
                    Some(command) => self.command(command).await,
                    // Every handle is gone: close stdin and let the reader see the server exit.
                    None => { self.stdin = None; self.drain_until_eof().await; break; }
                },
                line = self.reader.next_line() => match line {
                    Ok(Some(line)) => self.line(line).await,
                    Ok(None) => break,
                    Err(CodecError::TooLong { limit }) => {
                        tracing::warn!(limit, "skipped an over-long message from the app-server");
                        let detail = format!("a message longer than {limit} bytes was skipped");
                        self.router.broadcast(Event::Invalid { detail, ended_turn: None });
                    }
                    Err(CodecError::Io(e)) => { tracing::warn!("reading from the app-server failed: {e}"); break; }
                },
            }
        }
        self.router.close();
        // Requests still queued behind the end were never written.
        self.rx.close();
        while let Ok(command) = self.rx.try_recv() {
            if let Command::Request { reply, .. } = command {
                let _ = reply.send(Err(RpcError::NotSent));
            }
        }
    }

    async fn drain_until_eof(&mut self) {
        while let Ok(Some(_)) = self.reader.next_line().await {}
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Request {
                method,
                params,
                reply,
                subscribe,
            } => {
                let id = RequestId::Integer(self.next_id);
                self.next_id += 1;
                let message = Message::Request(Request {
                    id: id.clone(),
                    method: method.to_owned(),
                    params,
                });
                tracing::trace!(%id, method, "request");
                // A line is read only once whole, and its newline is written last: a failed write
                // was never a request the app-server could act on.
                if self.write(&message).await {
                    self.router.expect(id, Pending { reply, subscribe });
                } else {
                    let _ = reply.send(Err(RpcError::NotSent));
                }
            }
            Command::Notify { method } => {
                self.write(&Message::Notification(Notification {
                    method: method.to_owned(),
                    params: None,
                }))
                .await;
            }
            Command::Unsubscribe { thread_id } => self.router.unsubscribe(&thread_id),
            Command::WatchAccount { events } => self.account = Some(events),
            Command::CloseStdin => self.stdin = None,
        }
    }

    async fn write(&mut self, message: &Message) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        let line = message.to_line();
        match async {
            stdin.write_all(&line).await?;
            stdin.flush().await
        }
        .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("writing to the app-server failed: {e}");
                self.unwritable.store(true, Ordering::SeqCst);
                false
            }
        }
    }

    async fn line(&mut self, line: Vec<u8>) {
        // An image's base64 is cut out of the line first, so it is never copied into a `Value`.
        let (line, payload) = if line.len() >= inline::MIN_LINE {
            match inline::cut_image(line) {
                Ok(cut) => (cut.rest, Some(cut.payload)),
                Err(line) => (line, None),
            }
        } else {
            (line, None)
        };
        let message = match Message::parse(&line) {
            Ok(m) => m,
            Err(e) => {
                let preview: String =
                    String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
                tracing::warn!(%preview, "unreadable line from the app-server: {e}");
                self.router.broadcast(Event::Invalid {
                    detail: e.to_string(),
                    ended_turn: None,
                });
                return;
            }
        };
        match message {
            Message::Response(Response { id, result }) => self.router.resolve(&id, Ok(result)),
            Message::Error(ErrorResponse {
                id: Some(id),
                error,
            }) => self.router.resolve(&id, Err(RpcError::Server(error))),
            Message::Error(ErrorResponse { id: None, error }) => {
                tracing::warn!(code = error.code.0, message = %error.message, "app-server error without a request id");
            }
            Message::Notification(Notification { method, params }) => {
                self.notification(method, params, payload)
            }
            Message::Request(Request { id, method, params }) => {
                self.server_request(id, method, params).await
            }
        }
    }

    /// Routes a notification; `payload` is the image base64 cut out of its line, put back in its item.
    fn notification(&mut self, method: String, params: Option<Value>, payload: Option<String>) {
        let params = params.unwrap_or(Value::Null);
        let thread_id = thread_of(&params).map(str::to_owned);
        let ended_turn = (method == "turn/completed")
            .then(|| {
                params
                    .pointer("/turn/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .flatten();
        let event = match ServerNotification::decode(&method, params) {
            Ok(mut n) => {
                if let (Some(payload), ServerNotification::ItemCompleted(done)) = (payload, &mut n)
                {
                    if let ThreadItem::ImageGeneration(item) = &mut done.item {
                        item.result = Some(payload);
                    }
                }
                Event::Notification(Box::new(n))
            }
            Err(e) => {
                tracing::warn!(%method, "undecodable notification: {e}");
                Event::Invalid {
                    detail: format!("`{method}` notification: {e}"),
                    ended_turn,
                }
            }
        };
        let Some(thread_id) = thread_id else {
            if method.starts_with("account/") {
                if let Some(account) = &self.account {
                    if account.send(event).is_err() {
                        self.account = None;
                    }
                    return;
                }
            }
            tracing::debug!(%method, "notification for no thread");
            return;
        };
        self.router.notify(&thread_id, event);
    }

    async fn server_request(&mut self, id: RequestId, method: String, params: Option<Value>) {
        let params = params.unwrap_or(Value::Null);
        let answer = match ServerRequest::decode(&method, params) {
            Ok(request) => policy::answer(&request, SystemTime::now()),
            Err(e) => {
                tracing::warn!(%method, "undecodable server request, answered by method: {e}");
                policy::answer_method(&method, SystemTime::now())
            }
        };
        tracing::info!(%method, "answered a server request: {}", match &answer { Answer::Result(_) => "declined", Answer::Error(_) => "refused" });
        let message = match answer {
            Answer::Result(result) => Message::Response(Response { id, result }),
            Answer::Error(error) => Message::Error(ErrorResponse {
                id: Some(id),
                error,
            }),
        };
        self.write(&message).await;
    }
}

/// The thread a notification belongs to: `threadId`, or `thread.id` for `thread/started`.
fn thread_of(params: &Value) -> Option<&str> {
    params
        .get("threadId")
        .and_then(Value::as_str)
        .or_else(|| params.pointer("/thread/id").and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::request::{ThreadStart, TurnInterrupt};
    use crate::protocol::{ThreadStartParams, TurnInterruptParams};
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream};

    /// A connection whose peer is driven by the test, line by line.
    fn pair() -> (
        Connection,
        tokio::io::Lines<BufReader<DuplexStream>>,
        DuplexStream,
    ) {
        let (client_out, peer_in) = tokio::io::duplex(1 << 16);
        let (peer_out, client_in) = tokio::io::duplex(1 << 16);
        let conn = Connection::start(client_in, client_out, 1 << 20);
        (conn, BufReader::new(peer_in).lines(), peer_out)
    }

    async fn send(peer: &mut DuplexStream, value: Value) {
        let mut line = serde_json::to_vec(&value).expect("json");
        line.push(b'\n');
        peer.write_all(&line).await.expect("write");
    }

    async fn next(lines: &mut tokio::io::Lines<BufReader<DuplexStream>>) -> Value {
        let line = lines.next_line().await.expect("read").expect("a line");
        serde_json::from_str(&line).expect("json")
    }

    #[tokio::test]
    async fn account_notifications_reach_their_watcher() {
        let (conn, _lines, mut peer) = pair();
        let (tx, mut rx) = mpsc::unbounded_channel();
        conn.watch_account(tx);
        // The worker may read a line before it takes the watch command off its queue, so the update is
        // sent again until it arrives (each copy is the same update).
        let update = json!({"method": "account/rateLimits/updated", "params": {"rateLimits": {
            "limitId": "codex", "primary": {"usedPercent": 100, "resetsAt": 1800000000}}}});
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let event = loop {
            send(&mut peer, update.clone()).await;
            match tokio::time::timeout(std::time::Duration::from_millis(100), rx.recv()).await {
                Ok(event) => break event.expect("an event"),
                Err(_) => assert!(tokio::time::Instant::now() < deadline, "no update in time"),
            }
        };
        let Event::Notification(n) = event else {
            panic!("{event:?}")
        };
        let ServerNotification::AccountRateLimitsUpdated(update) = *n else {
            panic!("{n:?}")
        };
        assert_eq!(
            update
                .rate_limits
                .primary
                .map(|w| (w.used_percent, w.resets_at)),
            Some((100, Some(1_800_000_000)))
        );
    }

    #[tokio::test]
    async fn a_null_answer_decodes_as_an_empty_object() {
        let (conn, mut lines, mut peer) = pair();
        let params = TurnInterruptParams {
            thread_id: "t".into(),
            turn_id: "u".into(),
        };
        let call = tokio::spawn(async move { conn.request::<TurnInterrupt>(&params).await });
        let request = next(&mut lines).await;
        assert_eq!(
            request,
            json!({"id": 1, "method": "turn/interrupt", "params": {"threadId": "t", "turnId": "u"}})
        );
        send(&mut peer, json!({"id": 1, "result": null})).await;
        assert!(call.await.expect("join").is_ok());
    }

    #[tokio::test]
    async fn events_before_the_response_reach_the_subscriber_first_and_in_order() {
        let (conn, mut lines, mut peer) = pair();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let call = tokio::spawn(async move {
            conn.request_subscribing::<ThreadStart>(&ThreadStartParams::default(), tx)
                .await
        });
        let request = next(&mut lines).await;
        assert_eq!(request["method"], "thread/start");
        let thread = json!({"id": "th", "cliVersion": "0.169.0", "ephemeral": true, "cwd": "/w", "createdAt": 1});
        send(
            &mut peer,
            json!({"method": "thread/started", "params": {"thread": thread}}),
        )
        .await;
        send(
            &mut peer,
            json!({"method": "thread/started", "params": {"thread": {"id": "other"}}}),
        )
        .await;
        send(&mut peer, json!({"id": 1, "result": {"thread": thread, "model": "m", "modelProvider": "openai", "cwd": "/w"}})).await;
        let turn = json!({"id": "u", "items": [], "status": "inProgress"});
        send(
            &mut peer,
            json!({"method": "turn/started", "params": {"threadId": "th", "turn": turn}}),
        )
        .await;
        let started = call.await.expect("join").expect("response");
        assert_eq!(started.thread.id, "th");
        let first = rx.recv().await.expect("event");
        assert!(
            matches!(&first, Event::Notification(n) if n.method() == "thread/started"),
            "{first:?}"
        );
        let second = rx.recv().await.expect("event");
        assert!(
            matches!(&second, Event::Notification(n) if n.method() == "turn/started"),
            "{second:?}"
        );
    }

    #[tokio::test]
    async fn an_image_items_base64_reaches_the_subscriber_whole_whichever_way_it_is_read() {
        let (conn, mut lines, mut peer) = pair();
        let (tx, mut rx) = mpsc::unbounded_channel();
        // A handle stays here: with none left, the worker only drains the server's lines.
        let caller = conn.clone();
        let call = tokio::spawn(async move {
            caller
                .request_subscribing::<ThreadStart>(&ThreadStartParams::default(), tx)
                .await
        });
        let _ = next(&mut lines).await;
        let thread = json!({"id": "th", "cliVersion": "0.169.0", "ephemeral": true, "cwd": "/w", "createdAt": 1});
        send(&mut peer, json!({"id": 1, "result": {"thread": thread, "model": "m", "modelProvider": "openai", "cwd": "/w"}})).await;
        call.await.expect("join").expect("response");
        // Long enough to be cut out of its line, short enough not to be, and one with an escaped `/`
        // (the cut leaves that one to the ordinary parse).
        let long = "QUJD".repeat(inline::MIN_LINE);
        let escaped = format!(
            r#"{{"method":"item/completed","params":{{"threadId":"th","turnId":"u","item":{{"type":"imageGeneration","id":"i3","status":"completed","result":"{}\/w=="}}}}}}"#,
            "A".repeat(inline::MIN_LINE)
        );
        let item = |id: &str, result: &str| {
            json!({"method": "item/completed", "params": {"threadId": "th", "turnId": "u",
            "item": {"type": "imageGeneration", "id": id, "status": "completed", "result": result}}})
        };
        send(&mut peer, item("i1", &long)).await;
        send(&mut peer, item("i2", "QUJD")).await;
        peer.write_all(format!("{escaped}\n").as_bytes())
            .await
            .expect("write");
        let mut got = Vec::new();
        for _ in 0..3 {
            let event = rx.recv().await.expect("event");
            let Event::Notification(n) = event else {
                panic!("{event:?}")
            };
            let ServerNotification::ItemCompleted(done) = *n else {
                panic!("{n:?}")
            };
            let ThreadItem::ImageGeneration(image) = done.item else {
                panic!("not an image item")
            };
            got.push((image.id, image.result));
        }
        assert_eq!(
            got,
            vec![
                ("i1".to_owned(), Some(long)),
                ("i2".to_owned(), Some("QUJD".to_owned())),
                (
                    "i3".to_owned(),
                    Some(format!("{}/w==", "A".repeat(inline::MIN_LINE)))
                ),
            ]
        );
    }

    #[tokio::test]
    async fn server_requests_are_answered_and_an_exit_fails_what_waits() {
        let (conn, mut lines, mut peer) = pair();
        send(&mut peer, json!({"id": "s1", "method": "item/fileChange/requestApproval", "params": {"threadId": "t", "turnId": "u", "itemId": "i"}})).await;
        assert_eq!(
            next(&mut lines).await,
            json!({"id": "s1", "result": {"decision": "decline"}})
        );
        let waiting = conn.clone();
        let call = tokio::spawn(async move {
            waiting
                .request::<TurnInterrupt>(&TurnInterruptParams {
                    thread_id: "t".into(),
                    turn_id: "u".into(),
                })
                .await
        });
        let _ = next(&mut lines).await;
        drop(peer);
        assert_eq!(call.await.expect("join").map(|_| ()), Err(RpcError::Exited));
        conn.closed().await;
        assert!(conn.is_closed());
    }

    fn interrupt() -> TurnInterruptParams {
        TurnInterruptParams {
            thread_id: "t".into(),
            turn_id: "u".into(),
        }
    }

    #[tokio::test]
    async fn a_request_that_cannot_be_written_is_not_sent_and_the_connection_stays_readable() {
        let (conn, lines, mut peer) = pair();
        let (tx, mut rx) = mpsc::unbounded_channel();
        conn.watch_account(tx);
        // The app-server stopped reading its stdin but still runs and writes.
        drop(lines);
        // Commands are handled in order, so once this is answered the watcher is in place.
        let got = conn.request::<TurnInterrupt>(&interrupt()).await;
        assert_eq!(got.map(|_| ()), Err(RpcError::NotSent));
        assert!(!conn.is_closed());
        assert!(conn.is_unwritable());
        send(
            &mut peer,
            json!({"method": "account/updated", "params": {}}),
        )
        .await;
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await;
        assert!(
            matches!(event, Ok(Some(Event::Notification(_)))),
            "{event:?}"
        );
    }

    #[tokio::test]
    async fn a_request_after_the_app_server_exited_is_not_sent() {
        let (conn, _lines, peer) = pair();
        drop(peer);
        conn.closed().await;
        let got = conn.request::<TurnInterrupt>(&interrupt()).await;
        assert_eq!(got.map(|_| ()), Err(RpcError::NotSent));
    }
}
