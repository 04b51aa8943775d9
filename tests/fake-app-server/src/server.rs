//! The connection: one reader loop that answers every client request and routes everything else.
//!
//! The main thread reads stdin line by line. Requests are answered here, in one `match` on the
//! method, with the shapes Codex 0.169.0 sends (checked against the real binary and
//! `schemas/codex_app_server_protocol.schemas.json`), trimmed for older pretended versions where
//! the difference matters. `turn/start` hands the turn to its own thread (`scenario.rs`). Responses
//! from the client answer the server requests a turn sent; they are recorded and routed back to
//! that turn. Shared state (handshake done, known threads, active turns, pending server requests)
//! sits behind one mutex. Answering `turn/interrupt` while holding that lock guarantees that the
//! `{}` reply is written before the interrupted turn's `turn/completed`. Errors copy the real
//! server's codes and messages: -32600 for a request before `initialize`, for an unknown method and
//! for bad state, -32001 for overload.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};

use crate::faults;
use crate::png::fnv1a64;
use crate::record::{sha256_hex, Recorder};
use crate::scenario::{Turn, TurnEvent, TurnStart};
use crate::wire::{self, now_secs, Incoming, Wire};
use crate::Config;

pub struct Server {
    pub cfg: Config,
    pub wire: Wire,
    pub rec: Recorder,
    state: Mutex<State>,
}

#[derive(Default)]
pub struct State {
    initialized: bool,
    thread_starts: u64,
    /// Threads opened (`thread/start` answered with a thread), counted for `FAKE_FORGET_THREADS`.
    threads_opened: u64,
    /// Loaded threads by id, with the `cwd` they were started in.
    threads: HashMap<String, String>,
    /// Turns that have not ended, by turn id.
    turns: HashMap<String, ActiveTurn>,
    /// Server requests awaiting the client's answer, by request id.
    pending: HashMap<String, PendingRequest>,
}

struct ActiveTurn {
    thread_id: String,
    events: Sender<TurnEvent>,
}

pub struct PendingRequest {
    pub method: String,
    pub events: Sender<TurnEvent>,
}

/// The methods a real 0.169.0 names in its "unknown variant" message (abridged).
const KNOWN_METHODS: &str = "`initialize`, `thread/start`, `thread/resume`, `thread/fork`, \
`thread/archive`, `thread/unsubscribe`, `turn/start`, `turn/interrupt`, `account/read`, \
`account/rateLimits/read`, `modelProvider/capabilities/read`";

