//! What codex-img's transport did, per test thread, read from its own log (target
//! `codex_img::rpc::transport`): each request it sent Codex (`request`, at trace level, with its
//! `method`), and each server request it answered (`answered a server request: declined|refused`, at
//! info level, with its `method`). Like the stderr tail, events are kept per thread, and each live test
//! runs on its own single-threaded runtime, where the client's worker task runs too. The requests sent
//! are the positive control: a case that saw its own `turn/start` here would also have seen an approval
//! request, had Codex sent one.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

use tracing_subscriber::Layer;

/// One server request codex-img answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The request's method, such as `item/commandExecution/requestApproval`.
    pub method: String,
    /// `declined` (answered with a result that grants nothing) or `refused` (answered with an error).
    pub answer: String,
}

/// What the transport logged on one thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportLog {
    /// The methods of the requests codex-img sent, in order (`thread/start`, `turn/start`, ...).
    pub sent: Vec<String>,
    /// The server requests codex-img answered, in order.
    pub answered: Vec<Answered>,
}

type Logs = Mutex<HashMap<ThreadId, TransportLog>>;

fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(Default::default)
}

const TARGET: &str = "codex_img::rpc::transport";
const ANSWERED: &str = "answered a server request: ";

/// Everything logged on this thread since the last `take`.
pub fn take() -> TransportLog {
    logs()
        .lock()
        .ok()
        .and_then(|mut l| l.remove(&std::thread::current().id()))
        .unwrap_or_default()
}

/// The layer that records it; installed by `init_logging`.
pub fn layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    Recorder.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        meta.target() == TARGET
    }))
}

struct Recorder;

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        #[derive(Default)]
        struct Fields {
            message: String,
            method: String,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "message" => self.message = format!("{value:?}"),
                    "method" => self.method = format!("{value:?}"),
                    _ => {}
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                match field.name() {
                    "message" => self.message = value.to_owned(),
                    "method" => self.method = value.to_owned(),
                    _ => {}
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Ok(mut logs) = logs().lock() else {
            return;
        };
        let log = logs.entry(std::thread::current().id()).or_default();
        if let Some(answer) = fields.message.strip_prefix(ANSWERED) {
            log.answered.push(Answered {
                method: fields.method,
                answer: answer.to_owned(),
            });
        } else if fields.message == "request" {
            log.sent.push(fields.method);
        }
    }
}
