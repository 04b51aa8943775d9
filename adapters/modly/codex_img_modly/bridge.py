"""One `codex-img serve-stdio` child, and JSON-RPC 2.0 over its stdin and stdout.

Requests are written one per line; a reader thread routes each answer, and each `image/progress`
notification, to the queue of the request it belongs to, in the order they arrive (progress always
comes before its request's answer). When the child's output ends, every waiting queue gets `GONE`.
The child's stderr (its log) is copied to this process's stderr, which Modly keeps in its log, and
its last lines are kept for the error that says why the child exited.

The child ends when its stdin closes, whatever this process is doing: `close()` closes it on purpose,
and the OS closes it when this process is killed, so a killed Modly runner leaves no codex-img
behind (codex-img then interrupts its turns and stops Codex by itself).
"""

import collections
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time

from .errors import coded, from_rpc

GONE = "gone"
ANSWER = "answer"
PROGRESS = "progress"


def log(text):
    """A line in Modly's log (this process's stderr)."""
    try:
        sys.stderr.write(f"[codex-img] {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # nobody is reading any more; the line is not worth failing over


class Bridge:
    """A running `<command> serve-stdio`."""

    def __init__(self, command, env=None):
        self.argv = list(command) + ["serve-stdio"]
        options = {}
        if os.name == "nt":
            # No console window flashing up from a desktop app.
            options["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                **options,
            )
        except OSError as e:
            raise coded("preflight/codex_img_missing", f"cannot run {self.argv[0]}: {e}") from None
        self.pid = self.proc.pid
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # the waiting table
        # Writing is locked apart: a write blocked on a full pipe must not keep the reader from
        # routing what the child writes meanwhile.
        self._write_lock = threading.Lock()
        self._waiting = {}
        self._gone = False
        self._tail = collections.deque(maxlen=20)
        self._threads = [
            threading.Thread(target=self._read_stdout, name="codex-img stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name="codex-img stderr", daemon=True),
        ]
        for t in self._threads:
            t.start()
        log(f"started {' '.join(self.argv)} (pid {self.pid})")

    # -- requests ------------------------------------------------------------------------------

    def start(self, method, params=None):
        """Sends a request; returns its id and the queue its progress and answer arrive on, as
        `(kind, payload)` pairs: `(PROGRESS, params)`, `(ANSWER, message)` or `(GONE, None)`."""
        with self._lock:
            if self._gone:
                raise self.exited_error()
            request_id = next(self._ids)
            answers = queue.Queue()
            self._waiting[request_id] = answers
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self._write(message)
        except CodexImgWriteError:
            with self._lock:
                self._waiting.pop(request_id, None)
            raise self.exited_error() from None
        return request_id, answers

    def notify(self, method, params):
        """Sends a notification (no answer). A child that is gone is not an error here: whatever
        the notification was for has ended with it."""
        if not self._gone:
            try:
                self._write({"jsonrpc": "2.0", "method": method, "params": params})
            except CodexImgWriteError:
                pass

    def call(self, method, params=None, timeout=60.0):
        """A request's result, or its error raised as a coded error; at most `timeout` seconds."""
        _, answers = self.start(method, params)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise coded(
                    "runtime/bridge_unresponsive",
                    f"codex-img did not answer {method} within {timeout:.0f} s",
                )
            try:
                kind, payload = answers.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if kind == GONE:
                raise self.exited_error()
            if kind == ANSWER:
                if "error" in payload:
                    raise from_rpc(payload["error"])
                return payload.get("result")

    def alive(self):
        return not self._gone and self.proc.poll() is None

    def exited_error(self):
        """Why the child cannot answer: its exit status and the last thing it logged."""
        try:
            status = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            status = None
        said = next((line for line in reversed(self._tail) if line.strip()), "")
        how = "stopped answering" if status is None else f"exited with status {status}"
        text = f"codex-img serve-stdio ({' '.join(self.argv)}) {how}"
        if said:
            text += f"; its last message: {said}"
        return coded("runtime/bridge_exited", text)

    # -- ending --------------------------------------------------------------------------------

    def close(self, grace=10.0):
        """Asks the bridge to shut down, closes its stdin, waits up to `grace` seconds for it to
        exit (codex-img stops Codex first), then kills it if it has not."""
        if self.proc.poll() is None:
            if self.alive():
                try:
                    self.call("bridge/shutdown", timeout=min(grace, 5.0))
                except Exception:  # an exited or wedged bridge: closing stdin and the kill below
                    pass
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"serve-stdio (pid {self.pid}) did not exit within {grace:.0f} s; killing it")
                self.proc.kill()
                self.proc.wait(timeout=10)
        for t in self._threads:
            t.join(timeout=2)
        log(f"serve-stdio (pid {self.pid}) exited with status {self.proc.returncode}")

    # -- the pipes -----------------------------------------------------------------------------

    def _write(self, message):
        line = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
        with self._write_lock:
            try:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
            except (OSError, ValueError):  # a broken pipe, or stdin already closed
                self._gone = True
                raise CodexImgWriteError() from None

    def _read_stdout(self):
        try:
            for raw in self.proc.stdout:
                try:
                    message = json.loads(raw)
                except ValueError:
                    log(f"not JSON on serve-stdio's stdout: {raw[:200]!r}")
                    continue
                self._route(message)
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._gone = True
                for answers in self._waiting.values():
                    answers.put((GONE, None))
                self._waiting.clear()

    def _route(self, message):
        with self._lock:
            if message.get("method") == "image/progress":
                params = message.get("params") or {}
                answers = self._waiting.get(params.get("id"))
                if answers is not None:
                    answers.put((PROGRESS, params))
            elif "id" in message:
                answers = self._waiting.pop(message["id"], None)
                if answers is not None:
                    answers.put((ANSWER, message))

    def _read_stderr(self):
        try:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self._tail.append(line)
                log(f"serve-stdio: {line}")
        except (OSError, ValueError):
            pass


class CodexImgWriteError(Exception):
    """Writing to the child failed: it is gone."""
