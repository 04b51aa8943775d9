//! Live: one `POST /v1/images/generations` through `serve-http`, real Codex and the loopback backend.
//!
//! The server runs in-process on the rig's client (a fresh `CODEX_HOME` with a fake ChatGPT login,
//! pointed at the loopback backend), on the newest release of the selected ones; a plain TCP request
//! with the key comes back with the backend's image as `b64_json`, its measured size, and the echoed
//! model. Self-contained apart from `live_support`; it needs codex-img's `http` feature (on by default).

mod live_support;

use std::time::Duration;

use base64::Engine as _;
use codex_img::{ApiKey, HttpOptions, HttpServer};
use live_support::{releases, sha256, Login, Rig};
use loopback_backend::{test_png, BackendConfig};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "live-key-0123456789abcdef";

/// One request on its own connection (`Connection: close`), read to the end: `(status, JSON body)`.
async fn post(addr: std::net::SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(body).expect("json");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&body).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut raw))
        .await
        .expect("answered in time")
        .expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let json = serde_json::from_slice(&raw[split + 4..])
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&raw[split + 4..])));
    (status, json)
}

#[tokio::test]
async fn live_serve_http_generates_through_real_codex() {
    let Some(version) = releases().last().cloned() else {
        return;
    };
    let served = test_png(80, 60, 11);
    let rig = Rig::start(
        &version,
        BackendConfig {
            image_png: served.clone(),
            ..BackendConfig::default()
        },
        Login::ChatGpt,
    )
    .await;
    let server = HttpServer::bind(HttpOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        allow_remote: false,
        key: ApiKey::new(KEY, "test").expect("key"),
        root: None,
        receive_timeout: Duration::from_secs(30),
    })
    .await
    .expect("bind");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(rig.client.clone(), async {
        let _ = stopped.await;
    }));
    let (status, body) = post(
        addr,
        "/v1/images/generations",
        &json!({"prompt": "a red square on a white background", "model": "gpt-image-1", "n": 1, "size": "1024x1024"}),
    )
    .await;
    assert_eq!(status, 200, "{version}: {body}\n{}", rig.diagnostics());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["data"][0]["b64_json"].as_str().expect("b64_json"))
        .expect("base64");
    assert_eq!(
        sha256(&bytes),
        sha256(&served),
        "{version}: not the backend's image"
    );
    assert_eq!(
        (&body["size"], &body["output_format"], &body["model"]),
        (&json!("80x60"), &json!("png"), &json!("gpt-image-1"))
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stopped in time")
        .expect("server task");
    rig.finish().await;
}
