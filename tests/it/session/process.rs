//! The warm process's life: cancellation by drop, shutdown without orphans (checked through the OS),
//! idle shutdown, and respawn after the process dies.

use std::time::Duration;

use codex_img::{GenerateRequest, Phase};
use pretty_assertions::assert_eq;

use crate::support::{alive, all_gone, eventually_async, exited_whole, World};

/// Starts a generation and drops its future once its turn is running.
async fn drop_mid_turn(client: &codex_img::Client, prompt: &str) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let request = GenerateRequest::new(prompt).on_progress(move |p| {
        if p.phase == Phase::Generating {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(());
            }
        }
    });
    tokio::select! {
        _ = client.generate(request) => panic!("the slow generation finished"),
        _ = rx => {} // the turn is running: the future is dropped here
    }
}

#[tokio::test]
async fn dropping_the_future_interrupts_the_turn_and_cleans_up() {
    let world = World::new().set("FAKE_DELAY_MS", "20000");
    let client = world.client();
    drop_mid_turn(&client, "slow one [fake:slow]").await;
    let interrupted = world
        .wait_events("interrupted", 1, Duration::from_secs(5))
        .await;
    assert_eq!(
        interrupted.len(),
        1,
        "the dropped generation's turn was not interrupted"
    );
    let unsubscribed = eventually_async(Duration::from_secs(5), || {
        world
            .log()
            .iter()
            .any(|e| e["msg"]["method"] == "thread/unsubscribe")
            .then_some(())
    });
    assert!(unsubscribed.await.is_some(), "the thread was not released");
    assert_eq!(world.generated_images(), Vec::<String>::new());
    // The process stays warm for the next request.
    client
        .generate(GenerateRequest::new("next"))
        .await
        .expect("image");
    assert_eq!(world.server_pids().len(), 1);
    client.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_process_of_the_group_behind() {
    let world = World::new().set("FAKE_SPAWN_HELPER", "1");
    let client = world.client();
    client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("image");
    let mut pids = world.server_pids();
    pids.extend(world.helper_pids());
    assert_eq!(pids.len(), 2, "server and helper: {pids:?}");
    assert!(pids.iter().all(|p| alive(*p)));
    assert_eq!(client.app_server_pid().await, Some(world.server_pids()[0]));
    client.shutdown().await;
    assert!(
        all_gone(&pids, Duration::from_secs(3)).await,
        "still alive after shutdown: {pids:?}"
    );
    assert_eq!(client.app_server_pid().await, None);
}

#[tokio::test]
async fn a_server_that_ignores_stdin_eof_is_killed_after_the_grace_period() {
    let world = World::new()
        .set("FAKE_SPAWN_HELPER", "1")
        .set("FAKE_IGNORE_STDIN_EOF", "1");
    let client = world
        .builder()
        .shutdown_grace(Duration::from_millis(500))
        .build();
    client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("image");
    let mut pids = world.server_pids();
    pids.extend(world.helper_pids());
    let started = std::time::Instant::now();
    client.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        all_gone(&pids, Duration::from_secs(3)).await,
        "still alive: {pids:?}"
    );
}

#[tokio::test]
async fn dropping_the_client_kills_the_process_group() {
    let world = World::new()
        .set("FAKE_SPAWN_HELPER", "1")
        .set("FAKE_IGNORE_STDIN_EOF", "1");
    let client = world.client();
    client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("image");
    let mut pids = world.server_pids();
    pids.extend(world.helper_pids());
    drop(client);
    assert!(
        all_gone(&pids, Duration::from_secs(5)).await,
        "still alive after drop: {pids:?}"
    );
}

#[tokio::test]
async fn an_idle_process_is_stopped_and_the_next_request_starts_another() {
    let world = World::new();
    let client = world
        .builder()
        .idle_timeout(Duration::from_millis(300))
        .build();
    client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("image");
    let first = world.server_pids();
    assert!(
        all_gone(&first, Duration::from_secs(5)).await,
        "the idle process was not stopped"
    );
    assert_eq!(client.app_server_pid().await, None);
    client
        .generate(GenerateRequest::new("y"))
        .await
        .expect("image");
    assert_eq!(world.server_pids().len(), 2);
    client.shutdown().await;
}

