//! Speed without spending more: threads started ahead, answers before cleanup, the queue served in
//! arrival order, and usage limits that stop the queue and refuse locally. Checked through the fake's
//! record and the file system.

use std::time::Duration;

use codex_img::{GenerateRequest, Status};
use pretty_assertions::assert_eq;

use crate::support::{self, World};

fn methods(world: &World) -> Vec<String> {
    world
        .log()
        .into_iter()
        .filter(|e| e["dir"] == "in")
        .filter_map(|e| e["msg"]["method"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn threads_are_started_ahead_without_a_turn_and_a_request_uses_one() {
    let world = World::new();
    let client = world.builder().thread_pool(2).build();
    // The doctor starts the process; the pool fills in the background, and no turn is started.
    let report = client.preflight().await;
    assert!(report.ready(), "{:?}", report.checks);
    let started = world.wait_sent("thread/start", 2).await;
    assert_eq!(started.len(), 2);
    assert!(
        !methods(&world).iter().any(|m| m == "turn/start"),
        "prestarting spent a turn: {:?}",
        methods(&world)
    );
    let image = client
        .generate(GenerateRequest::new("a red fox"))
        .await
        .expect("image");
    // Zero: the request waited for no thread/start (only a pre-started thread gives that).
    assert_eq!(image.timings.thread_start, Duration::ZERO);
    let turns = world.sent("turn/start");
    assert_eq!(turns.len(), 1);
    let used = turns[0]["params"]["threadId"].as_str().expect("thread id");
    assert_eq!(used, image.ids.thread_id);
    // Each pooled thread's cwd is its own empty folder, and the request staged nothing else there.
    let cwds: Vec<String> = started
        .iter()
        .map(|s| s["params"]["cwd"].as_str().expect("cwd").to_owned())
        .collect();
    assert_ne!(cwds[0], cwds[1]);
    client.shutdown().await;
    // Shutdown released every thread it started (used or pooled) and removed every folder.
    let all_started = world.sent("thread/start");
    let released: Vec<String> = world
        .sent("thread/unsubscribe")
        .iter()
        .map(|u| u["params"]["threadId"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(released.len(), all_started.len(), "{released:?}");
    assert!(released.iter().any(|r| r == used));
    for s in &all_started {
        let cwd = s["params"]["cwd"].as_str().expect("cwd");
        assert!(!std::path::Path::new(cwd).exists(), "{cwd} was left");
    }
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn a_pool_of_zero_starts_no_thread_ahead() {
    let world = World::new();
    let client = world.builder().thread_pool(0).build();
    assert!(client.preflight().await.ready());
    let image = client
        .generate(GenerateRequest::new("a red fox"))
        .await
        .expect("image");
    client.shutdown().await;
    // One thread, started for the request; the record shows it before its turn.
    let order: Vec<String> = methods(&world)
        .into_iter()
        .filter(|m| m == "thread/start" || m == "turn/start")
        .collect();
    assert_eq!(order, vec!["thread/start", "turn/start"]);
    assert_eq!(
        world.sent("turn/start")[0]["params"]["threadId"],
        image.ids.thread_id.as_str()
    );
}

#[tokio::test]
async fn sequential_requests_each_get_a_fresh_thread() {
    let world = World::new();
    let client = world.builder().thread_pool(1).build();
    let mut threads = Vec::new();
    for i in 0..4 {
        let image = client
            .generate(GenerateRequest::new(format!("picture {i}")))
            .await
            .expect("image");
        threads.push(image.ids.thread_id);
    }
    client.shutdown().await;
    let mut unique = threads.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "a thread is never reused: {threads:?}");
    assert_eq!(world.events("turn_inputs").len(), 4);
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn a_pool_dies_with_its_process_and_the_next_request_spends_one_turn() {
    let world = World::new();
    let client = world.builder().thread_pool(2).build();
    assert!(client.preflight().await.ready());
    world.wait_sent("thread/start", 2).await;
    let pid = client.app_server_pid().await.expect("a process");
    let target = rustix::process::Pid::from_raw(pid).expect("a positive pid");
    rustix::process::kill_process(target, rustix::process::Signal::KILL).expect("kill");
    assert!(support::all_gone(&[pid], Duration::from_secs(5)).await);
    let image = client
        .generate(GenerateRequest::new("after the crash"))
        .await
        .expect("image");
    client.shutdown().await;
    assert_eq!(world.server_pids().len(), 2);
    assert_eq!(
        world.events("turn_inputs").len(),
        1,
        "one turn, on the new process"
    );
    assert_eq!(
        world.events("image")[0]["threadId"],
        image.ids.thread_id.as_str()
    );
}

#[tokio::test]
async fn the_queue_is_served_in_the_order_generate_was_called() {
    // One slot and a slow first turn: five more requests queue behind it. Their futures are polled
    // in reverse order, so a queue position taken at the first poll would serve them backwards.
    let world = World::new().set("FAKE_DELAY_MS", "300");
    let client = world.builder().concurrency(1).build();
    let mut futures = vec![client.generate(GenerateRequest::new("first [fake:slow]"))];
    for i in 1..=5 {
        futures.push(client.generate(GenerateRequest::new(format!("queued {i}"))));
    }
    let mut tasks = Vec::new();
    for future in futures.into_iter().rev() {
        tasks.push(tokio::spawn(future));
    }
    for task in tasks {
        task.await.expect("join").expect("image");
    }
    client.shutdown().await;
    assert_eq!(
        world.prompts(),
        vec![
            "first [fake:slow]",
            "queued 1",
            "queued 2",
            "queued 3",
            "queued 4",
            "queued 5"
        ]
    );
}

#[tokio::test]
async fn a_usage_limit_fails_the_queue_and_refuses_until_the_reset() {
    let world = World::new();
    let client = world.builder().concurrency(1).build();
    // All four take their places now; the first reaches the limit, the rest never start a turn.
    let futures: Vec<_> = std::iter::once("limit [fake:usage-limit-item]".to_owned())
        .chain((1..=3).map(|i| format!("queued {i}")))
        .map(|p| client.generate(GenerateRequest::new(p)))
        .collect();
    let mut outcomes = Vec::new();
    for future in futures {
        outcomes.push(future.await);
    }
    let resets_at = world.events("usage_limit")[0]["resetsAt"]
        .as_i64()
        .expect("resetsAt");
    let codes: Vec<_> = outcomes
        .iter()
        .map(|o| {
            o.as_ref()
                .map(|_| ())
                .map_err(|e| (e.code(), e.resets_at()))
        })
        .collect();
    assert_eq!(
        codes,
        vec![Err(("runtime/usage_limit", Some(resets_at))); 4]
    );
    assert_eq!(world.prompts(), vec!["limit [fake:usage-limit-item]"]);

    // A new request is refused locally until the reset, with no turn.
    let refused = client
        .generate(GenerateRequest::new("later"))
        .await
        .expect_err("refused");
    assert_eq!(
        (refused.code(), refused.resets_at()),
        ("runtime/usage_limit", Some(resets_at))
    );
    assert_eq!(world.prompts().len(), 1, "the refusal spent no turn");

    // The doctor shows it, as the same blocking error.
    let report = client.preflight().await;
    let line = report
        .checks
        .iter()
        .find(|c| c.name == codex_img::CheckName::KnownLimit)
        .expect("a known_limit check");
    assert_eq!(
        (line.status, line.code),
        (Status::Fail, Some("runtime/usage_limit"))
    );
    let blocking = report.blocking.as_ref().expect("blocking");
    assert_eq!(
        (blocking.code(), blocking.resets_at()),
        ("runtime/usage_limit", Some(resets_at))
    );

    // A host may try anyway: the request reaches Codex.
    client
        .generate(GenerateRequest::new("anyway").ignore_known_usage_limit(true))
        .await
        .expect("image");
    assert_eq!(
        world.prompts(),
        vec!["limit [fake:usage-limit-item]", "anyway"]
    );
    client.shutdown().await;
}

#[tokio::test]
async fn a_client_told_to_ignore_known_limits_keeps_sending() {
    let world = World::new();
    let client = world.builder().ignore_known_usage_limit(true).build();
    let e = client
        .generate(GenerateRequest::new("limit [fake:usage-limit-item]"))
        .await
        .expect_err("limit");
    assert_eq!(e.code(), "runtime/usage_limit");
    client
        .generate(GenerateRequest::new("next"))
        .await
        .expect("image");
    client.shutdown().await;
    assert_eq!(
        world.prompts(),
        vec!["limit [fake:usage-limit-item]", "next"]
    );
}

#[tokio::test]
async fn the_answer_does_not_wait_for_the_turn_to_end() {
    // The turn never ends after its image and ignores the interrupt, so a cleanup waits its whole
    // grace. An answer that waited for it would miss the outer deadline, which is shorter.
    let world = World::new();
    let grace = Duration::from_secs(6);
    let client = world.builder().interrupt_grace(grace).build();
    let image = tokio::time::timeout(
        grace - Duration::from_millis(1500),
        client.generate(GenerateRequest::new("x [fake:image-then-hang]")),
    )
    .await
    .expect("the answer waited for the cleanup")
    .expect("image");
    assert_eq!(image.width, 64);
    // Shutdown waits for that cleanup: the interrupt went out and Codex's copy is gone.
    client.shutdown().await;
    assert_eq!(world.events("interrupt_ignored").len(), 1);
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

/// Figures against the fake app-server, printed, never asserted (CI does not time things):
/// `cargo test --test it session::speed -- --ignored --nocapture measure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints timings; run by hand"]
async fn measure_pool_and_concurrency() {
    async fn sequential_p50(pool: usize, n: usize) -> (Duration, Duration) {
        let world = World::new();
        let client = world.builder().thread_pool(pool).build();
        assert!(client.preflight().await.ready());
        // Let the pool fill, as it would between a host's requests.
        world.wait_sent("thread/start", pool).await;
        let mut totals = Vec::new();
        let mut threads = Vec::new();
        for i in 0..n {
            let image = client
                .generate(GenerateRequest::new(format!("p{i} [fake:complete]")))
                .await
                .expect("image");
            totals.push(image.timings.total);
            threads.push(image.timings.thread_start);
        }
        client.shutdown().await;
        totals.sort();
        threads.sort();
        (totals[n / 2], threads[n / 2])
    }
    async fn burst(concurrency: usize, n: usize) -> Duration {
        let world = World::new().set("FAKE_DELAY_MS", "1000");
        let client = world.builder().concurrency(concurrency).build();
        assert!(client.preflight().await.ready());
        world.wait_sent("thread/start", 2).await;
        let began = std::time::Instant::now();
        let futures: Vec<_> = (0..n)
            .map(|i| client.generate(GenerateRequest::new(format!("b{i} [fake:slow]"))))
            .collect();
        let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        for task in tasks {
            task.await.expect("join").expect("image");
        }
        let took = began.elapsed();
        client.shutdown().await;
        took
    }
    let (with_pool, with_thread) = sequential_p50(2, 41).await;
    let (without_pool, without_thread) = sequential_p50(0, 41).await;
    println!("sequential p50 total, pool 2: {with_pool:?} (thread_start p50 {with_thread:?})");
    println!(
        "sequential p50 total, pool 0: {without_pool:?} (thread_start p50 {without_thread:?})"
    );
    let one = burst(4, 1).await;
    for concurrency in [4, 8] {
        let eight = burst(concurrency, 8).await;
        println!(
            "1 s turns, concurrency {concurrency}: 8 at once {eight:?} / 1 alone {one:?} = {:.2}",
            eight.as_secs_f64() / one.as_secs_f64()
        );
    }
}
