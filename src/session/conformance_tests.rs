//! Conformance of what the session builds: every params value it sends and every answer it gives to a
//! server request, validated against the pinned schema bundle and the 0.122.0 floor (each value must
//! validate and carry no member the definition does not declare), and the requests the capture script
//! recorded in `tests/fixtures/transcripts` compared with what `params` builds.
//!
//! These checks need the session's own builders (`params`, `policy`), so they live inside the crate;
//! the protocol's public checks stay in `tests/it/protocol/conformance.rs` and
//! `tests/it/protocol/transcripts.rs`, and share the schema oracle `tests/it/support/bundle.rs`.

#[path = "../../tests/it/support/bundle.rs"]
mod bundle;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use super::params;
use crate::protocol::envelope::{ErrorResponse, Notification, Request, Response};
use crate::protocol::{
    notification, ClientRequest, CodexErrorInfo, ErrorCode, Message,
    ModelProviderCapabilitiesReadParams, RequestId, ThreadStartParams, ThreadStartResponse,
    TurnError, TurnStartResponse,
};
use crate::rpc::policy::{answer_method, Answer};
use bundle::Bundle;

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
    use crate::protocol::request::*;
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
    let table: std::collections::BTreeSet<&str> = crate::protocol::CLIENT_REQUESTS
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
            None if GATED_BY_VERSION.contains(&s.method) && !bundle.pinned => continue,
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

// ---------------------------------------------------------------------------------------------------
// The requests of the recorded sessions, against what `params` builds.

const CWD: &str = "/tmp/codex-img-fixture/cwd";
const PROMPT: &str = "a red square";
/// The `developerInstructions` the capture script sent instead of codex-img's own.
const CAPTURE_INSTRUCTIONS: &str = "Generate exactly one image.";

fn transcripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts")
}

/// One recorded session: each message, and whether codex-img's side sent it.
struct Capture {
    name: String,
    lines: Vec<(bool, Message)>,
}

impl Capture {
    fn from_path(path: &Path) -> Self {
        let name = path
            .strip_prefix(transcripts_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                let at = format!("{name}:{}", n + 1);
                let line: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{at}: {e}"));
                let sent = match line["dir"].as_str() {
                    Some("send") => true,
                    Some("recv") => false,
                    other => panic!("{at}: dir {other:?}"),
                };
                let bytes = serde_json::to_vec(&line["msg"]).unwrap();
                let message = Message::parse(&bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
                (sent, message)
            })
            .collect();
        Self { name, lines }
    }

