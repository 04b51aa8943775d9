//! `Client::shutdown` with work in flight: a generation running on another task has its turn
//! interrupted before the app-server stops and resolves with `runtime/shutting_down`; queued ones end
//! without a turn; a start under way is abandoned; and after shutdown nothing can start a process. A
//! bridge serving that client answers its request in flight and ends.

use std::time::{Duration, Instant};

use codex_img::{Client, Error, GenerateRequest, GeneratedImage, Phase};
use pretty_assertions::assert_eq;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::support::{self, all_gone, eventually_async, World};

/// How long any one wait in these tests may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(20);

/// Spawns `prompt` on its own task and returns it once the generation reaches `phase`.
async fn spawn_until(
    client: &Client,
    prompt: &str,
    phase: Phase,
) -> JoinHandle<codex_img::Result<GeneratedImage>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let request = GenerateRequest::new(prompt).on_progress(move |p| {
        if p.phase == phase {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(());
            }
        }
    });
    let task = tokio::spawn(client.generate(request));
    tokio::time::timeout(DEADLINE, rx)
        .await
        .unwrap_or_else(|_| panic!("{prompt}: never reached {phase:?}"))
        .expect("the generation ended before reaching its phase");
    task
}

/// The generation's outcome, once it ends (within the deadline).
async fn outcome(task: JoinHandle<codex_img::Result<GeneratedImage>>) -> (&'static str, bool) {
    let result = tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the generation never resolved")
        .expect("the generation's task panicked");
    match result {
        Ok(image) => panic!(
            "expected runtime/shutting_down, got an image of {} bytes",
            image.bytes.len()
        ),
        Err(e @ Error::ShuttingDown { turn_started }) => (e.code(), turn_started),
        Err(e) => panic!("expected runtime/shutting_down, got {}: {e}", e.code()),
    }
}

/// Where in the record the first line matching `is` is.
fn position(log: &[Value], is: impl Fn(&Value) -> bool) -> Option<usize> {
    log.iter().position(is)
}

#[tokio::test]
async fn a_generation_on_another_task_is_interrupted_before_the_process_stops() {
    let world = World::new().set("FAKE_DELAY_MS", "30000");
    // A grace longer than the bound below: a shutdown that waited one out would fail it.
    let client = world
        .builder()
        .interrupt_grace(Duration::from_secs(20))
        .build();
    let task = spawn_until(&client, "a fox [fake:slow]", Phase::Generating).await;
    let pid = client.app_server_pid().await.expect("a running app-server");
    let began = Instant::now();
    client.shutdown().await;
    let took = began.elapsed();

    assert_eq!(outcome(task).await, ("runtime/shutting_down", true));
    let turn = world.events("turn_inputs")[0]["turnId"].clone();
    let log = world.log();
    let interrupt = position(&log, |e| {
        e["msg"]["method"] == "turn/interrupt" && e["msg"]["params"]["turnId"] == turn
    });
    let ended = position(&log, |e| e["event"] == "interrupted" && e["turnId"] == turn);
    let eof = position(&log, |e| e["event"] == "stdin_eof");
    assert!(
        interrupt.is_some() && ended.is_some() && interrupt < ended && ended < eof,
        "turn/interrupt {interrupt:?}, the turn's end {ended:?}, stdin closed {eof:?}"
    );
    assert!(
        all_gone(&[pid], Duration::from_secs(5)).await,
        "the app-server outlived shutdown"
    );
    assert_eq!(world.generated_images(), Vec::<String>::new());
    // The fake ends an interrupted turn at once: the shutdown went on at the turn's end, not at the
    // end of the grace.
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
}

#[tokio::test]
async fn queued_generations_end_without_a_turn() {
    let world = World::new().set("FAKE_DELAY_MS", "30000");
    let client = world.builder().concurrency(1).build();
    let first = spawn_until(&client, "first [fake:slow]", Phase::Generating).await;
    let second = spawn_until(&client, "second [fake:slow]", Phase::Queued).await;
    client.shutdown().await;
    assert_eq!(
        (outcome(first).await, outcome(second).await),
        (
            ("runtime/shutting_down", true),
            ("runtime/shutting_down", false)
        )
    );
    let prompts: Vec<Value> = world
        .events("turn_inputs")
        .iter()
        .map(|e| e["params"]["input"][0]["text"].clone())
        .collect();
    assert_eq!(
        prompts.len(),
        1,
        "only the first reached Codex: {prompts:?}"
    );
    assert_eq!(world.events("interrupted").len(), 1);
}

