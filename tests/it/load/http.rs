//! Load through `codex-img serve-http` (a real process) against the fake app-server: 500
//! `POST /v1/images/generations` one after another on one HTTP/1.1 keep-alive connection, then 32 at
//! once on a connection each, zero failures, every answer one PNG, and the server's open file
//! descriptors and resident memory flat across the 500 (the bounds of `load::bridge`, `Report::assert_flat`).

#![cfg(all(feature = "cli", feature = "http"))]

use std::process::Stdio;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::support::{
    all_gone,
    load::faces::{run_face, summary, HttpFace, HttpProcess},
    World,
};

const SEQUENTIAL: usize = 500;
const AT_ONCE: usize = 32;
const KEY: &str = "load-http-key-0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_in_a_row_and_thirty_two_at_once_with_nothing_growing() {
    let world = World::new();
    let mut command = world.command::<&str>(&[]);
    command
        .args(["serve-http", "--listen", "127.0.0.1:0"])
        .env("CODEX_IMG_HTTP_TOKEN", KEY)
        .env("XDG_CONFIG_HOME", world.dir.path().join("config"))
        .stderr(Stdio::null());
    let server = HttpProcess::spawn(command, Duration::from_secs(60)).expect("spawn serve-http");
    let started = Instant::now();
    let mut face = HttpFace::new(&server, KEY, Duration::from_secs(60));
    let (face, report) = tokio::task::spawn_blocking(move || {
        let report = run_face(&mut face, SEQUENTIAL, AT_ONCE, Duration::from_secs(60));
        (face, report)
    })
    .await
    .expect("the load run did not panic");
    let report = report.expect("the load run completed");
    eprintln!(
        "serve-http load ({:.1} s in all, {} connections):\n{}",
        started.elapsed().as_secs_f64(),
        face.connections,
        summary(&report, "serve-http")
    );
    assert_eq!(report.failures, Vec::<String>::new());
    // The warm-up and the 500 shared one keep-alive connection; the burst opened one more per request
    // beyond it.
    assert_eq!(face.connections, AT_ONCE);

    report.assert_flat();

    drop(face);
    let status = server
        .stop(Duration::from_secs(30))
        .expect("serve-http stops");
    assert!(status.success(), "{status}");
    assert_eq!(world.events("turn_inputs").len(), 1 + SEQUENTIAL + AT_ONCE);
    assert!(
        all_gone(&world.server_pids(), Duration::from_secs(10)).await,
        "an app-server outlived serve-http"
    );
    assert_eq!(world.generated_images(), Vec::<String>::new());
}
