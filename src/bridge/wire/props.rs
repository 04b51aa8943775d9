//! Property tests of the bridge's request parser and its params decoding: no line makes them panic, and
//! every refusal is one proper JSON-RPC 2.0 error line that names the request when it can.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::super::methods::{self, GenerateParams, Method, Refusal};
use super::{parse, Incoming, Rejection};
use crate::face::root::Root;
use crate::protocol::envelope::{ErrorCode, RequestId};

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects made of a request's members (and a few others), each with a plausible or arbitrary value.
fn request_like() -> impl Strategy<Value = Value> {
    let member = prop_oneof![
        (Just("jsonrpc"), prop_oneof![Just(json!("2.0")), json()]),
        (
            Just("id"),
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                ".{0,6}".prop_map(Value::from),
                json()
            ]
        ),
        (
            Just("method"),
            prop_oneof![
                Just(json!("image/generate")),
                Just(json!("image/cancel")),
                Just(json!("codex/doctor")),
                json()
            ]
        ),
        (Just("params"), json()),
        (Just("result"), json()),
        (Just("extra"), json()),
    ];
    prop::collection::vec(member, 0..7).prop_map(|members| {
        let map: Map<String, Value> = members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Value::Object(map)
    })
}

/// Checks that a rejection is one JSON-RPC 2.0 error line, and returns it parsed.
fn check_line(rejection: &Rejection) -> Result<Value, TestCaseError> {
    let line = rejection.to_line();
    prop_assert_eq!(line.last(), Some(&b'\n'));
    prop_assert!(!line[..line.len() - 1].contains(&b'\n'), "one line");
    let value: Value =
        serde_json::from_slice(&line).map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
    let keys: BTreeSet<&str> = value
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    prop_assert_eq!(keys, BTreeSet::from(["jsonrpc", "id", "error"]));
    prop_assert_eq!(&value["jsonrpc"], "2.0");
    prop_assert!(
        value["id"].is_null() || value["id"].is_string() || value["id"].is_i64(),
        "id {:?}",
        value["id"]
    );
    prop_assert!(value["error"]["code"].is_i64());
    prop_assert!(value["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    Ok(value)
}

proptest! {
    /// Arbitrary bytes: a parse error with `id: null`, or a request, never a panic.
    #[test]
    fn arbitrary_bytes_are_refused_or_read(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Err(rejection) = parse(&bytes) {
            let value = check_line(&rejection)?;
            let code = rejection.error.code;
            prop_assert!(code == ErrorCode::PARSE_ERROR || code == ErrorCode::INVALID_REQUEST);
            if code == ErrorCode::PARSE_ERROR {
                prop_assert!(value["id"].is_null());
            }
        }
    }

    /// Any JSON value: accepted exactly when it is a well-formed request or notification; a refusal is
    /// `-32600` and echoes the id only when the id itself was valid.
    #[test]
    fn json_values_are_judged_by_the_rules(value in prop_oneof![json(), request_like()]) {
        let line = serde_json::to_vec(&value).expect("serializes");
        let id = match value.get("id") {
            Some(Value::String(s)) => Some(RequestId::String(s.clone())),
            Some(Value::Number(n)) => n.as_i64().map(RequestId::Integer),
            _ => None,
        };
        let valid_id = value.get("id").is_none() || id.is_some();
        let object = value.as_object();
        let well_formed = object.is_some_and(|m| {
            m.keys().all(|k| ["jsonrpc", "id", "method", "params"].contains(&k.as_str()))
                && m.get("jsonrpc") == Some(&json!("2.0"))
                && m.get("method").is_some_and(Value::is_string)
                && m.get("params").is_none_or(|p| p.is_object() || p.is_array())
        }) && valid_id;
        match parse(&line) {
            Ok(Incoming::Request { id: got, method, params }) => {
                prop_assert!(well_formed);
                prop_assert_eq!(Some(got), id);
                prop_assert_eq!(Some(&Value::from(method)), value.get("method"));
                prop_assert_eq!(params.as_ref(), value.get("params"));
            }
            Ok(Incoming::Notification { method, params }) => {
                prop_assert!(well_formed && value.get("id").is_none());
                prop_assert_eq!(Some(&Value::from(method)), value.get("method"));
                prop_assert_eq!(params.as_ref(), value.get("params"));
            }
            Err(rejection) => {
                prop_assert!(!well_formed);
                let answer = check_line(&rejection)?;
                prop_assert_eq!(rejection.error.code, ErrorCode::INVALID_REQUEST);
                let echoed = serde_json::to_value(&id).expect("serializes");
                prop_assert!(answer["id"].is_null() || answer["id"] == echoed);
            }
        }
    }

    /// `image/generate` params of any shape, confined to a root: decoding and checking never panic; a
    /// refusal is `-32602` or a request/output error, and an accepted target lies inside the root.
    #[test]
    fn generate_params_are_checked_without_panicking(params in generate_params()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path()).expect("root");
        let decoded = methods::decode::<GenerateParams>(Method::Generate, Some(params));
        let job = match decoded {
            Err(message) => {
                prop_assert!(message.starts_with("invalid params for image/generate: "), "{}", message);
                return Ok(());
            }
            Ok(decoded) => decoded.into_job(Some(&root)),
        };
        match job {
            Ok(job) => {
                if let Some(target) = &job.job.target {
                    prop_assert!(target.starts_with(root.path()), "{}", target.display());
                }
            }
            Err(Refusal::Params(message)) => {
                prop_assert!(message.starts_with("invalid params for image/generate: "), "{}", message);
            }
            Err(Refusal::App(error)) => {
                let code = error.code();
                prop_assert!(
                    code.starts_with("request/") || code.starts_with("output/"),
                    "{} {}",
                    code,
                    error
                );
            }
        }
        // Checking a target probes its folder; nothing may be left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        prop_assert_eq!(left.len(), 0);
    }
}

/// Objects with `image/generate`'s field names and values of the right or a wrong type.
fn generate_params() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just(json!("a fox")),
        Just(json!("")),
        Just(json!("  \n ")),
        Just(json!("fox.png")),
        Just(json!("../x.png")),
        Just(json!("/etc/x.png")),
        Just(json!("C:\\x.png")),
        Just(json!("sub/")),
        ".{0,16}".prop_map(Value::from),
    ];
    let image = prop_oneof![
        text.clone().prop_map(|p| json!({"path": p})),
        Just(json!({"base64": "iVBORw0KGgo="})),
        ".{0,12}".prop_map(|b| json!({"base64": b})),
        json(),
    ];
    let field = prop_oneof![
        (Just("prompt"), prop_oneof![text.clone(), json()]),
        (Just("output"), prop_oneof![text.clone(), json()]),
        (Just("returnBytes"), prop_oneof![Just(json!(true)), json()]),
        (Just("image"), image.clone()),
        (
            Just("references"),
            prop_oneof![
                prop::collection::vec(image, 0..6).prop_map(Value::Array),
                json()
            ]
        ),
        (
            Just("size"),
            prop_oneof![Just(json!("1024x1024")), Just(json!("0x9")), text.clone()]
        ),
        (
            Just("aspect"),
            prop_oneof![Just(json!("16:9")), Just(json!("16/9")), text.clone()]
        ),
        (
            Just("quality"),
            prop_oneof![Just(json!("high")), text.clone()]
        ),
        (
            Just("background"),
            prop_oneof![Just(json!("transparent")), text]
        ),
        (
            Just("timeoutSecs"),
            prop_oneof![Just(json!(30)), Just(json!(-1)), Just(json!(1e300)), json()]
        ),
        (Just("overwrite"), json()),
        (Just("unknown"), json()),
    ];
    prop::collection::vec(field, 0..8).prop_map(|fields| {
        let map: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Value::Object(map)
    })
}
