//! Load through `codex-img serve-stdio` (a real process) against the fake app-server, bounded for
//! `cargo test`: 100 generations in a row and 16 at once, zero failures, and the bridge's open file
//! descriptors and resident memory flat across the 100. `examples/load.rs` runs the full 500 and 32.

use std::time::Duration;

use pretty_assertions::assert_eq;

use crate::support::{self, all_gone, load::BridgeProcess, World};

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_in_a_row_and_sixteen_at_once_with_nothing_growing() {
    let world = World::new();
    let root = world.dir.path().join("out");
    std::fs::create_dir_all(&root).expect("mkdir");
    let mut command = world.command::<&str>(&[]);
    command.args(["serve-stdio", "--root"]).arg(&root);
    let mut bridge = BridgeProcess::spawn(command).expect("spawn serve-stdio");
    let root_for_run = root.clone();
    let (bridge, report) = tokio::task::spawn_blocking(move || {
        let report =
            support::load::run(&mut bridge, &root_for_run, 100, 16, Duration::from_secs(60));
        (bridge, report)
    })
    .await
    .expect("the load run did not panic");
    let report = report.expect("the load run completed");
    eprintln!("{}", report.summary());
    assert_eq!(report.failures, Vec::<String>::new());

    // Flat: the same descriptors after 100 generations as after one (a leaked pipe, staging file or
    // socket per generation would show as +100), and memory within a bound far below 100 images' worth.
    report.assert_flat();

    let status = bridge
        .close(Duration::from_secs(20))
        .expect("the bridge exits");
    assert!(status.success(), "{status}");
    // One turn per generation, no more (the warm-up included); every image saved; nothing left behind.
    assert_eq!(world.events("turn_inputs").len(), 1 + 100 + 16);
    assert_eq!(
        std::fs::read_dir(&root).expect("list").count(),
        1 + 100 + 16
    );
    assert!(
        all_gone(&world.server_pids(), Duration::from_secs(10)).await,
        "an app-server outlived the bridge"
    );
    assert_eq!(world.generated_images(), Vec::<String>::new());
}
