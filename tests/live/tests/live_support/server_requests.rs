//! The server requests codex-img answered (approvals, questions, tool calls), per test thread, read from
//! codex-img's own log: the transport logs each one at info level under `codex_img::session::transport`
//! as `answered a server request: declined|refused` with its `method`. Like the stderr tail, the lines
//! are kept per thread, and each live test runs on its own single-threaded runtime.

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

type Log = Mutex<HashMap<ThreadId, Vec<Answered>>>;

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

const TARGET: &str = "codex_img::session::transport";
const PREFIX: &str = "answered a server request: ";

/// Every server request answered on this thread since the last [`take`], in order.
pub fn take() -> Vec<Answered> {
    log()
        .lock()
        .ok()
        .and_then(|mut l| l.remove(&std::thread::current().id()))
        .unwrap_or_default()
}

/// The layer that records them; installed by `init_logging`.
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
        let Some(answer) = fields.message.strip_prefix(PREFIX) else {
            return;
        };
        if let Ok(mut log) = log().lock() {
            log.entry(std::thread::current().id())
                .or_default()
                .push(Answered {
                    method: fields.method,
                    answer: answer.to_owned(),
                });
        }
    }
}
