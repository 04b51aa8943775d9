#!/usr/bin/env python3
"""Record JSON-RPC transcripts of a real `codex app-server` for test fixtures.

Usage: capture-transcripts.py CODEX_BIN OUT_DIR

Writes one JSONL file per scenario into OUT_DIR. Each line is
    {"dir": "send" | "recv", "msg": <JSON-RPC object as sent / as received>}
in the order the messages crossed the pipe. The server's stderr is never
written to a transcript; a bounded tail of it is printed to this script's
stderr when a scenario ends.

Every scenario runs in a fresh process with a fresh, private CODEX_HOME and an
empty cwd, both under one temp root, with OPENAI_API_KEY / CODEX_API_KEY
removed from the environment and HOME pointed at a private temp folder too.
The child runs in its own process group, which is always signalled
(SIGTERM, then SIGKILL) when the scenario ends. Every wait has a deadline and
each scenario has an overall deadline, so the script cannot hang.

Environment knobs (optional):
  CODEX_IMG_CAPTURE_SCENARIOS       comma list of scenario names to run (default: all)
  CODEX_IMG_CAPTURE_TURN_TIMEOUT_S  wait for turn/completed in thread-no-login
                                    (default 20; any other value writes
                                    thread-no-login-wait<N>s.jsonl instead)
If no turn/completed arrives in time, the script sends turn/interrupt and
waits up to 5 s more, so the transcript also shows an interrupted turn.

Scrubbing (done here, so reruns give comparable output):
  * the scenario's temp root becomes /tmp/codex-img-fixture
    (CODEX_HOME -> /tmp/codex-img-fixture/home, cwd -> .../cwd,
    HOME -> .../userhome);
  * any other absolute temp path (/tmp/..., /var/folders/...) and this
    machine's real home folder become /tmp/codex-img-fixture/other;
  * any e-mail address becomes person@example.com.
Ids, timestamps and everything else are kept as emitted.

Python 3 standard library only.
"""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PLACEHOLDER_ROOT = "/tmp/codex-img-fixture"
FAKE_API_KEY = "sk-test-not-real"
CLIENT_INFO = {"name": "codex-img", "title": "codex-img", "version": "0.1.0"}

