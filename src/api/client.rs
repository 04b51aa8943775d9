//! The public handle: a cheap, cloneable [`Client`] that owns one warm app-server through the session
//! manager, limits how many generations run at once, and exposes `preflight`, `generate`,
//! `generate_batch` (the batch itself is [`batch`]'s) and `shutdown`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use semver::Version;

use crate::session::config::Config;
use crate::session::generation;
use crate::session::manager::Manager;
use crate::session::preflight;
use crate::session::queue::Ticket;
use crate::types::preflight::PreflightReport;
use std::future::Future;
use std::path::Path;

use crate::api::batch::{self, BatchOutcome};
use crate::image::IfExists;
use crate::types::error::Result;
use crate::types::output::GeneratedImage;
use crate::types::request::GenerateRequest;

/// A handle to codex-img's session. Clones share one app-server process.
///
/// ```no_run
/// # async fn demo() -> codex_img::Result<()> {
/// let client = codex_img::Client::builder().build();
/// let image = client.generate(codex_img::GenerateRequest::new("a lighthouse at dawn, watercolour")).await?;
/// image.save("lighthouse.png".as_ref(), codex_img::IfExists::Fail)?;
/// client.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    manager: Arc<Manager>,
}

impl Client {
    /// A builder with every setting at its default, except what the environment sets: `CODEX_BIN`,
    /// `CODEX_HOME`, and a host's Codex version policy (`CODEX_IMG_MIN_VERSION`,
    /// `CODEX_IMG_ALLOWED_VERSIONS`). The builder's own methods override them.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: Config::from_env(),
        }
    }

    /// Checks binary, version, login, capability, backend and quota. Starts the app-server if needed
    /// (and keeps it warm), but never starts a turn, so it spends no quota.
    pub async fn preflight(&self) -> PreflightReport {
        preflight::run(&self.manager).await
    }

    /// Generates one image. Dropping the future cancels: the turn is interrupted and cleaned up.
    ///
    /// The request's [`Options`](crate::Options) are checked first (no quota is spent on bad ones), and
    /// applied to the image once it is in hand: the alpha is measured, a key colour removed, the image
    /// fitted and converted, so the returned image is the delivered one. `n` and `sidecar` are ignored
    /// here; [`generate_batch`](Self::generate_batch) honours them.
    ///
    /// The request's place in the queue is taken by this call itself, before the future is polled, so
    /// requests are served in the order `generate` was called, even when each future is spawned on its
    /// own task. The place is held until the future completes or is dropped, so a future that is made
    /// but never awaited keeps later requests waiting. The answer comes as soon as the image is
    /// verified and post-processed; the turn's interrupt and cleanup run in the background, and
    /// [`shutdown`](Self::shutdown) waits for them.
    pub fn generate(
        &self,
        request: GenerateRequest,
    ) -> impl std::future::Future<Output = Result<GeneratedImage>> + Send + 'static {
        let ticket = self.ticket(&request);
        self.generate_with(ticket, request)
    }

    /// A place in the queue for `request`, taken now.
    pub(crate) fn ticket(&self, request: &GenerateRequest) -> Ticket {
        let ignores_limit = request
            .ignore_known_usage_limit
            .unwrap_or(self.manager.config().ignore_known_usage_limit);
        self.manager.queue.ticket(ignores_limit)
    }

    /// [`generate`](Self::generate) with a place in the queue taken earlier.
    pub(crate) fn generate_with(
        &self,
        ticket: Ticket,
        request: GenerateRequest,
    ) -> impl std::future::Future<Output = Result<GeneratedImage>> + Send + 'static {
        let manager = self.manager.clone();
        async move {
            let plan = request.image_plan()?;
            let requested = request.hints.size;
            let made = generation::generate(&manager, ticket, request).await?;
            let recovery_dir = manager.config().recovery_dir.clone();
            crate::session::postprocess::finish(made, &plan, requested, recovery_dir).await
        }
    }
    /// Generates `request.options.n` images (one turn each, within the concurrency limit) and saves
    /// each as it finishes: to `output` (a file, or an existing directory), or nowhere when `output` is
    /// `None` (the bytes stay in the returned images).
    ///
    /// An `Err` means nothing ran and no quota was spent: bad options, prompt or input images, or an
    /// output target that cannot be written (with `n > 1`, every numbered target is checked). Once
    /// turns run, the result is `Ok` with each image either delivered or failed, by index. Dropping the
    /// future cancels every turn still running; images already saved stay saved.
    ///
    /// Like [`generate`](Self::generate), the places in the queue (one per image) are taken by this
    /// call itself, so batches are served in the order they were asked for.
    pub fn generate_batch(
        &self,
        request: GenerateRequest,
        output: Option<&Path>,
        if_exists: IfExists,
    ) -> impl Future<Output = Result<BatchOutcome>> + Send + 'static {
        let tickets: Vec<Ticket> = (0..request.options.n.clamp(1, crate::types::options::MAX_N))
            .map(|_| self.ticket(&request))
            .collect();
        let client = self.clone();
        let output = output.map(Path::to_path_buf);
        async move {
            let turn = |ticket, request| client.generate_with(ticket, request);
            batch::run(tickets, request, output.as_deref(), if_exists, turn).await
        }
    }

    /// Shuts the client down for good, and with it the app-server. First, every generation still in
    /// flight, on any task, has its turn interrupted (`turn/interrupt`, then a wait bounded by the
    /// interrupt grace for the turn's end) and resolves with `runtime/shutting_down`; an image already
    /// in hand is still returned. Then it waits (bounded) for the cleanups of finished and cancelled
    /// generations, releases the pre-started threads, closes the app-server's stdin, waits a bounded
    /// time, and kills its process group.
    ///
    /// From the moment it is called, [`generate`](Self::generate) and its kin are refused with
    /// `runtime/shutting_down` and [`preflight`](Self::preflight) reports it, without starting a
    /// process or a turn: build a new client to go on. Every clone shares this; a second call waits
    /// for the first and returns once the process is stopped.
    pub async fn shutdown(&self) {
        self.manager.shutdown().await;
    }

    /// Resolves once [`shutdown`](Self::shutdown) has begun, so a face can stop taking work.
    pub(crate) fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let manager = self.manager.clone();
        async move { manager.closed().await }
    }

    /// The app-server's process id, if one is running (for diagnostics and tests).
    pub async fn app_server_pid(&self) -> Option<i32> {
        match self.manager.current().await {
            Some(live) => live.pid().await,
            None => None,
        }
    }
}

