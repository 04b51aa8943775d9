//! What a running `codex app-server` notices when the login changes on disk underneath it, and what it
//! reports about quota buckets: a probe, run by hand, whose printout the README and the session code
//! rely on.
//!
//! For each release asked for (default: the CI pair), it starts the app-server against the loopback
//! backend with a fake ChatGPT login, reads `account/read` and `account/rateLimits/read`, then changes
//! `auth.json` (removed: a logout; an API key: another login; the ChatGPT login again) and reads
//! `account/read` after each change, with `refreshToken` false and true, printing every notification the
//! server sent in between.
//!
//! ```text
//! cargo run -p codex-img-live --example login_probe -- 0.171.0 0.122.0
//! ```

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use loopback_backend::{
    codex_command_env, ensure_codex, write_api_key_login, write_fake_chatgpt_login, Backend,
    BackendConfig, CI_RELEASES,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, Command};
use tokio::sync::mpsc;

/// One change to the login on disk, and its name.
type Step<'a> = (&'a str, &'a dyn Fn(&Path));

struct Peer {
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    next: i64,
}

impl Peer {
    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.expect("write");
    }

    /// Sends a request; returns its answer and the notifications that came before it.
    async fn ask(&mut self, method: &str, params: Value) -> (Value, Vec<Value>) {
        self.next += 1;
        let id = self.next;
        self.send(json!({"id": id, "method": method, "params": params}))
            .await;
        let mut seen = Vec::new();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(20), self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer in 20 s"))
                .expect("the app-server's output ended");
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return (message, seen);
            }
            seen.push(message);
        }
    }

    /// The notifications that arrive within `within`.
    async fn drain(&mut self, within: Duration) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout(within, self.lines.recv()).await {
            seen.push(m);
        }
        seen
    }
}

fn brief(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 600 {
        format!("{}…", &text[..600])
    } else {
        text
    }
}

async fn probe(version: &str) {
    println!("\n=== Codex {version}");
    let launcher = ensure_codex(version).expect("install Codex");
    let backend = Backend::start(BackendConfig::default())
        .await
        .expect("backend");
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("codex-home");
    std::fs::create_dir_all(&home).expect("home");
    write_fake_chatgpt_login(&home, "plus").expect("login");
    let env = codex_command_env(&backend, &home);
    let mut cmd = Command::new(&launcher);
    cmd.arg("app-server");
    for o in &env.config_overrides {
        cmd.args(["-c", o]);
    }
    for (k, v) in &env.env {
        cmd.env(k, v);
    }
    for k in &env.env_remove {
        cmd.env_remove(k);
    }
    cmd.current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let mut peer = Peer {
        stdin: child.stdin.take().expect("stdin"),
        lines,
        next: 0,
    };
    let (init, _) = peer
        .ask(
            "initialize",
            json!({"clientInfo": {"name": "login-probe", "title": "login probe", "version": "0"}}),
        )
        .await;
    println!("initialize: {}", brief(&init["result"]["userAgent"]));
    peer.send(json!({"method": "initialized"})).await;
    let read = |refresh: bool| json!({"refreshToken": refresh});
    let (limits, seen) = peer.ask("account/rateLimits/read", json!(null)).await;
    let buckets = &limits["result"]["rateLimitsByLimitId"];
    let ids: Vec<&String> = buckets
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    println!(
        "account/rateLimits/read: main limitId {}, rateLimitsByLimitId {ids:?}, image_gen {}",
        limits["result"]["rateLimits"]["limitId"], buckets["image_gen"]
    );
    for n in seen {
        println!("  notification before it: {}", brief(&n));
    }
    let steps: [Step; 4] = [
        ("signed in with ChatGPT", &|_| {}),
        ("auth.json removed (a logout)", &|h| {
            std::fs::remove_file(h.join("auth.json")).expect("rm auth.json")
        }),
        ("an API-key login written", &|h| {
            write_api_key_login(h, "sk-probe-not-real").expect("api key")
        }),
        ("the ChatGPT login written again", &|h| {
            write_fake_chatgpt_login(h, "plus").expect("login")
        }),
    ];
    for (what, change) in steps {
        change(&home);
        let quiet = peer.drain(Duration::from_millis(500)).await;
        for n in quiet {
            println!("  notification after `{what}`: {}", brief(&n));
        }
        for refresh in [false, true] {
            let (answer, seen) = peer.ask("account/read", read(refresh)).await;
            println!(
                "{what}: account/read refreshToken={refresh}: {}",
                brief(answer.get("result").unwrap_or(&answer))
            );
            for n in seen {
                println!("  notification: {}", brief(&n));
            }
        }
    }
    drop(peer);
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let asked: Vec<String> = std::env::args().skip(1).collect();
    let versions: Vec<String> = if asked.is_empty() {
        CI_RELEASES.iter().map(|s| s.to_string()).collect()
    } else {
        asked
    };
    for version in versions {
        probe(&version).await;
    }
}
