//! A host for bridge tests: the bridge runs in-process through `serve` over two `tokio::io::duplex`
//! pipes, and the test reads its lines as JSON, buffering those it is not waiting for yet.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use codex_img::Client;
use codex_img::{serve_bridge, BridgeOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::task::JoinHandle;

/// How long any one expected line may take.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Bridge {
    input: Option<DuplexStream>,
    output: Lines<BufReader<DuplexStream>>,
    pending: VecDeque<Value>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Bridge {
    pub fn start(client: Client, options: BridgeOptions) -> Self {
        let (input, bridge_in) = tokio::io::duplex(1 << 20);
        let (bridge_out, output) = tokio::io::duplex(1 << 20);
        let task = tokio::spawn(serve_bridge(client, bridge_in, bridge_out, options));
        Self {
            input: Some(input),
            output: BufReader::new(output).lines(),
            pending: VecDeque::new(),
            task,
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let input = self.input.as_mut().expect("input still open");
        input.write_all(bytes).await.expect("write to the bridge");
    }

    pub async fn send(&mut self, message: Value) {
        let mut line = serde_json::to_vec(&message).expect("json");
        line.push(b'\n');
        self.send_raw(&line).await;
    }

    /// Sends a request with `"jsonrpc": "2.0"`.
    pub async fn request(&mut self, id: Value, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    pub fn close_input(&mut self) {
        self.input = None;
    }

    /// The next line the bridge writes, buffered or new; `None` once its output ends.
    pub async fn next(&mut self) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read().await
    }

    async fn read(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(PATIENCE, self.output.next_line())
            .await
            .expect("the bridge wrote nothing in time")
            .expect("read the bridge's output")?;
        let text = line;
        Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// The answer (result or error) to `id`; other lines stay buffered for later.
    pub async fn answer(&mut self, id: &Value) -> Value {
        let is_answer =
            |v: &Value| &v["id"] == id && (v.get("result").is_some() || v.get("error").is_some());
        if let Some(pos) = self.pending.iter().position(is_answer) {
            return self.pending.remove(pos).expect("position");
        }
        loop {
            let v = self.read().await.expect("the bridge's output ended");
            if is_answer(&v) {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Buffered `image/progress` phases for `id`, in order, removing them from the buffer.
    pub fn take_progress(&mut self, id: &Value) -> Vec<String> {
        let mut phases = Vec::new();
        self.pending.retain(|v| {
            let mine = v["method"] == "image/progress" && &v["params"]["id"] == id;
            if mine {
                phases.push(v["params"]["phase"].as_str().unwrap_or("?").to_owned());
            }
            !mine
        });
        phases
    }

    /// Lines still buffered.
    pub fn pending(&self) -> Vec<Value> {
        self.pending.iter().cloned().collect()
    }

    /// Closes input and collects every line written until the output ends, then the serve result.
    pub async fn finish(mut self) -> (std::io::Result<()>, Vec<Value>) {
        self.close_input();
        let mut rest: Vec<Value> = self.pending.drain(..).collect();
        while let Some(v) = self.read().await {
            rest.push(v);
        }
        let served = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("serve returned in time")
            .expect("serve did not panic");
        (served, rest)
    }

    /// [`finish`](Self::finish), asserting that serve returned `Ok`; the lines written until the
    /// output ended.
    pub async fn finish_ok(self) -> Vec<Value> {
        let (served, rest) = self.finish().await;
        assert!(served.is_ok(), "serve did not return Ok: {served:?}");
        rest
    }

    /// [`finish_ok`](Self::finish_ok), asserting too that no line was left: every answer was read.
    pub async fn finish_clean(self) {
        let rest = self.finish_ok().await;
        pretty_assertions::assert_eq!(
            rest,
            Vec::<Value>::new(),
            "lines left after the last answer"
        );
    }
}

/// An application error answer's `error` member with volatile parts removed: the message is kept only
/// in `data.message`, which must equal it.
pub fn app_error(answer: &Value) -> Value {
    let error = answer["error"].clone();
    assert_eq!(
        error["message"], error["data"]["message"],
        "the message is repeated in data"
    );
    error
}

/// The result of a generate without the values that differ per run (ids, timings, hashes).
pub fn stable_report(result: &Value) -> Value {
    let mut r = result.clone();
    for key in ["ids", "timings", "sha256", "base64", "codex_version"] {
        if r.get(key).is_some() {
            r[key] = json!("<varies>");
        }
    }
    r
}
