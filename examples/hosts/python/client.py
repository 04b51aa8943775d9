#!/usr/bin/env python3
"""A Python host for `codex-img serve-stdio`, standard library only.

    CODEX_IMG_BIN=/path/to/codex-img python3 client.py [OUTPUT_DIR]

It spawns the bridge confined to OUTPUT_DIR (default: the current directory), checks readiness with
codex/doctor, generates one image with progress on stderr, shows how an error comes back (asking for the
same file again gives output/exists), and shuts the bridge down. It exits non-zero if anything unexpected
happens.
"""

import itertools
import json
import os
import queue
import subprocess
import sys
import threading


class BridgeError(Exception):
    """An error answer: `code` is the JSON-RPC code, `data` the CLI-shaped error report (if any)."""

    def __init__(self, error):
        super().__init__(error["message"])
        self.code = error["code"]
        self.data = error.get("data") or {}


class Bridge:
    """A JSON-RPC 2.0 client over the bridge's stdin and stdout, one message per line."""

    def __init__(self, args):
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.waiting = {}  # id -> (queue for the answer, progress callback)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.proc.stdout:
                msg = json.loads(line)
                if msg.get("jsonrpc") != "2.0":
                    raise RuntimeError(f"not JSON-RPC 2.0: {line!r}")
                with self.lock:
                    if msg.get("method") == "image/progress":
                        entry = self.waiting.get(msg["params"]["id"])
                        if entry and entry[1]:
                            entry[1](msg["params"])
                        continue
                    answer_queue, _ = self.waiting.pop(msg["id"])
                answer_queue.put(msg)
        finally:
            # The output ended (or made no sense): nobody else will be answered.
            with self.lock:
                for answer_queue, _ in self.waiting.values():
                    answer_queue.put(None)
                self.waiting.clear()

    def request(self, method, params=None, on_progress=None, timeout=300):
        request_id = next(self.ids)
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        answer_queue = queue.Queue(maxsize=1)
        with self.lock:
            self.waiting[request_id] = (answer_queue, on_progress)
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        msg = answer_queue.get(timeout=timeout)
        if msg is None:
            raise RuntimeError("the bridge exited before answering")
        if "error" in msg:
            raise BridgeError(msg["error"])
        return msg["result"]


def main():
    binary = os.environ.get("CODEX_IMG_BIN", "codex-img")
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    bridge = Bridge([binary, "serve-stdio", "--root", out_dir])

    doctor = bridge.request("codex/doctor")
    if not doctor["ready"]:
        blocking = doctor["blocking"]
        raise RuntimeError(f"Codex is not ready: {blocking['code']}: {blocking['message']}")
    print(f"codex {doctor['version']}, signed in with {doctor['login']}")

    def progress(p):
        print(f"  {p['phase']} after {p['elapsedMs'] / 1000:.1f}s", file=sys.stderr)

    params = {"prompt": "a lighthouse at dawn, watercolour", "output": "lighthouse.png", "aspect": "3:2"}
    image = bridge.request("image/generate", params, on_progress=progress)
    print(
        f"saved {image['path']} ({image['width']}x{image['height']} {image['format']}, "
        f"sha256 {image['sha256'][:12]})"
    )

    # An application error: the file exists now. `data` is shaped like the CLI's --json error.
    try:
        bridge.request("image/generate", params)
        raise RuntimeError("generating onto an existing file should have failed")
    except BridgeError as e:
        if e.data.get("code") != "output/exists":
            raise
        print(f"handled {e.data['code']} (JSON-RPC {e.code}, retryable: {json.dumps(e.data['retryable'])}): {e}")

    bridge.request("bridge/shutdown")
    bridge.proc.stdin.close()
    code = bridge.proc.wait(timeout=60)
    if code != 0:
        raise RuntimeError(f"the bridge exited with {code}")
    print("done")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # anything unexpected: say what and fail
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
