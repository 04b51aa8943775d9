//! The serve loop: one task reads the host's lines, owns the table of requests in flight and decides
//! every answer's order; a task per generate or doctor does the work; one writer task owns the output.
//!
//! A request in flight is `RUNNING` until its work is done, then either `COMMITTED` (its task saves and
//! answers) or `CANCELLED` (the loop answered `runtime/cancelled` and aborted the task, which drops the
//! library's future and so interrupts the Codex turn). The switch is one compare-and-swap on each side, so
//! a cancel that races the end of a generation either wins and nothing is saved, or loses and the cancel
//! answers `{"cancelled": false}`; never both. Results travel from the tasks back through this loop, which
//! removes the id from the table before writing the answer: a host that reuses an id as soon as it has its
//! answer never sees a spurious duplicate-id error.
//!
//! When input ends (or `bridge/shutdown` was asked and the table empties), every task is aborted and
//! awaited before the client is shut down, so no request can start a new app-server afterwards. When the
//! client is shut down from outside (the process got a signal), the loop takes no new work, as after
//! `bridge/shutdown`: the requests in flight are answered as the library ends them
//! (`runtime/shutting_down`, their turns interrupted), and then it stops.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinError, JoinSet};

use crate::api::client::Client;
use crate::api::report::{BatchReport, DoctorReport, ErrorReport, ImageReport};
use crate::protocol::envelope::{ErrorCode, ErrorObject, RequestId};
use crate::rpc::codec::{CodecError, LineReader};
use crate::types::error::{Category, Error};

use super::methods::{self, CancelParams, GenerateParams, Job, Method, NoParams, Refusal};
use super::wire::{self, codes, Incoming, Rejection};
use crate::face::answer::Answer;
use crate::face::params;
use crate::face::root::Root;

const RUNNING: u8 = 0;
const COMMITTED: u8 = 1;
const CANCELLED: u8 = 2;

enum Out {
    Line(Vec<u8>),
    /// Everything queued before this is written; then the writer flushes and stops.
    Close,
}

/// A request in flight.
struct Flight {
    state: Arc<AtomicU8>,
    abort: AbortHandle,
}

/// What a task hands back: its request and the answer line, or `None` if it was cancelled meanwhile.
type Done = (RequestId, Option<Vec<u8>>);

struct Server {
    client: Client,
    root: Option<Arc<Root>>,
    out: mpsc::UnboundedSender<Out>,
    flights: HashMap<RequestId, Flight>,
    tasks: JoinSet<Done>,
    shutting_down: bool,
}

/// Serves until input ends, or until `bridge/shutdown` was asked and nothing is in flight.
pub(crate) async fn run<R, W>(
    client: Client,
    root: Option<Root>,
    input: R,
    output: W,
) -> io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out, lines) = mpsc::unbounded_channel();
    let mut writer = tokio::spawn(write_lines(lines, output));
    let mut server = Server {
        client,
        root: root.map(Arc::new),
        out,
        flights: HashMap::new(),
        tasks: JoinSet::new(),
        shutting_down: false,
    };
    let mut reader = LineReader::new(input, wire::MAX_LINE);
    let closed = server.client.closed();
    tokio::pin!(closed);
    let mut reading = true;
    let mut writer_result: Option<io::Result<()>> = None;
    let mut failure: Option<io::Error> = None;
    loop {
        if (!reading || server.shutting_down) && server.flights.is_empty() {
            break;
        }
        tokio::select! {
            Some(joined) = server.tasks.join_next_with_id(), if !server.tasks.is_empty() => {
                server.finished(joined);
            }
            line = reader.next_line(), if reading => match line {
                Ok(Some(line)) => server.handle_line(&line),
                Ok(None) => {
                    reading = false;
                    server.cancel_all("input closed");
                }
                Err(CodecError::TooLong { limit }) => server.send(
                    Rejection::new(
                        None,
                        ErrorCode::INVALID_REQUEST,
                        format!("invalid request: a line longer than {limit} bytes was skipped; send large images by path"),
                    )
                    .to_line(),
                ),
                Err(CodecError::Io(e)) => {
                    reading = false;
                    server.cancel_all("reading input failed");
                    failure = Some(e);
                }
            },
            () = &mut closed, if !server.shutting_down => {
                tracing::info!(
                    in_flight = server.flights.len(),
                    "the client is shutting down; answering the requests in flight, then stopping"
                );
                server.shutting_down = true;
            }
            written = &mut writer, if writer_result.is_none() => {
                let result = written.unwrap_or_else(|e| Err(io::Error::other(e)));
                tracing::warn!("the bridge's output closed; cancelling everything in flight");
                writer_result = Some(result.and(Err(io::ErrorKind::BrokenPipe.into())));
                reading = false;
                server.cancel_all("output closed");
            }
            else => break,
        }
    }
    // Aborted tasks may not have been polled since; drop every future before the process goes.
    server.tasks.abort_all();
    while server.tasks.join_next().await.is_some() {}
    // Dropped generations interrupt their turns on library tasks; `shutdown` lets them finish first.
    server.client.shutdown().await;
    let _ = server.out.send(Out::Close);
    let written = match writer_result {
        Some(result) => result,
        None => writer.await.unwrap_or_else(|e| Err(io::Error::other(e))),
    };
    match failure {
        Some(e) => Err(e),
        None => written,
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut lines: mpsc::UnboundedReceiver<Out>,
    mut output: W,
) -> io::Result<()> {
    while let Some(out) = lines.recv().await {
        match out {
            Out::Line(line) => {
                output.write_all(&line).await?;
                if lines.is_empty() {
                    output.flush().await?;
                }
            }
            Out::Close => break,
        }
    }
    output.flush().await?;
    output.shutdown().await
}

