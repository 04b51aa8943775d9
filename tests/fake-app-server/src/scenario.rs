//! One turn, played on its own thread according to a named scenario.
//!
//! A turn's scenario is `[fake:NAME]` from its prompt, else `FAKE_SCENARIO`, else `success`; the
//! README lists them all. Each turn owns a channel on which the reader loop delivers
//! `turn/interrupt`s and the client's answers to server requests, so concurrent turns on different
//! threads never see each other's events. Like the real server, the fake can emit a turn's first
//! events before the `turn/start` response: with early events on (the default), the response is
//! written after `turn/started` and the next notification, or as soon as the turn starts to wait,
//! whichever is first. Image items are written to
//! `$CODEX_HOME/generated_images/<threadId>/<itemId>.png`, as Codex does, and item shapes follow
//! the pretended version: `failure: null` from 0.165, and `startedAtMs`/`completedAtMs` (on the
//! notification and on the item) from 0.169.

mod faults;
mod limits;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::png;
use crate::record::sha256_hex;
use crate::server::{fresh_uuid, Server};
use crate::wire::{now_ms, now_secs, BLOB};

/// What the reader loop delivers to a running turn.
pub enum TurnEvent {
    Interrupt,
    /// The client answered the server request with this id (the answer itself is already recorded).
    Answer {
        id: String,
    },
}

/// The turn was interrupted; it ends with status `interrupted`.
struct Interrupted;

/// How a turn ends when it is not interrupted.
struct End {
    status: &'static str,
    error: Option<Value>,
}

impl End {
    fn completed() -> Result<End, Interrupted> {
        Ok(End {
            status: "completed",
            error: None,
        })
    }

    fn failed(message: &str, info: Value) -> Result<End, Interrupted> {
        Ok(End {
            status: "failed",
            error: Some(turn_error(message, info)),
        })
    }
}

/// How the image item carries its bytes.
#[derive(Clone, Copy)]
enum Payload {
    /// Base64 in `result` (the normal case).
    Result,
    /// `result: ""`; the bytes are only in the file at `savedPath`.
    SavedPathOnly,
    /// `fileId: "file_123"` instead of `result`.
    FileId,
}

/// Everything `turn/start` decided before the turn's thread starts.
pub struct TurnStart {
    pub thread_id: String,
    pub turn_id: String,
    pub cwd: String,
    pub prompt: String,
    pub scenario: String,
    /// The id of the `turn/start` request, answered by the turn itself.
    pub request_id: Value,
}

pub struct Turn {
    server: Arc<Server>,
    start: TurnStart,
    events: Sender<TurnEvent>,
    rx: Receiver<TurnEvent>,
    response_pending: bool,
    /// Notifications still allowed before the `turn/start` response.
    early_left: u32,
    extra_items: u64,
    started_ms: u64,
    next_request: u64,
}

const USAGE_LIMIT_MESSAGE: &str =
    "You've hit your usage limit. Upgrade to Pro or try again at 3:05 PM.";

impl Turn {
    pub fn new(
        server: Arc<Server>,
        start: TurnStart,
        events: Sender<TurnEvent>,
        rx: Receiver<TurnEvent>,
    ) -> Turn {
        let early_left = if server.cfg.early_events { 2 } else { 0 };
        Turn {
            server,
            start,
            events,
            rx,
            response_pending: true,
            early_left,
            extra_items: 0,
            started_ms: now_ms(),
            next_request: 1,
        }
    }

    pub fn run(mut self) {
        if self.early_left == 0 {
            self.flush_response();
        }
        let turn = self.turn_json("inProgress", None);
        self.notify(
            "turn/started",
            json!({ "threadId": self.start.thread_id, "turn": turn }),
        );
        let outcome = self.play();
        self.flush_response();
        match outcome {
            Ok(end) => self.complete(end.status, end.error),
            Err(Interrupted) => {
                self.server.rec.event(
                    "interrupted",
                    json!({
                        "threadId": self.start.thread_id,
                        "turnId": self.start.turn_id,
                        "extraItems": self.extra_items,
                    }),
                );
                self.complete("interrupted", None);
            }
        }
    }

