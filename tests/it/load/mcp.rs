//! Load through `codex-img serve-mcp` (a real process on pipes, spoken to line by line) against the fake
//! app-server: 500 `generate_image` calls one after another, then 32 at once, zero failures, every
//! image on disk with the size its report gives, and the server's open file descriptors and resident
//! memory flat across the 500 (the bounds of `load::bridge`, `Report::assert_flat`).

#![cfg(all(feature = "cli", feature = "mcp"))]

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::support::{
    all_gone,
    load::faces::{run_face, summary, McpFace},
    load::BridgeProcess,
    World,
};

const SEQUENTIAL: usize = 500;
const AT_ONCE: usize = 32;

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_in_a_row_and_thirty_two_at_once_with_nothing_growing() {
    let world = World::new();
    let root = world.dir.path().join("out");
    std::fs::create_dir_all(&root).expect("mkdir");
    let mut command = world.command::<&str>(&[]);
    command
        .args(["serve-mcp", "--structured", "--root"])
        .arg(&root)
        .env("XDG_CACHE_HOME", world.dir.path().join("cache"));
    let mut server = BridgeProcess::spawn(command).expect("spawn serve-mcp");
    let root_for_run = root.clone();
    let started = Instant::now();
    let (server, report) = tokio::task::spawn_blocking(move || {
        let mut face = McpFace {
            server: &mut server,
            root: &root_for_run,
        };
        let report = face
            .initialize(Duration::from_secs(60))
            .and_then(|()| run_face(&mut face, SEQUENTIAL, AT_ONCE, Duration::from_secs(60)));
        (server, report)
    })
    .await
    .expect("the load run did not panic");
    let report = report.expect("the load run completed");
    eprintln!(
        "serve-mcp load ({:.1} s in all):\n{}",
        started.elapsed().as_secs_f64(),
        summary(&report, "serve-mcp")
    );
    assert_eq!(report.failures, Vec::<String>::new());

    // Flat: a leaked pipe, staging file or socket per call would show as +500 descriptors, and
    // memory stays within a bound far below 500 images' worth.
    report.assert_flat();

    let status = server
        .close(Duration::from_secs(30))
        .expect("serve-mcp exits");
    assert!(status.success(), "{status}");
    // One turn per call (the warm-up included), every image saved, nothing left behind.
    let calls = 1 + SEQUENTIAL + AT_ONCE;
    assert_eq!(world.events("turn_inputs").len(), calls);
    assert_eq!(std::fs::read_dir(&root).expect("list").count(), calls);
    assert!(
        all_gone(&world.server_pids(), Duration::from_secs(10)).await,
        "an app-server outlived serve-mcp"
    );
    assert_eq!(world.generated_images(), Vec::<String>::new());
}
