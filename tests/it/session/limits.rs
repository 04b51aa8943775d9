//! The plan's limits, end to end against the fake app-server: a spent window announced by
//! `account/rateLimits/updated` refuses the next generations locally (`runtime/usage_limit` with the
//! reset, no `turn/start`) until a host asks to try anyway, and `doctor` shows it; a healthy update
//! refuses nothing; a usage limit or a 429 in the middle of a queue fails the requests behind it at
//! once, with the same code and without a turn, and nothing is retried. The fake's new messages are
//! checked against both schema bundles first, so the tests below stand on real shapes.
//!
//! The update reaches codex-img on a channel of its own, beside the turn's events; the known limit reads
//! that channel before every answer, so the checks below run at once after the turn, with no wait: a
//! limit seen only after some background task ran would make them fail now and then.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use codex_img::{Check, CheckName, Client, Error, GenerateRequest, Status};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{self, bundle::Bundle, World};

/// How many `turn/start` requests the fake received (refused or not).
fn turn_starts(world: &World) -> usize {
    world.sent("turn/start").len()
}

/// The `n`-th snapshot the fake sent in `account/rateLimits/updated`.
fn update_sent(world: &World, n: usize) -> Value {
    world.events("rate_limits_updated")[n]["rateLimits"].clone()
}

fn reset_of(window: &Value) -> i64 {
    window["resetsAt"].as_i64().expect("resetsAt")
}

/// The check `doctor` shows while a known limit holds, as the library words it: the fake's updates
/// name the `codex` bucket.
fn known_limit_check(resets_at: i64) -> Check {
    let refusal = Error::UsageLimit {
        limit_id: Some("codex".to_owned()),
        resets_at: Some(resets_at),
        message: String::new(),
        refused_locally: false,
    };
    Check {
        name: CheckName::KnownLimit,
        status: Status::Fail,
        detail: refusal.to_string(),
        code: Some("runtime/usage_limit"),
        fix: Some(
            "wait for the reset, or send the request with ignore_known_usage_limit".to_owned(),
        ),
    }
}

/// The `known_limit` check `doctor` shows now, if any.
async fn known_limit(client: &Client) -> Option<Check> {
    let report = client.preflight().await;
    report
        .checks
        .into_iter()
        .find(|c| c.name == CheckName::KnownLimit)
}

fn outcome<T>(result: &Result<T, Error>) -> Result<(), (&'static str, Option<i64>)> {
    result
        .as_ref()
        .map(|_| ())
        .map_err(|e| (e.code(), e.resets_at()))
}

// --- the fake's messages against the schemas -------------------------------------------------------

/// One raw session with the fake pretending `version`: every line it sends for each `scenario`'s turn
/// (up to `turn/completed`, or the image for those that then wait), and the answer to a `turn/start`
/// on a thread it forgot.
fn raw_session(version: &str, scenarios: &[&str]) -> (Vec<Value>, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(support::fake_bin())
        .arg("app-server")
        .env("CODEX_HOME", dir.path())
        .env("FAKE_CODEX_VERSION", version)
        .env("FAKE_FORGET_THREADS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the fake");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut send = |message: Value| {
        writeln!(stdin, "{message}").expect("write");
        stdin.flush().expect("flush");
    };
    let mut read = || -> Value {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    };
    send(
        json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}),
    );
    read();
    let mut thread = |id: u64| {
        send(
            json!({"id": id, "method": "thread/start", "params": {"cwd": dir.path(), "ephemeral": true}}),
        );
        let started = read();
        read(); // thread/started
        started["result"]["thread"]["id"]
            .as_str()
            .expect("thread id")
            .to_owned()
    };
    let forgotten = thread(2);
    let live = thread(3);
    send(
        json!({"id": 4, "method": "turn/start", "params": {"threadId": forgotten,
        "input": [{"type": "text", "text": "x"}]}}),
    );
    let refused = read();
    let mut lines = Vec::new();
    for (n, scenario) in scenarios.iter().enumerate() {
        let text = format!("x [fake:{scenario}]");
        send(
            json!({"id": 10 + n, "method": "turn/start", "params": {"threadId": live,
            "input": [{"type": "text", "text": text}]}}),
        );
        loop {
            let line = read();
            let method = line["method"].as_str().unwrap_or_default().to_owned();
            lines.push(line);
            if method == "turn/completed" || method == "item/completed" {
                break;
            }
        }
    }
    drop(stdin);
    let _ = child.wait();
    assert_eq!(refused["id"], 4);
    (lines, refused)
}

