//! Sessions recorded from real `codex app-server` releases (`tests/fixtures/transcripts/<version>/`, see
//! the README there), decoded with the generated types.
//!
//! Every line of every transcript must parse as a [`Message`]; every notification must decode, into its
//! typed variant when codex-img models the method; every response must decode into the typed response of
//! the request it answers (matched by id, because the order of responses and notifications changes from
//! run to run). The per-release tests then pin what each release really sends. That what the capture
//! script sent is what the session's params builders make is checked inside the crate
//! (`src/session/conformance_tests.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use codex_img::protocol::envelope::Request;
use codex_img::protocol::items::ImagePayload;
use codex_img::protocol::{
    request, Account, ApiKeyAccount, ChatgptAccount, ClientRequest, CodexErrorInfo, ErrorCode,
    ErrorObject, GetAccountResponse, ImageGenerationThreadItem, InitializeResponse,
    ItemCompletedNotification, ItemStartedNotification, Message,
    ModelProviderCapabilitiesReadResponse, PlanType, RequestId,
    ResponseStreamDisconnectedCodexErrorInfo, ServerNotification, ServerRequest, TextUserInput,
    Thread, ThreadItem, ThreadStartResponse, ThreadStartedNotification, ThreadUnsubscribeResponse,
    ThreadUnsubscribeStatus, Turn, TurnCompletedNotification, TurnError, TurnInterruptResponse,
    TurnStartResponse, TurnStartedNotification, TurnStatus, UserInput, UserMessageThreadItem,
    CLIENT_REQUESTS, IGNORED_SERVER_NOTIFICATIONS,
};
use pretty_assertions::assert_eq;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// What differs between the recorded releases (see the table in the fixtures' README).
struct Release {
    version: &'static str,
    /// `thread/start`'s default model without any config.
    model: &'static str,
    /// `modelProvider/capabilities/read` exists (0.122.0 rejects it as an unknown method).
    capabilities: bool,
    /// Notifications carry a top-level `emittedAtMs`.
    emitted_at_ms: bool,
    /// `item/started` / `item/completed` params carry `startedAtMs` / `completedAtMs`.
    params_times: bool,
    /// Items themselves carry `startedAtMs` / `completedAtMs`.
    item_times: bool,
    /// Turns carry `itemsView`.
    items_view: bool,
    /// Turns carry `rootTurnId`.
    root_turn_id: bool,
    /// `imageGeneration` items carry `failure` and `transparentBackground`.
    image_failure_field: bool,
}

const RELEASES: &[Release] = &[
    Release {
        version: "0.122.0",
        model: "gpt-5.3-codex",
        capabilities: false,
        emitted_at_ms: false,
        params_times: false,
        item_times: false,
        items_view: false,
        root_turn_id: false,
        image_failure_field: false,
    },
    Release {
        version: "0.150.0",
        model: "gpt-5.6-sol",
        capabilities: true,
        emitted_at_ms: true,
        params_times: true,
        item_times: false,
        items_view: true,
        root_turn_id: false,
        image_failure_field: true,
    },
    Release {
        version: "0.160.0",
        model: "gpt-6.1-sol",
        capabilities: true,
        emitted_at_ms: true,
        params_times: true,
        item_times: false,
        items_view: true,
        root_turn_id: false,
        image_failure_field: true,
    },
    Release {
        version: "0.169.0",
        model: "gpt-6.1-sol",
        capabilities: true,
        emitted_at_ms: true,
        params_times: true,
        item_times: true,
        items_view: true,
        root_turn_id: true,
        image_failure_field: true,
    },
];

const FILES: &[&str] = &[
    "handshake-no-login.jsonl",
    "thread-no-login.jsonl",
    "handshake-api-key.jsonl",
];
const CODEX_HOME: &str = "/tmp/codex-img-fixture/home";
const CWD: &str = "/tmp/codex-img-fixture/cwd";
const PROMPT: &str = "a red square";
/// How every release answers a method it does not know: -32600, not -32601.
const UNKNOWN_VARIANT: &str = "Invalid request: unknown variant `";

fn transcripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Send,
    Recv,
}

