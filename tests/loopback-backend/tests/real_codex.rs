//! Live check of the loopback backend against real Codex releases.
//!
//! For each release this installs Codex from npm (once, into the cache), writes a fake ChatGPT
//! login into a fresh temporary `CODEX_HOME`, starts `codex app-server` pointed at the backend,
//! and drives raw JSON-RPC (JSON lines without `"jsonrpc"`): the handshake, `account/read`, a
//! text-to-image turn whose bytes must equal the served PNG, an image-to-image turn (0.145+) whose
//! inputs must reach the edits endpoint in order, and the usage-limit, no-image and keep-working
//! modes, whose notifications are recorded.
//!
//! By default it covers the floor and the newest release; `CODEX_IMG_LIVE_ALL=1` covers every
//! release in `RELEASES`. `LOOPBACK_OUT=<dir>` writes each release's observations and JSON-RPC
//! transcripts there. A failure prints the backend's request log and the tail of Codex's stderr.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use loopback_backend::{
    codex_command_env, ensure_codex, test_png, write_fake_chatgpt_login, Backend, BackendConfig,
    Mode, CI_RELEASES, RELEASES,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

type TestResult<T> = Result<T, String>;

/// One JSON-RPC session with a real `codex app-server`.
struct Codex {
    child: Child,
    pid: i32,
    stdin: ChildStdin,
    incoming: mpsc::UnboundedReceiver<Value>,
    buffered: VecDeque<Value>,
    transcript: Vec<Value>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    next_id: i64,
}

impl Codex {
    async fn spawn(launcher: &Path, backend: &Backend, home: &Path) -> TestResult<Codex> {
        let env = codex_command_env(backend, home);
        let mut command = Command::new(launcher);
        command
            .args(env.config_args())
            .arg("app-server")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        env.apply(&mut command);
        let mut child = command.spawn().map_err(|e| format!("spawn codex: {e}"))?;
        let pid = child.id().ok_or("codex has no pid")? as i32;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let value =
                    serde_json::from_str(&line).unwrap_or_else(|_| json!({"unparsed": line}));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut tail = tail.lock().unwrap();
                if tail.len() == 60 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Codex {
            child,
            pid,
            stdin,
            incoming,
            buffered: VecDeque::new(),
            transcript: Vec::new(),
            stderr_tail,
            next_id: 0,
        })
    }

    fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn send(&mut self, message: Value) -> TestResult<()> {
        self.transcript
            .push(json!({"dir": "send", "msg": shrink(&message)}));
        let mut line = message.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("write to codex: {e}"))
    }

    async fn notify(&mut self, method: &str, params: Option<Value>) -> TestResult<()> {
        let mut message = json!({"method": method});
        if let Some(params) = params {
            message["params"] = params;
        }
        self.send(message).await
    }

    /// Reads one message from Codex, answering server requests on the way.
    async fn recv(&mut self, deadline: Instant) -> TestResult<Value> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left, self.incoming.recv())
                .await
                .map_err(|_| "timed out waiting for codex".to_string())?
                .ok_or("codex closed stdout")?;
            self.transcript
                .push(json!({"dir": "recv", "msg": shrink(&message)}));
            if message.get("method").is_some() && message.get("id").is_some() {
                let answer = answer_server_request(&message);
                self.send(answer).await?;
                continue;
            }
            return Ok(message);
        }
    }

    async fn request(&mut self, method: &str, params: Value) -> TestResult<Value> {
        self.request_within(method, params, Duration::from_secs(60))
            .await
    }

    async fn request_within(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> TestResult<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"id": id, "method": method, "params": params}))
            .await?;
        let deadline = Instant::now() + timeout;
        loop {
            let message = self.recv(deadline).await?;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method} failed: {error}"));
                }
                return Ok(message.get("result").cloned().unwrap_or(Value::Null));
            }
            self.buffered.push_back(message);
        }
    }

    /// Waits for a notification matching `pred`, keeping every notification seen in `seen`.
    async fn wait_for(
        &mut self,
        timeout: Duration,
        seen: &mut Vec<Value>,
        pred: impl Fn(&Value) -> bool,
    ) -> TestResult<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let message = match self.buffered.pop_front() {
                Some(message) => message,
                None => self.recv(deadline).await?,
            };
            seen.push(message.clone());
            if pred(&message) {
                return Ok(message);
            }
        }
    }

    async fn shutdown(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        // SAFETY: signalling the process group this test started.
        unsafe {
            libc::killpg(self.pid, libc::SIGKILL);
        }
        let _ = self.child.wait().await;
    }
}

