//! The version policy a host sets: a floor (`CODEX_IMG_MIN_VERSION`, `--min-version`,
//! `ClientBuilder::min_version`) and an exact allowlist (`CODEX_IMG_ALLOWED_VERSIONS`,
//! `ClientBuilder::allowed_versions`). A version outside it is refused with
//! `preflight/unsupported_version`, naming the list, before any app-server or turn is started.

use std::process::Stdio;

use codex_img::GenerateRequest;
use pretty_assertions::assert_eq;
use semver::Version;
use serde_json::{json, Value};

use crate::support::{
    run::{OutputWithin as _, RUN_DEADLINE},
    serve::Serve,
    World,
};

/// `codex-img generate --json` against a fake Codex of `version`, with `env`; (exit, report).
fn generate(world: &World, version: &str, env: &[(&str, &str)], args: &[&str]) -> (i32, Value) {
    let out = world
        .command::<&str>(&[])
        .args(args)
        .args(["generate", "a fox [fake:complete]", "--json", "-o"])
        .arg(
            world
                .dir
                .path()
                .join(format!("fox-{version}-{}.png", env.len())),
        )
        .env("FAKE_CODEX_VERSION", version)
        .env_remove("CODEX_IMG_MIN_VERSION")
        .env_remove("CODEX_IMG_ALLOWED_VERSIONS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output_within(RUN_DEADLINE)
        .expect("run codex-img");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout} / {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

fn outcome(run: &(i32, Value)) -> (i32, String) {
    let (exit, report) = run;
    let code = report["code"].as_str().unwrap_or("ok").to_owned();
    (*exit, code)
}

#[test]
fn the_allowlist_from_the_environment_refuses_other_versions_before_anything_starts() {
    let world = World::new();
    let allow = [("CODEX_IMG_ALLOWED_VERSIONS", "0.169.0,0.171.0")];
    let refused = generate(&world, "0.170.0", &allow, &[]);
    assert_eq!(
        outcome(&refused),
        (3, "preflight/unsupported_version".to_owned())
    );
    let message = refused.1["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Codex 0.170.0") && message.contains("(0.169.0, 0.171.0)"),
        "{message}"
    );
    assert_eq!(
        world.server_pids(),
        Vec::<i32>::new(),
        "no app-server, so no turn"
    );

    let allowed = generate(&world, "0.171.0", &allow, &[]);
    assert_eq!(outcome(&allowed), (0, "ok".to_owned()), "{}", allowed.1);
    assert_eq!(allowed.1["codex_version"], "0.171.0");
}

#[test]
fn the_floor_from_the_environment_applies_and_the_flag_wins_over_it() {
    let world = World::new();
    let floor = [("CODEX_IMG_MIN_VERSION", "0.170.0")];
    let refused = generate(&world, "0.169.0", &floor, &[]);
    assert_eq!(
        outcome(&refused),
        (3, "preflight/unsupported_version".to_owned())
    );
    let message = refused.1["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("0.169.0 is older than 0.170.0"),
        "{message}"
    );
    assert_eq!(world.server_pids(), Vec::<i32>::new());

    let flag = generate(&world, "0.169.0", &floor, &["--min-version", "0.122.0"]);
    assert_eq!(outcome(&flag), (0, "ok".to_owned()), "{}", flag.1);
}

#[test]
fn a_policy_that_does_not_parse_names_the_variable() {
    let world = World::new();
    for (key, value) in [
        ("CODEX_IMG_ALLOWED_VERSIONS", "0.169.0,latest"),
        ("CODEX_IMG_MIN_VERSION", "new"),
    ] {
        let run = generate(&world, "0.169.0", &[(key, value)], &[]);
        assert_eq!(
            outcome(&run),
            (3, "preflight/invalid_version_policy".to_owned())
        );
        let message = run.1["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{key} is invalid: ")),
            "{message}"
        );
    }
    assert_eq!(world.server_pids(), Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_sets_the_allowlist_and_the_floor() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.170.0");
    let only = world
        .builder()
        .allowed_versions([Version::new(0, 169, 0)])
        .build();
    let e = only
        .generate(GenerateRequest::new("a fox [fake:complete]"))
        .await
        .expect_err("not allowed");
    assert_eq!(e.code(), "preflight/unsupported_version");
    assert!(e.to_string().contains("(0.169.0)"), "{e}");
    let report = only.preflight().await;
    let blocking = report.blocking.as_deref().map(codex_img::Error::code);
    assert_eq!(blocking, Some("preflight/unsupported_version"));

    let floor = world.builder().min_version(Version::new(0, 171, 0)).build();
    let e = floor
        .generate(GenerateRequest::new("a fox [fake:complete]"))
        .await
        .expect_err("too old");
    assert!(e.to_string().contains("older than 0.171.0"), "{e}");
    assert_eq!(world.server_pids(), Vec::<i32>::new());

    let fine = world
        .builder()
        .allowed_versions([Version::new(0, 170, 0)])
        .build();
    fine.generate(GenerateRequest::new("a fox [fake:complete]"))
        .await
        .expect("an allowed version generates");
    fine.shutdown().await;
}

#[test]
fn serve_stdio_refuses_a_version_outside_the_allowlist_with_the_coded_error() {
    let world = World::new().set("FAKE_CODEX_VERSION", "0.170.0");
    let allow = std::ffi::OsString::from("0.171.0");
    let mut serve = Serve::spawn(
        &world,
        &[("CODEX_IMG_ALLOWED_VERSIONS", allow.as_os_str())],
        Stdio::null(),
    );
    let answer = serve.ask(
        json!(1),
        "image/generate",
        json!({"prompt": "a fox", "returnBytes": true}),
    );
    let data = &answer["error"]["data"];
    assert_eq!(
        (&answer["error"]["code"], &data["code"]),
        (&json!(-32001), &json!("preflight/unsupported_version"))
    );
    assert!(
        data["message"]
            .as_str()
            .unwrap_or_default()
            .contains("(0.171.0)"),
        "{answer}"
    );
    let doctor = serve.ask(json!(2), "codex/doctor", json!({}));
    assert_eq!(doctor["result"]["ready"], false, "{doctor}");
    assert_eq!(
        doctor["result"]["blocking"]["code"],
        "preflight/unsupported_version"
    );
    assert!(serve
        .close(std::time::Duration::from_secs(20))
        .is_some_and(|s| s.success()));
    assert_eq!(world.server_pids(), Vec::<i32>::new());
}
