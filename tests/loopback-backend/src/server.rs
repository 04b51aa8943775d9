//! The backend's life: bind, serve, record, stop.
//!
//! [`Backend::start`] binds 127.0.0.1 on a free port and never any other interface. It makes a
//! private CA (see `tls`), writes its PEM into a temporary folder the backend owns, and serves
//! HTTP/1.1 over TLS (or plain HTTP with [`Transport::Http`]). One accept task owns every
//! connection in a `JoinSet`; dropping the [`Backend`] aborts that task, which drops the listener
//! and every open connection with it, and removes the temporary folder.
//!
//! The behaviour is set by [`Mode`] and can be changed between turns with [`Backend::set_mode`],
//! so one Codex process can run several scenarios against one backend.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};
use crate::record::{EditInputs, RecordedRequest};
use crate::routes::{self, Reply};

/// How the fake model behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// The model calls the image tool once, then answers with a short message.
    Image,
    /// Quota is spent. The image is refused the way the real backend refuses it: HTTP 429 with a
    /// `usage_limit_reached` error. Releases with the hosted tool make the image inside the model
    /// call, so that call is refused; releases with the client tool get a normal model call and a
    /// refused images call.
    UsageLimit {
        /// Unix seconds when the limit resets, sent as `resets_at` (and `resets_in_seconds`).
        resets_at: Option<i64>,
    },
    /// Quota is spent for the model itself: every model call gets the 429.
    ModelUsageLimit {
        /// Unix seconds when the limit resets.
        resets_at: Option<i64>,
    },
    /// The model answers with text and never calls the image tool.
    NoImage,
    /// The model calls the image tool and then keeps working: every follow-up gets another tool
    /// call (a harmless command), so the turn never ends by itself.
    KeepWorking,
    /// The model makes no image: it answers the first request with a call that runs `touch marker`,
    /// through whichever shell tool the request offers (by name when none is offered), and ends the
    /// turn with a message on the follow-up. With `escalate` the call also asks to run outside the
    /// sandbox. The marker file existing afterwards is the evidence that the command ran.
    RunCommand {
        /// The file the command would create.
        marker: PathBuf,
        /// Ask for escalated permissions (outside the sandbox) in the call.
        escalate: bool,
    },
    /// Like [`Mode::RunCommand`], with a `request_user_input` call that asks the user a question,
    /// which Codex passes to its client as an `item/tool/requestUserInput` server request.
    AskUser,
    /// Like [`Mode::RunCommand`], with an `apply_patch` call that adds the file `path`.
    ChangeFile {
        /// The file the patch would add.
        path: PathBuf,
    },
    /// The model of a Codex that is itself the agent (`codex exec` with MCP servers): it follows the
    /// script, searching Codex's hidden tools with `tool_search_call`, calling MCP tools with a
    /// namespaced `function_call`, and ending with a message (see `codex_agent`). The images endpoint
    /// is not involved.
    Agent(crate::agent::Script),
}

/// Which transport the backend serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTPS with a private CA (Codex needs `CODEX_CA_CERTIFICATE`). Works for every release.
    Https,
    /// Plain HTTP. Older releases accept it; 0.160 and later insist on HTTPS.
    Http,
}

/// What to start the backend with.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// How the model behaves.
    pub mode: Mode,
    /// The PNG every image call returns.
    pub image_png: Vec<u8>,
    /// HTTPS (the default) or plain HTTP.
    pub transport: Transport,
    /// How long making one image takes: the images endpoint waits this long before it answers, and
    /// so does a model request that carries a hosted image (releases up to 0.140). Zero (the
    /// default) answers at once; benchmarks set about a second to see what overlaps.
    pub image_delay: Duration,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Image,
            image_png: crate::png::test_png(64, 48, 7),
            transport: Transport::Https,
            image_delay: Duration::ZERO,
        }
    }
}

/// How far ahead of the backend's start its primary usage window resets (5 h 17 min: a value no
/// test sets by accident).
const USAGE_WINDOW_RESET_IN: i64 = 5 * 3600 + 17 * 60;

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) config: Mutex<BackendConfig>,
    pub(crate) log: Mutex<Vec<RecordedRequest>>,
    pub(crate) edits: Mutex<Vec<EditInputs>>,
    /// Images the images endpoint serves next, in order, before the configured one.
    pub(crate) queued_images: Mutex<std::collections::VecDeque<Vec<u8>>>,
    pub(crate) seq: AtomicU64,
    /// When the primary usage window resets (unix seconds), as `/wham/usage` reports it.
    pub(crate) usage_window_resets_at: i64,
}

