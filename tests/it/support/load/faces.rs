//! The load run through the MCP and HTTP faces as separate processes: `codex-img serve-mcp` driven by
//! [`BridgeProcess`] (line-delimited JSON-RPC, `tools/call generate_image`), and `codex-img serve-http`
//! driven by a plain HTTP/1.1 keep-alive client on a `TcpStream`. The same shape as [`super::run`]:
//! one warm-up, N one after another, M at once, every answer checked, `/proc` read after each stage.
//! The same dependencies as the rest of `load`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{exit_within, probe, settled_probe, BridgeProcess, Probe, Report};

/// [`Report::summary`] with the face's name where it says "bridge".
pub fn summary(report: &Report, face: &str) -> String {
    report
        .summary()
        .replace("bridge after", &format!("{face} after"))
}

/// One face under load: start a generation under an id, then collect the outcome of several.
pub trait Face {
    /// The server process's pid, for `/proc`.
    fn pid(&self) -> u32;
    /// Sends generation `id` without waiting.
    fn start(&mut self, id: &str, prompt: &str) -> Result<(), String>;
    /// Waits for every id's answer; each checked (`Err` is a failed generation, with why). The outer
    /// `Err` is a broken run (no answer in time, a closed stream).
    fn finish(
        &mut self,
        ids: &[String],
        patience: Duration,
    ) -> Result<HashMap<String, Result<(), String>>, String>;
    /// Called after the burst, before the last probe: lets connections the client closed be released.
    fn settle(&mut self, _warm: Probe) {}
}

/// Runs one warm-up, `sequential` one after another, then `concurrent` at once through `face`.
pub fn run_face(
    face: &mut dyn Face,
    sequential: usize,
    concurrent: usize,
    patience: Duration,
) -> Result<Report, String> {
    let mut failures = Vec::new();
    let one = |face: &mut dyn Face, id: &str, prompt: &str| -> Result<Result<(), String>, String> {
        face.start(id, prompt)?;
        let mut got = face.finish(&[id.to_owned()], patience)?;
        got.remove(id).ok_or_else(|| format!("{id}: no outcome"))
    };
    one(face, "warm", "a warm-up fox")??;
    let warm = probe(face.pid())?;
    let mut sequential_ms = Vec::with_capacity(sequential);
    for i in 0..sequential {
        let id = format!("seq-{i}");
        let started = Instant::now();
        let outcome = one(face, &id, &format!("fox number {i}"))?;
        sequential_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if let Err(e) = outcome {
            failures.push(e);
        }
    }
    let after_sequential = settled_probe(face.pid(), warm)?;
    let ids: Vec<String> = (0..concurrent).map(|i| format!("burst-{i}")).collect();
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        face.start(id, &format!("one of many foxes, {i}"))?;
    }
    let outcomes = face.finish(&ids, patience)?;
    let concurrent_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    for id in &ids {
        if let Some(Err(e)) = outcomes.get(id) {
            failures.push(e.clone());
        }
    }
    face.settle(warm);
    let after_concurrent = settled_probe(face.pid(), warm)?;
    sequential_ms.sort_by(f64::total_cmp);
    Ok(Report {
        sequential,
        sequential_ms,
        concurrent,
        concurrent_wall_ms,
        failures,
        warm,
        after_sequential,
        after_concurrent,
    })
}

/// `serve-mcp --root root` under load: each generation a `tools/call generate_image` saving
/// `root/<id>.png`, checked against the file written.
pub struct McpFace<'a> {
    pub server: &'a mut BridgeProcess,
    pub root: &'a Path,
}