#[tokio::test]
async fn a_turn_that_ignores_its_interrupt_holds_the_shutdown_only_for_the_grace() {
    let world = World::new();
    let client = world
        .builder()
        .interrupt_grace(Duration::from_secs(1))
        .build();
    let task = spawn_until(&client, "stuck [fake:hang]", Phase::Generating).await;
    let began = Instant::now();
    client.shutdown().await;
    let took = began.elapsed();
    assert_eq!(outcome(task).await, ("runtime/shutting_down", true));
    let log = world.log();
    let ignored = position(&log, |e| e["event"] == "interrupt_ignored");
    let eof = position(&log, |e| e["event"] == "stdin_eof");
    assert!(
        ignored.is_some() && ignored < eof,
        "the interrupt {ignored:?} did not reach Codex before stdin closed {eof:?}"
    );
    // The cleanup's waits (the turn's end, `thread/unsubscribe`) are a grace each, and the stop two
    // seconds; a turn that never ends would otherwise hold it forever.
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
}

#[tokio::test]
async fn a_start_under_way_is_abandoned_and_its_process_killed() {
    let world = World::new().set("FAKE_INIT_DELAY_MS", "60000");
    let client = world.client();
    let task = spawn_until(&client, "early", Phase::StartingProcess).await;
    // The fake writes its pid file as soon as it runs.
    let started = eventually_async(DEADLINE, || (!world.server_pids().is_empty()).then_some(()));
    assert!(started.await.is_some(), "the app-server never started");
    let began = Instant::now();
    client.shutdown().await;
    let took = began.elapsed();
    assert_eq!(outcome(task).await, ("runtime/shutting_down", false));
    assert!(
        all_gone(&world.server_pids(), Duration::from_secs(5)).await,
        "the half-started app-server outlived shutdown"
    );
    // Waiting for the start instead would take the 30 s start timeout.
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
    assert_eq!(world.events("turn_inputs").len(), 0);
}

#[tokio::test]
async fn after_shutdown_nothing_starts_a_process() {
    // A client that had a warm process, and one that never started any.
    for warm in [true, false] {
        let world = World::new();
        let client = world.client();
        if warm {
            client
                .generate(GenerateRequest::new("before"))
                .await
                .expect("a generation before shutdown");
        }
        let started = world.server_pids().len();
        client.shutdown().await;

        let clone = client.clone();
        for c in [&client, &clone] {
            let e = c
                .generate(GenerateRequest::new("after"))
                .await
                .expect_err("a generation after shutdown");
            assert_eq!(
                (
                    e.code(),
                    e.retryable(),
                    matches!(
                        e,
                        Error::ShuttingDown {
                            turn_started: false
                        }
                    )
                ),
                ("runtime/shutting_down", false, true),
                "{e}"
            );
        }
        let report = client.preflight().await;
        let app_server = report
            .checks
            .iter()
            .find(|c| c.name.as_str() == "app_server")
            .map(|c| (c.status, c.code));
        assert_eq!(
            (
                report.blocking.as_ref().map(|e| e.code()),
                app_server,
                report.ready()
            ),
            (
                Some("runtime/shutting_down"),
                Some((codex_img::Status::Fail, Some("runtime/shutting_down"))),
                false
            )
        );
        // A second shutdown returns at once; still no process.
        tokio::time::timeout(Duration::from_secs(5), client.shutdown())
            .await
            .expect("a second shutdown returns");
        assert_eq!(
            (warm, world.server_pids().len()),
            (warm, started),
            "a process was started after shutdown"
        );
        assert_eq!(client.app_server_pid().await, None);
    }
}

#[tokio::test]
async fn a_bridge_answers_its_request_in_flight_and_ends_when_its_client_shuts_down() {
    let world = World::new().set("FAKE_DELAY_MS", "30000");
    let client = world.client();
    let mut bridge = support::bridge::Bridge::start(client.clone(), Default::default());
    bridge
        .request(
            serde_json::json!(1),
            "image/generate",
            serde_json::json!({"prompt": "a fox [fake:slow]", "returnBytes": true}),
        )
        .await;
    assert_eq!(
        world.wait_events("turn_inputs", 1, DEADLINE).await.len(),
        1,
        "the turn did not start"
    );
    client.shutdown().await;
    let answer = bridge.answer(&serde_json::json!(1)).await;
    assert_eq!(
        answer["error"]["data"]["code"], "runtime/shutting_down",
        "{answer}"
    );
    let served = tokio::time::timeout(DEADLINE, bridge.task)
        .await
        .expect("the bridge did not end after its client shut down")
        .expect("the bridge did not panic");
    assert!(served.is_ok(), "{served:?}");
    assert_eq!(world.events("interrupted").len(), 1);
}