/// One recorded message: its direction, the envelope, and the raw JSON as recorded.
struct Line {
    dir: Dir,
    message: Message,
    raw: Value,
}

enum Reply {
    Result(Value),
    Error(ErrorObject),
}

struct Transcript {
    name: String,
    lines: Vec<Line>,
}

impl Transcript {
    fn load(version: &str, file: &str) -> Self {
        Self::from_path(&transcripts_dir().join(version).join(file))
    }

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
                let dir = match line["dir"].as_str() {
                    Some("send") => Dir::Send,
                    Some("recv") => Dir::Recv,
                    other => panic!("{at}: dir {other:?}"),
                };
                let raw = line["msg"].clone();
                let bytes = serde_json::to_vec(&raw).unwrap();
                let message = Message::parse(&bytes).unwrap_or_else(|e| panic!("{at}: {e}: {raw}"));
                Line { dir, message, raw }
            })
            .collect();
        Self { name, lines }
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

    /// The requests sent with `method`, in order.
    fn sent(&self, method: &str) -> Vec<&Request> {
        self.lines
            .iter()
            .filter_map(|l| match (&l.dir, &l.message) {
                (Dir::Send, Message::Request(r)) if r.method == method => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The reply to the `nth` request sent with `method`, matched by id.
    fn reply(&self, method: &str, nth: usize) -> Reply {
        let sent = self.sent(method);
        let request = sent
            .get(nth)
            .unwrap_or_else(|| panic!("{}: no {method} #{nth} sent", self.name));
        self.reply_to(&request.id)
            .unwrap_or_else(|| panic!("{}: {method} (id {}) unanswered", self.name, request.id))
    }

    fn reply_to(&self, id: &RequestId) -> Option<Reply> {
        self.lines.iter().find_map(|l| match (&l.dir, &l.message) {
            (Dir::Recv, Message::Response(r)) if &r.id == id => {
                Some(Reply::Result(r.result.clone()))
            }
            (Dir::Recv, Message::Error(e)) if e.id.as_ref() == Some(id) => {
                Some(Reply::Error(e.error.clone()))
            }
            _ => None,
        })
    }

    fn result<T: DeserializeOwned>(&self, method: &str, nth: usize) -> T {
        match self.reply(method, nth) {
            Reply::Result(v) => serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                panic!("{}: {method} result does not decode: {e}: {v}", self.name)
            }),
            Reply::Error(e) => panic!("{}: {method} failed: {e:?}", self.name),
        }
    }

    fn error(&self, method: &str, nth: usize) -> ErrorObject {
        match self.reply(method, nth) {
            Reply::Error(e) => e,
            Reply::Result(v) => panic!("{}: {method} succeeded with {v}", self.name),
        }
    }

    /// Every notification received, decoded, with its raw JSON.
    fn notifications(&self) -> Vec<(ServerNotification, &Value)> {
        self.lines
            .iter()
            .filter_map(|l| match (&l.dir, &l.message) {
                (Dir::Recv, Message::Notification(n)) => {
                    let decoded = ServerNotification::decode(
                        &n.method,
                        n.params.clone().unwrap_or(Value::Null),
                    )
                    .unwrap_or_else(|e| {
                        panic!(
                            "{}: {} does not decode: {e}: {}",
                            self.name, n.method, l.raw
                        )
                    });
                    Some((decoded, &l.raw))
                }
                _ => None,
            })
            .collect()
    }

    fn typed(&self) -> Vec<ServerNotification> {
        self.notifications().into_iter().map(|(n, _)| n).collect()
    }
}

/// Decodes a response by the method of the request it answers, with that method's typed response.
/// `None` for a method codex-img does not send.
fn decode_response(method: &str, result: Value) -> Option<Result<(), serde_json::Error>> {
    fn typed<R: ClientRequest>(result: Value) -> Result<(), serde_json::Error> {
        serde_json::from_value::<R::Response>(result).map(drop)
    }
    use request::*;
    Some(match method {
        m if m == Initialize::METHOD => typed::<Initialize>(result),
        m if m == AccountRead::METHOD => typed::<AccountRead>(result),
        m if m == AccountRateLimitsRead::METHOD => typed::<AccountRateLimitsRead>(result),
        m if m == ModelProviderCapabilitiesRead::METHOD => {
            typed::<ModelProviderCapabilitiesRead>(result)
        }
        m if m == ThreadStart::METHOD => typed::<ThreadStart>(result),
        m if m == ThreadUnsubscribe::METHOD => typed::<ThreadUnsubscribe>(result),
        m if m == TurnStart::METHOD => typed::<TurnStart>(result),
        m if m == TurnInterrupt::METHOD => typed::<TurnInterrupt>(result),
        _ => return None,
    })
}