impl Server {
    fn send(&self, line: Vec<u8>) {
        // The writer only goes away when output failed, and then nobody can be told anything.
        let _ = self.out.send(Out::Line(line));
    }

    fn reply<T: serde::Serialize>(&self, id: &RequestId, result: &T) {
        self.send(wire::result_line(id, result));
    }

    fn refuse(&self, id: &RequestId, code: ErrorCode, message: String) {
        self.send(Rejection::new(Some(id.clone()), code, message).to_line());
    }

    fn handle_line(&mut self, line: &[u8]) {
        match wire::parse(line) {
            Err(mut rejection) => {
                // Never echo an id in flight: the host would take it as that request's answer.
                if rejection
                    .id
                    .as_ref()
                    .is_some_and(|id| self.flights.contains_key(id))
                {
                    rejection.id = None;
                }
                self.send(rejection.to_line());
            }
            Ok(Incoming::Notification { method, params }) => self.notification(&method, params),
            Ok(Incoming::Request { id, method, params }) => self.request(id, &method, params),
        }
    }

    fn notification(&mut self, method: &str, params: Option<Value>) {
        match Method::from_name(method) {
            Some(Method::Cancel) => match methods::decode::<CancelParams>(Method::Cancel, params) {
                Ok(p) => {
                    let cancelled = self.cancel(&p.id);
                    tracing::debug!(id = %p.id, cancelled, "cancel notification");
                }
                Err(message) => tracing::warn!("ignored an image/cancel notification: {message}"),
            },
            Some(_) => tracing::warn!(
                "ignored a `{method}` notification: it needs an `id` to be answered, so nothing was done"
            ),
            None => tracing::warn!("ignored an unknown notification `{method}`"),
        }
    }

    fn request(&mut self, id: RequestId, method: &str, params: Option<Value>) {
        if self.flights.contains_key(&id) {
            let error = ErrorObject {
                code: ErrorCode::INVALID_REQUEST,
                message: format!(
                    "invalid request: the id {id} is already used by a request in flight"
                ),
                data: Some(json!({ "id": id })),
            };
            self.send(wire::error_line(None, &error));
            return;
        }
        let Some(method) = Method::from_name(method) else {
            let message = format!(
                "method not found: `{method}`; the bridge serves {}, {}, {} and {}",
                methods::GENERATE,
                methods::CANCEL,
                methods::DOCTOR,
                methods::SHUTDOWN
            );
            self.refuse(&id, ErrorCode::METHOD_NOT_FOUND, message);
            return;
        };
        if self.shutting_down && matches!(method, Method::Generate | Method::Doctor) {
            self.send(shutting_down_line(&id));
            return;
        }
        match method {
            Method::Generate => {
                let job = methods::decode::<GenerateParams>(method, params)
                    .map_err(Refusal::Params)
                    .and_then(|p| p.into_job(self.root.as_deref()));
                match job {
                    Ok(job) => self.start_generate(id, job),
                    Err(Refusal::Params(message)) => {
                        self.refuse(&id, ErrorCode::INVALID_PARAMS, message)
                    }
                    Err(Refusal::App(e)) => self.send(app_error_line(&id, &e)),
                }
            }
            Method::Cancel => match methods::decode::<CancelParams>(method, params) {
                Ok(p) => {
                    let cancelled = self.cancel(&p.id);
                    self.reply(&id, &json!({ "cancelled": cancelled }));
                }
                Err(message) => self.refuse(&id, ErrorCode::INVALID_PARAMS, message),
            },
            Method::Doctor => match methods::decode::<NoParams>(method, params) {
                Ok(NoParams {}) => self.start_doctor(id),
                Err(message) => self.refuse(&id, ErrorCode::INVALID_PARAMS, message),
            },
            Method::Shutdown => match methods::decode::<NoParams>(method, params) {
                Ok(NoParams {}) => {
                    self.reply(&id, &json!({}));
                    if !self.shutting_down {
                        tracing::info!(
                            in_flight = self.flights.len(),
                            "shutting down once the requests in flight are answered"
                        );
                    }
                    self.shutting_down = true;
                }
                Err(message) => self.refuse(&id, ErrorCode::INVALID_PARAMS, message),
            },
        }
    }

