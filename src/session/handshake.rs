//! Starting one app-server: the version probe and gate, the spawn, `initialize`, and the reads that
//! tell a generation whether it may run (the login, the image-generation capability). Spends no quota.

use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::request::{AccountRead, Initialize, ModelProviderCapabilitiesRead};
use crate::protocol::{
    notification, ErrorCode, InitializeResponse, ModelProviderCapabilitiesReadParams,
};
use crate::rpc::codec::DEFAULT_MAX_LINE;
use crate::rpc::process::{ChildProcess, STDERR_SETTLE};
use crate::rpc::transport::{Connection, RpcError};
use crate::session::auth_file::AuthFile;
use crate::session::config::Config;
use crate::session::live::{Handshaken, Live};
use crate::session::login::AccountCheck;
use crate::session::pool::Pool;
use crate::session::spawn;
use crate::session::{params, version};
use crate::types::error::{Error, Result};

const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Probes the version, spawns, handshakes, and reads the login and capabilities.
pub(crate) async fn start(config: &Config) -> Result<Live> {
    let cli_version = version::probe(config, Duration::from_secs(15)).await?;
    version::check(&cli_version, config)?;
    // Read before the process reads it: a change after this is a change it did not see.
    let auth = AuthFile::read(config.login_home().as_deref());
    let (spawned, workdir) = spawn::spawn(config)?;
    let conn = Connection::start(spawned.stdout, spawned.stdin, DEFAULT_MAX_LINE);
    let mut process = spawned.process;
    let init = match initialize(&conn, config.start_timeout, &mut process).await {
        Ok(init) => init,
        Err(e) => return Err(fail(process, &conn, e).await),
    };
    conn.notify(notification::INITIALIZED);
    let version = match version::parse_user_agent_version(&init.user_agent) {
        Some(v) if v != cli_version => {
            tracing::warn!(cli = %cli_version, server = %v, "`codex --version` and the app-server disagree; trusting the server");
            v
        }
        _ => cli_version,
    };
    if let Err(e) = version::check(&version, config) {
        return Err(fail(process, &conn, e).await);
    }
    let account = read_account(&conn, config.start_timeout).await;
    let image_generation_offered = read_capability(&conn, config.start_timeout).await;
    let codex_home = Some(init.codex_home.clone())
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| config.login_home());
    tracing::info!(version = %version, "app-server ready");
    Ok(Live::new(
        conn,
        process,
        workdir,
        Handshaken {
            version,
            codex_home,
            user_agent: init.user_agent,
            account,
            image_generation_offered,
            auth,
        },
    )
    .with_pool(Pool::new(config.pool_size, config.pool_refresh_after))
    .with_lean(config.lean))
}

/// A start that failed after the spawn: close stdin, stop the process, and report `error`.
async fn fail(process: ChildProcess, conn: &Connection, error: Error) -> Error {
    conn.close_stdin();
    process.shutdown(Duration::from_millis(500)).await;
    error
}

/// `initialize`, answered within `within`; each way it can fail is its own error.
async fn initialize(
    conn: &Connection,
    within: Duration,
    process: &mut ChildProcess,
) -> Result<InitializeResponse> {
    let params = params::initialize(CLIENT_VERSION);
    match tokio::time::timeout(within, conn.request::<Initialize>(&params)).await {
        Ok(Ok(init)) => Ok(init),
        Ok(Err(RpcError::Exited | RpcError::NotSent)) => {
            process.tail().settled(STDERR_SETTLE).await;
            Err(Error::AppServerExited {
                status: process.exit_status_settled().await,
                stderr_tail: process.tail().text(),
                turn_started: false,
            })
        }
        Ok(Err(e)) => Err(Error::InvalidMessage {
            detail: format!("`initialize` failed: {e}"),
        }),
        // A process that runs but never answers did not exit: it is stuck, or slow to start.
        Err(_) => Err(Error::StartTimeout {
            after: within,
            stderr_tail: process.tail().text(),
        }),
    }
}

async fn read_account(conn: &Connection, timeout: Duration) -> AccountCheck {
    match tokio::time::timeout(
        timeout,
        conn.request::<AccountRead>(&params::account_read()),
    )
    .await
    {
        Ok(Ok(read)) => AccountCheck::Read(read),
        Ok(Err(e)) => AccountCheck::Failed(e.to_string()),
        Err(_) => AccountCheck::Failed(format!(
            "`account/read` did not answer within {}s",
            timeout.as_secs()
        )),
    }
}

/// `None` when the release has no such method (older releases answer -32600 or -32601).
async fn read_capability(conn: &Connection, timeout: Duration) -> Option<bool> {
    let read =
        conn.request::<ModelProviderCapabilitiesRead>(&ModelProviderCapabilitiesReadParams {});
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(caps)) => Some(caps.image_generation),
        Ok(Err(RpcError::Server(e)))
            if e.code == ErrorCode::METHOD_NOT_FOUND || e.code == ErrorCode::INVALID_REQUEST =>
        {
            None
        }
        Ok(Err(e)) => {
            tracing::warn!("`modelProvider/capabilities/read` failed: {e}");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::live::tests::deaf_server;
    use pretty_assertions::assert_eq;

    #[tokio::test]
    async fn a_server_that_never_answers_initialize_is_a_start_timeout_not_an_exit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (spawned, _) = spawn::spawn(&deaf_server(dir.path())).expect("spawn");
        let conn = Connection::start(spawned.stdout, spawned.stdin, DEFAULT_MAX_LINE);
        let mut process = spawned.process;
        let within = Duration::from_millis(200);
        let e = match initialize(&conn, within, &mut process).await {
            Ok(init) => panic!("the deaf server answered: {init:?}"),
            Err(e) => e,
        };
        let e = fail(process, &conn, e).await;
        assert_eq!((e.code(), e.retryable()), ("runtime/start_timeout", true));
        assert_eq!(
            e.to_string(),
            "the Codex app-server did not answer `initialize` within 0.2s; it is stuck or very slow to start: run `codex app-server` by hand to see why, and set RUST_LOG=codex_img=debug for its log"
        );
    }
}