#[test]
fn the_fakes_limit_messages_are_real_codex_shapes_in_both_bundles() {
    let scenarios = [
        "rate-limits-spent",
        "rate-limits-fine",
        "usage-limit-updated",
        "too-many-requests",
    ];
    for (version, bundle) in [("0.171.0", Bundle::current()), ("0.122.0", Bundle::floor())] {
        let (lines, refused) = raw_session(version, &scenarios);
        let mut seen = Vec::new();
        for line in &lines {
            let method = line["method"].as_str().unwrap_or_default();
            let definition = match method {
                "account/rateLimits/updated" => "v2/AccountRateLimitsUpdatedNotification",
                "error" => "v2/ErrorNotification",
                "turn/completed" => "v2/TurnCompletedNotification",
                _ => continue,
            };
            bundle.check(&format!("{version} {method}"), definition, &line["params"]);
            seen.push(method.to_owned());
        }
        assert_eq!(
            seen,
            vec![
                "account/rateLimits/updated",
                "account/rateLimits/updated",
                "account/rateLimits/updated",
                "error",
                "turn/completed",
                "error",
                "turn/completed",
            ],
            "{version}"
        );
        let thread = refused["error"]["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("thread not found: "))
            .unwrap_or_else(|| panic!("{refused}"));
        assert_eq!(
            refused["error"],
            json!({"code": -32600, "message": format!("thread not found: {thread}")})
        );
        // The 429 is Codex's retry-limit error with the last status inside `codexErrorInfo`.
        let errors: Vec<&Value> = lines.iter().filter(|l| l["method"] == "error").collect();
        assert_eq!(
            errors[1]["params"]["error"],
            json!({
                "message": "exceeded retry limit, last status: 429 Too Many Requests",
                "codexErrorInfo": {"responseTooManyFailedAttempts": {"httpStatusCode": 429}},
                "additionalDetails": null,
            })
        );
        assert_eq!(errors[1]["params"]["willRetry"], false);
    }
}

// --- account/rateLimits/updated --------------------------------------------------------------------

#[tokio::test]
async fn a_spent_window_in_an_update_refuses_the_next_generation_without_a_turn() {
    let world = World::new();
    let client = world.client();
    // The update arrives during a turn that still delivers its image: it was paid for.
    client
        .generate(GenerateRequest::new(
            "the last one [fake:rate-limits-spent]",
        ))
        .await
        .expect("the image that spent the window");
    let spent = update_sent(&world, 0);
    let resets_at = reset_of(&spent["primary"]);
    assert_eq!(spent["primary"]["usedPercent"], 100);

    // `doctor` shows the limit it learned from the update; its own read of the rate limits (which
    // the fake keeps healthy) passes, so the update is where the limit came from.
    let shown = known_limit(&client).await;
    assert_eq!(shown, Some(known_limit_check(resets_at)));
    let report = client.preflight().await;
    let quota = report
        .checks
        .iter()
        .find(|c| c.name.as_str() == "quota")
        .map(|c| c.status);
    assert_eq!(quota, Some(Status::Pass));

    let refused = client
        .generate(GenerateRequest::new("refused locally"))
        .await;
    assert_eq!(
        outcome(&refused),
        Err(("runtime/usage_limit", Some(resets_at)))
    );
    assert_eq!(turn_starts(&world), 1, "the refusal sent no turn/start");

    // A host may try anyway; then the turn is started.
    client
        .generate(GenerateRequest::new("anyway").ignore_known_usage_limit(true))
        .await
        .expect("an image");
    client.shutdown().await;
    assert_eq!(
        world.prompts(),
        vec!["the last one [fake:rate-limits-spent]", "anyway"]
    );
    assert_eq!(world.generated_images(), Vec::<String>::new());
}

#[tokio::test]
async fn a_healthy_update_refuses_nothing_and_notes_nothing() {
    let world = World::new();
    let client = world.client();
    for prompt in ["healthy [fake:rate-limits-fine]", "next"] {
        client
            .generate(GenerateRequest::new(prompt))
            .await
            .expect("an image");
    }
    assert_eq!(known_limit(&client).await, None);
    // A spent update after the healthy one. Both of the healthy update's resets are later than this
    // one's, and the later reset wins, so had the healthy update been taken for a limit, the reset
    // `doctor` shows would be its own.
    client
        .generate(GenerateRequest::new("spent [fake:rate-limits-spent]"))
        .await
        .expect("an image");
    let fine = update_sent(&world, 0);
    let spent = update_sent(&world, 1);
    assert_eq!(fine["rateLimitReachedType"], Value::Null);
    assert!(reset_of(&fine["primary"]) > reset_of(&spent["primary"]));
    let shown = known_limit(&client).await;
    client.shutdown().await;
    assert_eq!(shown, Some(known_limit_check(reset_of(&spent["primary"]))));
    assert_eq!(
        world.prompts(),
        vec![
            "healthy [fake:rate-limits-fine]",
            "next",
            "spent [fake:rate-limits-spent]"
        ]
    );
}

// --- limits in the middle of a queue ---------------------------------------------------------------

/// Takes every request's place in a one-slot queue at once, then awaits them in order.
async fn queue_of(
    client: &Client,
    prompts: &[&str],
) -> Vec<Result<(), (&'static str, Option<i64>)>> {
    let futures: Vec<_> = prompts
        .iter()
        .map(|p| client.generate(GenerateRequest::new(*p)))
        .collect();
    let mut outcomes = Vec::new();
    for future in futures {
        outcomes.push(outcome(&future.await));
    }
    outcomes
}

#[tokio::test]
async fn a_429_fails_the_queued_requests_at_once_and_nothing_is_retried() {
    let world = World::new();
    let client = world.builder().concurrency(1).build();
    let futures: Vec<_> = [
        "busy [fake:too-many-requests]",
        "queued 1",
        "queued 2",
        "queued 3",
    ]
    .iter()
    .map(|p| client.generate(GenerateRequest::new(*p)))
    .collect();
    let mut errors = Vec::new();
    for future in futures {
        errors.push(future.await.expect_err("a 429"));
    }
    let seen: Vec<(&str, bool, String)> = errors
        .iter()
        .map(|e| match e {
            Error::RateLimited { message } => (e.code(), e.retryable(), message.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let queued = (
        "runtime/rate_limited",
        true,
        "not started: a request before it in the queue was answered 429".to_owned(),
    );
    assert_eq!(
        seen,
        vec![
            (
                "runtime/rate_limited",
                true,
                "exceeded retry limit, last status: 429 Too Many Requests".to_owned()
            ),
            queued.clone(),
            queued.clone(),
            queued,
        ]
    );
    // One turn, never retried; the queued ones wrote no turn/start.
    assert_eq!(world.prompts(), vec!["busy [fake:too-many-requests]"]);
    assert_eq!(turn_starts(&world), 1);

    // A 429 carries no reset time, so nothing is refused afterwards: the next request is sent.
    client
        .generate(GenerateRequest::new("a minute later"))
        .await
        .expect("an image");
    let report = client.preflight().await;
    client.shutdown().await;
    assert!(!report
        .checks
        .iter()
        .any(|c| c.name == CheckName::KnownLimit));
    assert_eq!(
        world.prompts(),
        vec!["busy [fake:too-many-requests]", "a minute later"]
    );
}

#[tokio::test]
async fn a_usage_limit_whose_reset_came_in_an_update_fails_the_queue_with_that_reset() {
    let world = World::new();
    let client = world.builder().concurrency(1).build();
    // The turn's error has no reset time (Codex words it into the message); the update just before
    // it has one, and the fake's own rate-limit read is healthy, so the update is the only source.
    let outcomes = queue_of(
        &client,
        &["limit [fake:usage-limit-updated]", "queued 1", "queued 2"],
    )
    .await;
    let resets_at = reset_of(&update_sent(&world, 0)["primary"]);
    assert_eq!(
        outcomes,
        vec![Err(("runtime/usage_limit", Some(resets_at))); 3]
    );
    assert_eq!(world.prompts(), vec!["limit [fake:usage-limit-updated]"]);

    let refused = client.generate(GenerateRequest::new("later")).await;
    client.shutdown().await;
    assert_eq!(
        outcome(&refused),
        Err(("runtime/usage_limit", Some(resets_at)))
    );
    assert_eq!(
        turn_starts(&world),
        1,
        "nothing after the limit sent a turn/start"
    );
}

#[tokio::test]
async fn a_spent_window_announced_mid_queue_refuses_the_requests_behind_it() {
    let world = World::new();
    let client = world.builder().concurrency(1).build();
    // The first delivers its image (paid for) and announces that the window is now spent; the
    // requests queued behind it must not spend a model request to learn that.
    let outcomes = queue_of(
        &client,
        &[
            "the last one [fake:rate-limits-spent]",
            "queued 1",
            "queued 2",
        ],
    )
    .await;
    client.shutdown().await;
    let resets_at = reset_of(&update_sent(&world, 0)["primary"]);
    assert_eq!(
        outcomes,
        vec![
            Ok(()),
            Err(("runtime/usage_limit", Some(resets_at))),
            Err(("runtime/usage_limit", Some(resets_at))),
        ]
    );
    assert_eq!(
        world.prompts(),
        vec!["the last one [fake:rate-limits-spent]"]
    );
    assert_eq!(turn_starts(&world), 1);
}

/// The `quota` check `doctor` shows now.
async fn quota_check(client: &Client) -> Check {
    let report = client.preflight().await;
    report
        .checks
        .into_iter()
        .find(|c| c.name == CheckName::Quota)
        .expect("a quota check")
}

#[tokio::test]
async fn doctor_names_every_bucket_and_says_when_codex_reports_no_image_bucket() {
    // Codex's own bucket is healthy, and no image bucket is reported: doctor does not read the first
    // as saying that an image can be made.
    let world = World::new();
    let client = world.client();
    let report = client.preflight().await;
    let buckets: Vec<Option<String>> = report
        .rate_limits
        .iter()
        .map(|w| w.limit_id.clone())
        .collect();
    assert_eq!(
        buckets,
        vec![Some("codex".to_owned()), Some("codex".to_owned())]
    );
    let quota = quota_check(&client).await;
    assert_eq!(
        (quota.status, quota.detail),
        (
            Status::Pass,
            "codex: 12% of the 5-hour window, 30% of the 7-day window; no image_gen bucket reported: whether an image can be made shows only when one is asked for".to_owned()
        )
    );
    client.shutdown().await;

    let world = World::new().set("FAKE_IMAGE_BUCKET", "40");
    let client = world.client();
    let quota = quota_check(&client).await;
    assert_eq!(
        (quota.status, quota.detail),
        (
            Status::Pass,
            "codex: 12% of the 5-hour window, 30% of the 7-day window; image_gen: 40% of the 1-day window".to_owned()
        )
    );
    client.shutdown().await;
}

#[tokio::test]
async fn a_spent_image_bucket_is_named_by_doctor_and_by_the_refusal_while_codex_has_quota_left() {
    let world = World::new().set("FAKE_IMAGE_BUCKET", "100");
    let client = world.client();
    let report = client.preflight().await;
    let blocking = report.blocking.clone().expect("a spent bucket blocks");
    assert_eq!(
        (blocking.code(), blocking.limit_id()),
        ("runtime/usage_limit", Some("image_gen"))
    );
    let quota = report
        .checks
        .iter()
        .find(|c| c.name == CheckName::Quota)
        .cloned()
        .expect("a quota check");
    assert_eq!(quota.status, Status::Fail);
    assert!(
        quota.detail.starts_with("the ChatGPT plan's usage limit for image generation (`image_gen`) is reached until ")
            && quota.detail.ends_with("(codex: 12% of the 5-hour window, 30% of the 7-day window; image_gen: 100% of the 1-day window)"),
        "{}",
        quota.detail
    );
    // Doctor remembered the spent bucket: the next request is refused without a turn, naming it.
    let refused = client
        .generate(GenerateRequest::new("refused locally"))
        .await
        .expect_err("refused");
    assert_eq!(
        (
            refused.code(),
            refused.limit_id(),
            refused.refused_locally()
        ),
        ("runtime/usage_limit", Some("image_gen"), true)
    );
    assert_eq!(turn_starts(&world), 0);
    client.shutdown().await;
}

#[tokio::test]
async fn the_image_items_failure_names_its_bucket_and_the_known_limit_keeps_the_name() {
    let world = World::new();
    let client = world.client();
    let e = client
        .generate(GenerateRequest::new("a fox [fake:usage-limit-item]"))
        .await
        .expect_err("the image bucket is spent");
    assert_eq!(
        (e.code(), e.limit_id(), e.refused_locally()),
        ("runtime/usage_limit", Some("image_gen"), false)
    );
    let again = client
        .generate(GenerateRequest::new("another"))
        .await
        .expect_err("refused locally");
    assert_eq!(
        (again.limit_id(), again.resets_at(), again.refused_locally()),
        (Some("image_gen"), e.resets_at(), true)
    );
    let shown = known_limit(&client)
        .await
        .expect("doctor shows the known limit");
    assert!(
        shown.detail.contains("for image generation (`image_gen`)"),
        "{}",
        shown.detail
    );
    assert_eq!(turn_starts(&world), 1);
    client.shutdown().await;
}
