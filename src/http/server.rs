//! Binding, the accept loop and graceful shutdown.
//!
//! Each connection is served by hyper's HTTP/1.1 server with the header limits of
//! [`limits`](super::limits) and a header read timeout, and without half-close: a client that closes its
//! side while waiting has gone, so its connection and its handler (and so its Codex turn) are dropped.
//! On shutdown the listener closes at once, handlers still generating answer 503 and their turns are
//! interrupted, connections close as soon as their answers are written (idle ones at once), and after
//! at most [`DRAIN_GRACE`] the rest are dropped; then the app-server is stopped. A client shut down from
//! outside stops the server the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::limits::{MAX_HEADERS, MAX_HEADER_BYTES};
use super::routes::{self, AppState};
use super::security::Hosts;
use super::{HttpError, HttpOptions};
use crate::api::client::Client;
use crate::face::root::Root;

/// How long connections get to finish their answers once the server stops.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// A bound listener, ready to serve.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local: SocketAddr,
    options: HttpOptions,
    root: Option<Root>,
}

impl HttpServer {
    /// Checks the options and binds the listen address. A non-loopback address needs `allow_remote`.
    pub async fn bind(options: HttpOptions) -> Result<Self, HttpError> {
        let addr = options.listen;
        if !addr.ip().is_loopback() && !options.allow_remote {
            return Err(HttpError::NotLoopback { addr });
        }
        let root = match &options.root {
            Some(dir) => Some(Root::new(dir).map_err(HttpError::Root)?),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| HttpError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| HttpError::Bind { addr, source })?;
        Ok(Self {
            listener,
            local,
            options,
            root,
        })
    }

    /// The address bound (with the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The base URL apps are given: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.local)
    }

    /// Serves until `shutdown` resolves (or `client` is shut down elsewhere), then stops as the module
    /// says and shuts `client` down.
    pub async fn serve(self, client: Client, shutdown: impl Future<Output = ()>) {
        let (stop, stopping) = watch::channel(false);
        let state = Arc::new(AppState {
            client: client.clone(),
            key: self.options.key.clone(),
            hosts: Hosts::new(self.local, self.options.allow_remote),
            root: self.root,
            receive_timeout: self.options.receive_timeout,
            stopping,
        });
        let app = routes::router(state);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.options.receive_timeout)
            .max_header_size(MAX_HEADER_BYTES)
            .max_headers(MAX_HEADERS)
            .half_close(false)
            .keep_alive(true);
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let listener = self.listener;
        let closed = client.closed();
        tokio::pin!(shutdown, closed);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let service = TowerToHyperService::new(app.clone());
                        let conn = http.serve_connection(TokioIo::new(stream), service);
                        let conn = graceful.watch(conn);
                        connections.spawn(async move {
                            if let Err(e) = conn.await {
                                tracing::debug!(%peer, "connection ended: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little rather than spin.
                        tracing::warn!("accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut shutdown => break,
                () = &mut closed => break,
            }
        }
        drop(listener);
        tracing::info!("stopping: no new connections; cancelling generations in flight");
        let _ = stop.send(true);
        if tokio::time::timeout(DRAIN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after {DRAIN_GRACE:?}; closing them");
        }
        connections.abort_all();
        while connections.join_next().await.is_some() {}
        client.shutdown().await;
    }
}
