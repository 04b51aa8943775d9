//! A codex-img that runs for weeks, through real Codex releases and the loopback backend:
//!
//! - **The login changes underneath.** A running `codex app-server` keeps the login it read at start
//!   (measured: `account/read` is unchanged and no `account/updated` comes after `auth.json` is
//!   removed or rewritten). codex-img notices the file changed and starts a new process before the next
//!   turn: a logout fails with `preflight/not_signed_in`, an API-key login with
//!   `preflight/api_key_login`, each before any model request; a new ChatGPT login works again, with the
//!   same client.
//! - **One recycle.** With `recycle_after_images(2)` the idle process is replaced after its second
//!   image (the first leaves it running, so its pid is read while it cannot change); the old process
//!   tree is gone, the next image is made by the new one with a thread started ahead, and
//!   `doctor` counts the recycle.

mod live_support;

use std::time::Duration;

use codex_img::GenerateRequest;
use live_support::{over_releases, releases, Login, Rig};
use loopback_backend::{write_api_key_login, write_fake_chatgpt_login, BackendConfig};
use pretty_assertions::assert_eq;

const PROMPT: &str = "a lighthouse at dusk";

/// How many model requests the backend has received.
fn model_calls(rig: &Rig) -> usize {
    rig.backend
        .requests()
        .iter()
        .filter(|r| r.path.contains("/responses"))
        .count()
}

async fn login_changes(version: String) {
    let rig = Rig::start(&version, BackendConfig::default(), Login::ChatGpt).await;
    rig.client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .unwrap_or_else(|e| panic!("{version}: signed in: {} ({e})", e.code()));
    let home = rig.home();
    let before = model_calls(&rig);

    std::fs::remove_file(home.join("auth.json")).expect("log out");
    let e = rig
        .client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .expect_err("logged out");
    assert_eq!(e.code(), "preflight/not_signed_in", "{version}: {e}");

    write_api_key_login(&home, "sk-test-not-real").expect("an API-key login");
    let e = rig
        .client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .expect_err("an API key");
    assert_eq!(e.code(), "preflight/api_key_login", "{version}: {e}");
    assert_eq!(
        model_calls(&rig),
        before,
        "{version}: no model request for a refused login"
    );

    write_fake_chatgpt_login(&home, "plus").expect("a new ChatGPT login");
    rig.client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .unwrap_or_else(|e| panic!("{version}: signed in again: {} ({e})", e.code()));
    assert!(rig.client.preflight().await.ready(), "{version}");
    rig.finish().await;
}

#[tokio::test]
async fn live_login_changes_are_followed_without_a_restart() {
    over_releases("login_changes", &releases(), login_changes).await;
}

async fn one_recycle(version: String) {
    let rig = Rig::start_with(&version, BackendConfig::default(), Login::ChatGpt, |b| {
        b.recycle_after_images(Some(2))
    })
    .await;
    rig.client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .unwrap_or_else(|e| panic!("{version}: {} ({e})", e.code()));
    // Not due yet: the process cannot change while its pid is read.
    let old = rig.client.app_server_pid().await.expect("a process");
    rig.client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .unwrap_or_else(|e| panic!("{version}: the second image: {} ({e})", e.code()));
    // The manager looks every 2 s; the new process starts its threads before it takes over.
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    let new = loop {
        match rig.client.app_server_pid().await {
            Some(pid) if pid != old => break pid,
            _ if tokio::time::Instant::now() >= until => {
                panic!("{version}: no recycle within 60 s")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    // The old process group is gone.
    let gone = tokio::time::Instant::now() + Duration::from_secs(15);
    while alive(old) {
        assert!(
            tokio::time::Instant::now() < gone,
            "{version}: the old app-server {old} outlived its recycle"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let image = rig
        .client
        .generate(GenerateRequest::new(PROMPT))
        .await
        .unwrap_or_else(|e| panic!("{version}: after the recycle: {} ({e})", e.code()));
    assert_eq!(
        (image.timings.process_start, image.timings.thread_start),
        (None, Duration::ZERO),
        "{version}: the request after a recycle is as warm as before"
    );
    // The new process made one image of two: it stays.
    assert_eq!(rig.client.app_server_pid().await, Some(new));
    let state = rig
        .client
        .preflight()
        .await
        .app_server
        .expect("the process serving now");
    assert_eq!((state.images, state.recycles), (1, 1), "{version}");
    rig.finish().await;
}

/// Whether a process with this pid still exists (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn live_an_idle_app_server_is_recycled_and_the_next_image_stays_warm() {
    over_releases("one_recycle", &releases(), one_recycle).await;
}