impl Shared {
    pub(crate) fn next_id(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Locks a mutex, ignoring poisoning: a panicked test thread must not hide the request log.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running loopback backend. Dropping it stops the server.
pub struct Backend {
    addr: SocketAddr,
    transport: Transport,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    ca_pem_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Backend {
    /// Binds 127.0.0.1 on a free port and starts serving. Needs a tokio runtime.
    pub async fn start(config: BackendConfig) -> Result<Backend> {
        let dir = tempfile::Builder::new()
            .prefix("codex-img-loopback-")
            .tempdir()
            .map_err(|e| Error::context("temporary folder", e))?;
        let tls = crate::tls::make()?;
        let ca_pem_path = dir.path().join("loopback-ca.pem");
        std::fs::write(&ca_pem_path, &tls.ca_pem)
            .map_err(|e| Error::context("writing the CA certificate", e))?;
        let acceptor = match config.transport {
            Transport::Https => Some(TlsAcceptor::from(tls.server_config)),
            Transport::Http => None,
        };

        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::context("binding 127.0.0.1", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::context("reading the bound address", e))?;
        let transport = config.transport;
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            log: Mutex::new(Vec::new()),
            edits: Mutex::new(Vec::new()),
            queued_images: Mutex::new(Default::default()),
            seq: AtomicU64::new(0),
            usage_window_resets_at: crate::routes::now_secs() + USAGE_WINDOW_RESET_IN,
        });
        let task = tokio::spawn(accept_loop(listener, acceptor, Arc::clone(&shared)));
        Ok(Backend {
            addr,
            transport,
            shared,
            task,
            ca_pem_path,
            _dir: dir,
        })
    }

    /// `https://127.0.0.1:PORT` (or `http://` for [`Transport::Http`]), without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = match self.transport {
            Transport::Https => "https",
            Transport::Http => "http",
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The transport this backend serves.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The PEM file holding the private CA's certificate, for `CODEX_CA_CERTIFICATE`.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// The model requests (Responses calls) received so far.
    pub fn model_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_model_request)
            .collect()
    }

    /// The input images of every `/images/edits` call so far, in order.
    pub fn edit_inputs(&self) -> Vec<EditInputs> {
        lock(&self.shared.edits).clone()
    }

    /// Forgets every recorded request and edit input.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
        lock(&self.shared.edits).clear();
    }

    /// Changes how the model behaves from the next request on.
    pub fn set_mode(&self, mode: Mode) {
        lock(&self.shared.config).mode = mode;
    }

    /// Changes the PNG served from the next image on.
    pub fn set_image_png(&self, png: Vec<u8>) {
        lock(&self.shared.config).image_png = png;
    }

    /// Queues PNGs for the next calls of the images endpoint (Codex 0.145+), one each, in order; once
    /// they are used up it serves the configured PNG again. So one agent conversation can get a tiny
    /// image and then a large one.
    pub fn queue_images(&self, pngs: impl IntoIterator<Item = Vec<u8>>) {
        lock(&self.shared.queued_images).extend(pngs);
    }

    /// The requests of the agent's conversation in [`Mode::Agent`] (every model request), and what
    /// the model received for each of its calls: the output of each `tool_search_call` and MCP
    /// `function_call`, in the order of the calls.
    pub fn agent_returns(&self) -> Vec<crate::agent::ToolReturn> {
        crate::codex_agent::returns_in(&self.requests())
    }

    /// Changes how long each image takes from the next image on.
    pub fn set_image_delay(&self, delay: Duration) {
        lock(&self.shared.config).image_delay = delay;
    }

    /// The PNG currently served.
    pub fn image_png(&self) -> Vec<u8> {
        lock(&self.shared.config).image_png.clone()
    }

    /// When the primary usage window resets (unix seconds), as `/wham/usage` reports it while a
    /// usage-limit mode gives no `resets_at` (and always while quota is left).
    pub fn usage_window_resets_at(&self) -> i64 {
        self.shared.usage_window_resets_at
    }

    /// The request log as text, one summary line a request, for a failure message.
    pub fn request_log(&self) -> String {
        crate::record::log_text(&self.requests())
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Handler for Shared {
    const DECODES_ZSTD: bool = true;

    fn log(&self) -> &Mutex<Vec<RecordedRequest>> {
        &self.log
    }

    fn answer(&self, request: &RecordedRequest) -> impl Future<Output = Reply> + Send {
        routes::answer(self, request)
    }
}

/// What a server built on [`accept_loop`] does with each request: the backend's [`Shared`] state, or
/// the Anthropic stand-in's.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Whether a body sent with `content-encoding: zstd` is recorded (and answered) decoded.
    const DECODES_ZSTD: bool;

    /// Where every request is recorded, with its status, once it is answered.
    fn log(&self) -> &Mutex<Vec<RecordedRequest>>;

    /// The reply to a request (recorded so far with status 0).
    fn answer(&self, request: &RecordedRequest) -> impl Future<Output = Reply> + Send;
}

/// Accepts connections on `listener` until the task is aborted, serving each with HTTP/1.1 over TLS
/// when there is an `acceptor`, plain HTTP otherwise. The `JoinSet` owns every connection, so
/// aborting this task drops them all.
pub(crate) async fn accept_loop<H: Handler>(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    handler: Arc<H>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _peer)) = accepted {
                    connections.spawn(serve(stream, acceptor.clone(), Arc::clone(&handler)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve<H: Handler>(stream: TcpStream, acceptor: Option<TlsAcceptor>, handler: Arc<H>) {
    let service = service_fn(move |request| handle(request, Arc::clone(&handler)));
    let http = hyper::server::conn::http1::Builder::new();
    match acceptor {
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                let _ = http.serve_connection(TokioIo::new(tls), service).await;
            }
        }
        None => {
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
    }
}

/// Reads the request whole, answers it, records it with the status, and turns the reply into the
/// response.
async fn handle<H: Handler>(
    request: Request<Incoming>,
    handler: Arc<H>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let at = SystemTime::now();
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let wire_len = body.len();
    let body = match parts.headers.get("content-encoding").map(|v| v.as_bytes()) {
        Some(b"zstd") if H::DECODES_ZSTD => decode_zstd(&body).unwrap_or(body),
        _ => body,
    };
    let mut recorded = RecordedRequest::from_parts(&parts, body, wire_len, at);
    let reply = handler.answer(&recorded).await;
    recorded.status = reply.status;
    lock(handler.log()).push(recorded);

    let mut response = Response::builder().status(reply.status);
    response = response.header("content-type", reply.content_type);
    for (name, value) in &reply.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    let response = response
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
    Ok(response)
}

/// Codex compresses large request bodies with zstd (`content-encoding: zstd`); tests want JSON.
fn decode_zstd(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut reader = body;
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(&mut reader).ok()?;
    let mut out = Vec::new();
    decoder.read_to_end(&mut out).ok()?;
    Some(out)
}
