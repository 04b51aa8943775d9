//! Shared support for the serve-http tests: the server run in-process on a free loopback port against
//! the fake app-server, and a raw HTTP/1.1 client on a plain TCP stream, so every byte on the wire is
//! the test's own choice (no client library smoothing over what the server does).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use codex_img::{ApiKey, HttpOptions, HttpServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::World;

pub const KEY: &str = "test-key-0123456789abcdef";
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running server.
pub struct Served {
    pub addr: SocketAddr,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

pub struct Setup {
    pub receive_timeout: Duration,
    pub concurrency: usize,
    pub root: Option<std::path::PathBuf>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            receive_timeout: Duration::from_secs(30),
            concurrency: 2,
            root: None,
        }
    }
}

pub async fn start(world: &World) -> Served {
    start_with(world, Setup::default()).await
}

pub async fn start_with(world: &World, setup: Setup) -> Served {
    let client = world.builder().concurrency(setup.concurrency).build();
    let options = HttpOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        allow_remote: false,
        key: ApiKey::new(KEY, "test").expect("key"),
        root: setup.root,
        receive_timeout: setup.receive_timeout,
    };
    let server = HttpServer::bind(options).await.expect("bind");
    let addr = server.local_addr();
    let url = server.base_url();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(client, async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        url,
        stop: Some(stop),
        task: Some(task),
    }
}

impl Served {
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Stops the server and waits until it has shut its app-server down.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task)
                .await
                .expect("server stopped in time")
                .expect("server task");
        }
    }
}

/// One response as read off the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// `(status, error.code)` of an OpenAI-shaped error.
    pub fn error_code(&self) -> (u16, String) {
        let v = self.json();
        (
            self.status,
            v["error"]["code"].as_str().unwrap_or("<none>").to_owned(),
        )
    }
}

/// A request's bytes: the given head fields, then `Content-Length` and the body.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if !body.is_empty() || method == "POST" {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The usual head of an authorised JSON request to `served`.
pub fn json_post(served: &Served, path: &str, body: &Value) -> Vec<u8> {
    let auth = format!("Bearer {KEY}");
    request(
        "POST",
        path,
        &[
            ("Host", &served.host()),
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &serde_json::to_vec(body).expect("json"),
    )
}

/// A raw HTTP/1.1 connection.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
        self.stream.flush().await.expect("flush");
    }

    /// Reads more bytes; `false` at the end of the stream (or a reset).
    async fn fill(&mut self, until: tokio::time::Instant) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        match tokio::time::timeout_at(until, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(_) => panic!("no response within {PATIENCE:?}"),
        }
    }

    /// The next response; `None` if the server closed the connection before sending one.
    pub async fn response(&mut self) -> Option<Reply> {
        let until = tokio::time::Instant::now() + PATIENCE;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !self.fill(until).await {
                assert!(
                    self.buf.is_empty(),
                    "connection closed inside a response head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.parse().expect("content-length"))
            .unwrap_or_else(|| panic!("no content-length in {head:?}"));
        let start = head_end + 4;
        while self.buf.len() < start + length {
            assert!(self.fill(until).await, "connection closed inside a body");
        }
        let body = self.buf[start..start + length].to_vec();
        self.buf.drain(..start + length);
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    /// Whether the server closes the connection within `within` (reading and discarding anything sent).
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let until = tokio::time::Instant::now() + within;
        let mut chunk = [0u8; 4096];
        loop {
            match tokio::time::timeout_at(until, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }
}

/// Sends one request on a fresh connection and reads its answer.
pub async fn exchange(served: &Served, bytes: &[u8]) -> Reply {
    let mut conn = Raw::connect(served.addr).await;
    conn.send(bytes).await;
    conn.response().await.expect("a response")
}

/// A minimal multipart/form-data body: text fields, then files `(field, file name, bytes)`.
pub fn multipart(boundary: &str, texts: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in texts {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: image/png\r\n\r\n")
                .as_bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Lowercase hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