    fn start_generate(&mut self, id: RequestId, job: Job) {
        let state = Arc::new(AtomicU8::new(RUNNING));
        let progress = {
            let (out, state, id) = (self.out.clone(), state.clone(), id.clone());
            move |p: crate::Progress| {
                // Nothing about a request after its answer: only while it runs.
                if state.load(Ordering::SeqCst) == RUNNING {
                    let params = methods::ProgressParams::new(&id, p);
                    let _ = out.send(Out::Line(wire::notification_line(
                        methods::PROGRESS,
                        &params,
                    )));
                }
            }
        };
        let Job {
            job:
                params::Job {
                    request,
                    target,
                    if_exists,
                },
            return_bytes,
        } = job;
        let request = request.on_progress(progress);
        let client = self.client.clone();
        let task_state = state.clone();
        let task_id = id.clone();
        let n = request.options.n;
        // Called here, in the read loop, so the request takes its places in the queue in arrival
        // order; the spawned tasks may first run in any order.
        let generating = client.generate_batch(request, target.as_deref(), if_exists);
        let abort = self.tasks.spawn(async move {
            let generated = generating.await;
            if !commit(&task_state) {
                return (task_id, None);
            }
            let line = match &generated {
                Err(e) => app_error_line(&task_id, e),
                Ok(outcome) => match Answer::of(outcome, n) {
                    // Several images: one batch object, whatever failed.
                    Answer::Batch(outcome) => {
                        wire::result_line(&task_id, &BatchReport::new(outcome, return_bytes))
                    }
                    Answer::Image(done) => {
                        let report = ImageReport::new(&done.image, done.path.as_deref());
                        let report = if return_bytes {
                            report.with_base64(&done.image)
                        } else {
                            report
                        };
                        wire::result_line(&task_id, &report)
                    }
                    // A host that asked for the bytes gets them even when the file failed: the
                    // image still in memory when no copy could be kept, else the recovered copy,
                    // written whole.
                    Answer::Failed(failed) => {
                        match return_bytes.then(|| paid_for(&failed)).flatten() {
                            Some(bytes) => {
                                let report = ErrorReport::from(&*failed).with_bytes(&bytes);
                                report_error_line(&task_id, app_code(&failed), &report)
                            }
                            None => app_error_line(&task_id, &failed),
                        }
                    }
                },
            };
            (task_id, Some(line))
        });
        self.flights.insert(id, Flight { state, abort });
    }

    fn start_doctor(&mut self, id: RequestId) {
        let state = Arc::new(AtomicU8::new(RUNNING));
        let client = self.client.clone();
        let task_state = state.clone();
        let task_id = id.clone();
        let abort = self.tasks.spawn(async move {
            let report = client.preflight().await;
            if !commit(&task_state) {
                return (task_id, None);
            }
            let line = wire::result_line(&task_id, &DoctorReport::from(&report));
            (task_id, Some(line))
        });
        self.flights.insert(id, Flight { state, abort });
    }