fn answer_server_request(message: &Value) -> Value {
    let id = message["id"].clone();
    let method = message["method"].as_str().unwrap_or_default();
    match method {
        "item/commandExecution/requestApproval" | "item/fileChange/requestApproval" => {
            json!({"id": id, "result": {"decision": "decline"}})
        }
        "execCommandApproval" | "applyPatchApproval" => {
            json!({"id": id, "result": {"decision": "denied"}})
        }
        _ => {
            json!({"id": id, "error": {"code": -32601, "message": format!("{method} is not supported by this test client")}})
        }
    }
}

/// Replaces base64 payloads (long strings, data URLs) with a short marker.
fn shrink(value: &Value) -> Value {
    match value {
        Value::String(s) if s.len() > 512 && looks_like_base64(s) => {
            Value::String(format!("<base64 {} chars>", s.len()))
        }
        Value::Array(items) => Value::Array(items.iter().map(shrink).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shrink(v))).collect())
        }
        other => other.clone(),
    }
}

fn looks_like_base64(s: &str) -> bool {
    let body = s.split_once("base64,").map(|(_, b)| b).unwrap_or(s);
    body.len() > 256
        && body
            .bytes()
            .take(2048)
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn is_image_item(message: &Value) -> bool {
    message["method"] == "item/completed" && message["params"]["item"]["type"] == "imageGeneration"
}

fn is_turn_completed(message: &Value) -> bool {
    message["method"] == "turn/completed"
}

/// Starts an ephemeral read-only thread and a turn; returns (threadId, turnId).
async fn start_turn(codex: &mut Codex, cwd: &Path, input: Value) -> TestResult<(String, String)> {
    let thread = codex
        .request(
            "thread/start",
            json!({"cwd": cwd, "ephemeral": true, "approvalPolicy": "never", "sandbox": "read-only"}),
        )
        .await?;
    let thread_id = thread["thread"]["id"]
        .as_str()
        .ok_or_else(|| format!("thread/start gave no thread id: {thread}"))?
        .to_string();
    let turn = codex
        .request("turn/start", json!({"threadId": thread_id, "input": input}))
        .await?;
    let turn_id = turn["turn"]["id"]
        .as_str()
        .ok_or_else(|| format!("turn/start gave no turn id: {turn}"))?
        .to_string();
    Ok((thread_id, turn_id))
}

async fn interrupt_and_finish(
    codex: &mut Codex,
    thread_id: &str,
    turn_id: &str,
    seen: &mut Vec<Value>,
) -> TestResult<Value> {
    if seen.iter().any(is_turn_completed) {
        return Ok(seen
            .iter()
            .rev()
            .find(|m| is_turn_completed(m))
            .cloned()
            .unwrap_or_default());
    }
    // 0.122.0 never answers an interrupt that races the turn's own end, so wait only briefly.
    let _ = codex
        .request_within(
            "turn/interrupt",
            json!({"threadId": thread_id, "turnId": turn_id}),
            Duration::from_secs(5),
        )
        .await;
    codex
        .wait_for(Duration::from_secs(30), seen, is_turn_completed)
        .await
}

fn methods(seen: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in seen {
        let method = m["method"].as_str().unwrap_or("?").to_string();
        let label = match method.as_str() {
            "item/started" | "item/completed" => {
                format!(
                    "{method}:{}",
                    m["params"]["item"]["type"].as_str().unwrap_or("?")
                )
            }
            _ => method,
        };
        if out.last() != Some(&label) {
            out.push(label);
        }
    }
    out
}

fn decode_result(item: &Value) -> TestResult<Vec<u8>> {
    let b64 = item["result"]
        .as_str()
        .ok_or_else(|| format!("image item has no result: {}", shrink(item)))?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("result is not base64: {e}"))
}

