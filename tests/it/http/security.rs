//! serve-http's security rules on the raw wire, each against the fake app-server: the key (missing,
//! wrong), the `Host` check, the cross-origin `Origin` refusal (and Node-style `sec-fetch-mode` without
//! `Origin` still served), no CORS headers, the body, header and receive-time bounds, a disconnect
//! mid-generation interrupting the turn, and a refused request followed by a good one on the same
//! keep-alive connection.
#![cfg(feature = "http")]

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{
    self,
    http::{exchange, json_post, request, start, start_with, Raw, Setup, KEY},
    World,
};

fn auth() -> String {
    format!("Bearer {KEY}")
}

fn generation() -> Vec<u8> {
    serde_json::to_vec(&json!({"prompt": "a fox [fake:complete]"})).expect("json")
}

/// No CORS header of any kind.
fn assert_no_cors(reply: &support::http::Reply) {
    let cors: Vec<&(String, String)> = reply
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("access-control-"))
        .collect();
    assert_eq!(cors, Vec::<&(String, String)>::new());
}

#[tokio::test]
async fn the_key_is_required_and_checked() {
    let world = World::new();
    let served = start(&world).await;
    let host = served.host();
    let body = generation();
    let cases = [
        (vec![("Host", host.as_str())], "http/missing_api_key"),
        (
            vec![
                ("Host", host.as_str()),
                ("Authorization", "Bearer wrong-key-0123456789"),
            ],
            "http/invalid_api_key",
        ),
        (
            vec![("Host", host.as_str()), ("Authorization", KEY)],
            "http/missing_api_key",
        ),
        (
            // A prefix of the key is not the key.
            vec![
                ("Host", host.as_str()),
                ("Authorization", "Bearer test-key-0123456789abcde"),
            ],
            "http/invalid_api_key",
        ),
    ];
    for (headers, code) in cases {
        let mut headers = headers;
        headers.push(("Content-Type", "application/json"));
        let reply = exchange(
            &served,
            &request("POST", "/v1/images/generations", &headers, &body),
        )
        .await;
        assert_eq!(reply.error_code(), (401, code.to_owned()), "{headers:?}");
        assert_eq!(reply.header("x-should-retry"), Some("false"));
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(text.starts_with(r#"{"error":{"message":"#), "{text}");
        assert!(!text.contains(KEY), "the key leaked into {text}");
    }
    // `GET /v1/models` needs it too; `/health` does not, and tells nothing secret.
    let models = exchange(
        &served,
        &request("GET", "/v1/models", &[("Host", &host)], b""),
    )
    .await;
    assert_eq!(
        models.error_code(),
        (401, "http/missing_api_key".to_owned())
    );
    let health = exchange(&served, &request("GET", "/health", &[("Host", &host)], b"")).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    // With the key, the same generation runs; without it, no turn ever started.
    assert_eq!(world.events("turn_inputs").len(), 0);
    let ok = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a fox [fake:complete]"}),
        ),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(world.events("turn_inputs").len(), 1);
    served.stop().await;
}

#[tokio::test]
async fn a_foreign_host_is_refused_even_with_the_key() {
    let world = World::new();
    let served = start(&world).await;
    let port = served.addr.port();
    let auth = auth();
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_owned(),
        String::new(),
    ] {
        let reply = exchange(
            &served,
            &request(
                "POST",
                "/v1/images/generations",
                &[
                    ("Host", &host),
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                &generation(),
            ),
        )
        .await;
        assert_eq!(
            reply.error_code(),
            (421, "http/host_not_allowed".to_owned()),
            "{host}"
        );
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let reply = exchange(
            &served,
            &request(
                "GET",
                "/v1/models",
                &[("Host", &host), ("Authorization", &auth)],
                b"",
            ),
        )
        .await;
        assert_eq!(reply.status, 200, "{host}");
    }
    assert_eq!(world.events("turn_inputs").len(), 0);
    served.stop().await;
}

#[tokio::test]
async fn cross_origin_requests_are_refused_and_no_cors_headers_are_sent() {
    let world = World::new();
    let served = start(&world).await;
    let host = served.host();
    let auth = auth();
    for origin in [
        "http://evil.example",
        "null",
        &format!("https://{host}"),
        "http://localhost:1",
    ] {
        let reply = exchange(
            &served,
            &request(
                "POST",
                "/v1/images/generations",
                &[
                    ("Host", &host),
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                    ("Origin", origin),
                    ("Sec-Fetch-Mode", "cors"),
                ],
                &generation(),
            ),
        )
        .await;
        assert_eq!(
            reply.error_code(),
            (403, "http/origin_not_allowed".to_owned()),
            "{origin}"
        );
        assert_no_cors(&reply);
    }
    // A browser's preflight gets no permission either.
    let preflight = exchange(
        &served,
        &request(
            "OPTIONS",
            "/v1/images/generations",
            &[
                ("Host", &host),
                ("Origin", "http://evil.example"),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                ),
            ],
            b"",
        ),
    )
    .await;
    assert_eq!(preflight.status, 403);
    assert_no_cors(&preflight);
    assert_eq!(world.events("turn_inputs").len(), 0);
    // Node's fetch (Open Design's daemon) sends `sec-fetch-mode: cors` and no Origin: served.
    let node_like = exchange(
        &served,
        &request(
            "POST",
            "/v1/images/generations",
            &[
                ("Host", &host),
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
                ("Sec-Fetch-Mode", "cors"),
            ],
            &generation(),
        ),
    )
    .await;
    assert_eq!(
        node_like.status,
        200,
        "{}",
        String::from_utf8_lossy(&node_like.body)
    );
    assert_no_cors(&node_like);
    served.stop().await;
}