impl Server {
    pub fn new(cfg: Config, rec: Recorder) -> Server {
        let emitted_at_ms = cfg.at_least(0, 145, 0);
        Server {
            cfg,
            wire: Wire::new(emitted_at_ms),
            rec,
            state: Mutex::new(State::default()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves until stdin reaches EOF.
    pub fn serve_stdin(self: &Arc<Self>) {
        let mut input = BufReader::new(std::io::stdin().lock());
        loop {
            match wire::read_line(&mut input) {
                Incoming::Eof => {
                    self.rec.event("stdin_eof", json!({}));
                    return;
                }
                Incoming::Invalid(text) => {
                    eprintln!("fake-app-server: ignoring a line that is not a JSON object: {text}");
                    self.rec.event("invalid_line", json!({ "line": text }));
                }
                Incoming::Message(msg) => {
                    self.rec.incoming(&msg);
                    let deaf = msg
                        .get("method")
                        .and_then(Value::as_str)
                        .is_some_and(faults::deaf_on);
                    if !deaf {
                        self.dispatch(msg);
                        continue;
                    }
                    drop(input);
                    faults::stop_reading();
                    self.rec.event("stopped_reading", json!({}));
                    self.dispatch(msg);
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    }
                }
            }
        }
    }

    fn dispatch(self: &Arc<Self>, msg: Value) {
        let method = msg
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_string);
        match (method, msg.get("id").cloned()) {
            (Some(method), Some(id)) => {
                let params = msg.get("params").cloned().unwrap_or(Value::Null);
                self.request(&id, &method, params);
            }
            // Client notifications (`initialized`, ...) need no answer.
            (Some(_), None) => {}
            (None, Some(id)) => self.answer(id, msg),
            (None, None) => eprintln!("fake-app-server: ignoring a message with no method or id"),
        }
    }

    /// A response from the client to one of our server requests.
    fn answer(&self, id: Value, msg: Value) {
        let key = id_key(&id);
        let pending = self.lock().pending.remove(&key);
        match pending {
            Some(pending) => {
                self.rec.event(
                    "server_answer",
                    json!({ "id": id, "method": pending.method, "answer": msg }),
                );
                let _ = pending.events.send(TurnEvent::Answer { id: key });
            }
            None => {
                eprintln!("fake-app-server: answer to unknown server request {id}");
                self.rec
                    .event("unexpected_answer", json!({ "id": id, "answer": msg }));
            }
        }
    }

    fn request(self: &Arc<Self>, id: &Value, method: &str, params: Value) {
        if method == "initialize" {
            return self.initialize(id, &params);
        }
        if !self.lock().initialized {
            return self.wire.error(id, -32600, "Not initialized");
        }
        match method {
            "account/read" => self.account_read(id),
            "account/rateLimits/read" => self.rate_limits(id),
            "modelProvider/capabilities/read" if self.cfg.at_least(0, 150, 0) => {
                let result = json!({
                    "imageGeneration": self.cfg.image_generation,
                    "webSearch": true,
                });
                self.wire.respond(id, result);
            }
            "thread/start" => self.thread_start(id, &params),
            "turn/start" => self.turn_start(id, params),
            "turn/interrupt" => self.turn_interrupt(id, &params),
            "thread/unsubscribe" => {
                let thread_id = str_param(&params, "threadId");
                let status = match self.lock().threads.remove(&thread_id) {
                    Some(_) => "unsubscribed",
                    None => "notLoaded",
                };
                self.wire.respond(id, json!({ "status": status }));
            }
            "thread/archive" => {
                let thread_id = str_param(&params, "threadId");
                let message = format!("no rollout found for thread id {thread_id}");
                self.wire.error(id, -32600, &message);
            }
            _ => {
                let message = format!(
                    "Invalid request: unknown variant `{method}`, expected one of {KNOWN_METHODS}"
                );
                self.wire.error(id, -32600, &message);
            }
        }
    }

    fn initialize(&self, id: &Value, params: &Value) {
        if std::mem::replace(&mut self.lock().initialized, true) {
            return self.wire.error(id, -32600, "Already initialized");
        }
        if crate::faults::before_initialize().is_some() {
            return;
        }
        let name = params
            .pointer("/clientInfo/name")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let result = json!({
            "userAgent": format!("{name}/{} (fake; test)", self.cfg.user_agent_version),
            "codexHome": self.cfg.codex_home,
            "platformFamily": "unix",
            "platformOs": "linux",
        });
        self.wire.respond(id, result);
    }

    fn account_read(&self, id: &Value) {
        let account = match self.cfg.login.as_str() {
            "chatgpt" => {
                json!({ "type": "chatgpt", "email": "person@example.com", "planType": "plus" })
            }
            "apikey" => json!({ "type": "apiKey" }),
            "none" => Value::Null,
            "unreachable" => {
                return self
                    .wire
                    .error(id, -32603, "workspace routing discovery failed")
            }
            other => panic!(
                "fake-app-server: FAKE_LOGIN={other:?} is not chatgpt|apikey|none|unreachable"
            ),
        };
        let mut result = json!({ "account": account, "requiresOpenaiAuth": true });
        if self.cfg.at_least(0, 169, 0) {
            result["userId"] = Value::Null;
            result["workspaceRouting"] = Value::Null;
        }
        self.wire.respond(id, result);
    }

    fn rate_limits(&self, id: &Value) {
        match self.cfg.login.as_str() {
            "chatgpt" => {}
            "unreachable" => {
                return self
                    .wire
                    .error(id, -32603, "workspace routing discovery failed")
            }
            _ => {
                let message = "codex account authentication required to read rate limits";
                return self.wire.error(id, -32600, message);
            }
        }
        let now = now_secs();
        let snapshot = json!({
            "limitId": "codex",
            "limitName": null,
            "primary": { "usedPercent": 12, "windowDurationMins": 300, "resetsAt": now + 3600 },
            "secondary": {
                "usedPercent": 30,
                "windowDurationMins": 10080,
                "resetsAt": now + 3 * 86400,
            },
            "credits": null,
            "planType": "plus",
            "rateLimitReachedType": null,
        });
        let mut by_id = json!({ "codex": snapshot });
        // `FAKE_IMAGE_BUCKET=<percent>`: the image bucket real Codex reports from the backend's
        // `additional_rate_limits` (a 24-hour window), here at that use.
        if let Some(used) = std::env::var("FAKE_IMAGE_BUCKET")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            by_id["image_gen"] = json!({
                "limitId": "image_gen",
                "limitName": "Image generation",
                "primary": { "usedPercent": used, "windowDurationMins": 1440, "resetsAt": now + 7200 },
                "secondary": null,
                "credits": null,
                "planType": "plus",
                "rateLimitReachedType": null,
            });
        }
        let result = json!({
            "rateLimits": snapshot,
            "rateLimitsByLimitId": by_id,
        });
        self.wire.respond(id, result);
    }