    fn play(&mut self) -> Result<End, Interrupted> {
        let scenario = self.start.scenario.clone();
        let small = self.server.cfg.image_size.unwrap_or((64, 48));
        if let Some(every) = scenario.strip_prefix("fail-every:") {
            return self.fail_every(every, small);
        }
        match scenario.as_str() {
            "success" => self.image_then_wait(Payload::Result, small),
            "complete" => {
                self.image(Payload::Result, small);
                End::completed()
            }
            "keep-working" => self.keep_working(small),
            "usage-limit-item" => self.usage_limit_item(),
            "tool-failed" => self.tool_failed(),
            "image-then-hang" => {
                self.image(Payload::Result, small);
                self.hang()
            }
            "usage-limit-turn" => {
                let error = turn_error(USAGE_LIMIT_MESSAGE, json!("usageLimitExceeded"));
                self.error_notification(error, false);
                End::failed(USAGE_LIMIT_MESSAGE, json!("usageLimitExceeded"))
            }
            "retrying-error" => {
                let message = "Reconnecting... 1/5 (stream disconnected before completion)";
                let info = json!({ "responseStreamDisconnected": { "httpStatusCode": null } });
                self.error_notification(turn_error(message, info), true);
                self.image_then_wait(Payload::Result, small)
            }
            "no-image" => {
                self.agent_message("I can't create that image.");
                End::completed()
            }
            "refused" => End::failed(
                "Your request was rejected as a result of our safety system. \
                 Your prompt may contain text that is not allowed by our safety system.",
                json!("badRequest"),
            ),
            "cyber-policy" => End::failed(
                "This request was rejected by the safety system.",
                json!("cyberPolicy"),
            ),
            "stream-error" => End::failed(
                "stream disconnected before completion: unexpected status 400 Bad Request",
                json!({ "responseStreamDisconnected": { "httpStatusCode": 400 } }),
            ),
            "unknown-error-info" => End::failed(
                "Something this client has never seen went wrong.",
                json!("someFutureValue"),
            ),
            "crash" => {
                self.flush_response();
                self.server.rec.event(
                    "crash",
                    json!({ "threadId": self.start.thread_id, "turnId": self.start.turn_id }),
                );
                eprintln!("fake-app-server: scenario `crash`: exiting with status 3 mid-turn");
                std::process::exit(3);
            }
            "hang" => self.hang(),
            "server-request" => {
                self.server_requests()?;
                self.image_then_wait(Payload::Result, small)
            }
            "saved-path-only" => self.image_then_wait(Payload::SavedPathOnly, small),
            "file-id" => self.image_then_wait(Payload::FileId, small),
            "big" => {
                let size = self.server.cfg.image_size.unwrap_or((2048, 2048));
                self.image_then_wait(Payload::Result, size)
            }
            "slow" => {
                self.wait(Duration::from_millis(self.server.cfg.delay_ms))?;
                self.image_then_wait(Payload::Result, small)
            }
            "garbage" => {
                self.server.wire.raw_line("this is not json");
                self.image_then_wait(Payload::Result, small)
            }
            "unknown-events" => {
                let params = json!({
                    "threadId": self.start.thread_id,
                    "turnId": self.start.turn_id,
                    "itemId": "future_1",
                    "delta": "something new",
                });
                self.notify("item/futureThing/delta", params);
                let item = json!({ "type": "hologram", "id": format!("holo_{}", short_id()) });
                self.item_completed(item, now_ms());
                self.image_then_wait(Payload::Result, small)
            }
            other => {
                if let Some(end) = self.fault(other, small) {
                    return end;
                }
                if let Some(end) = self.limits(other, small) {
                    return end;
                }
                eprintln!("fake-app-server: unknown scenario `{other}`; failing the turn");
                let message = format!("fake-app-server: unknown scenario `{other}`");
                End::failed(&message, json!("other"))
            }
        }
    }