#[tokio::test]
async fn an_over_long_body_is_refused_before_it_is_read() {
    let world = World::new();
    let served = start(&world).await;
    let host = served.host();
    let auth = auth();
    let limit = codex_img::MAX_IMAGE_BYTES * 5 / 3 * 4 + (1 << 20);
    let mut conn = Raw::connect(served.addr).await;
    // Only the head: the server must answer from Content-Length alone, without waiting for the body.
    let head = format!(
        "POST /v1/images/edits HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        limit + 1
    );
    conn.send(head.as_bytes()).await;
    let reply = conn.response().await.expect("an answer");
    assert_eq!(reply.error_code(), (413, "http/body_too_large".to_owned()));
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(conn.closed_within(Duration::from_secs(10)).await);
    assert_eq!(world.events("turn_inputs").len(), 0);
    served.stop().await;
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let world = World::new();
    let served = start(&world).await;
    let host = served.host();
    let huge = "x".repeat(100 * 1024);
    let mut conn = Raw::connect(served.addr).await;
    conn.send(
        format!("GET /health HTTP/1.1\r\nHost: {host}\r\nX-Padding: {huge}\r\n\r\n").as_bytes(),
    )
    .await;
    let reply = conn.response().await;
    assert_eq!(reply.map(|r| r.status), Some(431));
    assert!(conn.closed_within(Duration::from_secs(10)).await);
    served.stop().await;
}

#[tokio::test]
async fn a_slow_client_is_cut_off_at_the_receive_timeout() {
    let world = World::new();
    let served = start_with(
        &world,
        Setup {
            receive_timeout: Duration::from_secs(2),
            ..Setup::default()
        },
    )
    .await;
    let host = served.host();
    let auth = auth();
    // A head that never ends.
    let mut slow_head = Raw::connect(served.addr).await;
    slow_head
        .send(format!("POST /v1/images/generations HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
        .await;
    // A body that never arrives.
    let mut slow_body = Raw::connect(served.addr).await;
    slow_body
        .send(
            format!("POST /v1/images/generations HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"prompt\":")
                .as_bytes(),
        )
        .await;
    let reply = slow_body.response().await.expect("an answer");
    assert_eq!(reply.error_code(), (408, "http/request_timeout".to_owned()));
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(slow_body.closed_within(Duration::from_secs(10)).await);
    assert!(
        slow_head.closed_within(Duration::from_secs(10)).await,
        "a stalled head keeps its connection"
    );
    assert_eq!(world.events("turn_inputs").len(), 0);
    served.stop().await;
}

#[tokio::test]
async fn a_disconnect_mid_generation_interrupts_the_turn() {
    let world = World::new().set("FAKE_DELAY_MS", "30000");
    let served = start(&world).await;
    let mut conn = Raw::connect(served.addr).await;
    conn.send(&json_post(
        &served,
        "/v1/images/generations",
        &json!({"prompt": "a slow fox [fake:slow]"}),
    ))
    .await;
    let started = world
        .wait_events("turn_inputs", 1, Duration::from_secs(30))
        .await;
    assert_eq!(started.len(), 1, "the turn started");
    drop(conn);
    let interrupted = world
        .wait_events("interrupted", 1, Duration::from_secs(20))
        .await;
    assert_eq!(
        interrupted.len(),
        1,
        "the turn was interrupted: {:?}",
        world.log()
    );
    assert_eq!(interrupted[0]["turnId"], started[0]["turnId"]);
    // The server goes on serving.
    let next = exchange(
        &served,
        &json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "a fox [fake:complete]"}),
        ),
    )
    .await;
    assert_eq!(next.status, 200);
    served.stop().await;
}

#[tokio::test]
async fn a_refused_request_leaves_the_keep_alive_connection_usable() {
    let world = World::new();
    let served = start(&world).await;
    let host = served.host();
    // Open Design's daemon reuses connections: a wrong key on a sizeable JSON edit, then the fixed key.
    let big = json!({"prompt": "x", "images": [{"image_url": format!("data:image/png;base64,{}", "A".repeat(300_000))}]});
    let mut conn = Raw::connect(served.addr).await;
    for refused in [
        request(
            "POST",
            "/v1/images/edits",
            &[
                ("Host", &host),
                ("Authorization", "Bearer wrong-key-0123456789"),
                ("Content-Type", "application/json"),
            ],
            &serde_json::to_vec(&big).expect("json"),
        ),
        request(
            "POST",
            "/v1/images/generations",
            &[
                ("Host", &host),
                ("Origin", "http://evil.example"),
                ("Content-Type", "application/json"),
            ],
            &generation(),
        ),
        json_post(
            &served,
            "/v1/images/generations",
            &json!({"prompt": "x", "response_format": "url"}),
        ),
    ] {
        conn.send(&refused).await;
        let reply = conn.response().await.expect("an answer");
        assert!(matches!(reply.status, 400 | 401 | 403), "{}", reply.status);
        assert_eq!(
            reply.header("connection"),
            None,
            "the connection stays open"
        );
    }
    conn.send(&json_post(
        &served,
        "/v1/images/generations",
        &json!({"prompt": "a fox [fake:complete]"}),
    ))
    .await;
    let good = conn
        .response()
        .await
        .expect("the good request is answered on the same connection");
    assert_eq!(good.status, 200, "{}", String::from_utf8_lossy(&good.body));
    assert!(good.json()["data"][0]["b64_json"].is_string());
    served.stop().await;
}