#[tokio::test]
async fn a_process_killed_between_requests_is_replaced() {
    let world = World::new();
    let client = world.client();
    client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("image");
    let pid = world.server_pids()[0];
    kill(pid);
    assert!(exited_whole(pid, Duration::from_secs(5)).await);
    let image = client
        .generate(GenerateRequest::new("y"))
        .await
        .expect("a new process serves");
    assert_eq!(image.width, 64);
    assert_eq!(world.server_pids().len(), 2);
    client.shutdown().await;
}

/// Per process of `world`: whether it stopped reading its stdin, and how many turns it was sent.
fn deaf_and_turns(world: &World, pids: &[i32]) -> Vec<(bool, usize)> {
    let mut seen: Vec<(bool, usize)> = pids
        .iter()
        .map(|pid| {
            let text = std::fs::read_to_string(world.record().join(format!("log-{pid}.jsonl")))
                .unwrap_or_default();
            let events: Vec<serde_json::Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            let count = |name: &str| events.iter().filter(|e| e["event"] == name).count();
            (count("stopped_reading") == 1, count("turn_inputs"))
        })
        .collect();
    seen.sort();
    seen
}

/// A world whose first app-server stops reading its stdin at `fault`, and whose next is healthy.
fn deaf_once(fault: &str) -> World {
    let world = World::new();
    let once = world.dir.path().join("deaf-once");
    world
        .set("FAKE_START_FAULT", fault)
        .set("FAKE_FAULT_ONCE", &once.to_string_lossy())
}

/// One generation on `client`, which must be served by a second process after the first went deaf,
/// with one turn in all, on the new process; then nothing is left after shutdown.
async fn served_by_a_new_process(world: &World, client: codex_img::Client) {
    let image = client
        .generate(GenerateRequest::new("x"))
        .await
        .expect("a new process serves");
    assert_eq!(image.width, 64);
    let pids = world.server_pids();
    assert_eq!(
        deaf_and_turns(world, &pids),
        vec![(false, 1), (true, 0)],
        "one turn, and only on the new process"
    );
    client.shutdown().await;
    assert!(all_gone(&pids, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_process_that_stops_reading_before_any_thread_is_replaced() {
    let world = deaf_once("deaf-after-handshake");
    let client = world.client();
    served_by_a_new_process(&world, client).await;
}

#[tokio::test]
async fn a_turn_start_that_cannot_be_written_moves_to_a_new_process_without_spending() {
    let world = deaf_once("deaf-after-thread-start");
    // No pooled thread: the request's own `thread/start` is the only one, so `turn/start` is the
    // next write, and the first process closed its stdin before it answered that `thread/start`.
    let client = world.builder().thread_pool(0).build();
    served_by_a_new_process(&world, client).await;
}

#[tokio::test]
async fn generations_in_flight_when_the_process_dies_fail_and_are_not_rerun() {
    let world = World::new().set("FAKE_DELAY_MS", "20000");
    let client = world.builder().concurrency(3).build();
    let jobs: Vec<_> = (0..3)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .generate(GenerateRequest::new(format!("slow {i} [fake:slow]")))
                    .await
            })
        })
        .collect();
    let inputs = world
        .wait_events("turn_inputs", 3, Duration::from_secs(5))
        .await;
    assert_eq!(inputs.len(), 3);
    let pid = world.server_pids()[0];
    kill(pid);
    for job in jobs {
        let e = job.await.expect("join").expect_err("the process died");
        assert_eq!(
            (e.code(), e.retryable()),
            ("runtime/app_server_exited", false)
        );
    }
    assert_eq!(
        world.server_pids().len(),
        1,
        "nothing was re-run on a new process"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn shutdown_right_after_a_cancel_still_interrupts_the_turn() {
    let world = World::new().set("FAKE_DELAY_MS", "20000");
    let client = world.client();
    drop_mid_turn(&client, "slow [fake:slow]").await;
    client.shutdown().await;
    let log = world.log();
    let interrupted = log.iter().position(|e| e["event"] == "interrupted");
    let eof = log.iter().position(|e| e["event"] == "stdin_eof");
    assert!(
        interrupted.is_some(),
        "the cancelled turn was never interrupted"
    );
    assert!(
        interrupted < eof,
        "stdin closed before the interrupt: {interrupted:?} {eof:?}"
    );
}

/// SIGKILLs a fake app-server this test started (through the client), by its pid.
fn kill(pid: i32) {
    let pid = rustix::process::Pid::from_raw(pid).expect("a positive pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
}
