//! The public handle: a cheap, cloneable [`Client`] that owns one warm app-server through the session
//! manager, limits how many generations run at once, and exposes `preflight`, `generate` and `shutdown`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use semver::Version;
use tokio::sync::Semaphore;

use crate::error::Result;
use crate::output::GeneratedImage;
use crate::request::GenerateRequest;
use crate::session::config::Config;
use crate::session::generation;
use crate::session::manager::Manager;
use crate::session::preflight::{self, PreflightReport};

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
    inner: Arc<Inner>,
}

struct Inner {
    manager: Arc<Manager>,
    slots: Semaphore,
}

impl Client {
    /// A builder with every setting at its default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: Config::default(),
        }
    }

    /// Checks binary, version, login, capability, backend and quota. Starts the app-server if needed
    /// (and keeps it warm), but never starts a turn, so it spends no quota.
    pub async fn preflight(&self) -> PreflightReport {
        preflight::run(&self.inner.manager).await
    }

    /// Generates one image. Dropping the future cancels: the turn is interrupted and cleaned up.
    pub async fn generate(&self, request: GenerateRequest) -> Result<GeneratedImage> {
        generation::generate(&self.inner.manager, &self.inner.slots, request).await
    }

    /// Stops the app-server: closes its stdin, waits a bounded time, then kills its process group.
    /// The client stays usable; the next request starts a new process.
    pub async fn shutdown(&self) {
        self.inner.manager.shutdown().await;
    }

    /// The app-server's process id, if one is running (for diagnostics and tests).
    pub async fn app_server_pid(&self) -> Option<i32> {
        match self.inner.manager.current().await {
            Some(live) => live.pid().await,
            None => None,
        }
    }

    #[allow(dead_code)] // For the crate's own diagnostics; `Config` is not public.
    pub(crate) fn config(&self) -> &Config {
        self.inner.manager.config()
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

    /// The oldest Codex accepted (default 0.122.0).
    pub fn min_version(mut self, version: Version) -> Self {
        self.config.min_version = version;
        self
    }

    /// How many generations run at once (default 2; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
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

    /// Whether the lean turn is used (default `true`): Codex started with `-c` overrides that switch
    /// off everything the image path does not use (apps, plugins, the shell and exec tools, web search,
    /// analytics, the environment and permissions text, ...; the list is in the README) and short base
    /// instructions on every thread. `false` keeps Codex's defaults (only
    /// `mcp_servers={}` is still sent); it exists to measure what the lean turn saves, and costs more
    /// input tokens per image.
    pub fn lean(mut self, lean: bool) -> Self {
        self.config.lean = lean;
        self
    }

    /// Builds the client. Nothing is started until the first request.
    pub fn build(self) -> Client {
        let slots = Semaphore::new(self.config.concurrency.max(1));
        Client {
            inner: Arc::new(Inner {
                manager: Manager::new(Arc::new(self.config)),
                slots,
            }),
        }
    }
}