    fn sent(&self, method: &str) -> Vec<&Request> {
        self.lines
            .iter()
            .filter_map(|(sent, m)| match m {
                Message::Request(r) if *sent && r.method == method => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Whether `scripts/capture-transcripts.py` recorded this session: it introduces itself with
    /// codex-img's own `clientInfo`, and sends what codex-img sends.
    fn by_capture_script(&self) -> bool {
        self.sent("initialize")
            .first()
            .and_then(|r| r.params.as_ref())
            .and_then(|p| p.pointer("/clientInfo/name"))
            == Some(&json!("codex-img"))
    }

    /// The decoded result of the first request sent with `method`.
    fn result<T: serde::de::DeserializeOwned>(&self, method: &str) -> T {
        let request = self.sent(method);
        let id = &request
            .first()
            .unwrap_or_else(|| panic!("{}: no {method} sent", self.name))
            .id;
        let result = self
            .lines
            .iter()
            .find_map(|(sent, m)| match m {
                Message::Response(r) if !*sent && &r.id == id => Some(r.result.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: {method} has no result", self.name));
        serde_json::from_value(result)
            .unwrap_or_else(|e| panic!("{}: {method} result does not decode: {e}", self.name))
    }
}

/// Every `*.jsonl` under the fixtures, every release.
fn all_captures() -> Vec<Capture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(transcripts_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .flat_map(|dir| std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Capture::from_path(p)).collect()
}

struct Ids {
    thread: String,
    turn: String,
}

fn thread_ids(t: &Capture) -> Ids {
    let thread: ThreadStartResponse = t.result("thread/start");
    let turn: TurnStartResponse = t.result("turn/start");
    Ids {
        thread: thread.thread.id,
        turn: turn.turn.id,
    }
}

/// What codex-img itself would send for a request the capture script sent, from `session::params`.
/// `None` for methods codex-img does not send (the script also probes `thread/archive` and an unknown
/// method).
fn codex_img_params(t: &Capture, request: &Request) -> Option<Option<Value>> {
    fn to<T: serde::Serialize>(params: &T) -> Option<Option<Value>> {
        Some(Some(serde_json::to_value(params).expect("params encode")))
    }
    let p = request.params.clone().unwrap_or(Value::Null);
    let s = |key: &str| {
        p[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {} without {key}", t.name, request.method))
            .to_owned()
    };
    match request.method.as_str() {
        "initialize" => to(&params::initialize("0.1.0")),
        "account/read" => to(&params::account_read()),
        // `()` params: the session leaves `params` out.
        "account/rateLimits/read" => {
            assert_eq!(serde_json::to_value(()).unwrap(), Value::Null);
            Some(None)
        }
        "modelProvider/capabilities/read" => to(&ModelProviderCapabilitiesReadParams::default()),
        "thread/start" => {
            // The capture used short instructions of its own; everything else is what codex-img sends.
            let ours = params::thread_start(Path::new(CWD), None);
            assert_eq!(
                ours.developer_instructions.as_deref(),
                Some(params::DEVELOPER_INSTRUCTIONS)
            );
            // The captures predate the lean turn's base instructions, so those are checked here and
            // left out of the comparison.
            assert_eq!(
                ours.base_instructions.as_deref(),
                Some(params::BASE_INSTRUCTIONS)
            );
            to(&ThreadStartParams {
                developer_instructions: Some(CAPTURE_INSTRUCTIONS.into()),
                base_instructions: None,
                ..ours
            })
        }
        "turn/start" => {
            assert_eq!(
                s("threadId"),
                thread_ids(t).thread,
                "{}: turn/start thread",
                t.name
            );
            to(&params::turn_start(&s("threadId"), PROMPT, &[]))
        }
        "turn/interrupt" => {
            let ids = thread_ids(t);
            to(&params::turn_interrupt(&ids.thread, &ids.turn))
        }
        "thread/unsubscribe" => to(&params::thread_unsubscribe(&thread_ids(t).thread)),
        "thread/archive" | "codexImg/nope" => None,
        other => panic!(
            "{}: the capture sent {other}; say here whether codex-img sends it",
            t.name
        ),
    }
}

#[test]
fn what_the_capture_sent_is_what_codex_img_builds() {
    let mut compared = BTreeSet::new();
    for t in all_captures()
        .into_iter()
        .filter(Capture::by_capture_script)
    {
        for (_, message) in t.lines.iter().filter(|(sent, _)| *sent) {
            match message {
                Message::Request(request) => {
                    if let Some(expected) = codex_img_params(&t, request) {
                        assert_eq!(request.params, expected, "{}: {}", t.name, request.method);
                        compared.insert(request.method.clone());
                    }
                }
                Message::Notification(n) => {
                    assert_eq!(
                        n,
                        &Notification {
                            method: notification::INITIALIZED.into(),
                            params: None
                        },
                        "{}",
                        t.name
                    );
                    compared.insert(n.method.clone());
                }
                other => panic!("{}: sent {other:?}", t.name),
            }
        }
    }
    let expected: BTreeSet<String> = [
        "initialize",
        "initialized",
        "account/read",
        "account/rateLimits/read",
        "modelProvider/capabilities/read",
        "thread/start",
        "turn/start",
        "turn/interrupt",
        "thread/unsubscribe",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(compared, expected);
}

// ---------------------------------------------------------------------------------------------------
// 0.171.0.

/// 0.171.0's new `bioPolicy` is a refusal like `cyberPolicy`, whatever its message says.
#[test]
fn bio_policy_is_a_refusal() {
    let error: TurnError = serde_json::from_value(
        json!({"message": "This request was blocked.", "codexErrorInfo": "bioPolicy"}),
    )
    .unwrap();
    assert_eq!(error.codex_error_info, Some(CodexErrorInfo::BioPolicy));
    assert_eq!(
        super::outcome::from_turn_error(error).code(),
        "runtime/refused"
    );
}
