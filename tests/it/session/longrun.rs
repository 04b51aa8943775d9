//! A codex-img that runs for weeks, against the fake app-server: an idle process that made enough
//! images is replaced with its threads started ahead, and only when no request is anywhere between
//! its call and its answer; a request that arrives during a replacement is served at once, without an
//! error; a Codex upgraded or downgraded underneath is run, gated and reported; a logout, an API-key
//! login and a new ChatGPT login are followed without a restart, each failing before any turn with the
//! login's own code.
//!
//! Each process of the fake writes its own record (`log-<pid>.jsonl`), so the tests read which process
//! served which turn, and that a replaced process was told to stop (`stdin_eof`) only after its last
//! turn ended.

use std::path::Path;
use std::time::Duration;

use codex_img::{CheckName, Client, GenerateRequest, Status};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::support::{all_gone, eventually_async, eventually_await, World};

fn request(name: &str) -> GenerateRequest {
    GenerateRequest::new(format!("a lighthouse, {name}"))
}

/// One process's record.
fn process_log(world: &World, pid: i32) -> Vec<Value> {
    std::fs::read_to_string(world.record().join(format!("log-{pid}.jsonl")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// How many turns process `pid` started.
fn turns_on(world: &World, pid: i32) -> usize {
    process_log(world, pid)
        .iter()
        .filter(|e| e["event"] == "turn_inputs")
        .count()
}

/// Each process that ran a turn, with how many. Read from the fake's records rather than asked of the
/// client: a recycle may already have begun by the time the test looks.
fn with_turns(world: &World) -> Vec<(i32, usize)> {
    world
        .server_pids()
        .into_iter()
        .map(|pid| (pid, turns_on(world, pid)))
        .filter(|(_, turns)| *turns > 0)
        .collect()
}

/// Every turn of process `pid` made its image and ended (interrupted by codex-img once it held the
/// image) before the process was told to stop: `(images made, all before the stop)`.
fn ended_before_stop(world: &World, pid: i32) -> (usize, bool) {
    let log = process_log(world, pid);
    let at = |e: &Value| e["atMs"].as_u64().unwrap_or(u64::MAX);
    let images: Vec<u64> = log
        .iter()
        .filter(|e| e["event"] == "image")
        .map(at)
        .collect();
    let finished: Vec<u64> = log
        .iter()
        .filter(|e| e["event"] == "turn_finished")
        .map(at)
        .collect();
    if finished.len() != images.len() {
        return (images.len(), false);
    }
    let stop = log.iter().find(|e| e["event"] == "stdin_eof").map(at);
    let after = stop.is_some_and(|s| images.iter().chain(&finished).all(|e| *e <= s));
    (images.len(), after)
}

/// Polls, for up to `within`, until the client runs another process than `old`; returns it.
async fn replaced(client: &Client, old: i32, within: Duration) -> Option<i32> {
    eventually_await(within, || async {
        client.app_server_pid().await.filter(|p| *p != old)
    })
    .await
}

#[tokio::test]
async fn an_idle_process_that_made_enough_images_is_replaced_and_the_next_request_stays_warm() {
    let world = World::new();
    let client = world
        .builder()
        .thread_pool(2)
        .recycle_after_images(Some(2))
        .build();
    for name in ["1.png", "2.png"] {
        client.generate(request(name)).await.expect("image");
    }
    let served = with_turns(&world);
    assert_eq!(served.len(), 1, "one process made both: {served:?}");
    let old = served[0].0;
    // The manager looks every 2 s; the new process starts its threads before it takes over.
    let new = replaced(&client, old, Duration::from_secs(20))
        .await
        .expect("the process is replaced once idle");
    assert!(
        all_gone(&[old], Duration::from_secs(10)).await,
        "the old process stops"
    );
    assert_eq!(ended_before_stop(&world, old), (2, true));

    let third = client.generate(request("3.png")).await.expect("image");
    assert_eq!(
        (third.timings.process_start, third.timings.thread_start),
        (None, Duration::ZERO),
        "no process start and a thread started ahead: as warm as before the recycle"
    );
    assert_eq!((turns_on(&world, old), turns_on(&world, new)), (2, 1));
    let report = client.preflight().await;
    let state = report.app_server.expect("the process serving now");
    assert_eq!((state.images, state.recycles), (1, 1));
    assert!(cfg!(not(target_os = "linux")) || state.tree_rss_bytes.is_some_and(|b| b > 0));
    client.shutdown().await;
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn no_process_is_replaced_while_a_request_runs_or_waits() {
    // Each turn takes longer than the manager's look (2 s), one runs at a time and two wait behind it:
    // from the first call to the last answer some request always holds or waits for a place.
    let world = World::new()
        .set("FAKE_SCENARIO", "slow")
        .set("FAKE_DELAY_MS", "2500");
    let client = world
        .builder()
        .concurrency(1)
        .recycle_after_images(Some(1))
        .build();
    // Each call takes its place when made, so the three are queued in this order.
    let (a, b, c) = tokio::join!(
        client.generate(request("a.png")),
        client.generate(request("b.png")),
        client.generate(request("c.png")),
    );
    for result in [a, b, c] {
        result.expect("every request gets its image");
    }
    // A replacement may begin the moment the last answer is out; none may have come between them.
    let served = with_turns(&world);
    assert_eq!(served.len(), 1, "one process served all three: {served:?}");
    let (old, turns) = served[0];
    assert_eq!(turns, 3);
    // Quiet now, with three images made: replaced.
    replaced(&client, old, Duration::from_secs(20))
        .await
        .expect("the process is replaced once idle");
    assert!(all_gone(&[old], Duration::from_secs(10)).await);
    assert_eq!(ended_before_stop(&world, old), (3, true));
    client.shutdown().await;
}

#[tokio::test]
async fn a_request_that_arrives_during_a_recycle_is_served_at_once_without_an_error() {
    // Each process takes 1.5 s to answer `initialize`, so the replacement is visibly under way (its
    // process exists) when the request arrives.
    let world = World::new().set("FAKE_INIT_DELAY_MS", "1500");
    let client = world
        .builder()
        .thread_pool(2)
        .recycle_after_images(Some(1))
        .build();
    client.generate(request("1.png")).await.expect("image");
    let old = client.app_server_pid().await.expect("a process");
    eventually_async(Duration::from_secs(20), || {
        (world.server_pids().len() >= 2).then_some(())
    })
    .await
    .expect("a replacement began");
    let during = client
        .generate(request("2.png"))
        .await
        .expect("served during the recycle");
    assert_eq!(
        (during.timings.process_start, during.timings.thread_start),
        (None, Duration::ZERO),
        "it waited for no process and no thread"
    );
    let new = replaced(&client, old, Duration::from_secs(20))
        .await
        .expect("the replacement completes");
    assert!(all_gone(&[old], Duration::from_secs(10)).await);
    // Whichever process served it, its turn ended before that process was stopped.
    let (ended, after) = ended_before_stop(&world, old);
    assert!(after, "the old process was stopped before its turns ended");
    assert_eq!(ended + turns_on(&world, new), 2);
    client.shutdown().await;
}

fn write_version(file: &Path, version: &str) {
    std::fs::write(file, version).expect("write the version");
}

#[tokio::test]
async fn codex_changed_underneath_is_run_gated_and_reported_while_codex_img_keeps_answering() {
    let world = World::new();
    let version_file = world.dir.path().join("codex-version");
    write_version(&version_file, "0.169.0");
    let world = world.set(
        "FAKE_CODEX_VERSION_FILE",
        &version_file.display().to_string(),
    );
    // Due after two images: after the first, nothing is replaced while the test looks.
    let client = world.builder().recycle_after_images(Some(2)).build();
    let before = client.generate(request("1.png")).await.expect("image");
    assert_eq!(before.codex_version, "0.169.0");

    // An upgrade while the process runs: doctor says what the next process will run.
    write_version(&version_file, "0.171.0");
    let report = client.preflight().await;
    let version = report
        .checks
        .iter()
        .find(|c| c.name == CheckName::Version)
        .cloned();
    assert_eq!(
        version.map(|c| (c.status, c.detail)),
        Some((
            Status::Pass,
            "0.169.0 (at least 0.122.0); Codex 0.171.0 is installed now, and the next app-server will run it".to_owned()
        ))
    );
    // Its second image makes it due: once idle it is replaced, and the new one runs the upgrade.
    let second = client.generate(request("2.png")).await.expect("image");
    assert_eq!(second.codex_version, "0.169.0");
    let served = with_turns(&world);
    assert_eq!(served.len(), 1, "one process made both: {served:?}");
    replaced(&client, served[0].0, Duration::from_secs(20))
        .await
        .expect("replaced");
    let after = client.generate(request("3.png")).await.expect("image");
    assert_eq!(after.codex_version, "0.171.0");
    let report = client.preflight().await;
    assert_eq!(
        (
            report.version.as_deref(),
            report.previous_version.as_deref()
        ),
        (Some("0.171.0"), Some("0.169.0"))
    );

    // A downgrade below the floor: the running process keeps serving, doctor warns, and no
    // replacement is made with it.
    write_version(&version_file, "0.100.0");
    let report = client.preflight().await;
    let version = report
        .checks
        .iter()
        .find(|c| c.name == CheckName::Version)
        .cloned()
        .expect("a version check");
    assert_eq!(version.status, Status::Warn);
    assert!(
        version
            .detail
            .contains("the Codex installed now will not run")
            && version.detail.contains("0.100.0"),
        "{}",
        version.detail
    );
    assert!(report.ready(), "the running process still generates");
    // Its second image makes it due; its replacement would run 0.100.0, which the gate refuses, so it
    // keeps serving.
    client
        .generate(request("4.png"))
        .await
        .expect("served by the running process");

    // Once that process is gone, the next request meets the gate, with the first start's code, and
    // spends nothing; the server answers it and the next ones.
    client.shutdown().await;
    let client = world.builder().build();
    let refused = client
        .generate(request("5.png"))
        .await
        .expect_err("below the floor");
    assert_eq!(refused.code(), "preflight/unsupported_version");
    let report = client.preflight().await;
    assert_eq!(
        report.blocking.map(|e| e.code()),
        Some("preflight/unsupported_version")
    );
    write_version(&version_file, "0.171.0");
    client
        .generate(request("6.png"))
        .await
        .expect("works again once upgraded");
    client.shutdown().await;
}

fn login(world: &World, mode: Option<&str>) {
    let auth = world.home().join("auth.json");
    match mode {
        Some(mode) => {
            std::fs::write(&auth, format!(r#"{{"auth_mode": "{mode}"}}"#)).expect("write")
        }
        None => std::fs::remove_file(&auth).expect("logout"),
    }
}

/// How many `turn/start` requests every process received.
fn turn_starts(world: &World) -> usize {
    world.sent("turn/start").len()
}

#[tokio::test]
async fn a_logout_an_api_key_login_and_a_new_login_are_followed_without_a_restart() {
    let world = World::new().set("FAKE_LOGIN", "auth-file");
    login(&world, Some("chatgpt"));
    let client = world.client();
    client.generate(request("1.png")).await.expect("signed in");
    assert_eq!(turn_starts(&world), 1);

    // A running app-server does not see a logout (measured on real Codex): codex-img does, before
    // any turn, and the new process it starts reads the login afresh.
    login(&world, None);
    let e = client
        .generate(request("2.png"))
        .await
        .expect_err("logged out");
    assert_eq!(e.code(), "preflight/not_signed_in");
    let report = client.preflight().await;
    let login_check = report
        .checks
        .iter()
        .find(|c| c.name == CheckName::Login)
        .cloned();
    assert_eq!(
        login_check.map(|c| (c.status, c.code)),
        Some((Status::Fail, Some("preflight/not_signed_in")))
    );

    login(&world, Some("apikey"));
    let e = client
        .generate(request("3.png"))
        .await
        .expect_err("an API key");
    assert_eq!(e.code(), "preflight/api_key_login");
    assert_eq!(
        turn_starts(&world),
        1,
        "no turn for a request the login refuses"
    );

    login(&world, Some("chatgpt"));
    client
        .generate(request("4.png"))
        .await
        .expect("signed in again");
    assert_eq!(turn_starts(&world), 2);
    assert!(client.preflight().await.ready());
    client.shutdown().await;
    assert!(
        all_gone(&world.server_pids(), Duration::from_secs(10)).await,
        "every process started along the way is gone"
    );
}

#[tokio::test]
async fn a_shutdown_during_a_recycle_leaves_no_process() {
    // Each process takes 1.5 s to answer `initialize`: the shutdown comes while the new one starts.
    let world = World::new().set("FAKE_INIT_DELAY_MS", "1500");
    let client = world.builder().recycle_after_images(Some(1)).build();
    client.generate(request("1.png")).await.expect("image");
    eventually_async(Duration::from_secs(20), || {
        (world.server_pids().len() >= 2).then_some(())
    })
    .await
    .expect("a replacement began");
    client.shutdown().await;
    let pids = world.server_pids();
    assert!(
        all_gone(&pids, Duration::from_secs(5)).await,
        "processes outlived the shutdown: {pids:?}"
    );
    assert_eq!(client.app_server_pid().await, None);
}