    /// Cancels a request that is still working, answering it with `runtime/cancelled`.
    fn cancel(&mut self, id: &RequestId) -> bool {
        let Some(flight) = self.flights.get(id) else {
            return false;
        };
        if flight
            .state
            .compare_exchange(RUNNING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        flight.abort.abort();
        self.flights.remove(id);
        self.send(app_error_line(id, &Error::Cancelled));
        true
    }

    fn cancel_all(&mut self, why: &str) {
        let ids: Vec<RequestId> = self.flights.keys().cloned().collect();
        let cancelled = ids.iter().filter(|id| self.cancel(id)).count();
        if cancelled > 0 {
            tracing::info!("{why}: cancelled {cancelled} request(s) in flight");
        }
    }

    fn finished(&mut self, joined: Result<(tokio::task::Id, Done), JoinError>) {
        match joined {
            Ok((_, (id, Some(line)))) => {
                self.flights.remove(&id);
                self.send(line);
            }
            // Cancelled: the loop already answered and removed it (the id may be reused by now).
            Ok((_, (_, None))) => {}
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                let task = e.id();
                let id = self
                    .flights
                    .iter()
                    .find(|(_, f)| f.abort.id() == task)
                    .map(|(id, _)| id.clone());
                tracing::error!("a bridge task failed: {e}");
                if let Some(id) = id {
                    self.flights.remove(&id);
                    self.refuse(
                        &id,
                        ErrorCode::INTERNAL_ERROR,
                        format!("internal error: {e}"),
                    );
                }
            }
        }
    }
}

/// The bytes of the paid-for image a failure leaves: borrowed from the error when it still carries the
/// image (saved nowhere), else read whole from its recovery copy on disk; `None` when it has neither,
/// or the copy cannot be read.
fn paid_for(error: &Error) -> Option<Cow<'_, [u8]>> {
    match error.unsaved_image() {
        Some(image) => Some(Cow::Borrowed(image.bytes.as_slice())),
        None => error
            .recovered_path()
            .and_then(|kept| std::fs::read(kept).ok())
            .map(Cow::Owned),
    }
}

/// Claims the right to answer: false when a cancel got there first.
fn commit(state: &AtomicU8) -> bool {
    state
        .compare_exchange(RUNNING, COMMITTED, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// The JSON-RPC code of a codex-img error: one per category.
pub(crate) fn app_code(e: &Error) -> ErrorCode {
    match e.category() {
        Category::Preflight => codes::PREFLIGHT,
        Category::Request => codes::REQUEST,
        Category::Runtime => codes::RUNTIME,
        Category::Protocol => codes::PROTOCOL,
        Category::Output => codes::OUTPUT,
    }
}

fn app_error_line(id: &RequestId, e: &Error) -> Vec<u8> {
    report_error_line(id, app_code(e), &ErrorReport::from(e))
}

fn report_error_line(id: &RequestId, code: ErrorCode, report: &ErrorReport) -> Vec<u8> {
    let error = ErrorObject {
        code,
        message: report.message.clone(),
        data: serde_json::to_value(report).ok(),
    };
    wire::error_line(Some(id), &error)
}

fn shutting_down_line(id: &RequestId) -> Vec<u8> {
    let report = ErrorReport::refusal(
        "bridge/shutting_down",
        "the bridge is shutting down and takes no new requests; start a new one",
    );
    let error = ErrorObject {
        code: codes::SHUTTING_DOWN,
        message: report.message.clone(),
        data: serde_json::to_value(&report).ok(),
    };
    wire::error_line(Some(id), &error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn application_errors_carry_the_cli_report_and_a_code_per_category() {
        let limit = Error::UsageLimit {
            limit_id: None,
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: false,
        };
        assert_eq!(
            String::from_utf8(app_error_line(&RequestId::Integer(9), &limit)).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32003,\"message\":\"the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan\",\"data\":{\"code\":\"runtime/usage_limit\",\"message\":\"the ChatGPT plan's usage limit is reached until 2027-01-15T08:00:00Z (unix time 1800000000); wait for the reset or upgrade the plan\",\"ok\":false,\"resets_at\":1800000000,\"resets_at_text\":\"2027-01-15T08:00:00Z\",\"retryable\":false}}}\n"
        );
        let codes: Vec<i64> = [
            Error::NotSignedIn,
            Error::InvalidPrompt { reason: "x".into() },
            Error::Cancelled,
            Error::InvalidMessage { detail: "x".into() },
            Error::OutputExists { path: "a".into() },
        ]
        .iter()
        .map(|e| app_code(e).0)
        .collect();
        assert_eq!(codes, vec![-32001, -32002, -32003, -32004, -32005]);
    }
}