    /// `fail-every:N`: the process counts its `fail-every` turns, and every N-th one (the N-th,
    /// 2N-th, ...) fails the way a dropped stream does; the others are `success`. So of N turns run
    /// together exactly one fails, whichever starts N-th.
    fn fail_every(&mut self, every: &str, size: (u32, u32)) -> Result<End, Interrupted> {
        static FAIL_EVERY_TURNS: AtomicU64 = AtomicU64::new(0);
        let Ok(every) = every.trim().parse::<u64>() else {
            let message = format!("fake-app-server: `fail-every:{every}` needs a number");
            return End::failed(&message, json!("other"));
        };
        let k = FAIL_EVERY_TURNS.fetch_add(1, Ordering::SeqCst) + 1;
        if every > 0 && k.is_multiple_of(every) {
            self.server.rec.event(
                "injected_failure",
                json!({ "threadId": self.start.thread_id, "turnId": self.start.turn_id, "k": k }),
            );
            let message =
                format!("fake-app-server: injected failure (turn {k} of fail-every:{every})");
            return End::failed(&message, json!("other"));
        }
        self.image_then_wait(Payload::Result, size)
    }

    /// The image, then up to 10 s for the client's `turn/interrupt`.
    fn image_then_wait(&mut self, payload: Payload, size: (u32, u32)) -> Result<End, Interrupted> {
        self.image(payload, size);
        self.wait(Duration::from_secs(10))?;
        End::completed()
    }

    fn keep_working(&mut self, size: (u32, u32)) -> Result<End, Interrupted> {
        self.image(Payload::Result, size);
        let give_up = Instant::now() + Duration::from_secs(10);
        while Instant::now() < give_up {
            self.wait(Duration::from_millis(100))?;
            self.agent_message("checking the file…");
            self.extra_items += 1;
            self.command_execution();
            self.extra_items += 1;
        }
        self.server.rec.event(
            "not_interrupted",
            json!({
                "threadId": self.start.thread_id,
                "turnId": self.start.turn_id,
                "extraItems": self.extra_items,
            }),
        );
        End::completed()
    }

    fn usage_limit_item(&mut self) -> Result<End, Interrupted> {
        let id = format!("ig_{}", short_id());
        let started = now_ms();
        let item = image_in_progress(&id);
        self.item_started(item, started);
        let resets_at = now_secs() + 7200;
        // Tests compare what codex-img reports with this exact value, not with their own clock.
        self.server
            .rec
            .event("usage_limit", json!({ "resetsAt": resets_at }));
        let item = json!({
            "type": "imageGeneration",
            "id": id,
            "status": "failed",
            "revisedPrompt": null,
            "result": "",
            "failure": {
                "type": "usageLimitExceeded",
                "limitId": "image_gen",
                "resetsAt": resets_at,
            },
        });
        self.item_completed(item, started);
        End::completed()
    }

    /// The 0.145 shape of a failed image call: status `failed`, no bytes, no `failure`; then the model
    /// would carry on, so the turn waits for an interrupt like `success`.
    fn tool_failed(&mut self) -> Result<End, Interrupted> {
        let id = format!("ig_{}", short_id());
        let started = now_ms();
        self.item_started(image_in_progress(&id), started);
        let item = json!({
            "type": "imageGeneration",
            "id": id,
            "status": "failed",
            "revisedPrompt": null,
            "result": "",
        });
        self.item_completed(item, started);
        self.wait(Duration::from_secs(10))?;
        End::completed()
    }

    /// Never ends: interrupts are answered by the reader loop but ignored here.
    fn hang(&mut self) -> ! {
        self.flush_response();
        loop {
            match self.rx.recv() {
                Ok(TurnEvent::Interrupt) => self.server.rec.event(
                    "interrupt_ignored",
                    json!({ "threadId": self.start.thread_id, "turnId": self.start.turn_id }),
                ),
                Ok(TurnEvent::Answer { .. }) => {}
                Err(_) => std::thread::sleep(Duration::from_secs(3600)),
            }
        }
    }