/// Everything one release showed; written to `LOOPBACK_OUT` when set.
#[derive(Default)]
struct Report {
    observations: serde_json::Map<String, Value>,
    transcript: Vec<Value>,
    failures: Vec<String>,
}

async fn run_release(version: &str) -> Report {
    let mut report = Report::default();
    let launcher = match tokio::task::spawn_blocking({
        let v = version.to_string();
        move || ensure_codex(&v)
    })
    .await
    {
        Ok(Ok(launcher)) => launcher,
        Ok(Err(e)) => {
            report.failures.push(format!("install: {e}"));
            return report;
        }
        Err(e) => {
            report.failures.push(format!("install task: {e}"));
            return report;
        }
    };
    let served = test_png(96, 64, 3);
    let backend = match Backend::start(BackendConfig {
        image_png: served.clone(),
        ..BackendConfig::default()
    })
    .await
    {
        Ok(b) => b,
        Err(e) => {
            report.failures.push(format!("backend: {e}"));
            return report;
        }
    };
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    write_fake_chatgpt_login(home.path(), "plus").unwrap();
    let mut codex = match Codex::spawn(&launcher, &backend, home.path()).await {
        Ok(c) => c,
        Err(e) => {
            report.failures.push(e);
            return report;
        }
    };

    let outcome = scenarios(
        version,
        &backend,
        &mut codex,
        cwd.path(),
        &served,
        &mut report,
    )
    .await;
    if let Err(e) = outcome {
        report.failures.push(e);
    }
    if !report.failures.is_empty() {
        if let Some(dir) = out_dir() {
            let bodies: Vec<Value> = backend
                .model_requests()
                .iter()
                .map(|r| {
                    json!({"headers": r.headers, "body": shrink(&r.json().unwrap_or_else(|| json!(String::from_utf8_lossy(&r.body[..r.body.len().min(200)]))))})
                })
                .collect();
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(
                dir.join(format!("{version}-failed-model-requests.json")),
                serde_json::to_string_pretty(&bodies).unwrap_or_default(),
            );
        }
        eprintln!(
            "==== {version} FAILED: {:?}\n---- backend requests:\n{}---- codex stderr tail:\n{}",
            report.failures,
            backend.request_log(),
            codex.stderr_tail()
        );
    }
    report.observations.insert(
        "requests".into(),
        json!(backend
            .requests()
            .iter()
            .map(|r| r.summary())
            .collect::<Vec<_>>()),
    );
    codex.shutdown().await;
    report
}

