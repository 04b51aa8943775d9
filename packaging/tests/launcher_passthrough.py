"""Checks that the npm package's JavaScript launcher (packaging/npm/codex-img/bin/codex-img, what runs when
install scripts were skipped) changes nothing: each case runs against the bare binary and the launcher,
and both must give the same result. Arguments and exit codes; stdin and stdout (an MCP handshake and
tool list over serve-mcp); SIGINT, SIGTERM and SIGHUP sent to the launcher alone; and the binary dying
of a signal, which the launcher must reproduce on itself.

Usage: python3 launcher_passthrough.py BARE_BINARY LAUNCHER
with CODEX_BIN naming the fake app-server. Standard library only; every wait has a deadline.
"""

import json
import os
import signal
import subprocess
import sys
import time

DEADLINE = 30  # seconds, for any one process to answer or end


def default_signals():
    # A CI runner may start us with SIGINT ignored, which children would inherit.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def run(command, args, env=None):
    out = subprocess.run(
        command + args,
        capture_output=True,
        timeout=DEADLINE,
        env={**os.environ, **(env or {})},
        preexec_fn=default_signals,
    )
    return out.returncode, out.stdout


def doctor(command, env):
    """The exit code and the verdicts of `doctor --json` (not its times, which move)."""
    code, out = run(command, ["doctor", "--json"], env)
    report = json.loads(out)
    return code, report["ready"], [(c["name"], c["status"]) for c in report["checks"]]


def start(command):
    return subprocess.Popen(
        command + ["serve-mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=default_signals,
    )


def request(proc, message):
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()
    if "id" not in message:
        return None
    line = proc.stdout.readline()  # bounded by the watchdog in `session`
    if not line:
        raise AssertionError(f"no answer to {message['method']}")
    return json.loads(line)


def handshake(proc):
    init = request(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "launcher-test", "version": "0"},
            },
        },
    )
    request(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    tools = request(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    return init["result"]["serverInfo"]["name"], sorted(t["name"] for t in tools["result"]["tools"])


def wait(proc):
    try:
        return proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"pid {proc.pid} did not end within {DEADLINE}s")


def session(command, ending):
    """Starts serve-mcp, does the handshake, ends it as `ending` says, and returns (handshake, status)."""
    proc = start(command)
    watchdog = time.monotonic() + DEADLINE
    try:
        seen = handshake(proc)
        if ending == "eof":
            proc.stdin.close()
        elif ending == "kill-binary":
            # The binary is the launcher's child (or the process itself when run bare).
            children = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
            os.kill(int(children[0]) if children else proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(ending)
        status = wait(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if time.monotonic() > watchdog:
            raise AssertionError("the session outlived its deadline")
    return seen, status


def main():
    bare, launcher = [sys.argv[1]], [sys.argv[2]]
    checks = [
        ("--version", lambda c: run(c, ["--version"])),
        ("a usage error", lambda c: run(c, ["generate"])[0]),
        ("doctor without a login", lambda c: doctor(c, {"FAKE_LOGIN": "none"})),
        ("stdin closed", lambda c: session(c, "eof")),
        ("SIGINT", lambda c: session(c, signal.SIGINT)),
        ("SIGTERM", lambda c: session(c, signal.SIGTERM)),
        ("SIGHUP", lambda c: session(c, signal.SIGHUP)),
        ("the binary killed", lambda c: session(c, "kill-binary")),
    ]
    failed = 0
    for name, check in checks:
        expected, got = check(bare), check(launcher)
        ok = expected == got
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: bare {expected!r:.120} / launcher {got!r:.120}")
    print(f"{len(checks) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
