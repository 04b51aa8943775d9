//! Faults injected into the fake app-server, through the library: crashes around the handshake and
//! mid-turn, hangs and slowness, a closed stdout, bad lines, floods, odd responses and odd image items,
//! megabytes of stderr, overload. For every case, one table row records what was observed: the coded
//! outcome within its deadline, whether the next request on the same client succeeded, whether any
//! app-server process outlived `shutdown` (asked of /proc), and whether a work folder or a Codex image
//! copy was left behind. The whole table is compared at once.
//!
//! It runs alone in a process of its own (`support::run::alone`), because it points that process's
//! TMPDIR at a private folder so that work folders can be counted.

use std::time::{Duration, Instant};

use codex_img::GenerateRequest;
use pretty_assertions::assert_eq;

use crate::support::{all_gone, eventually_async, faults::work_folders, run, World};

/// What one case showed.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    case: &'static str,
    /// `ok`, or the error code (with `retryable` when it is an error).
    outcome: String,
    in_time: bool,
    next_ok: bool,
    orphans: bool,
    left_behind: bool,
}

struct Case {
    name: &'static str,
    prompt: &'static str,
    env: &'static [(&'static str, &'static str)],
    expect: &'static str,
    /// How long the first request may take.
    deadline: Duration,
    /// Whether a start fault fires only in the first process (then the next request must succeed);
    /// a fault that stays is the environment, and the next request fails the same way.
    once: bool,
}

const QUICK: Duration = Duration::from_secs(20);

fn cases() -> Vec<Case> {
    let case = |name, prompt, env, expect, deadline| Case {
        name,
        prompt,
        env,
        expect,
        deadline,
        once: true,
    };
    let stays = |name, env, expect| Case {
        name,
        prompt: "a cat",
        env,
        expect,
        deadline: QUICK,
        once: false,
    };
    vec![
        // A process that dies before any turn cannot have spent quota: a new one is started at once.
        case(
            "crash before the handshake, once",
            "a cat",
            &[("FAKE_START_FAULT", "exit-at-start")],
            "ok",
            QUICK,
        ),
        stays(
            "crash before the handshake, every time",
            &[("FAKE_START_FAULT", "exit-at-start")],
            "runtime/app_server_exited retryable",
        ),
        case(
            "no answer to initialize",
            "a cat",
            &[("FAKE_START_FAULT", "no-initialize-answer")],
            "runtime/timeout",
            QUICK,
        ),
        case(
            "crash after the handshake, once",
            "a cat",
            &[("FAKE_START_FAULT", "exit-on-thread-start")],
            "ok",
            QUICK,
        ),
        stays(
            "crash after the handshake, every time",
            &[("FAKE_START_FAULT", "exit-on-thread-start")],
            "runtime/app_server_exited retryable",
        ),
        case(
            "crash mid-turn",
            "a cat [fake:crash]",
            &[],
            "runtime/app_server_exited",
            QUICK,
        ),
        case(
            "a turn that never answers",
            "a cat [fake:hang]",
            &[],
            "runtime/timeout",
            QUICK,
        ),
        case(
            "a slow start",
            "a cat [fake:complete]",
            &[("FAKE_INIT_DELAY_MS", "1500")],
            "ok",
            QUICK,
        ),
        case(
            "a slow turn",
            "a cat [fake:slow]",
            &[("FAKE_DELAY_MS", "1500")],
            "ok",
            QUICK,
        ),
        case(
            "stdout closed, process alive",
            "a cat [fake:close-stdout]",
            &[],
            "runtime/app_server_exited",
            QUICK,
        ),
        case("a non-JSON line", "a cat [fake:garbage]", &[], "ok", QUICK),
        case(
            "an over-long line",
            "a cat [fake:long-line]",
            &[],
            "ok",
            Duration::from_secs(60),
        ),
        case(
            "a line split across many writes",
            "a cat [fake:split-writes]",
            &[],
            "ok",
            QUICK,
        ),
        case(
            "a flood of unknown messages",
            "a cat [fake:flood]",
            &[],
            "ok",
            Duration::from_secs(60),
        ),
        case(
            "duplicate and unknown response ids",
            "a cat [fake:duplicate-response]",
            &[],
            "ok",
            QUICK,
        ),
        case(
            "overloaded, then free",
            "a cat [fake:complete]",
            &[("FAKE_OVERLOAD_THREAD_STARTS", "2")],
            "ok",
            QUICK,
        ),
        stays(
            "overloaded throughout",
            &[("FAKE_OVERLOAD_THREAD_STARTS", "1000")],
            "runtime/overloaded retryable",
        ),
        case(
            "two images in one turn",
            "a cat [fake:two-images]",
            &[],
            "ok",
            QUICK,
        ),
        case(
            "corrupt base64",
            "a cat [fake:corrupt-base64]",
            &[],
            "runtime/no_image retryable",
            QUICK,
        ),
        case(
            "bytes that are not an image",
            "a cat [fake:not-an-image]",
            &[],
            "runtime/no_image retryable",
            QUICK,
        ),
        case(
            "an empty result",
            "a cat [fake:empty-result]",
            &[],
            "runtime/no_image retryable",
            QUICK,
        ),
        case(
            "megabytes on stderr",
            "a cat [fake:complete]",
            &[("FAKE_STDERR_BYTES", "8000000")],
            "ok",
            Duration::from_secs(60),
        ),
    ]
}

