//! Everything codex-img writes toward Codex, validated against the JSON Schema bundles: the pinned
//! 0.169.0 bundle in `schemas/` and the 0.122.0 floor in `schemas/floor/`, because every supported
//! release must accept what codex-img sends.
//!
//! Three checks per value: it validates against the named definition (`#/definitions/v2/ThreadStartParams`,
//! ...); every member it carries is declared by that definition (the bundles never say
//! `additionalProperties: false`, so schema validation alone would let a member through that a release
//! silently ignores); and the whole line codex-img writes validates against the bundle's method union
//! (`ClientRequest`, `ClientNotification`) or JSON-RPC response types.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codex_img::protocol::envelope::{ErrorResponse, Notification, Request, Response};
use codex_img::protocol::{
    notification, ClientRequest, ErrorCode, Message, ModelProviderCapabilitiesReadParams, RequestId,
};
use codex_img::session::params;
use codex_img::session::policy::{answer_method, Answer};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

struct Bundle {
    name: &'static str,
    doc: Value,
}

impl Bundle {
    fn load(name: &'static str, relative: &str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self {
            name,
            doc: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    fn current() -> Self {
        Self::load("0.169.0", "schemas/codex_app_server_protocol.schemas.json")
    }

    fn floor() -> Self {
        Self::load(
            "0.122.0 floor",
            "schemas/floor/codex_app_server_protocol.schemas.json",
        )
    }

    /// The definition at `path` below `#/definitions/` (`v2/ThreadStartParams`), if the bundle has it.
    fn definition(&self, path: &str) -> Option<&Value> {
        self.doc["definitions"].pointer(&format!("/{path}"))
    }

    /// A validator for `#/definitions/<path>`, with the whole bundle's definitions in reach.
    fn validator(&self, path: &str) -> jsonschema::Validator {
        assert!(
            self.definition(path).is_some(),
            "{}: no #/definitions/{path}",
            self.name
        );
        let schema = json!({
            "$schema": DRAFT_07,
            "definitions": self.doc["definitions"],
            "allOf": [{"$ref": format!("#/definitions/{path}")}],
        });
        jsonschema::draft7::options()
            .build(&schema)
            .unwrap_or_else(|e| panic!("{}: cannot build a validator for {path}: {e}", self.name))
    }

    /// Validates `instance` against `#/definitions/<path>` and checks that it carries no member the
    /// definition does not declare.
    fn check(&self, label: &str, path: &str, instance: &Value) {
        let validator = self.validator(path);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("  {e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{label} does not validate against #/definitions/{path} in the {} bundle:\n{}\n{instance:#}",
            self.name,
            errors.join("\n")
        );
        let mut undeclared = Vec::new();
        let schema = json!({"$ref": format!("#/definitions/{path}")});
        self.undeclared(&schema, instance, String::new(), &mut undeclared);
        assert!(
            undeclared.is_empty(),
            "{label} carries members that #/definitions/{path} in the {} bundle does not declare: {undeclared:?}",
            self.name
        );
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("external $ref {r}"));
                self.resolve(
                    self.doc
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("{}: dangling {r}", self.name)),
                )
            }
            None => schema,
        }
    }

    /// The property schemas `schema` declares for `instance` (through `$ref`, `allOf`, and the `anyOf` /
    /// `oneOf` branches whose `type` tag, if any, matches the instance), and whether other members are allowed.
    fn declared<'a>(
        &'a self,
        schema: &'a Value,
        instance: &Value,
        out: &mut Vec<(&'a str, &'a Value)>,
    ) -> bool {
        let schema = self.resolve(schema);
        let mut open = matches!(
            schema.get("additionalProperties"),
            Some(Value::Bool(true)) | Some(Value::Object(_))
        );
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            out.extend(properties.iter().map(|(k, v)| (k.as_str(), v)));
        }
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            open |= self.declared(branch, instance, out);
        }
        let tag = instance.get("type").and_then(Value::as_str);
        for key in ["anyOf", "oneOf"] {
            for branch in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let resolved = self.resolve(branch);
                let tags = resolved
                    .pointer("/properties/type/enum")
                    .and_then(Value::as_array);
                let matches = match (tag, tags) {
                    (Some(tag), Some(tags)) => tags.iter().any(|t| t == tag),
                    _ => true,
                };
                if matches {
                    open |= self.declared(branch, instance, out);
                }
            }
        }
        open
    }

    fn undeclared(&self, schema: &Value, instance: &Value, at: String, out: &mut Vec<String>) {
        match instance {
            Value::Object(map) => {
                let mut declared = Vec::new();
                let open = self.declared(schema, instance, &mut declared);
                for (key, value) in map {
                    let schemas: Vec<&Value> = declared
                        .iter()
                        .filter(|(k, _)| k == key)
                        .map(|(_, s)| *s)
                        .collect();
                    if schemas.is_empty() && !open {
                        out.push(format!("{at}/{key}"));
                    }
                    // Check nested members against the first declaration that knows them.
                    if let Some(schema) = schemas.first() {
                        self.undeclared(schema, value, format!("{at}/{key}"), out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = self.items(schema) {
                    for (i, item) in items.iter().enumerate() {
                        self.undeclared(item_schema, item, format!("{at}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }

    fn items<'a>(&'a self, schema: &'a Value) -> Option<&'a Value> {
        let schema = self.resolve(schema);
        if let Some(items) = schema.get("items") {
            return Some(items);
        }
        ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Value::as_array))
            .flatten()
            .find_map(|branch| self.items(branch))
    }

    /// The `ClientRequest` variant of `method`, if this release knows it.
    fn client_request(&self, method: &str) -> Option<&Value> {
        self.doc["definitions"]["ClientRequest"]["oneOf"]
            .as_array()
            .expect("ClientRequest union")
            .iter()
            .find(|v| {
                v.pointer("/properties/method/enum/0")
                    .and_then(Value::as_str)
                    == Some(method)
            })
    }

    /// Every server request: method and the definition path of its params.
    fn server_requests(&self) -> Vec<(String, String)> {
        self.doc["definitions"]["ServerRequest"]["oneOf"]
            .as_array()
            .expect("ServerRequest union")
            .iter()
            .map(|v| {
                let method = v
                    .pointer("/properties/method/enum/0")
                    .and_then(Value::as_str)
                    .expect("method");
                let params = v
                    .pointer("/properties/params/$ref")
                    .and_then(Value::as_str)
                    .expect("params $ref");
                (
                    method.to_owned(),
                    params.trim_start_matches("#/definitions/").to_owned(),
                )
            })
            .collect()
    }
}

/// The JSON line codex-img writes for `message`.
fn wire(message: &Message) -> Value {
    serde_json::from_slice(&message.to_line()).expect("a line of JSON")
}

/// Params as the session sends them: a params type that encodes to `null` (`()`) is left out.
fn params_of<T: serde::Serialize>(params: &T) -> Option<Value> {
    match serde_json::to_value(params).expect("params encode") {
        Value::Null => None,
        v => Some(v),
    }
}

/// One request codex-img sends, built the way the session builds it.
struct Sent {
    label: &'static str,
    method: &'static str,
    /// The params definition below `#/definitions/`; `None` for a request sent without params.
    definition: Option<&'static str>,
    params: Option<Value>,
}

fn sent<R: ClientRequest>(
    label: &'static str,
    definition: Option<&'static str>,
    params: &R::Params,
) -> Sent {
    Sent {
        label,
        method: R::METHOD,
        definition,
        params: params_of(params),
    }
}

fn everything_codex_img_sends() -> Vec<Sent> {
    use codex_img::protocol::request::*;
    let cwd = Path::new("/tmp/codex-img-5f3a9c/cwd");
    let images = [
        Path::new("/tmp/codex-img-5f3a9c/inputs/image-1.png"),
        Path::new("/tmp/codex-img-5f3a9c/inputs/image-2.jpg"),
    ];
    vec![
        sent::<Initialize>(
            "initialize",
            Some("InitializeParams"),
            &params::initialize(env!("CARGO_PKG_VERSION")),
        ),
        sent::<AccountRead>(
            "account/read",
            Some("v2/GetAccountParams"),
            &params::account_read(),
        ),
        sent::<AccountRateLimitsRead>("account/rateLimits/read", None, &()),
        sent::<ModelProviderCapabilitiesRead>(
            "modelProvider/capabilities/read",
            Some("v2/ModelProviderCapabilitiesReadParams"),
            &ModelProviderCapabilitiesReadParams::default(),
        ),
        sent::<ThreadStart>(
            "thread/start (default model)",
            Some("v2/ThreadStartParams"),
            &params::thread_start(cwd, None),
        ),
        sent::<ThreadStart>(
            "thread/start (model)",
            Some("v2/ThreadStartParams"),
            &params::thread_start(cwd, Some("gpt-5.3-codex")),
        ),
        sent::<TurnStart>(
            "turn/start (text)",
            Some("v2/TurnStartParams"),
            &params::turn_start("01a2090f-fa1d-7c50-9965-4b482e41b682", "a red square", &[]),
        ),
        sent::<TurnStart>(
            "turn/start (text and local images)",
            Some("v2/TurnStartParams"),
            &params::turn_start(
                "01a2090f-fa1d-7c50-9965-4b482e41b682",
                "Make the logo in image 1 match the palette of image 2.\n\"Quotes\", ünïcödé.",
                &images,
            ),
        ),
        sent::<TurnInterrupt>(
            "turn/interrupt",
            Some("v2/TurnInterruptParams"),
            &params::turn_interrupt(
                "01a2090f-fa1d-7c50-9965-4b482e41b682",
                "01a2090f-fe2c-7b40-90fd-6e7db0b1bf2b",
            ),
        ),
        sent::<ThreadUnsubscribe>(
            "thread/unsubscribe",
            Some("v2/ThreadUnsubscribeParams"),
            &params::thread_unsubscribe("01a2090f-fa1d-7c50-9965-4b482e41b682"),
        ),
    ]
}

/// Methods codex-img sends only to releases that have them (0.122.0 answers -32600 "unknown variant").
const GATED_BY_VERSION: &[&str] = &["modelProvider/capabilities/read"];

#[test]
fn the_params_cover_every_client_request() {
    let covered: std::collections::BTreeSet<&str> = everything_codex_img_sends()
        .iter()
        .map(|s| s.method)
        .collect();
    let table: std::collections::BTreeSet<&str> = codex_img::protocol::CLIENT_REQUESTS
        .iter()
        .map(|e| e.method)
        .collect();
    assert_eq!(covered, table);
}

#[test]
fn the_local_images_are_sent_as_local_image_inputs() {
    let images = [Path::new("/tmp/x/image-1.png")];
    assert_eq!(
        serde_json::to_value(params::turn_start("t", "p", &images)).unwrap(),
        json!({"threadId": "t", "input": [{"type": "text", "text": "p"}, {"type": "localImage", "path": "/tmp/x/image-1.png"}]})
    );
}

fn check_params(bundle: &Bundle) {
    let union = bundle.validator("ClientRequest");
    for s in everything_codex_img_sends() {
        let variant = match bundle.client_request(s.method) {
            Some(v) => v,
            None if GATED_BY_VERSION.contains(&s.method) && bundle.name != "0.169.0" => continue,
            None => panic!(
                "{}: the {} bundle has no {}",
                s.label, bundle.name, s.method
            ),
        };
        match (s.definition, &s.params) {
            (Some(definition), Some(params)) => {
                assert_eq!(
                    variant
                        .pointer("/properties/params/$ref")
                        .and_then(Value::as_str),
                    Some(format!("#/definitions/{definition}").as_str()),
                    "{}: the {} bundle's ClientRequest refers to another params type",
                    s.label,
                    bundle.name
                );
                bundle.check(s.label, definition, params);
            }
            (None, None) => {
                let required = variant["required"].as_array().expect("required");
                assert!(
                    !required.contains(&json!("params")),
                    "{}: the {} bundle requires params",
                    s.label,
                    bundle.name
                );
            }
            (definition, params) => panic!(
                "{}: definition {definition:?} but params {params:?}",
                s.label
            ),
        }
        // The whole line, as the session writes it, against the bundle's union of client requests.
        let line = wire(&Message::Request(Request {
            id: RequestId::Integer(7),
            method: s.method.to_owned(),
            params: s.params.clone(),
        }));
        let errors: Vec<String> = union
            .iter_errors(&line)
            .map(|e| e.to_string())
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{}: the line {line} is not a ClientRequest of {}: {errors:?}",
            s.label,
            bundle.name
        );
    }
}

#[test]
fn every_params_value_validates_against_the_pinned_bundle() {
    check_params(&Bundle::current());
}

#[test]
fn every_params_value_validates_against_the_floor_bundle() {
    check_params(&Bundle::floor());
}

#[test]
fn the_initialized_notification_validates_against_both_bundles() {
    let line = wire(&Message::Notification(Notification {
        method: notification::INITIALIZED.into(),
        params: None,
    }));
    assert_eq!(line, json!({"method": "initialized"}));
    for bundle in [Bundle::current(), Bundle::floor()] {
        assert!(
            bundle.validator("ClientNotification").is_valid(&line),
            "{}",
            bundle.name
        );
    }
}

/// A fixed time, so answers are reproducible.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_448_372_788)
}

/// The server requests codex-img refuses with an error rather than an answer.
const REFUSED: &[&str] = &[
    "account/chatgptAuthTokens/refresh",
    "attestation/generate",
    "item/tool/call",
];

fn check_answers(bundle: &Bundle) {
    let requests = bundle.server_requests();
    assert!(!requests.is_empty());
    let mut refused = Vec::new();
    for (method, params_path) in &requests {
        let response_path = format!(
            "{}Response",
            params_path.strip_suffix("Params").expect("…Params")
        );
        let id = RequestId::String(format!("srv-{method}"));
        match answer_method(method, now()) {
            Answer::Result(result) => {
                bundle.check(&format!("the answer to {method}"), &response_path, &result);
                let line = wire(&Message::Response(Response { id, result }));
                assert!(
                    bundle.validator("JSONRPCResponse").is_valid(&line),
                    "{method}: {line}"
                );
            }
            Answer::Error(error) => {
                assert_eq!(error.code, ErrorCode::INTERNAL_ERROR, "{method}");
                assert!(
                    error.message.starts_with("codex-img "),
                    "{method}: {}",
                    error.message
                );
                bundle.check(
                    &format!("the error for {method}"),
                    "JSONRPCErrorError",
                    &serde_json::to_value(&error).unwrap(),
                );
                let line = wire(&Message::Error(ErrorResponse {
                    id: Some(id),
                    error,
                }));
                assert!(
                    bundle.validator("JSONRPCError").is_valid(&line),
                    "{method}: {line}"
                );
                refused.push(method.as_str());
            }
        }
    }
    refused.sort_unstable();
    let expected: Vec<&str> = REFUSED
        .iter()
        .copied()
        .filter(|m| requests.iter().any(|(r, _)| r == m))
        .collect();
    assert_eq!(
        refused, expected,
        "{}: the requests answered with an error",
        bundle.name
    );
}

#[test]
fn every_server_request_answer_validates_against_the_pinned_bundle() {
    check_answers(&Bundle::current());
}

#[test]
fn every_server_request_answer_validates_against_the_floor_bundle() {
    check_answers(&Bundle::floor());
}

#[test]
fn the_answers_decline_and_cancel() {
    let decision = |method| match answer_method(method, now()) {
        Answer::Result(v) => v,
        Answer::Error(e) => panic!("{method}: {e:?}"),
    };
    assert_eq!(
        decision("item/commandExecution/requestApproval"),
        json!({"decision": "decline"})
    );
    assert_eq!(
        decision("item/fileChange/requestApproval"),
        json!({"decision": "decline"})
    );
    assert_eq!(
        decision("execCommandApproval"),
        json!({"decision": "abort"})
    );
    assert_eq!(decision("applyPatchApproval"), json!({"decision": "abort"}));
    assert_eq!(
        decision("item/permissions/requestApproval"),
        json!({"permissions": {}, "scope": "turn"})
    );
    assert_eq!(
        decision("item/tool/requestUserInput"),
        json!({"answers": {}})
    );
    assert_eq!(
        decision("mcpServer/elicitation/request"),
        json!({"action": "cancel"})
    );
}

#[test]
fn current_time_read_is_answered_with_the_time() {
    // Not in either bundle; some releases ask it anyway.
    for bundle in [Bundle::current(), Bundle::floor()] {
        assert!(
            bundle
                .server_requests()
                .iter()
                .all(|(m, _)| m != "currentTime/read"),
            "{}",
            bundle.name
        );
    }
    assert_eq!(
        answer_method("currentTime/read", now()),
        Answer::Result(
            json!({"currentTimeMs": 1_795_448_372_788u64, "currentTime": 1_795_448_372u64})
        )
    );
}

#[test]
fn unknown_server_requests_get_method_not_found() {
    let Answer::Error(error) = answer_method("future/request", now()) else {
        panic!("answered")
    };
    assert_eq!(error.code, ErrorCode::METHOD_NOT_FOUND);
    assert_eq!(error.message, "codex-img does not handle `future/request`");
    let line = wire(&Message::Error(ErrorResponse {
        id: Some(RequestId::Integer(9)),
        error,
    }));
    assert!(
        Bundle::current().validator("JSONRPCError").is_valid(&line),
        "{line}"
    );
}

/// The validator itself must reject what the bundle forbids, or the checks above prove nothing.
#[test]
fn the_checks_reject_bad_values() {
    let bundle = Bundle::current();
    let validator = bundle.validator("v2/ThreadStartParams");
    assert!(
        !validator.is_valid(&json!({"approvalPolicy": "on-failure"})),
        "removed in 0.145"
    );
    assert!(!validator.is_valid(&json!({"sandbox": "read-write"})));
    assert!(!validator.is_valid(&json!({"ephemeral": "yes"})));
    assert!(validator
        .is_valid(&json!({"approvalPolicy": "never", "sandbox": "read-only", "ephemeral": true})));
    let turn = bundle.validator("v2/TurnStartParams");
    assert!(
        !turn.is_valid(&json!({"threadId": "t", "input": [{"type": "localImage"}]})),
        "path is required"
    );
    assert!(
        !turn.is_valid(&json!({"input": []})),
        "threadId is required"
    );
    let floor = Bundle::floor();
    assert!(
        !floor
            .validator("v2/ThreadStartParams")
            .is_valid(&json!({"approvalsReviewer": "auto_review"})),
        "0.122.0 rejects approvalsReviewer auto_review"
    );

    let undeclared = |bundle: &Bundle, path: &str, instance: Value| {
        let mut out = Vec::new();
        bundle.undeclared(
            &json!({"$ref": format!("#/definitions/{path}")}),
            &instance,
            String::new(),
            &mut out,
        );
        out
    };
    assert_eq!(
        undeclared(
            &bundle,
            "v2/ThreadStartParams",
            json!({"cwd": "/x", "colour": "red"})
        ),
        vec!["/colour"]
    );
    assert_eq!(
        undeclared(
            &bundle,
            "v2/TurnStartParams",
            json!({"threadId": "t", "input": [{"type": "localImage", "path": "/p", "zoom": 2}]})
        ),
        vec!["/input/0/zoom"]
    );
    assert_eq!(
        undeclared(
            &bundle,
            "v2/ThreadStartParams",
            json!({"config": {"anything": {"goes": 1}}})
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        undeclared(
            &floor,
            "v2/ThreadStartParams",
            json!({"cwd": "/x", "threadSource": null})
        ),
        vec!["/threadSource"],
        "a member newer than the floor"
    );
}