    fn thread_start(&self, id: &Value, params: &Value) {
        crate::faults::on_thread_start();
        let mut state = self.lock();
        state.thread_starts += 1;
        if state.thread_starts <= self.cfg.overload_thread_starts {
            drop(state);
            return self
                .wire
                .error(id, -32001, "Server overloaded; retry later.");
        }
        let thread_id = fresh_uuid();
        let cwd = params
            .get("cwd")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                std::env::current_dir().map_or_else(|_| "/".into(), |d| d.display().to_string())
            });
        state.threads_opened += 1;
        // Like a thread Codex unloaded (or lost in a restart) after answering: the client holds an
        // id the server no longer knows, which only its first `turn/start` reveals.
        let forgotten = state.threads_opened <= self.cfg.forget_threads;
        if !forgotten {
            state.threads.insert(thread_id.clone(), cwd.clone());
        }
        drop(state);
        if forgotten {
            self.rec
                .event("thread_forgotten", json!({ "threadId": thread_id }));
        }

        let thread = self.thread_json(&thread_id, &cwd, params);
        let mut result = json!({
            "thread": thread,
            "model": "gpt-fake",
            "modelProvider": "openai",
            "serviceTier": null,
            "cwd": cwd,
            "instructionSources": [],
            "approvalPolicy": params.get("approvalPolicy").cloned().unwrap_or(json!("on-request")),
            "approvalsReviewer": "user",
            "sandbox": { "type": "readOnly", "networkAccess": false },
            "reasoningEffort": null,
        });
        if self.cfg.at_least(0, 150, 0) {
            result["runtimeWorkspaceRoots"] = json!([cwd]);
            result["activePermissionProfile"] = Value::Null;
            result["multiAgentMode"] = json!("explicitRequestOnly");
        } else {
            result["sandbox"]["access"] = json!({ "type": "fullAccess" });
        }
        if self.cfg.at_least(0, 169, 0) {
            result["disabledPluginIds"] = json!([]);
        }
        self.wire.respond(id, result);
        self.wire
            .notify("thread/started", json!({ "thread": thread }));
    }

    fn thread_json(&self, thread_id: &str, cwd: &str, params: &Value) -> Value {
        let now = now_secs();
        let mut thread = json!({
            "id": thread_id,
            "forkedFromId": null,
            "preview": "",
            "ephemeral": params.get("ephemeral").and_then(Value::as_bool).unwrap_or(false),
            "modelProvider": "openai",
            "createdAt": now,
            "updatedAt": now,
            "status": { "type": "idle" },
            "path": null,
            "cwd": cwd,
            "cliVersion": self.cfg.version,
            "source": "vscode",
            "agentNickname": null,
            "agentRole": null,
            "gitInfo": null,
            "name": null,
            "turns": [],
        });
        if self.cfg.at_least(0, 150, 0) {
            let more = json!({
                "extra": null,
                "sessionId": thread_id,
                "parentThreadId": null,
                "section": null,
                "sectionEnteredAt": null,
                "projectId": null,
                "historyMode": "paginated",
                "recencyAt": now,
                "canAcceptDirectInput": true,
                "threadSource": null,
            });
            extend(&mut thread, more);
        }
        if self.cfg.at_least(0, 169, 0) {
            let more = json!({
                "environments": [{
                    "environmentId": "local",
                    "cwd": cwd,
                    "runtimeWorkspaceRoots": [cwd],
                }],
                "attachedToThreadId": null,
                "model": "gpt-fake",
                "reasoningEffort": null,
                "originator": "codex_img",
                "daybreakEnabled": null,
            });
            extend(&mut thread, more);
        }
        thread
    }

    fn turn_start(self: &Arc<Self>, id: &Value, params: Value) {
        let thread_id = str_param(&params, "threadId");
        let Some(cwd) = self.lock().threads.get(&thread_id).cloned() else {
            // Real Codex (`load_thread` in the app-server's turn processor): -32600, this text.
            let message = format!("thread not found: {thread_id}");
            self.rec.event(
                "turn_refused",
                json!({ "threadId": thread_id, "code": -32600, "message": message }),
            );
            return self.wire.error(id, -32600, &message);
        };
        let inputs = params
            .get("input")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let prompt = inputs
            .iter()
            .find(|i| i.get("type").and_then(Value::as_str) == Some("text"))
            .and_then(|i| i.get("text").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        let scenario = scenario_in(&prompt).unwrap_or_else(|| self.cfg.default_scenario.clone());
        let turn_id = fresh_uuid();

        // Read every local image now, as Codex does when the turn starts.
        let local_images: Vec<Value> = inputs
            .iter()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("localImage"))
            .map(|i| {
                let path = i.get("path").and_then(Value::as_str).unwrap_or("");
                match std::fs::read(Path::new(path)) {
                    Ok(bytes) => {
                        json!({ "path": path, "sha256": sha256_hex(&bytes), "len": bytes.len() })
                    }
                    Err(err) => json!({ "path": path, "error": err.to_string() }),
                }
            })
            .collect();
        self.rec.event(
            "turn_inputs",
            json!({
                "threadId": thread_id,
                "turnId": turn_id,
                "scenario": scenario,
                "params": params,
                "localImages": local_images,
            }),
        );

        let (events, rx) = mpsc::channel();
        let active = ActiveTurn {
            thread_id: thread_id.clone(),
            events: events.clone(),
        };
        self.lock().turns.insert(turn_id.clone(), active);
        let start = TurnStart {
            thread_id,
            turn_id,
            cwd,
            prompt,
            scenario,
            request_id: id.clone(),
        };
        let turn = Turn::new(Arc::clone(self), start, events, rx);
        std::thread::spawn(move || turn.run());
    }

    fn turn_interrupt(&self, id: &Value, params: &Value) {
        let thread_id = str_param(params, "threadId");
        let turn_id = str_param(params, "turnId");
        let state = self.lock();
        match state.turns.get(&turn_id) {
            Some(turn) if turn.thread_id == thread_id => {
                // The reply goes out while the lock is held, so it precedes `turn/completed`.
                self.wire.respond(id, json!({}));
                let _ = turn.events.send(TurnEvent::Interrupt);
            }
            _ => self.wire.error(id, -32600, "no active turn to interrupt"),
        }
    }

    /// Forgets an active turn; returns false if it was already gone.
    pub fn finish_turn(&self, turn_id: &str) -> bool {
        self.lock().turns.remove(turn_id).is_some()
    }

    /// Registers a server request so that the client's answer is routed back to `events`.
    pub fn expect_answer(&self, id: &str, method: &str, events: Sender<TurnEvent>) {
        let pending = PendingRequest {
            method: method.to_string(),
            events,
        };
        self.lock().pending.insert(id.to_string(), pending);
    }
}

