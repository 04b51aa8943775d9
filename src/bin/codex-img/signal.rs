//! Ctrl-C and SIGTERM: a command selects on [`interrupted`] and, when it fires, drops its work, shuts
//! the client down and exits 130 or 143. A server face ([`serve_until`]) is not dropped at once: the
//! client is shut down under it first (every turn in flight interrupted), so the face answers what was
//! in flight with `runtime/shutting_down` and ends by itself.

use std::future::Future;
use std::time::Duration;

use codex_img::Client;

use crate::exit;

/// How long a server face gets, once the client is shut down, to answer and end by itself.
const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// A signal that ends the command early.
#[derive(Debug, Clone, Copy)]
pub enum Interrupted {
    CtrlC,
    Terminate,
}

impl Interrupted {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::CtrlC => exit::INTERRUPTED,
            Self::Terminate => exit::TERMINATED,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; never, if the handlers cannot be installed.
pub async fn interrupted() -> Interrupted {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => Interrupted::CtrlC,
        () = terminate => Interrupted::Terminate,
    }
}

/// Runs the server face `serve` until it ends (`Ok`), or until a signal (`Err`). On a signal the client
/// is shut down while `serve` keeps running, so the face answers its requests in flight and stops
/// taking new ones; it then gets [`ANSWER_GRACE`] to end before it is dropped.
pub async fn serve_until<T>(
    client: &Client,
    serve: impl Future<Output = T>,
    interrupted: impl Future<Output = Interrupted>,
) -> Result<T, Interrupted> {
    tokio::pin!(serve);
    let signal = tokio::select! {
        served = &mut serve => return Ok(served),
        signal = interrupted => signal,
    };
    tracing::info!("{signal:?}: interrupting the turns in flight, then stopping");
    let stopping = client.shutdown();
    tokio::pin!(stopping);
    tokio::select! {
        _ = &mut serve => stopping.await,
        () = &mut stopping => {
            if tokio::time::timeout(ANSWER_GRACE, serve).await.is_err() {
                tracing::warn!("the server did not end within {ANSWER_GRACE:?} of the shutdown");
            }
        }
    }
    Err(signal)
}
