//! `codex-img serve-http`: resolves the key, binds, prints the base URL as the one line on stdout, and
//! serves the OpenAI-compatible Images API until Ctrl-C or SIGTERM, then stops gracefully and exits 0.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use codex_img::ClientBuilder;
use codex_img::{ApiKey, HttpOptions, HttpServer, DEFAULT_LISTEN, DEFAULT_RECEIVE_TIMEOUT};

use crate::shared::{ConcurrencyArg, RecycleArgs, RootArg};
use crate::{exit, Interrupted};

pub const HELP: &str = "\
Examples:
  codex-img serve-http
  CODEX_IMG_HTTP_TOKEN=$(cat ~/.my-key) codex-img serve-http --listen 127.0.0.1:9000 --concurrency 3

Serves POST /v1/images/generations, POST /v1/images/edits and GET /v1/models (OpenAI's Images API) and
GET /health. Point an app at the printed base URL (http://127.0.0.1:PORT/v1) with the key as its API key.
The key comes from CODEX_IMG_HTTP_TOKEN, else --token-file, else a key file generated once (readable only
by you; its path is printed on stderr). Only loopback is served unless --allow-remote. When ready, the
base URL is the one line printed on stdout. Ctrl-C or SIGTERM stops it: generations in flight are
cancelled and answered, the app-server is stopped, and the exit code is 0.
";

#[derive(Debug, Args)]
pub struct HttpArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,

    /// DANGEROUS: allow a non-loopback --listen, so other machines holding the key can spend your quota.
    #[arg(long)]
    pub allow_remote: bool,

    /// Read the API key from this file (it must be readable only by you).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    #[command(flatten)]
    pub root: RootArg,

    #[command(flatten)]
    pub concurrency: ConcurrencyArg,

    #[command(flatten)]
    pub recycle: RecycleArgs,

    /// Seconds a client gets to send a whole request (headers and body).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_RECEIVE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub receive_timeout: u64,
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    // `localhost:PORT`: the loopback address it resolves to, never a name looked up elsewhere.
    match s.to_socket_addrs() {
        Ok(mut addrs) if s.starts_with("localhost:") => addrs
            .find(|a| a.ip().is_loopback())
            .ok_or_else(|| format!("`{s}` does not resolve to a loopback address")),
        _ => Err(format!(
            "`{s}` is not an address like 127.0.0.1:8787 or localhost:8787"
        )),
    }
}

/// Serves until a signal, with a client of its own made from `builder` (the caller applied the
/// concurrency).
pub async fn run(
    builder: ClientBuilder,
    args: &HttpArgs,
    interrupted: impl std::future::Future<Output = Interrupted>,
) -> u8 {
    let client = builder.build();
    let (key, source) = match ApiKey::resolve(
        std::env::var(codex_img::TOKEN_ENV).ok(),
        args.token_file.as_deref(),
    ) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            return exit::OTHER;
        }
    };
    let options = HttpOptions {
        listen: args.listen,
        allow_remote: args.allow_remote,
        key,
        root: args.root.root.clone(),
        receive_timeout: Duration::from_secs(args.receive_timeout),
    };
    let server = match HttpServer::bind(options).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            return exit::OTHER;
        }
    };
    if args.allow_remote && !server.local_addr().ip().is_loopback() {
        eprintln!(
            "codex-img serve-http: WARNING: listening on {}, beyond this machine; anyone who reaches it with the key spends your quota",
            server.local_addr()
        );
    }
    // One poll installs the signal handlers, so a signal sent as soon as the URL is read stops the
    // server gracefully instead of killing it.
    let mut interrupted = std::pin::pin!(interrupted);
    let early = tokio::select! {
        biased;
        signal = &mut interrupted => Some(signal),
        () = std::future::ready(()) => None,
    };
    eprintln!("codex-img serve-http: {source}");
    println!("{}", server.base_url());
    server
        .serve(client, async {
            let signal = match early {
                Some(signal) => signal,
                None => interrupted.await,
            };
            tracing::info!("{signal:?}: stopping");
        })
        .await;
    exit::SUCCESS
}