fn outcome<T>(result: &codex_img::Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) if e.retryable() => format!("{} retryable", e.code()),
        Err(e) => e.code().to_owned(),
    }
}

async fn run(case: &Case, tmp: &std::path::Path) -> (Row, Row) {
    let mut world = World::new();
    let flag = world.dir.path().join("fault-fired");
    if case.once {
        world = world.set("FAKE_FAULT_ONCE", flag.to_str().expect("utf-8"));
    }
    for (k, v) in case.env {
        world = world.set(k, v);
    }
    let client = world
        .builder()
        .request_timeout(Duration::from_secs(4))
        .interrupt_grace(Duration::from_secs(1))
        .build();
    let began = Instant::now();
    let first = client.generate(GenerateRequest::new(case.prompt)).await;
    let in_time = began.elapsed() < case.deadline;
    let sent: Vec<String> = world
        .events("image")
        .iter()
        .filter_map(|e| e["sha256"].as_str().map(str::to_owned))
        .collect();
    // Two images: the first one is the one returned.
    if let (Ok(image), Some(first_sent)) = (&first, sent.first()) {
        assert_eq!(
            &image.sha256, first_sent,
            "{}: the returned image",
            case.name
        );
    }
    // The next request, an ordinary one, on the same client (a new process if the old one died).
    let next = client
        .generate(GenerateRequest::new("a dog [fake:complete]"))
        .await;
    let pids = world.server_pids();
    client.shutdown().await;
    let orphans = !all_gone(&pids, Duration::from_secs(10)).await;
    let left_behind = eventually_async(Duration::from_secs(5), || {
        (work_folders(tmp).is_empty() && world.generated_images().is_empty()).then_some(())
    })
    .await
    .is_none();
    let observed = Row {
        case: case.name,
        outcome: outcome(&first),
        in_time,
        next_ok: next.is_ok(),
        orphans,
        left_behind,
    };
    let expected = Row {
        case: case.name,
        outcome: case.expect.to_owned(),
        in_time: true,
        next_ok: case.once,
        orphans: false,
        left_behind: false,
    };
    if observed != expected {
        eprintln!(
            "{}: first {:?}\nnext {:?}",
            case.name,
            first.as_ref().err(),
            next.as_ref().err()
        );
    }
    (observed, expected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_gets_its_coded_outcome_and_leaves_nothing_behind() {
    if !run::alone(
        module_path!(),
        "every_fault_gets_its_coded_outcome_and_leaves_nothing_behind",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    // Alone in this process, so no other test sees the changed environment.
    std::env::set_var("TMPDIR", tmp.path());
    let mut observed = Vec::new();
    let mut expected = Vec::new();
    for case in cases() {
        let (got, want) = run(&case, tmp.path()).await;
        observed.push(got);
        expected.push(want);
    }
    assert_eq!(observed, expected);
}
