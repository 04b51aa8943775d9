//! The method tables against the pinned schema bundle.
//!
//! Every server notification and server request in the bundle must be either modelled or deliberately
//! routed to the `Unrecognized` fallback, so a new Codex release that adds a method shows up here as a
//! failing test rather than as a hang. The client requests codex-img sends must exist in the bundle with
//! the params and response types the table names.

use std::any::type_name;
use std::collections::BTreeSet;
use std::path::Path;

use codex_img::protocol::{
    notification, request, ClientRequest, MethodEntry, ServerNotification, ServerRequest,
    CLIENT_REQUESTS, IGNORED_SERVER_NOTIFICATIONS, SCHEMA_VERSION, SERVER_REQUESTS,
};
use pretty_assertions::assert_eq;
use serde_json::Value;

const HINT_NOTIFICATIONS: &str =
    "model it or add it to IGNORED_NOTIFICATIONS in xtask/src/manifest.rs, then run `cargo xtask codegen`";
const HINT_REQUESTS: &str =
    "model it in SERVER_REQUESTS in xtask/src/manifest.rs (and answer it in src/rpc/policy.rs), then run `cargo xtask codegen`";

fn bundle(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn current() -> Value {
    bundle("schemas/codex_app_server_protocol.schemas.json")
}

fn floor() -> Value {
    bundle("schemas/floor/codex_app_server_protocol.schemas.json")
}

/// The variants of a method union (`ServerNotification`, `ServerRequest`, `ClientRequest`, ...).
fn variants<'a>(bundle: &'a Value, union: &str) -> Vec<&'a Value> {
    bundle["definitions"][union]["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("no #/definitions/{union}/oneOf in the bundle"))
        .iter()
        .collect()
}

fn method_of(variant: &Value) -> &str {
    let methods = variant["properties"]["method"]["enum"]
        .as_array()
        .expect("method enum");
    assert_eq!(methods.len(), 1, "{variant}");
    methods[0].as_str().expect("method string")
}

fn methods(bundle: &Value, union: &str) -> Vec<String> {
    variants(bundle, union)
        .into_iter()
        .map(|v| method_of(v).to_owned())
        .collect()
}

/// The method's variant in a union.
fn variant<'a>(bundle: &'a Value, union: &str, method: &str) -> Option<&'a Value> {
    variants(bundle, union)
        .into_iter()
        .find(|v| method_of(v) == method)
}

/// The definition name a variant's `params` refers to (`#/definitions/v2/ThreadStartParams` -> `ThreadStartParams`).
fn params_ref(variant: &Value) -> Option<&str> {
    variant["properties"]["params"]["$ref"]
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or(r))
}

/// Whether the bundle defines `name` at the top level or under `v2`.
fn defines(bundle: &Value, name: &str) -> bool {
    let d = &bundle["definitions"];
    d.get(name).is_some() || d["v2"].get(name).is_some()
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

fn duplicates(items: &[&str]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter(|m| !seen.insert(**m))
        .map(|m| m.to_string())
        .collect()
}

#[test]
fn the_bundle_is_the_pinned_release() {
    let version =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/VERSION"))
            .unwrap();
    assert_eq!(version.trim(), SCHEMA_VERSION);
    let floor = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/floor/VERSION"),
    )
    .unwrap();
    assert_eq!(floor.trim(), "0.122.0");
}