impl McpFace<'_> {
    /// The MCP handshake: `initialize`, then `notifications/initialized`.
    pub fn initialize(&mut self, patience: Duration) -> Result<(), String> {
        self.server
            .request(
                "init",
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "codex-img-load", "version": "0"}}),
            )
            .map_err(|e| e.to_string())?;
        let answers = self.server.answers(&["init".to_owned()], patience)?;
        if answers["init"].get("result").is_none() {
            return Err(format!("initialize failed: {}", answers["init"]));
        }
        self.server
            .notify("notifications/initialized", json!({}))
            .map_err(|e| e.to_string())
    }

    fn check(&self, id: &str, answer: &Value) -> Result<(), String> {
        let result = answer
            .get("result")
            .ok_or_else(|| format!("{id}: {}", answer["error"]))?;
        if result["isError"] != json!(false) {
            return Err(format!("{id}: {}", result["structuredContent"]));
        }
        let report = &result["structuredContent"];
        let path = Path::new(report["path"].as_str().unwrap_or_default());
        let expected = self.root.join(format!("{id}.png"));
        let same = path.canonicalize().ok() == expected.canonicalize().ok();
        if !same {
            return Err(format!("{id}: saved at {}", path.display()));
        }
        let len = std::fs::metadata(path)
            .map_err(|e| format!("{id}: {e}"))?
            .len();
        if Some(len) != report["bytes"].as_u64() {
            return Err(format!(
                "{id}: {len} bytes on disk, {} reported",
                report["bytes"]
            ));
        }
        Ok(())
    }
}

impl Face for McpFace<'_> {
    fn pid(&self) -> u32 {
        self.server.pid
    }

    fn start(&mut self, id: &str, prompt: &str) -> Result<(), String> {
        self.server
            .request(
                id,
                "tools/call",
                json!({"name": "generate_image",
                    "arguments": {"prompt": prompt, "output": format!("{id}.png")}}),
            )
            .map_err(|e| e.to_string())
    }

    fn finish(
        &mut self,
        ids: &[String],
        patience: Duration,
    ) -> Result<HashMap<String, Result<(), String>>, String> {
        let answers = self.server.answers(ids, patience)?;
        Ok(answers
            .iter()
            .map(|(id, answer)| (id.clone(), self.check(id, answer)))
            .collect())
    }
}

/// `codex-img serve-http` running as a child: the address it printed, and its pid.
pub struct HttpProcess {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub pid: u32,
}

impl HttpProcess {
    /// Spawns `command` (its program, `serve-http --listen 127.0.0.1:0`, the key in its environment,
    /// stderr as the caller set it) and waits up to `patience` for the base URL on stdout.
    pub fn spawn(mut command: Command, patience: Duration) -> Result<Self, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep reading so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let pid = child.id();
        let stop = |mut child: Child, why: String| {
            let _ = child.kill();
            let _ = child.wait();
            Err(why)
        };
        let url = match rx.recv_timeout(patience) {
            Ok(Some(Ok(line))) => line,
            Ok(other) => return stop(child, format!("serve-http printed no URL: {other:?}")),
            Err(_) => return stop(child, format!("no URL on stdout within {patience:?}")),
        };
        let Some(addr) = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix("/v1"))
        else {
            return stop(child, format!("not a base URL: {url:?}"));
        };
        Ok(Self {
            addr: addr.to_owned(),
            child,
            pid,
        })
    }

    /// Sends SIGTERM and waits up to `within` for the exit; kills it after that. The signal goes
    /// through the shell's own `kill`, which every machine has (slim images lack `/usr/bin/kill`), so
    /// this file needs no dependency.
    pub fn stop(mut self, within: Duration) -> Result<ExitStatus, String> {
        let sent = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.pid)])
            .status()
            .map_err(|e| e.to_string())?;
        if !sent.success() {
            return Err(format!("kill -TERM {} failed", self.pid));
        }
        exit_within(&mut self.child, within, || {
            format!("serve-http did not exit within {within:?} of SIGTERM")
        })
    }
}

impl Drop for HttpProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One response off the wire.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