/// Configures a [`Client`]. Every setting has a default suited to a person's own machine.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: Config,
}

impl ClientBuilder {
    /// The `codex` executable (default: `CODEX_BIN`, else `codex` on `PATH`; the npm launcher works).
    pub fn codex_bin(mut self, bin: impl Into<OsString>) -> Self {
        self.config.codex_bin = bin.into();
        self
    }

    /// `CODEX_HOME` for the child (default: the user's own).
    pub fn codex_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.config.codex_home = Some(home.into());
        self
    }

    /// Adds a `-c key=value` override for the child.
    pub fn config_override(mut self, key_value: impl Into<String>) -> Self {
        self.config.overrides.push(key_value.into());
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.config.env.push((key.into(), value.into()));
        self
    }

    /// The oldest Codex accepted (default: `CODEX_IMG_MIN_VERSION`, else 0.122.0).
    pub fn min_version(mut self, version: Version) -> Self {
        self.config.min_version = version;
        self.config
            .version_env_errors
            .retain(|(key, _)| *key != crate::session::config::MIN_VERSION_ENV);
        self
    }

    /// Accepts only these exact Codex versions, refusing any other with
    /// `preflight/unsupported_version` before a process or turn is started (default:
    /// `CODEX_IMG_ALLOWED_VERSIONS`, a comma-separated list, else any version from the floor up). The
    /// floor still applies. An empty list lifts the restriction.
    pub fn allowed_versions(mut self, versions: impl IntoIterator<Item = Version>) -> Self {
        let list: Vec<Version> = versions.into_iter().collect();
        self.config.allowed_versions = (!list.is_empty()).then_some(list);
        self.config
            .version_env_errors
            .retain(|(key, _)| *key != crate::session::config::ALLOWED_VERSIONS_ENV);
        self
    }

    /// How many generations run at once (default 4, at least 1); the rest wait in arrival order. Four
    /// is the most users report working in parallel on one Plus login; more risks 429s from the backend.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
        self
    }

    /// How many fresh threads are kept started ahead on the warm process (default 2), so a request
    /// pays only `turn/start`. Each is used for one image and replaced in the background; starting a
    /// thread spends no quota. 0 starts each request's thread on its own path (the baseline).
    pub fn thread_pool(mut self, size: usize) -> Self {
        self.config.pool_size = size;
        self
    }

    /// The age at which an unused pre-started thread is released and replaced (default 300 s).
    pub fn thread_pool_refresh(mut self, after: Duration) -> Self {
        self.config.pool_refresh_after = after;
        self
    }

    /// After Codex reports a usage limit with a reset time, new generations are refused with
    /// `runtime/usage_limit` until then, without a model request. `true` sends them anyway (default
    /// `false`); [`GenerateRequest::ignore_known_usage_limit`] decides per request.
    pub fn ignore_known_usage_limit(mut self, ignore: bool) -> Self {
        self.config.ignore_known_usage_limit = ignore;
        self
    }

    /// The deadline for one generation, queue included (default 300 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// How long an unused app-server is kept before it is stopped (default 600 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Replace the app-server, while nothing runs on it and no request waits, once it has made this
    /// many images (default 100; `None` never does). Codex's process tree keeps about 1 MiB for every
    /// image it made, and a new process with its threads started ahead is as warm as the old one.
    pub fn recycle_after_images(mut self, images: Option<u64>) -> Self {
        self.config.recycle_after_images = images.filter(|n| *n > 0);
        self
    }

    /// Replace the app-server, while nothing runs on it and no request waits, once its process tree
    /// holds more than this many bytes of memory (default 512 MiB; `None` never does; read from `/proc`,
    /// so Linux only).
    pub fn recycle_above_bytes(mut self, bytes: Option<u64>) -> Self {
        self.config.recycle_above_bytes = bytes.filter(|n| *n > 0);
        self
    }

    /// How long to wait for the turn to end after interrupting it (default 3 s).
    pub fn interrupt_grace(mut self, grace: Duration) -> Self {
        self.config.interrupt_grace = grace;
        self
    }

    /// How long a graceful shutdown waits before killing (default 2 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// The folder where an image that cannot be saved as asked is kept, so the quota it spent is not
    /// lost (default: `CODEX_IMG_RECOVERY_DIR`, else `$XDG_STATE_HOME/codex-img/recovered`, else
    /// `~/.local/state/codex-img/recovered`). It is created, private to the user, when first needed.
    pub fn recovery_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.recovery_dir = Some(dir.into());
        self
    }

    /// Whether the lean turn is used (default `true`): Codex started with `-c` overrides that switch
    /// off everything the image path does not use (apps, plugins, the shell and exec tools, web search,
    /// analytics, the environment and permissions text, ...; the list is in docs/codex.md) and short base
    /// instructions on every thread. `false` keeps Codex's defaults (only
    /// `mcp_servers={}` is still sent); it exists to measure what the lean turn saves, and costs more
    /// input tokens per image.
    pub fn lean(mut self, lean: bool) -> Self {
        self.config.lean = lean;
        self
    }

    /// Builds the client. Nothing is started until the first request.
    pub fn build(self) -> Client {
        Client {
            manager: Manager::new(Arc::new(self.config)),
        }
    }
}
