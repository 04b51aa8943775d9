//! Ctrl-C and SIGTERM: a command selects on [`interrupted`] and, when it fires, drops its work, shuts
//! the client down and exits 130 or 143.

use crate::exit;

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
