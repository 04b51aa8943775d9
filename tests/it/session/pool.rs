//! Threads started ahead that Codex no longer knows (`FAKE_FORGET_THREADS`, as after a Codex-side
//! unload): the request must still get its image, on a fresh thread, with exactly one turn started,
//! and when every thread is lost the caller gets a coded error at once, never a hang. Checked against
//! the fake's record: `turn_refused` is a `turn/start` answered with an error (no turn, no model
//! request), `turn_inputs` a turn that started.

use std::time::{Duration, Instant};

use codex_img::GenerateRequest;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::World;

/// A record event without its timestamp, for comparing whole values.
fn strip(mut event: Value) -> Value {
    if let Some(map) = event.as_object_mut() {
        map.remove("atMs");
    }
    event
}

fn thread_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["threadId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_pre_started_thread_codex_forgot_is_replaced_without_spending_a_turn() {
    let world = World::new().set("FAKE_FORGET_THREADS", "1");
    let client = world.builder().thread_pool(2).build();
    assert!(client.preflight().await.ready());
    // The refill task writes the second `thread/start` only after it pooled the first thread, so
    // from here the request takes that first one, which the fake forgot.
    let started = world.wait_sent("thread/start", 2).await;
    assert_eq!(started.len(), 2, "the pool did not fill");
    let forgotten = thread_ids(&world.events("thread_forgotten"));
    assert_eq!(forgotten.len(), 1);
    let stale = forgotten[0].clone();

    let image = client
        .generate(GenerateRequest::new("a lighthouse"))
        .await
        .expect("the request gets its image on a fresh thread");
    client.shutdown().await;

    // The stale thread was refused before any turn started; exactly one turn started, on another
    // thread, and that is the one the image came from.
    let refused: Vec<Value> = world
        .events("turn_refused")
        .into_iter()
        .map(strip)
        .collect();
    assert_eq!(
        refused,
        vec![json!({
            "event": "turn_refused",
            "threadId": stale,
            "code": -32600,
            "message": format!("thread not found: {stale}"),
        })]
    );
    let turns = world.events("turn_inputs");
    assert_eq!(thread_ids(&turns), vec![image.ids.thread_id.clone()]);
    assert_ne!(image.ids.thread_id, stale);
    // Two `turn/start`s were written, one per thread; only the second became a turn.
    let turn_starts: Vec<String> = world
        .sent("turn/start")
        .iter()
        .map(|t| {
            t["params"]["threadId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        turn_starts,
        vec![stale.clone(), image.ids.thread_id.clone()]
    );
    // Nothing of either thread is left: every folder is gone, no image file remains.
    for s in world.sent("thread/start") {
        let cwd = s["params"]["cwd"].as_str().expect("cwd");
        assert!(!std::path::Path::new(cwd).exists(), "{cwd} was left");
    }
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn a_forgotten_thread_opened_for_the_request_is_replaced_too() {
    // No pool: the request opens its own thread, which Codex forgets before the turn.
    let world = World::new().set("FAKE_FORGET_THREADS", "1");
    let client = world.builder().thread_pool(0).build();
    let image = client
        .generate(GenerateRequest::new("a harbour"))
        .await
        .expect("image");
    client.shutdown().await;
    assert_eq!(world.events("turn_refused").len(), 1);
    assert_eq!(
        thread_ids(&world.events("turn_inputs")),
        vec![image.ids.thread_id]
    );
}

#[tokio::test]
async fn when_every_thread_is_lost_the_caller_gets_a_coded_error_at_once() {
    let world = World::new().set("FAKE_FORGET_THREADS", "1000");
    let client = world.builder().thread_pool(2).build();
    let began = Instant::now();
    let e = client
        .generate(GenerateRequest::new("a harbour").timeout(Duration::from_secs(20)))
        .await
        .expect_err("no thread can take a turn");
    let took = began.elapsed();
    client.shutdown().await;
    // Three threads tried (the pooled one if ready, then fresh ones), each refused before a turn.
    assert_eq!(world.events("turn_refused").len(), 3);
    assert_eq!(world.events("turn_inputs").len(), 0, "no turn may start");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: a lost thread must not wait for the deadline"
    );
    // Its own code, retryable since nothing was spent; the text says what happened, quoting Codex.
    assert_eq!(
        (e.code(), e.retryable()),
        ("runtime/thread_lost", true),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.starts_with(
            "Codex did not know the thread it had just started, on 3 fresh threads in a row (the last answer: "
        ) && text.contains("thread not found")
            && text.ends_with("no turn was started and nothing was spent, so send the request again"),
        "{text}"
    );
}
