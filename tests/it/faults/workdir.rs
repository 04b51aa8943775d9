//! The private work folder of a SIGKILLed `serve-stdio` (`$TMPDIR/codex-img-*` with its staging folder)
//! is removed by the next codex-img to start, and the folder of another instance that is still running
//! is never touched: both checked with real processes, and their liveness asked of the OS.

use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{
    all_gone_blocking, entries, eventually, faults::work_folders, serve::Serve, World,
};

const DEADLINE: Duration = Duration::from_secs(20);

fn generate_ok(serve: &mut Serve, id: i64) {
    let answer = serve.ask(
        json!(id),
        "image/generate",
        json!({"prompt": "a kite [fake:complete]", "returnBytes": true}),
    );
    assert_eq!(answer["result"]["ok"], true, "{answer}");
}

#[test]
fn a_killed_instance_s_folder_is_swept_on_the_next_start_and_a_live_one_s_is_kept() {
    let world = World::new();
    let tmp = world.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let env = [("TMPDIR", tmp.as_os_str())];
    let spawn = || Serve::spawn(&world, &env, Stdio::null());

    // A: a turn in flight, so its folder holds a staging folder; then SIGKILL, which runs no cleanup.
    let mut a = spawn();
    a.send(
        json!(1),
        "image/generate",
        json!({"prompt": "a cat [fake:hang]", "returnBytes": true}),
    );
    let a_folder = eventually(DEADLINE, || {
        let folders = work_folders(&tmp);
        let staging = folders.first().map(|f| entries(&tmp.join(f)));
        match (folders.len(), staging) {
            (1, Some(inside)) if inside.iter().any(|n| n.starts_with("gen-")) => {
                Some(folders[0].clone())
            }
            _ => None,
        }
    })
    .expect("A's work folder with its staging folder");
    let a_servers = world.server_pids();
    a.signal(libc::SIGKILL);
    assert!(a.wait(DEADLINE).is_some(), "A did not die");
    assert!(
        all_gone_blocking(&a_servers, DEADLINE),
        "A's app-server outlived it: {a_servers:?}"
    );
    assert_eq!(
        work_folders(&tmp),
        vec![a_folder.clone()],
        "the fault: A's folder stays"
    );

    // B starts, and its first app-server start sweeps A's folder.
    let mut b = spawn();
    generate_ok(&mut b, 1);
    let b_folders = work_folders(&tmp);
    assert_eq!(b_folders.len(), 1, "{b_folders:?}");
    assert!(
        !b_folders.contains(&a_folder),
        "A's folder was not swept: {b_folders:?}"
    );

    // C starts while B runs: B's folder stays, and B keeps working.
    let mut c = spawn();
    generate_ok(&mut c, 1);
    let both = work_folders(&tmp);
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(
        both.contains(&b_folders[0]),
        "C removed live B's folder: {both:?}"
    );
    generate_ok(&mut b, 2);

    // Clean exits leave nothing behind, and no process.
    for serve in [&mut b, &mut c] {
        let status = serve
            .close(DEADLINE)
            .expect("serve-stdio exits when stdin closes");
        assert!(status.success(), "{status}");
    }
    let servers = world.server_pids();
    assert!(all_gone_blocking(&servers, DEADLINE), "{servers:?}");
    assert_eq!(work_folders(&tmp), Vec::<String>::new());
}