RESPONSE_TIMEOUT_S = 15.0   # per-request deadline
# scenario 2: wait for turn/completed (override: CODEX_IMG_CAPTURE_TURN_TIMEOUT_S)
TURN_TIMEOUT_S = float(os.environ.get("CODEX_IMG_CAPTURE_TURN_TIMEOUT_S", "20"))
SCENARIO_DEADLINE_S = TURN_TIMEOUT_S + 55.0  # hard cap per scenario (process group killed after)
INTERRUPT_TIMEOUT_S = 5.0   # scenario 2: wait for turn/completed after turn/interrupt
SETTLE_S = 1.0              # scenario 2: collect notifications after thread/start
EXIT_WAIT_S = 5.0           # after closing stdin
STDERR_TAIL_LINES = 40
MAX_LINE_BYTES = 256 * 1024 * 1024

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Absolute temp paths not belonging to the scenario root (e.g. another mkdtemp).
OTHER_TMP_RE = re.compile(r"(?:/private)?(?:/tmp|/var/folders)/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


_T0 = time.monotonic()


def log(*args):
    print("[capture %6.2fs]" % (time.monotonic() - _T0), *args, file=sys.stderr, flush=True)


class Scrubber:
    def __init__(self, root):
        pairs = []
        for p in {root, os.path.realpath(root)}:
            pairs.append((p, PLACEHOLDER_ROOT))
        real_home = os.path.expanduser("~")
        self.real_home = None
        if real_home and real_home not in ("/", "") and len(real_home) > 1:
            self.real_home = real_home
        # Longest first so nested paths are replaced before their parents.
        self.pairs = sorted(pairs, key=lambda kv: -len(kv[0]))

    def text(self, s):
        for old, new in self.pairs:
            s = s.replace(old, new)
        s = OTHER_TMP_RE.sub(self._other_tmp, s)
        if self.real_home:
            s = re.sub(re.escape(self.real_home) + r"(?=/|\b|$)", PLACEHOLDER_ROOT + "/other", s)
        s = EMAIL_RE.sub("person@example.com", s)
        return s

    @staticmethod
    def _other_tmp(m):
        path = m.group(0)
        if path == PLACEHOLDER_ROOT or path.startswith(PLACEHOLDER_ROOT + "/"):
            return path
        # Keep bare well-known folders (e.g. "/tmp" alone never matches the regex).
        return PLACEHOLDER_ROOT + "/other"

    def value(self, v):
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {self.text(k): self.value(x) for k, x in v.items()}
        return v


class Session:
    """One `codex app-server` child with a recorded transcript."""

    def __init__(self, codex_bin, name, login_api_key=False):
        self.name = name
        self.root = tempfile.mkdtemp(prefix="codex-img-cap-")
        self.home = os.path.join(self.root, "home")
        self.cwd = os.path.join(self.root, "cwd")
        self.userhome = os.path.join(self.root, "userhome")
        for d in (self.home, self.cwd, self.userhome):
            os.mkdir(d, 0o700)
        if login_api_key:
            # Same content `codex login --with-api-key` writes in 0.122/0.150/0.169.
            path = os.path.join(self.home, "auth.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"auth_mode": "apikey", "OPENAI_API_KEY": FAKE_API_KEY}, f, indent=2)
        self.scrub = Scrubber(self.root)
        self.deadline = time.monotonic() + SCENARIO_DEADLINE_S

        env = dict(os.environ)
        for k in ("OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME"):
            env.pop(k, None)
        env["CODEX_HOME"] = self.home
        env["HOME"] = self.userhome

        self.lock = threading.Condition()
        self.entries = []          # transcript, in pipe order
        self.inbox = []            # received messages not yet consumed
        self.stderr_tail = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.eof = False
        self.next_id = 1

        self.proc = subprocess.Popen(
            [codex_bin, "app-server"],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own session => own process group
        )
        self.pgid = self.proc.pid
        self._t_out = threading.Thread(target=self._read_stdout, daemon=True)
        self._t_err = threading.Thread(target=self._read_stderr, daemon=True)
        self._t_out.start()
        self._t_err.start()
        # Watchdog: whatever happens, the group dies at the scenario deadline.
        self._watchdog = threading.Timer(SCENARIO_DEADLINE_S + 5.0, self._kill_group_hard)
        self._watchdog.daemon = True
        self._watchdog.start()

    # ---- pipes ---------------------------------------------------------
    def _read_stdout(self):
        f = self.proc.stdout
        while True:
            line = f.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            if len(line) > MAX_LINE_BYTES:
                log(self.name, "over-long stdout line; stopping reader")
                break
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text.strip():
                continue
            try:
                msg = json.loads(text)
            except ValueError:
                log(self.name, "non-JSON stdout line:", text[:200])
                with self.lock:
                    self.stderr_tail.append("[stdout non-JSON] " + text[:500])
                continue
            with self.lock:
                self.entries.append({"dir": "recv", "msg": msg})
                self.inbox.append(msg)
                self.lock.notify_all()
            self._auto_answer(msg)
        with self.lock:
            self.eof = True
            self.lock.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self.lock:
                self.stderr_tail.append(line.decode("utf-8", "replace").rstrip("\r\n"))

    def _auto_answer(self, msg):
        """Answer requests the server sends us, so nothing hangs on us."""
        if not isinstance(msg, dict) or "method" not in msg or "id" not in msg:
            return
        method = msg["method"]
        if method in ("item/commandExecution/requestApproval", "item/fileChange/requestApproval"):
            reply = {"id": msg["id"], "result": {"decision": "decline"}}
        elif method in ("execCommandApproval", "applyPatchApproval"):
            reply = {"id": msg["id"], "result": {"decision": "denied"}}
        elif method == "currentTime/read":
            reply = {"id": msg["id"], "result": {"currentTimeMs": int(time.time() * 1000)}}
        else:
            reply = {"id": msg["id"], "error": {"code": -32601, "message": "codex-img: unsupported server request: " + str(method)}}
        try:
            self._write(reply)
        except OSError:
            pass

    def _write(self, msg):
        data = (json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")
        with self.lock:
            self.entries.append({"dir": "send", "msg": msg})
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    # ---- protocol helpers ---------------------------------------------
    def remaining(self, limit):
        return max(0.0, min(limit, self.deadline - time.monotonic()))

    def notify(self, method, params=None):
        msg = {"method": method}
        if params is not None:
            msg["params"] = params
        self._write(msg)

    def request(self, method, params=None, req_id=None, timeout=RESPONSE_TIMEOUT_S):
        """Send a request and wait (bounded) for its response. Returns the response or None."""
        if req_id is None:
            req_id = self.next_id
            self.next_id += 1
        msg = {"method": method, "id": req_id}
        if params is not None:
            msg["params"] = params
        try:
            self._write(msg)
        except OSError as e:
            log(self.name, "write failed for", method, e)
            return None
        resp = self.wait_for(lambda m: "method" not in m and m.get("id") == req_id, timeout)
        if resp is None:
            log(self.name, "no response to", method, "id", req_id)
        elif "error" in resp:
            log(self.name, method, "->", "error", json.dumps(resp["error"])[:200])
        else:
            log(self.name, method, "-> ok")
        return resp

    def wait_for(self, pred, timeout):
        """Take the first received message matching pred (others stay queued); None on deadline/EOF."""
        end = time.monotonic() + self.remaining(timeout)
        with self.lock:
            while True:
                for i, m in enumerate(self.inbox):
                    if isinstance(m, dict) and pred(m):
                        del self.inbox[i]
                        return m
                left = end - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.lock.wait(left)

    def collect(self, seconds):
        """Just let notifications arrive (they are recorded by the reader)."""
        end = time.monotonic() + self.remaining(seconds)
        with self.lock:
            while not self.eof:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
            self.inbox.clear()

    def handshake(self):
        r = self.request("initialize", {"clientInfo": CLIENT_INFO, "capabilities": {}})
        self.notify("initialized")
        return r

    # ---- shutdown ------------------------------------------------------
    def _kill_group_hard(self):
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self):
        """Close stdin, wait for exit (bounded), then always signal the group."""
        try:
            with self.lock:
                self.proc.stdin.close()
        except OSError:
            pass
        exit_code = None
        try:
            exit_code = self.proc.wait(timeout=self.remaining(EXIT_WAIT_S) or 0.1)
        except subprocess.TimeoutExpired:
            log(self.name, "did not exit after stdin closed; SIGTERM to group")
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(self.pgid, sig)
            except (ProcessLookupError, PermissionError):
                break
            t_end = time.monotonic() + grace
            while time.monotonic() < t_end and self._group_alive():
                time.sleep(0.05)
        if exit_code is None:
            try:
                exit_code = self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
        self._watchdog.cancel()
        self._t_out.join(timeout=2.0)
        self._t_err.join(timeout=2.0)
        leftovers = self._procs_with_our_home()
        if leftovers:
            log(self.name, "WARNING: processes with our CODEX_HOME remain:", leftovers)
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        log(self.name, "exit code", exit_code)
        tail = list(self.stderr_tail)
        if tail:
            log(self.name, "stderr tail (scrubbed):")
            for line in tail:
                print("    " + self.scrub.text(line), file=sys.stderr)
        return exit_code

    def _group_alive(self):
        self.proc.poll()  # reap a dead leader, so a zombie is not counted as alive
        try:
            os.killpg(self.pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def _procs_with_our_home(self):
        needle = ("CODEX_HOME=" + self.home).encode() + b"\0"
        found = []
        if not os.path.isdir("/proc"):
            return found
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if needle in f.read() + b"\0":
                        found.append(int(entry))
            except OSError:
                continue
        return found

    def write_transcript(self, out_dir):
        path = os.path.join(out_dir, self.name + ".jsonl")
        with self.lock:
            entries = list(self.entries)
        with open(path, "w", encoding="utf-8") as f:
            for e in entries:
                e = {"dir": e["dir"], "msg": self.scrub.value(e["msg"])}
                f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
        log(self.name, "wrote", path, "(%d messages)" % len(entries))

    def cleanup_dirs(self):
        shutil.rmtree(self.root, ignore_errors=True)


# ---- scenarios -----------------------------------------------------------

def scenario_handshake_no_login(s):
    s.handshake()
    s.request("account/read", {"refreshToken": False}, req_id="s-1")
    s.request("account/rateLimits/read")
    # params {} is required: 0.169 rejects an omitted params with
    # -32600 "Invalid request: missing field `params`".
    s.request("modelProvider/capabilities/read", {})
    s.request("initialize", {"clientInfo": CLIENT_INFO, "capabilities": {}})
    s.request("codexImg/nope")


def scenario_thread_no_login(s):
    s.handshake()
    resp = s.request("thread/start", {
        "cwd": s.cwd,
        "ephemeral": True,
        "approvalPolicy": "never",
        "sandbox": "read-only",
        "developerInstructions": "Generate exactly one image.",
    })
    thread_id = None
    if resp and isinstance(resp.get("result"), dict):
        thread_id = (resp["result"].get("thread") or {}).get("id")
    s.collect(SETTLE_S)
    if thread_id is None:
        log(s.name, "no thread id; skipping turn")
        return
    with s.lock:
        s.inbox.clear()
    turn_resp = s.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "a red square"}]})
    done = s.wait_for(
        lambda m: m.get("method") == "turn/completed"
        and (m.get("params") or {}).get("threadId") in (None, thread_id),
        TURN_TIMEOUT_S,
    )
    log(s.name, "turn/completed" if done else "no turn/completed within %ss" % TURN_TIMEOUT_S)
    if done is None:
        # Still retrying the network: interrupt, to also record an interrupted turn/completed.
        turn_id = None
        if turn_resp and isinstance(turn_resp.get("result"), dict):
            turn_id = (turn_resp["result"].get("turn") or {}).get("id")
        if turn_id:
            s.request("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
            done = s.wait_for(lambda m: m.get("method") == "turn/completed", INTERRUPT_TIMEOUT_S)
            log(s.name, "turn/completed after interrupt" if done else "no turn/completed after interrupt")
    s.request("thread/unsubscribe", {"threadId": thread_id})
    s.request("thread/archive", {"threadId": thread_id})


def scenario_handshake_api_key(s):
    s.handshake()
    s.request("account/read", {"refreshToken": False})
    # params {} is required: 0.169 rejects an omitted params with
    # -32600 "Invalid request: missing field `params`".
    s.request("modelProvider/capabilities/read", {})


SCENARIOS = [
    ("handshake-no-login", scenario_handshake_no_login, False),
    ("thread-no-login", scenario_thread_no_login, False),
    ("handshake-api-key", scenario_handshake_api_key, True),
]


def codex_version(codex_bin):
    """`CODEX_BIN --version`, in its own process group, bounded, group always killed."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CODEX_API_KEY")}
    tmp = tempfile.mkdtemp(prefix="codex-img-cap-")
    env["CODEX_HOME"] = tmp
    try:
        p = subprocess.Popen([codex_bin, "--version"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=env, cwd=tmp, start_new_session=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return "(--version failed: %s)" % e
    try:
        out, _ = p.communicate(timeout=15)
        return out.decode("utf-8", "replace").strip()
    except subprocess.TimeoutExpired:
        return "(--version timed out)"
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    codex_bin, out_dir = argv[1], argv[2]
    if not os.path.exists(codex_bin):
        print("no such file: " + codex_bin, file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    log("binary reports:", codex_version(codex_bin))
    only = [x.strip() for x in os.environ.get("CODEX_IMG_CAPTURE_SCENARIOS", "").split(",") if x.strip()]
    failures = 0
    for name, fn, api_key in SCENARIOS:
        if only and name not in only:
            continue
        if name == "thread-no-login" and TURN_TIMEOUT_S != 20.0:
            # A non-default wait gets its own file, so the 20 s fixture stays as is.
            name = "%s-wait%ds" % (name, int(TURN_TIMEOUT_S))
        log("=== scenario", name)
        s = Session(codex_bin, name, login_api_key=api_key)
        try:
            fn(s)
        except Exception as e:  # record what we have; never leave the child behind
            failures += 1
            log(name, "scenario error:", repr(e))
        finally:
            s.close()
            s.write_transcript(out_dir)
            s.cleanup_dirs()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
