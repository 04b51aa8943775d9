//! Line I/O in the dialect `codex app-server` speaks on stdio.
//!
//! Every message is one JSON object on one line, with no `"jsonrpc"` field, and ids are echoed
//! exactly as the client sent them (integer or string). Several turn threads write at once, so
//! stdout sits behind a mutex and every line is written and flushed whole while the lock is held;
//! nothing but protocol ever goes to stdout (logs go to stderr). From Codex 0.145 on, every
//! notification carries a top-level `emittedAtMs` that the schema does not declare, and the fake
//! adds it the same way. Reading is the other half: [`read_line`] yields one parsed message per
//! line and tolerates `\r\n`.

use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The placeholder string that [`Wire::notify_with_blob`] replaces.
pub const BLOB: &str = "@@fake-app-server-blob@@";

/// The write side of the connection.
pub struct Wire {
    out: Mutex<std::io::Stdout>,
    emitted_at_ms: bool,
}

impl Wire {
    pub fn new(emitted_at_ms: bool) -> Self {
        Wire {
            out: Mutex::new(std::io::stdout()),
            emitted_at_ms,
        }
    }

    /// Writes one raw line (a newline is appended). The `garbage` scenario uses this directly.
    pub fn raw_line(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let written = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(err) = written {
            // The client closed our stdout: there is nobody left to serve.
            eprintln!("fake-app-server: stdout closed ({err}); exiting");
            std::process::exit(0);
        }
    }

    /// The locked stdout, for writers that need more than one write per line.
    pub fn lock_out(&self) -> std::sync::MutexGuard<'_, std::io::Stdout> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, msg: &Value) {
        self.raw_line(&msg.to_string());
    }

    pub fn respond(&self, id: &Value, result: Value) {
        self.send(&json!({ "id": id, "result": result }));
    }

    pub fn error(&self, id: &Value, code: i64, message: &str) {
        self.send(&json!({ "error": { "code": code, "message": message }, "id": id }));
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.notify_with_blob(method, params, None);
    }

    /// Like [`Wire::notify`], but the string value [`BLOB`] in `params` is replaced by `blob`,
    /// which must need no JSON escaping (base64 does not). Serializing a 16 MiB string through
    /// serde_json costs most of a second in a debug build; splicing it in is a copy.
    pub fn notify_with_blob(&self, method: &str, params: Value, blob: Option<&str>) {
        let mut msg = json!({ "method": method, "params": params });
        if self.emitted_at_ms {
            msg["emittedAtMs"] = json!(now_ms());
        }
        let text = msg.to_string();
        match blob {
            Some(blob) => {
                let marker = format!("\"{BLOB}\"");
                let at = text
                    .find(&marker)
                    .expect("a blob notification carries the BLOB marker");
                let mut line = String::with_capacity(text.len() + blob.len());
                line.push_str(&text[..at + 1]);
                line.push_str(blob);
                line.push_str(&text[at + marker.len() - 1..]);
                self.raw_line(&line);
            }
            None => self.raw_line(&text),
        }
    }

    /// A request from the server to the client (approvals, elicitations, ...).
    pub fn request(&self, id: &str, method: &str, params: Value) {
        self.send(&json!({ "id": id, "method": method, "params": params }));
    }
}

/// What one input line turned out to be.
pub enum Incoming {
    Message(Value),
    /// A line that is not a JSON object; the text is kept for the log.
    Invalid(String),
    Eof,
}

/// Reads the next non-empty line from `input`.
pub fn read_line(input: &mut impl BufRead) -> Incoming {
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return Incoming::Eof,
            Ok(_) => {}
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        return match serde_json::from_str::<Value>(text) {
            Ok(msg @ Value::Object(_)) => Incoming::Message(msg),
            _ => Incoming::Invalid(text.to_string()),
        };
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn now_secs() -> u64 {
    now_ms() / 1000
}