    /// Sends one of each server request Codex can send, then waits (without a deadline) for all
    /// answers.
    fn server_requests(&mut self) -> Result<(), Interrupted> {
        self.flush_response();
        let (thread_id, turn_id) = (self.start.thread_id.clone(), self.start.turn_id.clone());
        let cwd = self.start.cwd.clone();
        let started = now_ms();
        let requests = [
            (
                "item/commandExecution/requestApproval",
                json!({
                    "threadId": thread_id, "turnId": turn_id,
                    "itemId": format!("call_{}", short_id()),
                    "startedAtMs": started, "approvalId": null, "command": "rm -rf build",
                    "cwd": cwd,
                    "commandActions": [{ "type": "unknown", "command": "rm -rf build" }],
                    "reason": "The model wants to run a command.", "networkApprovalContext": null,
                    "proposedExecpolicyAmendment": null, "proposedNetworkPolicyAmendments": null,
                }),
            ),
            (
                "item/fileChange/requestApproval",
                json!({
                    "threadId": thread_id, "turnId": turn_id,
                    "itemId": format!("patch_{}", short_id()), "startedAtMs": started,
                    "reason": "The model wants to edit a file.", "grantRoot": null,
                }),
            ),
            (
                "item/tool/requestUserInput",
                json!({
                    "threadId": thread_id, "turnId": turn_id,
                    "itemId": format!("ask_{}", short_id()),
                    "isBlocking": true,
                    "questions": [{
                        "id": "q1", "header": "Size", "question": "Which size do you want?",
                        "isOther": false, "isSecret": false,
                        "options": [{ "label": "Square", "description": "1024x1024" }],
                    }],
                }),
            ),
            (
                "mcpServer/elicitation/request",
                json!({
                    "threadId": thread_id, "turnId": turn_id, "serverName": "fake-mcp",
                    "mode": "form", "message": "Please confirm.", "_meta": null,
                    "requestedSchema": {
                        "type": "object",
                        "properties": { "confirm": { "type": "boolean", "title": "Confirm" } },
                        "required": ["confirm"],
                    },
                }),
            ),
            (
                "item/tool/call",
                json!({
                    "threadId": thread_id, "turnId": turn_id,
                    "callId": format!("call_{}", short_id()),
                    "namespace": null, "tool": "lookup", "arguments": { "query": "cats" },
                }),
            ),
            (
                "account/chatgptAuthTokens/refresh",
                json!({ "reason": "unauthorized", "previousAccountId": null }),
            ),
            ("currentTime/read", json!({})),
            (
                "future/thing",
                json!({
                    "threadId": thread_id,
                    "turnId": turn_id,
                    "detail": "a request from a future Codex",
                }),
            ),
        ];
        let mut outstanding = Vec::new();
        for (method, params) in requests {
            let id = format!("srv-{}", self.next_request);
            self.next_request += 1;
            self.server.expect_answer(&id, method, self.events.clone());
            self.server.wire.request(&id, method, params);
            outstanding.push(id);
        }
        while !outstanding.is_empty() {
            match self.rx.recv() {
                Ok(TurnEvent::Answer { id }) => outstanding.retain(|o| *o != id),
                Ok(TurnEvent::Interrupt) => return Err(Interrupted),
                Err(_) => unreachable!("the turn holds a sender of its own channel"),
            }
        }
        Ok(())
    }