/// `[fake:NAME]` anywhere in the prompt.
fn scenario_in(prompt: &str) -> Option<String> {
    let start = prompt.find("[fake:")? + "[fake:".len();
    let len = prompt[start..].find(']')?;
    Some(prompt[start..start + len].trim().to_string())
}

fn str_param(params: &Value, name: &str) -> String {
    params
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Ids we send are strings; a client could echo them as anything, so compare their text.
fn id_key(id: &Value) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_string)
}

fn extend(target: &mut Value, more: Value) {
    if let (Some(target), Value::Object(more)) = (target.as_object_mut(), more) {
        target.extend(more);
    }
}

/// A UUID-shaped id (version 7 layout: time first), unique within and across fake processes.
pub fn fresh_uuid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let ms = wire::now_ms();
    let salt = fnv1a64(format!("{}:{n}:{ms}", std::process::id()).as_bytes());
    let rand = fnv1a64(&salt.to_le_bytes()) ^ n;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        (ms >> 16) as u32,
        ms as u16,
        salt & 0xfff,
        0x8000 | ((salt >> 12) & 0x3fff),
        rand & 0xffff_ffff_ffff,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_marker_is_found() {
        assert_eq!(
            scenario_in("a cat [fake:hang] please").as_deref(),
            Some("hang")
        );
        assert_eq!(scenario_in("a cat"), None);
    }

    #[test]
    fn uuids_are_unique_and_shaped() {
        let (a, b) = (fresh_uuid(), fresh_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.split('-').count(), 5);
    }
}