#[test]
fn every_server_notification_in_the_bundle_is_modelled_or_deliberately_ignored() {
    let bundle = current();
    let in_bundle = methods(&bundle, "ServerNotification");
    let listed: BTreeSet<&str> = ServerNotification::MODELLED
        .iter()
        .chain(IGNORED_SERVER_NOTIFICATIONS)
        .copied()
        .collect();
    let unlisted: Vec<&String> = in_bundle
        .iter()
        .filter(|m| !listed.contains(m.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "server notifications in the {SCHEMA_VERSION} bundle that codex-img neither models nor ignores: {unlisted:?}\n\
         For each: {HINT_NOTIFICATIONS}"
    );
}

#[test]
fn no_listed_notification_is_missing_from_the_bundle() {
    let in_bundle = set(methods(&current(), "ServerNotification")
        .iter()
        .map(String::as_str));
    let stale: Vec<&str> = ServerNotification::MODELLED
        .iter()
        .chain(IGNORED_SERVER_NOTIFICATIONS)
        .copied()
        .filter(|m| !in_bundle.contains(*m))
        .collect();
    assert!(
        stale.is_empty(),
        "notifications listed but not in the {SCHEMA_VERSION} bundle: {stale:?}; remove them from xtask/src/manifest.rs, then run `cargo xtask codegen`"
    );
}

#[test]
fn notification_lists_are_disjoint_and_without_duplicates() {
    let both: Vec<&str> = ServerNotification::MODELLED
        .iter()
        .copied()
        .filter(|m| IGNORED_SERVER_NOTIFICATIONS.contains(m))
        .collect();
    assert_eq!(both, Vec::<&str>::new(), "both modelled and ignored");
    let all: Vec<&str> = ServerNotification::MODELLED
        .iter()
        .chain(IGNORED_SERVER_NOTIFICATIONS)
        .copied()
        .collect();
    assert_eq!(duplicates(&all), Vec::<String>::new());
    let bundle = current();
    assert_eq!(
        duplicates(
            &methods(&bundle, "ServerNotification")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        ),
        Vec::<String>::new()
    );
}

#[test]
fn the_notifications_codex_img_reads_are_modelled() {
    assert_eq!(
        set(ServerNotification::MODELLED.iter().copied()),
        set([
            "thread/started",
            "turn/started",
            "turn/completed",
            "item/started",
            "item/completed",
            "error",
            "account/updated",
            "account/rateLimits/updated",
        ])
    );
}

#[test]
fn modelled_notifications_decode_their_params_type_and_exist_in_the_floor() {
    let bundle = current();
    let floor = floor();
    for method in ServerNotification::MODELLED {
        let v = variant(&bundle, "ServerNotification", method).expect("in bundle");
        let name = params_ref(v).unwrap_or_else(|| panic!("{method}: params is not a $ref"));
        assert!(name.ends_with("Notification"), "{method}: {name}");
        assert!(
            variant(&floor, "ServerNotification", method).is_some(),
            "{method} is not in the 0.122.0 floor"
        );
    }
}

#[test]
fn every_server_request_in_the_bundle_is_modelled() {
    let in_bundle = set(methods(&current(), "ServerRequest")
        .iter()
        .map(String::as_str));
    let modelled = set(ServerRequest::MODELLED.iter().copied());
    let unmodelled: Vec<&String> = in_bundle.difference(&modelled).collect();
    assert!(
        unmodelled.is_empty(),
        "server requests in the {SCHEMA_VERSION} bundle that codex-img does not model: {unmodelled:?}\n\
         An unmodelled request is still answered -32601, but each needs a deliberate answer: {HINT_REQUESTS}"
    );
    let stale: Vec<&String> = modelled.difference(&in_bundle).collect();
    assert!(
        stale.is_empty(),
        "server requests modelled but not in the bundle: {stale:?}"
    );
    assert_eq!(duplicates(ServerRequest::MODELLED), Vec::<String>::new());
}

#[test]
fn server_request_table_names_each_params_and_response_type() {
    let bundle = current();
    let in_bundle = methods(&bundle, "ServerRequest");
    let table: Vec<&str> = SERVER_REQUESTS.iter().map(|e| e.method).collect();
    assert_eq!(
        set(table.iter().copied()),
        set(in_bundle.iter().map(String::as_str)),
        "SERVER_REQUESTS vs bundle"
    );
    assert_eq!(
        set(table.iter().copied()),
        set(ServerRequest::MODELLED.iter().copied()),
        "SERVER_REQUESTS vs MODELLED"
    );
    for entry in SERVER_REQUESTS {
        let v = variant(&bundle, "ServerRequest", entry.method).expect("in bundle");
        let params =
            params_ref(v).unwrap_or_else(|| panic!("{}: params is not a $ref", entry.method));
        let response = format!(
            "{}Response",
            params.strip_suffix("Params").expect("…Params")
        );
        assert_eq!(
            (entry.params, entry.response),
            (params, response.as_str()),
            "{}",
            entry.method
        );
        assert!(
            defines(&bundle, &response),
            "{}: no {response} in the bundle",
            entry.method
        );
    }
}

/// The requests codex-img sends, with the params and response types the table must name.
const REQUIRED_CLIENT_REQUESTS: &[(&str, &str, &str)] = &[
    ("initialize", "InitializeParams", "InitializeResponse"),
    ("account/read", "GetAccountParams", "GetAccountResponse"),
    (
        "account/rateLimits/read",
        "()",
        "GetAccountRateLimitsResponse",
    ),
    (
        "modelProvider/capabilities/read",
        "ModelProviderCapabilitiesReadParams",
        "ModelProviderCapabilitiesReadResponse",
    ),
    ("thread/start", "ThreadStartParams", "ThreadStartResponse"),
    ("turn/start", "TurnStartParams", "TurnStartResponse"),
    (
        "turn/interrupt",
        "TurnInterruptParams",
        "TurnInterruptResponse",
    ),
    (
        "thread/unsubscribe",
        "ThreadUnsubscribeParams",
        "ThreadUnsubscribeResponse",
    ),
];

#[test]
fn client_requests_contain_the_required_methods_with_their_types() {
    for (method, params, response) in REQUIRED_CLIENT_REQUESTS {
        let entry = CLIENT_REQUESTS.iter().find(|e| e.method == *method);
        assert_eq!(
            entry,
            Some(&MethodEntry {
                method,
                params,
                response
            }),
            "{method}"
        );
    }
    let methods: Vec<&str> = CLIENT_REQUESTS.iter().map(|e| e.method).collect();
    assert_eq!(duplicates(&methods), Vec::<String>::new());
}

#[test]
fn client_requests_match_the_bundle() {
    let bundle = current();
    let floor = floor();
    for entry in CLIENT_REQUESTS {
        let v = variant(&bundle, "ClientRequest", entry.method).unwrap_or_else(|| {
            panic!(
                "{} is not a client request in the {SCHEMA_VERSION} bundle",
                entry.method
            )
        });
        let required: Vec<&str> = v["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if entry.params == "()" {
            // Sent without params, which the bundle must allow.
            assert!(
                !required.contains(&"params"),
                "{}: the bundle requires params",
                entry.method
            );
        } else {
            assert_eq!(
                params_ref(v),
                Some(entry.params),
                "{}: params type",
                entry.method
            );
        }
        assert!(
            defines(&bundle, entry.response),
            "{}: no {} in the bundle",
            entry.method,
            entry.response
        );

        // The floor release must know the method too, except the ones codex-img gates by version.
        match variant(&floor, "ClientRequest", entry.method) {
            Some(v) if entry.params != "()" => assert_eq!(params_ref(v), Some(entry.params), "{} in the floor", entry.method),
            Some(v) => {
                let required: Vec<&str> = v["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
                assert!(!required.contains(&"params"), "{}: the floor requires params", entry.method);
            }
            None => assert_eq!(
                entry.method, "modelProvider/capabilities/read",
                "only modelProvider/capabilities/read may be missing from 0.122.0 (it answers -32600 there)"
            ),
        }
    }
}

/// The marker types tie each method to the types the table names.
#[test]
fn marker_types_agree_with_the_table() {
    fn row<R: ClientRequest>() -> (&'static str, String, String) {
        let short = |full: &'static str| full.rsplit("::").next().unwrap_or(full).to_owned();
        (
            R::METHOD,
            short(type_name::<R::Params>()),
            short(type_name::<R::Response>()),
        )
    }
    let markers = [
        row::<request::Initialize>(),
        row::<request::AccountRead>(),
        row::<request::AccountRateLimitsRead>(),
        row::<request::ModelProviderCapabilitiesRead>(),
        row::<request::ThreadStart>(),
        row::<request::ThreadUnsubscribe>(),
        row::<request::TurnStart>(),
        row::<request::TurnInterrupt>(),
    ];
    let table: Vec<(&str, String, String)> = CLIENT_REQUESTS
        .iter()
        .map(|e| (e.method, e.params.to_owned(), e.response.to_owned()))
        .collect();
    assert_eq!(markers.to_vec(), table);
}

#[test]
fn the_initialized_notification_is_in_the_bundle() {
    assert_eq!(notification::INITIALIZED, "initialized");
    assert!(methods(&current(), "ClientNotification").contains(&"initialized".to_owned()));
    assert!(methods(&floor(), "ClientNotification").contains(&"initialized".to_owned()));
}

#[test]
fn every_server_request_of_the_floor_is_modelled_too() {
    let floor_requests = set(methods(&floor(), "ServerRequest")
        .iter()
        .map(String::as_str));
    let modelled = set(ServerRequest::MODELLED.iter().copied());
    assert_eq!(
        floor_requests.difference(&modelled).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
    let floor_notifications = methods(&floor(), "ServerNotification");
    let listed: BTreeSet<&str> = ServerNotification::MODELLED
        .iter()
        .chain(IGNORED_SERVER_NOTIFICATIONS)
        .copied()
        .collect();
    let unlisted: Vec<&String> = floor_notifications
        .iter()
        .filter(|m| !listed.contains(m.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "0.122.0 notifications neither modelled nor ignored: {unlisted:?}; {HINT_NOTIFICATIONS}"
    );
}