    /// Waits `duration`, unless the client interrupts first. Writes the pending response first.
    fn wait(&mut self, duration: Duration) -> Result<(), Interrupted> {
        self.flush_response();
        let deadline = Instant::now() + duration;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(TurnEvent::Interrupt) => return Err(Interrupted),
                Ok(TurnEvent::Answer { .. }) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    /// The `imageGeneration` item: `item/started`, the file at `savedPath`, `item/completed`.
    fn image(&mut self, payload: Payload, (width, height): (u32, u32)) {
        let server = Arc::clone(&self.server);
        let cfg = &server.cfg;
        let id = format!("ig_{}", short_id());
        let started = now_ms();
        let item = image_in_progress(&id);
        self.item_started(item, started);

        // Like a model with Codex 0.150+, honour a transparent-background request with real alpha;
        // otherwise draw on a flat solid colour when one is named, as a model without the argument
        // would.
        let wants = Wants::read(&self.start.prompt);
        let transparent = wants.transparent && cfg.at_least(0, 150, 0);
        let bytes = if transparent {
            png::subject_for(&self.start.thread_id, width, height, None)
        } else if let Some(key) = wants.key {
            png::subject_for(&self.start.thread_id, width, height, Some(key))
        } else {
            png::image_for(&self.start.thread_id, width, height)
        };
        let dir = cfg
            .codex_home
            .join("generated_images")
            .join(&self.start.thread_id);
        let path = dir.join(format!("{id}.png"));
        if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &bytes))
        {
            eprintln!("fake-app-server: cannot write {path:?}: {err}");
        }
        let mut item = json!({
            "type": "imageGeneration",
            "id": id,
            "status": "completed",
            "revisedPrompt": format!("{}, revised", self.start.prompt),
        });
        match payload {
            Payload::Result => item["result"] = json!(BLOB),
            Payload::SavedPathOnly => item["result"] = json!(""),
            Payload::FileId => item["fileId"] = json!("file_123"),
        }
        if cfg.at_least(0, 117, 0) {
            item["savedPath"] = json!(path);
        }
        if cfg.at_least(0, 165, 0) {
            item["failure"] = Value::Null;
        }
        if transparent {
            item["transparentBackground"] = json!(true);
        }
        let blob = matches!(payload, Payload::Result).then(|| png::base64(&bytes));
        // The record of the image is written before the image's line, so a test that reads it as soon
        // as its answer arrives never finds it missing. Hashing 12 MiB takes about a second in a debug
        // build, so a big image is recorded off the turn's thread, after its line: a test on big images
        // waits for the record.
        let mut late_record = None;
        if server.rec.is_active() {
            let bytes_len = bytes.len();
            let fields = json!({
                "threadId": self.start.thread_id,
                "turnId": self.start.turn_id,
                "itemId": id,
                "savedPath": path,
                "width": width,
                "height": height,
                "len": bytes_len,
            });
            let record = move || {
                let mut fields = fields;
                fields["sha256"] = json!(sha256_hex(&bytes));
                server.rec.event("image", fields);
            };
            if bytes_len > 1 << 20 {
                late_record = Some(record);
            } else {
                record();
            }
        }
        self.item_completed_with_blob(item, started, blob.as_deref());
        if let Some(record) = late_record {
            std::thread::spawn(record);
        }
    }

    fn agent_message(&mut self, text: &str) {
        let item = json!({
            "type": "agentMessage",
            "id": format!("msg_{}", short_id()),
            "text": text,
            "phase": null,
        });
        let started = now_ms();
        self.item_started(item.clone(), started);
        self.item_completed(item, started);
    }

    fn command_execution(&mut self) {
        let command = "file generated.png";
        let mut item = json!({
            "type": "commandExecution",
            "id": format!("call_{}", short_id()),
            "command": command,
            "commandActions": [{ "type": "unknown", "command": command }],
            "cwd": self.start.cwd,
            "status": "inProgress",
            "source": "agent",
            "processId": null,
            "aggregatedOutput": null,
            "exitCode": null,
            "durationMs": null,
        });
        let started = now_ms();
        self.item_started(item.clone(), started);
        item["status"] = json!("completed");
        item["aggregatedOutput"] = json!("generated.png: PNG image data\n");
        item["exitCode"] = json!(0);
        item["durationMs"] = json!(3);
        self.item_completed(item, started);
    }

    fn item_started(&mut self, mut item: Value, started: u64) {
        let mut params = json!({ "threadId": self.start.thread_id, "turnId": self.start.turn_id });
        if self.server.cfg.at_least(0, 169, 0) {
            item["startedAtMs"] = json!(started);
            params["startedAtMs"] = json!(started);
        }
        params["item"] = item;
        self.notify("item/started", params);
    }

    fn item_completed(&mut self, item: Value, started: u64) {
        self.item_completed_with_blob(item, started, None);
    }

    /// `item/completed`; a [`BLOB`] marker in the item is replaced by `blob` on the wire.
    fn item_completed_with_blob(&mut self, mut item: Value, started: u64, blob: Option<&str>) {
        let mut params = json!({ "threadId": self.start.thread_id, "turnId": self.start.turn_id });
        if self.server.cfg.at_least(0, 169, 0) {
            let completed = now_ms();
            item["startedAtMs"] = json!(started);
            item["completedAtMs"] = json!(completed);
            params["completedAtMs"] = json!(completed);
        }
        params["item"] = item;
        self.notify_with_blob("item/completed", params, blob);
    }

    fn error_notification(&mut self, error: Value, will_retry: bool) {
        let params = json!({
            "threadId": self.start.thread_id,
            "turnId": self.start.turn_id,
            "willRetry": will_retry,
            "error": error,
        });
        self.notify("error", params);
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.notify_with_blob(method, params, None);
    }

    /// Every notification of the turn goes through here, to release the early response in time.
    fn notify_with_blob(&mut self, method: &str, params: Value, blob: Option<&str>) {
        self.server.wire.notify_with_blob(method, params, blob);
        if self.early_left > 0 {
            self.early_left -= 1;
            if self.early_left == 0 {
                self.flush_response();
            }
        }
    }

    /// Writes the `turn/start` response if it has not been written yet.
    fn flush_response(&mut self) {
        if std::mem::replace(&mut self.response_pending, false) {
            let result = json!({ "turn": self.turn_json("inProgress", None) });
            self.server.wire.respond(&self.start.request_id, result);
        }
    }

    fn complete(&mut self, status: &str, error: Option<Value>) {
        self.server.finish_turn(&self.start.turn_id);
        let turn = self.turn_json(status, error);
        self.server.wire.notify(
            "turn/completed",
            json!({ "threadId": self.start.thread_id, "turn": turn }),
        );
        self.server.rec.event(
            "turn_finished",
            json!({
                "threadId": self.start.thread_id,
                "turnId": self.start.turn_id,
                "scenario": self.start.scenario,
                "status": status,
                "extraItems": self.extra_items,
            }),
        );
    }

    fn turn_json(&self, status: &str, error: Option<Value>) -> Value {
        let mut turn = json!({
            "id": self.start.turn_id,
            "items": [],
            "status": status,
            "error": error,
        });
        if self.server.cfg.at_least(0, 150, 0) {
            let done = status != "inProgress";
            let now = now_ms();
            turn["startedAt"] = json!(self.started_ms / 1000);
            turn["completedAt"] = if done { json!(now / 1000) } else { Value::Null };
            turn["durationMs"] = if done {
                json!(now - self.started_ms)
            } else {
                Value::Null
            };
        }
        turn
    }
}