#[test]
fn the_response_decoder_covers_every_client_request() {
    for entry in CLIENT_REQUESTS {
        assert!(
            decode_response(entry.method, Value::Null).is_some(),
            "{} is not decoded by the transcript test",
            entry.method
        );
    }
}

#[test]
fn every_release_and_file_is_present() {
    let mut found = BTreeSet::new();
    for dir in std::fs::read_dir(transcripts_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            found.insert(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    let expected: BTreeSet<String> = RELEASES.iter().map(|r| r.version.to_owned()).collect();
    assert_eq!(
        found, expected,
        "a release directory without a `Release` row here, or the reverse"
    );
    for release in RELEASES {
        for file in FILES {
            let path = transcripts_dir().join(release.version).join(file);
            assert!(path.is_file(), "missing {}", path.display());
        }
    }
}

/// Every `*.jsonl` under the fixtures, including extra files such as `0.122.0/thread-no-login-wait60s.jsonl`.
fn all_transcripts() -> Vec<(String, Transcript)> {
    let mut out = Vec::new();
    for release in RELEASES {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(transcripts_dir().join(release.version))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        paths.sort();
        out.extend(
            paths
                .iter()
                .map(|p| (release.version.to_owned(), Transcript::from_path(p))),
        );
    }
    out
}

#[test]
fn every_received_line_decodes_with_the_typed_messages() {
    let mut decoded_responses = 0;
    let mut typed_notifications = 0;
    for (_, t) in all_transcripts() {
        // Each request id sent, with its method, and how often it was answered.
        let mut pending: BTreeMap<RequestId, (String, usize)> = BTreeMap::new();
        for line in &t.lines {
            match (line.dir, &line.message) {
                (Dir::Send, Message::Request(r)) => {
                    let previous = pending.insert(r.id.clone(), (r.method.clone(), 0));
                    assert!(previous.is_none(), "{}: id {} reused", t.name, r.id);
                }
                (Dir::Send, Message::Notification(_)) => {}
                (Dir::Send, other) => panic!("{}: codex-img never sends {other:?}", t.name),
                (Dir::Recv, Message::Notification(n)) => {
                    let params = n.params.clone().unwrap_or(Value::Null);
                    let decoded = ServerNotification::decode(&n.method, params.clone())
                        .unwrap_or_else(|e| {
                            panic!(
                                "{}: {} does not decode: {e}: {}",
                                t.name, n.method, line.raw
                            )
                        });
                    if ServerNotification::MODELLED.contains(&n.method.as_str()) {
                        assert!(
                            !matches!(decoded, ServerNotification::Unrecognized { .. }),
                            "{}: {} is modelled but fell back",
                            t.name,
                            n.method
                        );
                        typed_notifications += 1;
                    } else {
                        assert_eq!(
                            decoded,
                            ServerNotification::Unrecognized {
                                method: n.method.clone(),
                                params
                            }
                        );
                        assert!(
                            IGNORED_SERVER_NOTIFICATIONS.contains(&n.method.as_str()),
                            "{}: {} is neither modelled nor deliberately ignored",
                            t.name,
                            n.method
                        );
                    }
                }
                (Dir::Recv, Message::Request(r)) => {
                    ServerRequest::decode(&r.method, r.params.clone().unwrap_or(Value::Null))
                        .unwrap_or_else(|e| {
                            panic!(
                                "{}: server request {} does not decode: {e}",
                                t.name, r.method
                            )
                        });
                }
                (Dir::Recv, Message::Response(r)) => {
                    let (method, answers) = pending
                        .get_mut(&r.id)
                        .unwrap_or_else(|| panic!("{}: response to unknown id {}", t.name, r.id));
                    *answers += 1;
                    if let Some(decoded) = decode_response(method, r.result.clone()) {
                        decoded.unwrap_or_else(|e| {
                            panic!(
                                "{}: {method} response does not decode: {e}: {}",
                                t.name, line.raw
                            )
                        });
                        decoded_responses += 1;
                    }
                }
                (Dir::Recv, Message::Error(e)) => {
                    let id = e
                        .id
                        .as_ref()
                        .unwrap_or_else(|| panic!("{}: error without id: {}", t.name, line.raw));
                    let (_, answers) = pending
                        .get_mut(id)
                        .unwrap_or_else(|| panic!("{}: error for unknown id {id}", t.name));
                    *answers += 1;
                }
            }
        }
        // The capture script waits for every answer; other recorders (the live-test harness) may stop
        // reading once the turn is over, so an answer may be missing there, but never doubled.
        let expected = if t.by_capture_script() { 1..=1 } else { 0..=1 };
        for (id, (method, answers)) in pending {
            assert!(
                expected.contains(&answers),
                "{}: {method} (id {id}) answered {answers} times",
                t.name
            );
        }
    }
    // 4 releases x (2 handshakes + thread) at the least; guards against an empty fixture set.
    assert!(
        decoded_responses >= 40,
        "only {decoded_responses} typed responses decoded"
    );
    assert!(
        typed_notifications >= 40,
        "only {typed_notifications} typed notifications decoded"
    );
}

#[test]
fn emitted_at_ms_appears_from_0_145_and_is_tolerated() {
    for release in RELEASES {
        for file in FILES {
            let t = Transcript::load(release.version, file);
            let notifications = t.notifications();
            assert!(!notifications.is_empty(), "{}: no notifications", t.name);
            for (_, raw) in notifications {
                assert_eq!(
                    raw.get("emittedAtMs").is_some(),
                    release.emitted_at_ms,
                    "{}: {raw}",
                    t.name
                );
            }
        }
    }
}

fn expected_initialize(version: &str) -> InitializeResponse {
    InitializeResponse {
        codex_home: CODEX_HOME.into(),
        platform_family: "unix".into(),
        platform_os: "linux".into(),
        user_agent: format!("codex-img/{version} (Debian 12.0.0; x86_64) xterm (codex-img; 0.1.0)"),
    }
}

/// The release in a user agent: `<clientInfo.name>/<codex version> (...)`.
fn user_agent_version(user_agent: &str) -> &str {
    let product = user_agent.split(' ').next().unwrap_or_default();
    product
        .strip_prefix("codex-img/")
        .unwrap_or_else(|| panic!("user agent {user_agent:?}"))
}

fn assert_capabilities(t: &Transcript, release: &Release) {
    if release.capabilities {
        let capabilities: ModelProviderCapabilitiesReadResponse =
            t.result("modelProvider/capabilities/read", 0);
        assert_eq!(
            capabilities,
            ModelProviderCapabilitiesReadResponse {
                image_generation: true,
                web_search: true
            },
            "{}",
            t.name
        );
    } else {
        let e = t.error("modelProvider/capabilities/read", 0);
        assert_eq!(e.code, ErrorCode::INVALID_REQUEST, "{}", t.name);
        assert!(
            e.message.starts_with(&format!(
                "{UNKNOWN_VARIANT}modelProvider/capabilities/read`, expected one of `initialize`"
            )),
            "{}: {}",
            t.name,
            e.message
        );
    }
}

#[test]
fn handshake_without_login() {
    for release in RELEASES {
        let v = release.version;
        let t = Transcript::load(v, "handshake-no-login.jsonl");

        let init: InitializeResponse = t.result("initialize", 0);
        assert_eq!(init, expected_initialize(v), "{}", t.name);
        assert_eq!(user_agent_version(&init.user_agent), v);

        // `account/read` went out with the string id "s-1", and came back under it.
        assert_eq!(
            t.sent("account/read")[0].id,
            RequestId::String("s-1".into())
        );
        let account: GetAccountResponse = t.result("account/read", 0);
        assert_eq!(
            account,
            GetAccountResponse {
                account: None,
                requires_openai_auth: true,
                user_id: None
            },
            "{v}"
        );

        assert_eq!(
            t.error("account/rateLimits/read", 0),
            ErrorObject {
                code: ErrorCode::INVALID_REQUEST,
                message: "codex account authentication required to read rate limits".into(),
                data: None,
            },
            "{v}"
        );
        assert_capabilities(&t, release);

        assert_eq!(
            t.error("initialize", 1),
            ErrorObject {
                code: ErrorCode::INVALID_REQUEST,
                message: "Already initialized".into(),
                data: None
            },
            "{v}: a second initialize"
        );
        let unknown = t.error("codexImg/nope", 0);
        assert_eq!(
            unknown.code,
            ErrorCode::INVALID_REQUEST,
            "{v}: unknown methods get -32600, not -32601"
        );
        assert!(
            unknown.message.starts_with(&format!(
                "{UNKNOWN_VARIANT}codexImg/nope`, expected one of `initialize`"
            )),
            "{v}: {}",
            unknown.message
        );
        assert_eq!(unknown.data, None);

        let mut methods: Vec<String> = t.typed().iter().map(|n| n.method().to_owned()).collect();
        methods.sort();
        let expected: &[&str] = if release.emitted_at_ms {
            &["configWarning", "remoteControl/status/changed"]
        } else {
            &["configWarning"]
        };
        assert_eq!(methods, expected, "{v}");
    }
}

#[test]
fn handshake_with_an_api_key() {
    for release in RELEASES {
        let v = release.version;
        let t = Transcript::load(v, "handshake-api-key.jsonl");
        assert_eq!(
            t.result::<InitializeResponse>("initialize", 0),
            expected_initialize(v),
            "{v}"
        );
        let account: GetAccountResponse = t.result("account/read", 0);
        assert_eq!(
            account,
            GetAccountResponse {
                account: Some(Account::ApiKey(ApiKeyAccount {})),
                requires_openai_auth: true,
                user_id: None
            },
            "{v}"
        );
        assert_capabilities(&t, release);
    }
}

/// The ids a thread transcript revolves around, from the responses.
struct Ids {
    thread: String,
    turn: String,
}

fn thread_ids(t: &Transcript) -> Ids {
    let thread: ThreadStartResponse = t.result("thread/start", 0);
    let turn: TurnStartResponse = t.result("turn/start", 0);
    Ids {
        thread: thread.thread.id,
        turn: turn.turn.id,
    }
}

fn turn(release: &Release, id: &str, status: TurnStatus) -> Turn {
    Turn {
        completed_at: None,
        duration_ms: None,
        error: None,
        id: id.into(),
        items: vec![],
        items_view: release.items_view.then(|| json!("notLoaded")),
        root_turn_id: release.root_turn_id.then(|| id.to_owned()),
        started_at: None,
        status,
    }
}

#[test]
fn thread_and_turn_without_login() {
    for release in RELEASES {
        let v = release.version;
        let t = Transcript::load(v, "thread-no-login.jsonl");
        assert_eq!(
            t.result::<InitializeResponse>("initialize", 0),
            expected_initialize(v),
            "{v}"
        );

        // thread/start, and thread/started with the very same thread.
        let started: ThreadStartResponse = t.result("thread/start", 0);
        let thread = Thread {
            cli_version: v.into(),
            created_at: started.thread.created_at,
            cwd: CWD.into(),
            ephemeral: true,
            id: started.thread.id.clone(),
        };
        assert!(
            thread.created_at > 1_700_000_000,
            "{v}: createdAt {}",
            thread.created_at
        );
        assert_eq!(
            started,
            ThreadStartResponse {
                cwd: CWD.into(),
                model: release.model.into(),
                model_provider: "openai".into(),
                thread: thread.clone(),
            },
            "{v}"
        );
        let notifications = t.typed();
        let thread_started: Vec<_> = notifications
            .iter()
            .filter_map(|n| match n {
                ServerNotification::ThreadStarted(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            thread_started,
            vec![ThreadStartedNotification {
                thread: thread.clone()
            }],
            "{v}"
        );

        // turn/start answers at once with the turn in progress; turn/started follows with a start time.
        let ids = thread_ids(&t);
        let turn_start: TurnStartResponse = t.result("turn/start", 0);
        assert_eq!(
            turn_start,
            TurnStartResponse {
                turn: turn(release, &ids.turn, TurnStatus::InProgress)
            },
            "{v}"
        );
        let turn_started: Vec<_> = notifications
            .iter()
            .filter_map(|n| match n {
                ServerNotification::TurnStarted(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let started_at = turn_started.first().and_then(|s| s.turn.started_at);
        assert!(started_at.is_some(), "{v}: turn/started without startedAt");
        assert_eq!(
            turn_started,
            vec![TurnStartedNotification {
                thread_id: ids.thread.clone(),
                turn: Turn {
                    started_at,
                    ..turn(release, &ids.turn, TurnStatus::InProgress)
                },
            }],
            "{v}"
        );

        assert_user_message_items(release, &notifications, &ids);

        // While offline every release retries the stream, and says so with retryable `error`s.
        let errors: Vec<_> = notifications
            .iter()
            .filter_map(|n| match n {
                ServerNotification::Error(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        assert!(
            errors.len() >= 3,
            "{v}: only {} error notifications",
            errors.len()
        );
        for e in &errors {
            assert_eq!(
                (e.thread_id.as_str(), e.turn_id.as_str(), e.will_retry),
                (ids.thread.as_str(), ids.turn.as_str(), true),
                "{v}"
            );
            assert_eq!(
                e.error.codex_error_info,
                Some(CodexErrorInfo::ResponseStreamDisconnected(
                    ResponseStreamDisconnectedCodexErrorInfo {
                        http_status_code: None
                    }
                )),
                "{v}"
            );
            assert!(
                e.error.message.starts_with("Reconnecting... "),
                "{v}: {}",
                e.error.message
            );
        }

        // codex-img interrupts; the turn ends interrupted, without error and without items.
        assert_eq!(
            t.result::<TurnInterruptResponse>("turn/interrupt", 0),
            TurnInterruptResponse {},
            "{v}"
        );
        let completed = turn_completed(&notifications);
        assert_eq!(
            completed,
            TurnCompletedNotification {
                thread_id: ids.thread.clone(),
                turn: Turn {
                    started_at,
                    completed_at: completed.turn.completed_at,
                    duration_ms: completed.turn.duration_ms,
                    ..turn(release, &ids.turn, TurnStatus::Interrupted)
                },
            },
            "{v}"
        );
        assert!(
            completed.turn.completed_at >= started_at && completed.turn.duration_ms.is_some(),
            "{v}"
        );

        assert_eq!(
            t.result::<ThreadUnsubscribeResponse>("thread/unsubscribe", 0),
            ThreadUnsubscribeResponse {
                status: ThreadUnsubscribeStatus::Unsubscribed
            },
            "{v}"
        );
        assert_eq!(
            t.error("thread/archive", 0),
            ErrorObject {
                code: ErrorCode::INVALID_REQUEST,
                message: format!("no rollout found for thread id {}", ids.thread),
                data: None,
            },
            "{v}: ephemeral threads have no rollout"
        );

        // Every typed notification is routable to this thread.
        for n in &notifications {
            let thread_id = match n {
                ServerNotification::ThreadStarted(s) => &s.thread.id,
                ServerNotification::TurnStarted(s) => &s.thread_id,
                ServerNotification::TurnCompleted(s) => &s.thread_id,
                ServerNotification::ItemStarted(s) => &s.thread_id,
                ServerNotification::ItemCompleted(s) => &s.thread_id,
                ServerNotification::Error(s) => &s.thread_id,
                _ => continue,
            };
            assert_eq!(thread_id, &ids.thread, "{v}: {}", n.method());
        }
    }
}

fn turn_completed(notifications: &[ServerNotification]) -> TurnCompletedNotification {
    let completed: Vec<_> = notifications
        .iter()
        .filter_map(|n| match n {
            ServerNotification::TurnCompleted(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1, "turn/completed count");
    completed[0].clone()
}

/// The user's prompt comes back as a `userMessage` item, started and completed, with the timestamps
/// each release adds.
fn assert_user_message_items(release: &Release, notifications: &[ServerNotification], ids: &Ids) {
    let v = release.version;
    let started: Vec<&ItemStartedNotification> = notifications
        .iter()
        .filter_map(|n| match n {
            ServerNotification::ItemStarted(s) => Some(s),
            _ => None,
        })
        .collect();
    let completed: Vec<&ItemCompletedNotification> = notifications
        .iter()
        .filter_map(|n| match n {
            ServerNotification::ItemCompleted(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(
        (started.len(), completed.len()),
        (1, 1),
        "{v}: item notifications"
    );
    let (started, completed) = (started[0], completed[0]);

    let ThreadItem::UserMessage(item) = &started.item else {
        panic!("{v}: {:?}", started.item)
    };
    let message = |started_at_ms, completed_at_ms| {
        ThreadItem::UserMessage(UserMessageThreadItem {
            client_id: None,
            content: vec![UserInput::Text(TextUserInput {
                text: PROMPT.into(),
                text_elements: vec![],
            })],
            id: item.id.clone(),
            completed_at_ms,
            started_at_ms,
        })
    };

    assert_eq!(
        started.started_at_ms.is_some(),
        release.params_times,
        "{v}: item/started startedAtMs"
    );
    assert_eq!(
        completed.completed_at_ms.is_some(),
        release.params_times,
        "{v}: item/completed completedAtMs"
    );
    let item_started_at = release
        .item_times
        .then_some(started.started_at_ms)
        .flatten();
    let item_completed_at = release
        .item_times
        .then_some(completed.completed_at_ms)
        .flatten();
    assert_eq!(
        *started,
        ItemStartedNotification {
            item: message(item_started_at, None),
            started_at_ms: started.started_at_ms,
            thread_id: ids.thread.clone(),
            turn_id: ids.turn.clone(),
        },
        "{v}"
    );
    assert_eq!(
        *completed,
        ItemCompletedNotification {
            completed_at_ms: completed.completed_at_ms,
            content_token_count: None,
            item: message(item_started_at, item_completed_at),
            thread_id: ids.thread.clone(),
            turn_id: ids.turn.clone(),
        },
        "{v}"
    );
}

#[test]
fn a_turn_that_fails_by_itself_on_0_122() {
    let t = Transcript::load("0.122.0", "thread-no-login-wait60s.jsonl");
    let ids = thread_ids(&t);
    let notifications = t.typed();
    let error = TurnError {
        additional_details: None,
        codex_error_info: Some(CodexErrorInfo::Other),
        message: "stream disconnected before completion: error sending request for url (https://api.openai.com/v1/responses)"
            .into(),
        misalignment: None,
    };
    let last_error = notifications
        .iter()
        .filter_map(|n| match n {
            ServerNotification::Error(e) => Some(e),
            _ => None,
        })
        .next_back()
        .expect("error notifications");
    assert_eq!((&last_error.error, last_error.will_retry), (&error, false));

    let completed = turn_completed(&notifications);
    assert_eq!(
        completed.turn,
        Turn {
            completed_at: completed.turn.completed_at,
            duration_ms: completed.turn.duration_ms,
            error: Some(error),
            id: ids.turn.clone(),
            items: vec![],
            items_view: None,
            root_turn_id: None,
            started_at: completed.turn.started_at,
            status: TurnStatus::Failed,
        }
    );
    assert!(
        completed.turn.duration_ms.unwrap_or_default() > 20_000,
        "{:?}",
        completed.turn.duration_ms
    );
    assert!(t.sent("turn/interrupt").is_empty());
    assert_eq!(
        t.result::<ThreadUnsubscribeResponse>("thread/unsubscribe", 0)
            .status,
        ThreadUnsubscribeStatus::Unsubscribed
    );
}

/// The name of the image-turn recordings that the live-test harness writes against its loopback backend.
const IMAGE_TURN: &str = "image-turn.jsonl";

/// Full image turns, recorded against the loopback backend with a fake ChatGPT login.
#[test]
fn image_turns_decode_into_an_image_payload() {
    let mut seen = Vec::new();
    for release in RELEASES {
        let v = release.version;
        if !transcripts_dir().join(v).join(IMAGE_TURN).is_file() {
            continue;
        }
        seen.push(v);
        let t = Transcript::load(v, IMAGE_TURN);
        let init: InitializeResponse = t.result("initialize", 0);
        assert_eq!(
            init.user_agent
                .split(' ')
                .next()
                .and_then(|p| p.split_once('/'))
                .map(|p| p.1),
            Some(v)
        );

        let account: GetAccountResponse = t.result("account/read", 0);
        assert_eq!(
            account.account,
            Some(Account::Chatgpt(ChatgptAccount {
                email: Some("loopback@example.invalid".into()),
                plan_type: PlanType::Plus,
                workspace_name: None,
            })),
            "{v}"
        );
        let ids = Ids {
            thread: t.result::<ThreadStartResponse>("thread/start", 0).thread.id,
            turn: t.result::<TurnStartResponse>("turn/start", 0).turn.id,
        };

        let notifications = t.typed();
        let images = |started: bool| -> Vec<(ImageGenerationThreadItem, Option<i64>)> {
            notifications
                .iter()
                .filter_map(|n| match (n, started) {
                    (ServerNotification::ItemStarted(s), true) => {
                        assert_eq!((&s.thread_id, &s.turn_id), (&ids.thread, &ids.turn), "{v}");
                        Some((s.item.clone(), s.started_at_ms))
                    }
                    (ServerNotification::ItemCompleted(c), false) => {
                        assert_eq!((&c.thread_id, &c.turn_id), (&ids.thread, &ids.turn), "{v}");
                        Some((c.item.clone(), c.completed_at_ms))
                    }
                    _ => None,
                })
                .filter_map(|(item, at)| match item {
                    ThreadItem::ImageGeneration(image) => Some((image, at)),
                    _ => None,
                })
                .collect()
        };
        let (started, completed) = (images(true), images(false));
        assert_eq!(
            (started.len(), completed.len()),
            (1, 1),
            "{v}: imageGeneration items"
        );
        let ((started, started_at_ms), (image, completed_at_ms)) = (&started[0], &completed[0]);

        // The finished item: bytes inline in `result`, the prompt Codex used, and where Codex saved it.
        let ImagePayload::Inline(bytes) = image.payload() else {
            panic!("{v}: no inline image: {image:?}")
        };
        assert!(!bytes.is_empty());
        assert_eq!(
            *image,
            ImageGenerationThreadItem {
                id: image.id.clone(),
                status: "completed".into(),
                revised_prompt: Some("a red square on a white background".into()),
                result: Some(bytes.to_owned()),
                saved_path: image.saved_path.clone(),
                transparent_background: release.image_failure_field.then_some(false),
                started_at_ms: release.item_times.then_some(*started_at_ms).flatten(),
                completed_at_ms: release.item_times.then_some(*completed_at_ms).flatten(),
                ..Default::default()
            },
            "{v}"
        );
        let saved = image.saved_path.as_deref().unwrap_or_default();
        assert!(
            saved.ends_with(&format!(
                "/generated_images/{}/{}.png",
                ids.thread, image.id
            )),
            "{v}: savedPath {saved:?}"
        );
        assert_eq!(image.usage_limit(), None);
        assert_eq!(completed_at_ms.is_some(), release.params_times, "{v}");

        // When it starts, the item is the same one; from 0.150 it has no bytes yet.
        assert_eq!(started.id, image.id, "{v}");
        if release.image_failure_field {
            assert_eq!(
                (
                    started.status.as_str(),
                    started.payload(),
                    started.result.as_deref()
                ),
                ("in_progress", ImagePayload::Missing, Some("")),
                "{v}"
            );
        } else {
            assert_eq!(
                started, image,
                "{v}: 0.122.0 starts the item already complete"
            );
        }
        assert_eq!(started_at_ms.is_some(), release.params_times, "{v}");

        let done = turn_completed(&notifications);
        assert_eq!(done.turn.error, None, "{v}");
        assert!(
            matches!(
                done.turn.status,
                TurnStatus::Completed | TurnStatus::Interrupted
            ),
            "{v}: {:?}",
            done.turn.status
        );
    }
    for required in ["0.122.0", "0.169.0"] {
        assert!(seen.contains(&required), "no {IMAGE_TURN} for {required}");
    }
}
