//! The record a test reads back: what the fake was started with and what it received.
//!
//! When `FAKE_RECORD_DIR` is set, each process writes `pid-<pid>` (its argv as a JSON array),
//! `env-<pid>.json` (whether the API-key variables leaked through, `CODEX_HOME`, the working
//! directory), `helper-<helperpid>` for a spawned helper, and appends to `log-<pid>.jsonl` one JSON
//! object per line: every received message (`{"dir":"in","msg":...}`) and every notable event
//! (`{"event":...}`). Each line is written with one `write` on an append-mode file, so a test can
//! read the log while the process is still running. Without the variable every call here is a
//! no-op. SHA-256 lives here because its only use is recording the bytes of `localImage` inputs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{json, Value};

pub struct Recorder {
    dir: Option<PathBuf>,
    log: Option<Mutex<File>>,
}

impl Recorder {
    /// Reads `FAKE_RECORD_DIR`; writes nothing when it is unset.
    pub fn from_env() -> Self {
        let Some(dir) = std::env::var_os("FAKE_RECORD_DIR").map(PathBuf::from) else {
            return Recorder {
                dir: None,
                log: None,
            };
        };
        if let Err(err) = std::fs::create_dir_all(&dir) {
            panic!("fake-app-server: cannot create FAKE_RECORD_DIR {dir:?}: {err}");
        }
        let path = dir.join(format!("log-{}.jsonl", std::process::id()));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|err| panic!("fake-app-server: cannot open {path:?}: {err}"));
        Recorder {
            dir: Some(dir),
            log: Some(Mutex::new(log)),
        }
    }

    /// Whether anything is recorded (lets callers skip costly fields such as an image's SHA-256).
    pub fn is_active(&self) -> bool {
        self.log.is_some()
    }

    /// Writes `pid-<pid>` and `env-<pid>.json` for this process.
    pub fn process_started(&self, argv: &[String]) {
        let pid = std::process::id();
        let env = json!({
            "OPENAI_API_KEY": std::env::var_os("OPENAI_API_KEY").is_some(),
            "CODEX_API_KEY": std::env::var_os("CODEX_API_KEY").is_some(),
            "CODEX_HOME": std::env::var("CODEX_HOME").ok(),
            "cwd": std::env::current_dir().ok().map(|d| d.display().to_string()),
        });
        self.write_file(&format!("env-{pid}.json"), &env.to_string());
        self.write_file(&format!("pid-{pid}"), &json!(argv).to_string());
    }

    /// Writes `helper-<helper_pid>` whose content is the parent's pid.
    pub fn helper_spawned(&self, helper_pid: u32) {
        self.write_file(
            &format!("helper-{helper_pid}"),
            &std::process::id().to_string(),
        );
    }

    pub fn incoming(&self, msg: &Value) {
        self.line(&json!({ "dir": "in", "msg": msg }));
    }

    /// Appends `{"event": name, ...fields}`; `fields` must be an object.
    pub fn event(&self, name: &str, fields: Value) {
        let mut line = json!({ "event": name, "atMs": crate::wire::now_ms() });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        self.line(&line);
    }

    fn line(&self, value: &Value) {
        let Some(log) = &self.log else { return };
        let mut text = value.to_string();
        text.push('\n');
        let mut file = log.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(err) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
            eprintln!("fake-app-server: cannot append to the record log: {err}");
        }
    }

    fn write_file(&self, name: &str, content: &str) {
        let Some(dir) = &self.dir else { return };
        let path = dir.join(name);
        if let Err(err) = std::fs::write(&path, content) {
            eprintln!("fake-app-server: cannot write {path:?}: {err}");
        }
    }
}

/// SHA-256 of `data` as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *slot = slot.wrapping_add(v);
        }
    }
    h.iter().map(|v| format!("{v:08x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_matches_known_values() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