/// What the prompt asks of the image, read the way the loopback backend's model reads it: a
/// `transparent background`, and a flat `solid #RRGGBB` background (the first `#RRGGBB` within 40
/// characters after the word `solid`).
#[derive(Debug, Default, PartialEq, Eq)]
struct Wants {
    transparent: bool,
    key: Option<[u8; 3]>,
}

impl Wants {
    fn read(prompt: &str) -> Wants {
        let lower = prompt.to_ascii_lowercase();
        let mut key = None;
        let mut rest = lower.as_str();
        while let Some(at) = rest.find("solid") {
            rest = &rest[at + 5..];
            let Some(hash) = rest.find('#').filter(|h| *h <= 40) else {
                continue;
            };
            let hex = rest.get(hash + 1..hash + 7).unwrap_or("");
            let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
            if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                key = (|| Some([byte(0)?, byte(2)?, byte(4)?]))();
                break;
            }
        }
        Wants {
            transparent: lower.contains("transparent background"),
            key,
        }
    }
}

fn turn_error(message: &str, info: Value) -> Value {
    json!({ "message": message, "codexErrorInfo": info, "additionalDetails": null })
}

/// A short unique hex id for items and calls.
fn short_id() -> String {
    fresh_uuid().replace('-', "")[8..24].to_string()
}

/// The `imageGeneration` item as `item/started` carries it: no bytes yet, but the schema's
/// `result`-or-`fileId` rule already holds.
fn image_in_progress(id: &str) -> Value {
    json!({
        "type": "imageGeneration",
        "id": id,
        "status": "in_progress",
        "revisedPrompt": null,
        "result": "",
    })
}

#[cfg(test)]
mod tests {
    use super::Wants;

    #[test]
    fn reads_transparency_and_the_key_colour() {
        assert_eq!(Wants::read("a cat"), Wants::default());
        assert_eq!(
            Wants::read(
                "a cat. Transparent background please; else a flat solid #FF00ff background."
            ),
            Wants {
                transparent: true,
                key: Some([255, 0, 255])
            }
        );
        assert_eq!(Wants::read("solid work, see #12"), Wants::default());
    }
}
