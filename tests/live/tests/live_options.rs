//! Live tests of the output options: real Codex releases against the loopback backend, which plays a
//! model that honours a transparent-background request the way a real one does.
//!
//! - On the newest release (0.171.0) a transparent request makes the model call the image tool with
//!   `transparent_background: true`, Codex asks the images endpoint for `background: "transparent"`,
//!   and the image comes back with real alpha: `alpha: "native"`, bytes untouched.
//! - On the floor (0.122.0, the hosted tool, no transparency argument) the same request with
//!   `key: auto` gets the subject on the flat key colour the turn text asked for, and codex-img keys it
//!   out: `alpha: "keyed"`.

mod live_support;

use codex_img::image::decode::decode_rgba;
use codex_img::{Alpha, Background, GenerateRequest, Hints, Key, Options};
use live_support::{hosted_tool, over_releases, sha256, Login, Rig};
use loopback_backend::{BackendConfig, FLOOR, NEWEST, SUBJECT_RGB};
use pretty_assertions::assert_eq;

fn transparent_request(key: Option<Key>) -> GenerateRequest {
    GenerateRequest::new("a small orange fox icon")
        .hints(Hints {
            background: Some(Background::Transparent),
            ..Hints::default()
        })
        .options(Options {
            key,
            ..Options::default()
        })
}

async fn native_transparency(version: String) {
    let rig = Rig::start(&version, BackendConfig::default(), Login::ChatGpt).await;
    let image = rig
        .client
        .generate(transparent_request(Some(Key::Auto)))
        .await
        .unwrap_or_else(|e| panic!("{version}: {} ({e})", e.code()));
    assert_eq!(image.alpha, Alpha::Native, "{version}");
    // What Codex asked the images endpoint for.
    let images_calls: Vec<serde_json::Value> = rig
        .backend
        .requests()
        .iter()
        .filter(|r| r.is_images_request())
        .filter_map(|r| r.json())
        .collect();
    assert_eq!(images_calls.len(), 1, "{version}");
    assert_eq!(images_calls[0]["background"], "transparent", "{version}");
    // Native alpha is never touched: the bytes are the backend's, and real transparency is in them.
    assert_eq!(image.sha256, sha256(&image.bytes));
    let pixels = decode_rgba(&image.bytes).expect("decode");
    assert_eq!(pixels.get_pixel(0, 0)[3], 0, "{version}");
    let centre = pixels.get_pixel(pixels.width() / 2, pixels.height() / 2).0;
    assert_eq!(
        centre,
        [SUBJECT_RGB[0], SUBJECT_RGB[1], SUBJECT_RGB[2], 255]
    );
    rig.finish().await;
}

async fn keyed_transparency(version: String) {
    assert!(
        hosted_tool(&version),
        "{version} has the transparency argument"
    );
    let rig = Rig::start(&version, BackendConfig::default(), Login::ChatGpt).await;
    let image = rig
        .client
        .generate(transparent_request(Some(Key::Auto)))
        .await
        .unwrap_or_else(|e| panic!("{version}: {} ({e})", e.code()));
    assert_eq!(image.alpha, Alpha::Keyed, "{version}");
    let pixels = decode_rgba(&image.bytes).expect("decode");
    assert_eq!((pixels.width(), pixels.height()), (64, 48));
    assert_eq!(
        pixels.get_pixel(0, 0)[3],
        0,
        "{version}: the key colour is left"
    );
    let centre = pixels.get_pixel(32, 24).0;
    assert_eq!(
        centre,
        [SUBJECT_RGB[0], SUBJECT_RGB[1], SUBJECT_RGB[2], 255]
    );
    assert!(
        pixels.pixels().all(|p| p[3] == 0 || p[1] <= p[0]),
        "{version}: a green fringe is left"
    );
    // The same request without a key stays honest: no alpha.
    let plain = rig
        .client
        .generate(transparent_request(None))
        .await
        .unwrap_or_else(|e| panic!("{version}: {} ({e})", e.code()));
    assert_eq!(plain.alpha, Alpha::None, "{version}");
    rig.finish().await;
}

#[tokio::test]
async fn live_a_transparent_request_comes_back_native_on_the_newest_release() {
    over_releases(
        "native_transparency",
        &[NEWEST.to_owned()],
        native_transparency,
    )
    .await;
}

#[tokio::test]
async fn live_a_keyed_request_comes_back_keyed_on_the_floor() {
    over_releases(
        "keyed_transparency",
        &[FLOOR.to_owned()],
        keyed_transparency,
    )
    .await;
}
