//! codex-img sends only the methods of one explicit allowlist.
//!
//! Some app-server methods change the user's own Codex setup: from 0.171.0 `modelProvider/default/set`
//! writes `model_provider` into `$CODEX_HOME/config.toml`, and `config/value/write` or
//! `config/batchWrite` edit it too. Two layers keep such a method from slipping in: the generated table
//! of requests codex-img can send must equal the allowlist exactly (a method added to the generator's
//! manifest fails here until it is allowed on purpose), and an end-to-end run against the fake
//! app-server (preflight, a generation, a cancelled generation, shutdown) must send nothing else.

use std::collections::BTreeSet;
use std::time::Duration;

use codex_img::protocol::{notification, CLIENT_REQUESTS};
use codex_img::{GenerateRequest, Phase};
use pretty_assertions::assert_eq;

use crate::support::World;

/// Every request codex-img may send. Adding one here is a decision: check that it changes nothing in
/// the user's Codex config, skills, plugins, files or credit.
const ALLOWED_REQUESTS: &[&str] = &[
    "initialize",
    "account/read",
    "account/rateLimits/read",
    "modelProvider/capabilities/read",
    "thread/start",
    "thread/unsubscribe",
    "turn/start",
    "turn/interrupt",
];

/// Every notification codex-img may send.
const ALLOWED_NOTIFICATIONS: &[&str] = &["initialized"];

/// Methods that write the user's config; never to be sent, whatever the allowlist says.
const NEVER: &[&str] = &[
    "modelProvider/default/set",
    "modelProvider/config/write",
    "config/value/write",
    "config/batchWrite",
];

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|m| (*m).to_owned()).collect()
}

#[test]
fn the_generated_request_table_is_exactly_the_allowlist() {
    let table: BTreeSet<String> = CLIENT_REQUESTS
        .iter()
        .map(|e| e.method.to_owned())
        .collect();
    assert_eq!(table, set(ALLOWED_REQUESTS));
    assert_eq!(
        CLIENT_REQUESTS.len(),
        ALLOWED_REQUESTS.len(),
        "a duplicate row"
    );
    assert_eq!(notification::INITIALIZED, ALLOWED_NOTIFICATIONS[0]);
    for method in NEVER {
        assert!(!ALLOWED_REQUESTS.contains(method), "{method} is allowed");
    }
}

#[tokio::test]
async fn a_whole_session_sends_only_allowed_methods() {
    let world = World::new().set("FAKE_DELAY_MS", "20000");
    let client = world.client();

    let report = client.preflight().await;
    assert!(report.blocking.is_none(), "{:?}", report.blocking);
    client
        .generate(GenerateRequest::new("a lighthouse"))
        .await
        .expect("the generation");

    // A cancelled generation: its future is dropped once the turn runs.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let request = GenerateRequest::new("slow one [fake:slow]").on_progress(move |p| {
        if p.phase == Phase::Generating {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(());
            }
        }
    });
    tokio::select! {
        _ = client.generate(request) => panic!("the slow generation finished"),
        _ = rx => {}
    }
    let interrupted = world
        .wait_events("interrupted", 2, Duration::from_secs(10))
        .await;
    assert_eq!(interrupted.len(), 2, "both turns end by an interrupt");
    client.shutdown().await;

    let mut requests = BTreeSet::new();
    let mut notifications = BTreeSet::new();
    for line in world.log() {
        let msg = &line["msg"];
        if line["dir"] != "in" {
            continue;
        }
        let Some(method) = msg["method"].as_str() else {
            continue; // an answer to a server request
        };
        if msg.get("id").is_some() {
            requests.insert(method.to_owned());
        } else {
            notifications.insert(method.to_owned());
        }
    }
    // Everything sent is allowed, and this session used every allowed method, so the check is not
    // vacuous and the allowlist holds nothing unused.
    assert_eq!(requests, set(ALLOWED_REQUESTS));
    assert_eq!(notifications, set(ALLOWED_NOTIFICATIONS));
    for method in NEVER {
        assert!(!requests.contains(*method), "{method} was sent");
    }
}