/// A blocking HTTP/1.1 keep-alive connection; every read has a deadline.
pub struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    pub fn connect(addr: &str, patience: Duration) -> Result<Self, String> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(patience))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            reader: BufReader::new(stream),
            host: addr.to_owned(),
        })
    }

    /// Writes `POST path` with a JSON body and the bearer `key`.
    pub fn post_json(&mut self, path: &str, key: &str, body: &Value) -> Result<(), String> {
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut out = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        let stream = self.reader.get_mut();
        stream.write_all(&out).map_err(|e| e.to_string())?;
        stream.flush().map_err(|e| e.to_string())
    }

    /// Reads the next response (a `Content-Length` body; the server sends no other kind).
    pub fn receive(&mut self) -> Result<HttpReply, String> {
        let mut status_line = String::new();
        let n = self
            .reader
            .read_line(&mut status_line)
            .map_err(|e| format!("reading the status line: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection before answering".to_owned());
        }
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader
                .read_line(&mut line)
                .map_err(|e| format!("reading a header: {e}"))?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| format!("no content-length in {headers:?}"))?;
        let mut body = vec![0u8; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|e| format!("reading a {length}-byte body: {e}"))?;
        Ok(HttpReply {
            status,
            headers,
            body,
        })
    }
}

/// `serve-http` under load: each generation a `POST /v1/images/generations`; the one after another on
/// a single keep-alive connection, the burst on one connection each.
pub struct HttpFace {
    pub addr: String,
    pub key: String,
    pub pid: u32,
    /// The keep-alive connection, idle between generations.
    pub idle: Option<Conn>,
    /// Connections with a request in flight, by id.
    pub busy: HashMap<String, Conn>,
    /// How many connections were opened in all.
    pub connections: usize,
    pub patience: Duration,
}

impl HttpFace {
    pub fn new(process: &HttpProcess, key: &str, patience: Duration) -> Self {
        Self {
            addr: process.addr.clone(),
            key: key.to_owned(),
            pid: process.pid,
            idle: None,
            busy: HashMap::new(),
            connections: 0,
            patience,
        }
    }

    fn check(id: &str, reply: &HttpReply) -> Result<(), String> {
        let body = reply.json().map_err(|e| format!("{id}: {e}"))?;
        if reply.status != 200 {
            return Err(format!("{id}: {} {}", reply.status, body["error"]));
        }
        let data = body["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        // `iVBORw0KGgo` is the base64 of the PNG signature.
        let png = data.len() == 1
            && data[0]["b64_json"]
                .as_str()
                .is_some_and(|b| b.starts_with("iVBORw0KGgo") && b.len() > 100);
        if !png || body["output_format"] != "png" || body.get("errors").is_some() {
            let shown: String = body.to_string().chars().take(200).collect();
            return Err(format!("{id}: not one PNG: {shown}"));
        }
        if reply.header("connection") == Some("close") {
            return Err(format!("{id}: the server closed the keep-alive connection"));
        }
        Ok(())
    }
}

impl Face for HttpFace {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn start(&mut self, id: &str, prompt: &str) -> Result<(), String> {
        let mut conn = match self.idle.take() {
            Some(conn) => conn,
            None => {
                self.connections += 1;
                Conn::connect(&self.addr, self.patience)?
            }
        };
        conn.post_json(
            "/v1/images/generations",
            &self.key,
            &json!({"prompt": prompt}),
        )?;
        self.busy.insert(id.to_owned(), conn);
        Ok(())
    }

    fn finish(
        &mut self,
        ids: &[String],
        _patience: Duration,
    ) -> Result<HashMap<String, Result<(), String>>, String> {
        let mut out = HashMap::new();
        // Read each connection's answer in turn: the server answers them in any order, and a blocked
        // read on one does not stop the others from being served.
        for id in ids {
            let mut conn = self
                .busy
                .remove(id)
                .ok_or_else(|| format!("{id}: never started"))?;
            let reply = conn.receive().map_err(|e| format!("{id}: {e}"))?;
            out.insert(id.clone(), Self::check(id, &reply));
            // The first connection back stays for the next generation; the rest close.
            if self.idle.is_none() {
                self.idle = Some(conn);
            }
        }
        Ok(out)
    }

    fn settle(&mut self, warm: Probe) {
        // The burst's extra connections were closed by this client; the server releases their
        // sockets when it reads the end of each, which takes a moment on a loaded machine. Wait for
        // that with a deadline; a leaked socket never goes and shows in the last probe.
        super::wait::eventually(Duration::from_secs(10), || match probe(self.pid) {
            Ok(now) if now.fds > warm.fds => None,
            _ => Some(()),
        });
    }
}
