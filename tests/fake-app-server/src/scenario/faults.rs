//! Turn scenarios that misbehave on the wire or in the image item, for codex-img's fault tests. Each is
//! listed in the README's scenario table.

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

use super::{image_in_progress, short_id, End, Interrupted, Payload, Turn};
use crate::png;
use crate::wire::now_ms;

/// The planted text of `error-secrets`: a JWT, a bearer token, an `sk-` key and an email address.
pub const SECRETS: &str = "auth failed for person@example.com with Bearer abcdef0123456789 \
     token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl key sk-proj-0123456789abcdef";

extern "C" {
    fn close(fd: i32) -> i32;
}

impl Turn {
    /// Plays a fault scenario; `None` when `name` is not one.
    pub(super) fn fault(
        &mut self,
        name: &str,
        small: (u32, u32),
    ) -> Option<Result<End, Interrupted>> {
        Some(match name {
            "close-stdout" => {
                self.flush_response();
                // SAFETY: closing our own stdout; every later write fails and is handled.
                unsafe { close(1) };
                eprintln!("fake-app-server: scenario `close-stdout`: stdout closed, staying alive");
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            "long-line" => {
                let bytes = std::env::var("FAKE_LONG_LINE_BYTES")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(129usize << 20);
                self.flush_response();
                let line = format!(
                    "{{\"method\":\"x/long\",\"params\":\"{}\"}}",
                    "a".repeat(bytes)
                );
                self.server.wire.raw_line(&line);
                self.image_then_wait(Payload::Result, small)
            }
            "split-writes" => {
                self.flush_response();
                let id = format!("ig_{}", short_id());
                self.item_started(image_in_progress(&id), now_ms());
                let bytes = png::image_for(&self.start.thread_id, small.0, small.1);
                self.record_image(&id, &bytes, small);
                let params = json!({
                    "threadId": self.start.thread_id, "turnId": self.start.turn_id,
                    "item": {"type": "imageGeneration", "id": id, "status": "completed",
                             "revisedPrompt": null, "result": png::base64(&bytes)},
                });
                let line = format!(
                    "{}\n",
                    json!({"method": "item/completed", "params": params})
                );
                self.server.wire.raw_chunks(line.as_bytes(), 7);
                self.wait(Duration::from_secs(10))
                    .and_then(|()| End::completed())
            }
            "flood" => {
                self.flush_response();
                for n in 0..5000 {
                    let params = json!({"threadId": self.start.thread_id,
                        "turnId": self.start.turn_id, "n": n});
                    self.server.wire.notify("future/noise", params);
                }
                for _ in 0..500 {
                    let item = json!({"type": "hologram", "id": format!("holo_{}", short_id())});
                    self.item_completed(item, now_ms());
                }
                for _ in 0..50 {
                    let id = format!("srv-{}", self.next_request);
                    self.next_request += 1;
                    self.server
                        .expect_answer(&id, "future/thing", self.events.clone());
                    let params =
                        json!({"threadId": self.start.thread_id, "turnId": self.start.turn_id});
                    self.server.wire.request(&id, "future/thing", params);
                }
                self.image_then_wait(Payload::Result, small)
            }
            "duplicate-response" => {
                self.flush_response();
                let result = json!({ "turn": self.turn_json("inProgress", None) });
                self.server
                    .wire
                    .respond(&self.start.request_id, result.clone());
                self.server.wire.respond(&json!(424_242), result);
                self.server
                    .wire
                    .error(&json!("no-such-id"), -32600, "stray error");
                self.image_then_wait(Payload::Result, small)
            }
            "two-images" => {
                self.image(Payload::Result, small);
                self.image(Payload::Result, (small.0 + 1, small.1 + 1));
                self.wait(Duration::from_secs(10))
                    .and_then(|()| End::completed())
            }
            "corrupt-base64" => self.odd_image(json!("@@@ this is not base64 @@@")),
            "not-an-image" => self.odd_image(json!("dGhpcyBpcyBub3QgYW4gaW1hZ2UgYXQgYWxs")),
            "empty-result" => self.odd_image(json!("")),
            "error-secrets" => {
                eprintln!("fake-app-server: {SECRETS}");
                End::failed(&format!("unexpected status 401: {SECRETS}"), json!("other"))
            }
            _ => return None,
        })
    }

    /// An image item whose `result` is `result`, with no file at `savedPath`; then the turn completes.
    fn odd_image(&mut self, result: Value) -> Result<End, Interrupted> {
        self.flush_response();
        let id = format!("ig_{}", short_id());
        let started = now_ms();
        self.item_started(image_in_progress(&id), started);
        let missing = self
            .server
            .cfg
            .codex_home
            .join("generated_images")
            .join(&self.start.thread_id)
            .join(format!("{id}-never-written.png"));
        let item = json!({
            "type": "imageGeneration", "id": id, "status": "completed",
            "revisedPrompt": null, "result": result, "savedPath": missing,
        });
        self.item_completed(item, started);
        End::completed()
    }

    fn record_image(&self, id: &str, bytes: &[u8], (width, height): (u32, u32)) {
        self.server.rec.event(
            "image",
            json!({"threadId": self.start.thread_id, "turnId": self.start.turn_id, "itemId": id,
                   "savedPath": null, "width": width, "height": height, "len": bytes.len(),
                   "sha256": crate::record::sha256_hex(bytes)}),
        );
    }
}

impl crate::wire::Wire {
    /// Writes `bytes` in pieces of `chunk` bytes, flushing each: one line split across many writes.
    pub fn raw_chunks(&self, bytes: &[u8], chunk: usize) {
        let mut out = self.lock_out();
        for piece in bytes.chunks(chunk) {
            if out.write_all(piece).and_then(|()| out.flush()).is_err() {
                eprintln!("fake-app-server: stdout closed; exiting");
                std::process::exit(0);
            }
        }
    }
}