async fn scenarios(
    version: &str,
    backend: &Backend,
    codex: &mut Codex,
    cwd: &Path,
    served: &[u8],
    report: &mut Report,
) -> TestResult<()> {
    let obs = &mut report.observations;
    let t0 = Instant::now();
    let init = codex
        .request(
            "initialize",
            json!({"clientInfo": {"name": "codex-img-live-test", "title": "codex-img live test", "version": "0.0.0"}}),
        )
        .await?;
    codex.notify("initialized", None).await?;
    obs.insert("initialize".into(), init);
    let account = codex
        .request("account/read", json!({"refreshToken": false}))
        .await?;
    obs.insert("account_read".into(), account);
    obs.insert(
        "handshake_ms".into(),
        json!(t0.elapsed().as_millis() as u64),
    );

    // Text to image.
    let transcript_start = 0;
    let (thread_id, turn_id) = start_turn(
        codex,
        cwd,
        json!([{"type": "text", "text": "draw a red square"}]),
    )
    .await?;
    let mut seen = Vec::new();
    let item = codex
        .wait_for(Duration::from_secs(120), &mut seen, |m| {
            is_image_item(m) || is_turn_completed(m)
        })
        .await?;
    if !is_image_item(&item) {
        return Err(format!(
            "turn ended without an image: {}; notifications {:?}",
            shrink(&item),
            methods(&seen)
        ));
    }
    obs.insert(
        "first_image_ms".into(),
        json!(t0.elapsed().as_millis() as u64),
    );
    let bytes = decode_result(&item["params"]["item"])?;
    if bytes != served {
        return Err(format!(
            "image bytes differ from the served PNG ({} vs {} bytes)",
            bytes.len(),
            served.len()
        ));
    }
    let done = interrupt_and_finish(codex, &thread_id, &turn_id, &mut seen).await?;
    report.transcript = codex.transcript[transcript_start..].to_vec();
    if let (Some(dir), Some(first)) = (out_dir(), backend.model_requests().first()) {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(
            dir.join(format!("{version}-first-model-request.json")),
            serde_json::to_string_pretty(&json!({"headers": first.headers, "body": shrink(&first.json().unwrap_or_default())})).unwrap_or_default(),
        );
    }
    let item_fields: Vec<String> = item["params"]["item"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    obs.insert(
        "text_to_image".into(),
        json!({
            "item": shrink(&item["params"]["item"]),
            "item_fields": item_fields,
            "turn_completed": done["params"]["turn"],
            "notifications": methods(&seen),
            "model_requests": backend.model_requests().len(),
            "tool_offered": backend.model_requests().first().map(|r| tool_summary(&r.json().unwrap_or_default())),
            "paths": backend.requests().iter().map(|r| format!("{} {} {}", r.method, r.route(), r.status)).collect::<Vec<_>>(),
            "first_model_request_headers": backend.model_requests().first().map(|r| r.headers.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()),
        }),
    );

    // Image to image, on releases with the client tool.
    if loopback_backend::at_least(version, "0.145.0") {
        backend.clear_requests();
        let private = tempfile::Builder::new()
            .prefix("private-folder-zebra")
            .tempdir()
            .unwrap();
        let first = test_png(40, 40, 11);
        let second = test_png(30, 50, 12);
        let a = private.path().join("primary-kiwi.png");
        let b = private.path().join("reference-mango.png");
        std::fs::write(&a, &first).unwrap();
        std::fs::write(&b, &second).unwrap();
        let (thread_id, turn_id) = start_turn(
            codex,
            cwd,
            json!([
                {"type": "text", "text": "edit the first image in the style of the second"},
                {"type": "localImage", "path": a},
                {"type": "localImage", "path": b},
            ]),
        )
        .await?;
        let mut seen = Vec::new();
        let item = codex
            .wait_for(Duration::from_secs(120), &mut seen, |m| {
                is_image_item(m) || is_turn_completed(m)
            })
            .await?;
        let done = interrupt_and_finish(codex, &thread_id, &turn_id, &mut seen).await?;
        let edits = backend.edit_inputs();
        let folder = private
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let leaked: Vec<String> = backend
            .requests()
            .iter()
            .filter(|r| r.mentions(&folder))
            .map(|r| r.route().to_string())
            .collect();
        obs.insert(
            "image_to_image".into(),
            json!({
                "item": shrink(&item["params"]["item"]),
                "turn_completed": done["params"]["turn"],
                "notifications": methods(&seen),
                "edits_calls": edits.len(),
                "edit_media_types": edits.iter().map(|e| e.media_types.clone()).collect::<Vec<_>>(),
                "generations_calls": backend.requests().iter().filter(|r| r.route().ends_with("/images/generations")).count(),
                "folder_name_seen_in": leaked,
                "folder_name_in_first_model_request": backend.model_requests().first().map(|r| r.mentions(&folder)),
                "edit_tool_arguments": backend.model_requests().get(1).and_then(|r| r.json()).map(|b| {
                    b["input"].as_array().into_iter().flatten()
                        .filter(|i| i["type"] == "function_call" || i["type"] == "custom_tool_call")
                        .map(|i| i.get("arguments").or_else(|| i.get("input")).cloned().unwrap_or_default())
                        .collect::<Vec<_>>()
                }),
                "model_request_input_kinds": backend.model_requests().first().map(|r| input_summary(&r.json().unwrap_or_default())),
            }),
        );
        if !is_image_item(&item) {
            return Err(format!(
                "image-to-image gave no image; {:?}",
                methods(&seen)
            ));
        }
        match edits.last() {
            Some(inputs) if inputs.images == vec![first.clone(), second.clone()] => {}
            Some(inputs) => {
                return Err(format!(
                    "edits got {} images ({:?}); expected the two inputs in order",
                    inputs.images.len(),
                    inputs.images.iter().map(Vec::len).collect::<Vec<_>>()
                ))
            }
            None => return Err("the edits endpoint was never called".into()),
        }
    }

    // Modes whose notifications are recorded, and checked where the behaviour is known.
    let resets_at = loopback_backend_now() + 3600;
    let mut problems = Vec::new();
    for (name, mode) in [
        (
            "usage_limit",
            Mode::UsageLimit {
                resets_at: Some(resets_at),
            },
        ),
        ("usage_limit_no_reset", Mode::UsageLimit { resets_at: None }),
        (
            "model_usage_limit",
            Mode::ModelUsageLimit {
                resets_at: Some(resets_at),
            },
        ),
        ("no_image", Mode::NoImage),
        ("keep_working", Mode::KeepWorking),
    ] {
        backend.clear_requests();
        backend.set_mode(mode.clone());
        let scenario_started = Instant::now();
        let (thread_id, turn_id) = start_turn(
            codex,
            cwd,
            json!([{"type": "text", "text": "draw a red square"}]),
        )
        .await?;
        let mut seen = Vec::new();
        let first = codex
            .wait_for(Duration::from_secs(120), &mut seen, |m| {
                is_turn_completed(m) || (is_image_item(m))
            })
            .await;
        let mut after_image_requests = None;
        if mode == Mode::KeepWorking {
            tokio::time::sleep(Duration::from_millis(300)).await;
            after_image_requests = Some(backend.model_requests().len());
        }
        let done = match &first {
            Ok(_) => interrupt_and_finish(codex, &thread_id, &turn_id, &mut seen).await,
            Err(e) => Err(e.clone()),
        };
        let errors: Vec<Value> = seen
            .iter()
            .filter(|m| m["method"] == "error")
            .map(|m| m["params"].clone())
            .collect();
        let image_items: Vec<Value> = seen
            .iter()
            .filter(|m| is_image_item(m))
            .map(|m| shrink(&m["params"]["item"]))
            .collect();
        let status = done
            .as_ref()
            .ok()
            .and_then(|d| d["params"]["turn"]["status"].as_str())
            .unwrap_or("?")
            .to_string();
        let turn_error_info = done
            .as_ref()
            .ok()
            .map(|d| d["params"]["turn"]["error"]["codexErrorInfo"].clone())
            .unwrap_or_default();
        let expected_reset = match &mode {
            Mode::UsageLimit { resets_at } => json!(resets_at),
            _ => Value::Null,
        };
        let failed_image = image_items.first().map(|i| i["status"] == "failed") == Some(true);
        let problem = match (&mode, loopback_backend::at_least(version, "0.145.0")) {
            (Mode::UsageLimit { .. }, true) if loopback_backend::at_least(version, "0.150.0") => {
                let failure = image_items
                    .first()
                    .map(|i| i["failure"].clone())
                    .unwrap_or_default();
                let want = json!({"type": "usageLimitExceeded", "limitId": "image_gen", "resetsAt": expected_reset});
                (failure != want).then(|| format!("item failure {failure}, expected {want}"))
            }
            (Mode::UsageLimit { .. }, true) => {
                (!failed_image).then(|| "expected a failed image item".to_string())
            }
            (Mode::UsageLimit { .. } | Mode::ModelUsageLimit { .. }, _) => {
                (status != "failed" || turn_error_info != "usageLimitExceeded").then(|| {
                    format!(
                        "turn {status} with {turn_error_info}, expected failed/usageLimitExceeded"
                    )
                })
            }
            (Mode::NoImage, _) => (status != "completed" || !image_items.is_empty())
                .then(|| format!("turn {status} with {} images", image_items.len())),
            (Mode::KeepWorking, _) => (status != "interrupted" || image_items.len() != 1)
                .then(|| format!("turn {status} with {} images", image_items.len())),
            _ => None,
        };
        if let Some(problem) = problem {
            problems.push(format!("{name}: {problem}"));
        }
        obs.insert(
            name.into(),
            json!({
                "elapsed_ms": scenario_started.elapsed().as_millis() as u64,
                "turn_completed": done.as_ref().map(|d| d["params"]["turn"].clone()).unwrap_or_else(|e| json!({"harness_error": e})),
                "error_notifications": errors,
                "image_items": image_items,
                "notifications": methods(&seen),
                "model_requests": backend.model_requests().len(),
                "model_requests_after_image_plus_300ms": after_image_requests,
                "paths": backend.requests().iter().map(|r| format!("{} {} {}", r.method, r.route(), r.status)).collect::<Vec<_>>(),
            }),
        );
    }
    backend.set_mode(Mode::Image);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn loopback_backend_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn tool_summary(body: &Value) -> Value {
    let mut tools = body["tools"].as_array().cloned().unwrap_or_default();
    for item in body["input"].as_array().into_iter().flatten() {
        if item["type"] == "additional_tools" {
            tools.extend(item["tools"].as_array().cloned().unwrap_or_default());
        }
    }
    json!(tools
        .iter()
        .map(|t| {
            let kind = t["type"].as_str().unwrap_or("?");
            let name = t["name"].as_str().unwrap_or("");
            let inner: Vec<String> = t["tools"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x["name"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if inner.is_empty() {
                format!("{kind}:{name}")
            } else {
                format!("{kind}:{name}[{}]", inner.join(","))
            }
        })
        .collect::<Vec<_>>())
}

fn input_summary(body: &Value) -> Value {
    let items = body["input"].as_array().cloned().unwrap_or_default();
    json!(items
        .iter()
        .map(|i| {
            let parts: Vec<String> = i["content"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|p| p["type"].as_str().unwrap_or("?").to_string())
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}:{}[{}]",
                i["type"].as_str().unwrap_or("?"),
                i["role"].as_str().unwrap_or(""),
                parts.join(",")
            )
        })
        .collect::<Vec<_>>())
}

fn out_dir() -> Option<PathBuf> {
    std::env::var_os("LOOPBACK_OUT").map(PathBuf::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_releases_make_images_through_the_loopback_backend() {
    let releases: Vec<String> = match std::env::var("CODEX_IMG_LIVE_ONLY") {
        Ok(list) if !list.is_empty() => list.split(',').map(String::from).collect(),
        _ if std::env::var("CODEX_IMG_LIVE_ALL").as_deref() == Ok("1") => {
            RELEASES.iter().map(|s| s.to_string()).collect()
        }
        _ => CI_RELEASES.iter().map(|s| s.to_string()).collect(),
    };
    let mut failed = Vec::new();
    for version in &releases {
        let started = Instant::now();
        let report = run_release(version).await;
        eprintln!(
            "{version}: {} in {:.1}s",
            if report.failures.is_empty() {
                "ok"
            } else {
                "FAILED"
            },
            started.elapsed().as_secs_f64()
        );
        if let Some(dir) = out_dir() {
            std::fs::create_dir_all(&dir).unwrap();
            let mut obs = report.observations.clone();
            obs.insert("failures".into(), json!(report.failures));
            std::fs::write(
                dir.join(format!("{version}.json")),
                serde_json::to_string_pretty(&Value::Object(obs)).unwrap(),
            )
            .unwrap();
            let lines: Vec<String> = report.transcript.iter().map(Value::to_string).collect();
            std::fs::write(
                dir.join(format!("{version}-image-turn.jsonl")),
                lines.join("\n") + "\n",
            )
            .unwrap();
        }
        if !report.failures.is_empty() {
            failed.push(format!("{version}: {:?}", report.failures));
        }
    }
    assert!(failed.is_empty(), "releases failed:\n{}", failed.join("\n"));
}
