"""codex-img's Modly extension driven the way Modly drives a model extension: one scenario per run.

    python3 host.py SCENARIO --dir DIR

DIR is a fresh folder with `home/` (CODEX_HOME) and `record/` (the fake app-server's record). The
environment gives CODEX_IMG_BIN (the codex-img binary), CODEX_BIN (the fake app-server, or real
Codex for `live_text_to_image`), CODEX_HOME and FAKE_RECORD_DIR. The extension is installed the
way a user installs it, by copying adapters/modly into `DIR/extensions/codex-img`, and run under
modly_runner.py (Modly's runner contract) over JSON lines, as Modly's ExtensionProcess does: the
runner's first message, `load`, `generate`, `cancel`, `unload`, `shutdown`, killing it, closing its
stdin. `direct_mode` instead loads generator.py into this process, as Modly does for an extension
without a virtualenv.

Every wait has a deadline. On success the last line of stdout is one JSON object of measurements
and the exit status is 0; a failed check exits 1 with the reason and the runner's messages.
Standard library only; the process checks read /proc (Linux).
"""

import argparse
import base64
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTENSION_SOURCE = HERE.parent
RUNNER = HERE / "modly_runner.py"
EXTENSION_ID = "codex-img"
TEXT, IMAGE = "text-to-image", "image-to-image"
# Modly 0.4 gives a cancel this long before it kills the runner.
MODLY_CANCEL_GRACE = 3.0


class Failed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)


def wait_for(predicate, within, what):
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failed(f"{what} (waited {within} s)")
        time.sleep(0.05)


def png(width, height, seed):
    """A valid RGB PNG whose pixels depend on `seed`."""
    rows = b"".join(
        b"\x00" + bytes((x * 7 + y * 13 + seed * 31) % 256 for x in range(width * 3))
        for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def alive(pid):
    """Whether a process runs with this pid (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class World:
    """One scenario's folders: the installed extension, Modly's models and workspace, the record."""

    def __init__(self, root):
        self.root = Path(root)
        self.home = Path(os.environ["CODEX_HOME"])
        self.record = Path(os.environ.get("FAKE_RECORD_DIR") or self.root / "record")
        self.ext = self.root / "extensions" / EXTENSION_ID
        shutil.copytree(
            EXTENSION_SOURCE,
            self.ext,
            ignore=shutil.ignore_patterns("tests", "__pycache__", "venv", "settings.json"),
        )
        self.models = self.root / "models"
        self.workspace = self.root / "workspace"
        self.outputs = self.workspace / "Workflows"
        self.workspace.mkdir(parents=True)
        self.bridge_pids = set()  # every serve-stdio child the runners logged
        self.runners = []  # every runner started, to report on and to stop at the end

    def manifest_node(self, node):
        manifest = json.loads((self.ext / "manifest.json").read_text(encoding="utf-8"))
        return next(n for n in manifest["nodes"] if n["id"] == node)

    def events(self, name):
        found = []
        for log in sorted(self.record.glob("log-*.jsonl")):
            for line in log.read_text(encoding="utf-8").splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line being written
                if event.get("event") == name:
                    found.append(event)
        return found

    def server_pids(self):
        return sorted(int(p.name[4:]) for p in self.record.glob("pid-*"))

    def outputs_listing(self):
        return sorted(p.name for p in self.outputs.iterdir()) if self.outputs.exists() else []

    def generated_images(self):
        folder = self.home / "generated_images"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def processes(self, exclude=()):
        """Live processes with this world's CODEX_HOME, other than this one, the one that started
        it (the test; it has CODEX_HOME too when it is a shell), and `exclude`."""
        needle = b"CODEX_HOME=" + os.fsencode(str(self.home))
        skip = {os.getpid(), os.getppid(), *exclude}
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in skip:
                continue
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes()
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError):
                continue  # gone meanwhile, or not ours to read
            if needle in environ.split(b"\0") and state != "Z":
                found.append(f"{name}: {cmdline}")
        # A process in the middle of exiting no longer shows its environment: the app-servers the
        # fake recorded, and every serve-stdio the extension logged, are asked for by pid too.
        for pid in (set(self.server_pids()) | self.bridge_pids) - skip:
            if alive(pid) and not any(f.startswith(f"{pid}:") for f in found):
                found.append(f"{pid}: (recorded)")
        return found

    def no_processes_left(self, exclude=(), within=10.0):
        deadline = time.monotonic() + within
        while True:
            left = self.processes(exclude)
            if not left:
                return
            if time.monotonic() >= deadline:
                raise Failed(f"processes left running after {within} s:\n" + "\n".join(left))
            time.sleep(0.1)


class Runner:
    """The runner process, spoken to the way Modly's ExtensionProcess does."""

    def __init__(self, world, node, flavour="0.4", env=None):
        self.world, self.node, self.flavour = world, node, flavour
        model_dir = world.models / EXTENSION_ID / node
        environment = dict(os.environ)
        environment.update(
            EXTENSION_DIR=str(world.ext),
            MODELS_DIR=str(world.models),
            MODEL_DIR=str(model_dir),
            WORKSPACE_DIR=str(world.workspace),
            MODLY_FLAVOUR=flavour,
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
        )
        if flavour != "0.3.6":
            environment["MODEL_NODE_ID"] = node
        environment.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        world.runners.append(self)
        self.inbox = queue.Queue()
        self.seen = []
        self.stderr = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                message = {"type": "garbage", "line": raw.decode("utf-8", "replace")}
            self.inbox.put((time.monotonic(), message))
        self.inbox.put((time.monotonic(), None))

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr.append(line)
            started = re.search(r"started .*serve-stdio \(pid (\d+)\)", line)
            if started:
                self.world.bridge_pids.add(int(started.group(1)))

    def send(self, message):
        self.proc.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
        self.proc.stdin.flush()
        return time.monotonic()

    def next(self, within):
        try:
            at, message = self.inbox.get(timeout=within)
        except queue.Empty:
            raise Failed(f"the runner wrote nothing for {within} s") from None
        if message is None:
            raise Failed(f"the runner's output ended (exit status {self.proc.poll()})")
        self.seen.append(message)
        return at, message

    def until(self, kind, within, allow_error=False):
        """Messages up to the first of type `kind`: (its time, it, the ones before)."""
        deadline = time.monotonic() + within
        before = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed(f"no {kind!r} within {within} s; got {before}")
            at, message = self.next(left)
            if message.get("type") == kind:
                return at, message, before
            if message.get("type") == "error" and not allow_error:
                raise Failed(f"an error while waiting for {kind!r}: {message.get('traceback') or message}")
            before.append(message)

    def bridge_pids(self, count=1):
        """The serve-stdio children's pids, from the extension's log lines (its stderr, which
        Modly keeps in its log); waits for `count` of them (stderr is read on its own thread)."""

        def found():
            pids = re.findall(r"started .*serve-stdio \(pid (\d+)\)", "\n".join(self.stderr))
            return [int(p) for p in pids] if len(pids) >= count else None

        return wait_for(found, 10, "the extension did not log starting serve-stdio")

    def wait(self, within):
        try:
            return self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            raise Failed(f"the runner did not exit within {within} s") from None

    def stop(self):
        """Ends the runner whatever state a failed check left it in (the kill is a last resort)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------
# Steps shared by the scenarios.


def start(world, node, flavour="0.4", env=None):
    """A runner past `ready` (checked: first, with the node's schema) and `load`."""
    runner = Runner(world, node, flavour, env)
    _, first = runner.next(30)
    check(first.get("type") == "ready", f"the first message is not ready: {first}")
    expected = world.manifest_node(node)["params_schema"]
    check(first.get("params_schema") == expected, f"ready carries another schema: {first}")
    sent = runner.send({"action": "load"})
    at, _, before = runner.until("loaded", 60)
    check(not before, f"messages before loaded: {before}")
    runner.load_ms = round((at - sent) * 1000)
    return runner


def generate(runner, request_id, params, image=b"", **extra):
    message = {
        "action": "generate",
        "id": request_id,
        "params": params,
        "outputs_dir": str(runner.world.outputs),
        "image_b64": base64.b64encode(image or png(1, 1, 0)).decode("ascii"),
    }
    if runner.flavour != "0.3.6":
        message["model_id"] = f"{EXTENSION_ID}/{runner.node}"
    message.update(extra)
    return runner.send(message)


def expect_done(runner, request_id, sent, within=60):
    """The `done` (after progress, in order, never backwards); returns the file and its bytes."""
    at, done, before = runner.until("done", within)
    check(done.get("id") == request_id, f"done for another id: {done}")
    progress = [m for m in before if m.get("type") == "progress"]
    check(progress, f"no progress before done: {before}")
    check(all(m.get("id") == request_id for m in progress), f"progress of another id: {progress}")
    pcts = [m["pct"] for m in progress]
    check(pcts == sorted(pcts) and 0 <= pcts[0] and pcts[-1] <= 100, f"progress goes back: {pcts}")
    check(all(isinstance(m.get("step"), str) and m["step"] for m in progress), f"a step without text: {progress}")
    path = Path(done["output_path"])
    check(path.is_absolute(), f"not an absolute path: {path}")
    check(path.parent == runner.world.outputs, f"not in outputs_dir {runner.world.outputs}: {path}")
    return path, path.read_bytes(), round((at - sent) * 1000)


def expect_error(runner, request_id, code, within=30):
    """The error, whose traceback's last line (what Modly shows) is exactly `<code>: <message>`."""
    _, error, _ = runner.until("error", within, allow_error=True)
    check(error.get("id") == request_id, f"error for another id: {error}")
    last = ((error.get("traceback") or "").rstrip("\n").splitlines() or [""])[-1]
    check(last == f"{code}: {error.get('message')}", f"the last line is not '{code}: <message>': {last!r}")
    return error, last


def served_image(world, path_bytes):
    """The fake's record of the image it served, matched by the file's sha256."""
    digest = sha256(path_bytes)
    images = world.events("image")
    check(any(i.get("sha256") == digest for i in images), f"the file is not what the fake served: {digest} vs {images}")


def shutdown(runner):
    """`shutdown`: the runner exits 0, and nothing with this CODEX_HOME is left."""
    runner.send({"action": "shutdown"})
    status = runner.wait(20)
    check(status == 0, f"the runner exited with {status} after shutdown")
    runner.world.no_processes_left()
    check(runner.world.generated_images() == [], f"left in generated_images: {runner.world.generated_images()}")


def turn_started(world, count=1, within=30):
    return wait_for(lambda: len(world.events("turn_inputs")) >= count, within, "the turn never started")


def interrupted(world, within=10):
    return wait_for(lambda: world.events("interrupted"), within, "the turn was not interrupted")


# --------------------------------------------------------------------------------------------------
# Scenarios.


def text_to_image(world):
    runner = start(world, TEXT)
    attached = png(1, 1, 9)
    prompt = "a lighthouse at dawn, watercolour"
    sent = generate(runner, "g1", {"prompt": prompt, "text": prompt, "size": "16:9", "quality": "auto"}, attached)
    path, data, generate_ms = expect_done(runner, "g1", sent)
    served_image(world, data)
    check(world.outputs_listing() == [path.name], f"outputs_dir holds more than the image: {world.outputs_listing()}")
    turns = world.events("turn_inputs")
    check(len(turns) == 1, f"{len(turns)} turns")
    check(turns[0]["localImages"] == [], f"the attached image reached Codex: {turns[0]['localImages']}")
    inputs = turns[0]["params"]["input"]
    check([i["type"] for i in inputs] == ["text"], f"inputs other than the prompt: {inputs}")
    check(prompt in inputs[0]["text"], f"the prompt is not in the turn: {inputs}")
    check(sha256(attached) not in json.dumps(world.events("turn_inputs")), "the attached image's bytes reached Codex")
    shutdown(runner)
    return {"load_ms": runner.load_ms, "generate_ms": generate_ms}


def image_to_image(world):
    runner = start(world, IMAGE)
    source, first, second, third = png(24, 16, 1), png(16, 16, 2), png(20, 12, 3), png(12, 20, 4)
    refs = world.root / "refs"
    (refs / "style").mkdir(parents=True)
    (refs / "first.png").write_bytes(first)
    # A folder stands for its images, by name: a.png, then b.png.
    (refs / "style" / "b.png").write_bytes(third)
    (refs / "style" / "a.png").write_bytes(second)
    references = f'"{refs / "first.png"}"; {refs / "style"}'
    sent = generate(runner, "g1", {"prompt": "make the sky stormy", "references": references}, source)
    path, data, generate_ms = expect_done(runner, "g1", sent)
    served_image(world, data)
    turns = world.events("turn_inputs")
    check(len(turns) == 1, f"{len(turns)} turns")
    staged = [i.get("sha256") for i in turns[0]["localImages"]]
    check(staged == [sha256(b) for b in (source, first, second, third)], f"images sent out of order: {turns[0]['localImages']}")
    shutdown(runner)
    return {"generate_ms": generate_ms}


def usage_limit(world):
    runner = start(world, TEXT)
    generate(runner, "g1", {"prompt": "a fox [fake:usage-limit-item]"})
    error, last = expect_error(runner, "g1", "runtime/usage_limit")
    check("local time" in last, f"no local reset time: {last}")
    check(error.get("loaded") is True, f"codex-img should stay warm after a usage limit: {error}")
    check(world.outputs_listing() == [], f"written despite the limit: {world.outputs_listing()}")
    # Until the reset, the next request is refused at once, without a turn (no quota spent).
    generate(runner, "g2", {"prompt": "a cat"})
    expect_error(runner, "g2", "runtime/usage_limit")
    check(len(world.events("turn_inputs")) == 1, "the refused request started a turn")
    check(world.outputs_listing() == [], f"written despite the limit: {world.outputs_listing()}")
    shutdown(runner)
    return {"message": last}


def cancel(world):
    runner = start(world, TEXT)
    generate(runner, "g1", {"prompt": "a slow fox [fake:slow]"})
    turn_started(world)
    runner.until("progress", 10)
    sent = runner.send({"action": "cancel", "id": "g1"})
    at, answer, before = runner.until("cancelled", MODLY_CANCEL_GRACE)
    cancel_ms = round((at - sent) * 1000)
    check(answer.get("id") == "g1", f"cancelled for another id: {answer}")
    check(all(m.get("type") == "progress" for m in before), f"unexpected messages: {before}")
    interrupted(world)
    check(world.outputs_listing() == [], f"a file after the cancel: {world.outputs_listing()}")
    # codex-img stays warm: the next generation works at once, on the same app-server.
    sent = generate(runner, "g2", {"prompt": "a quick cat"})
    _, data, _ = expect_done(runner, "g2", sent)
    served_image(world, data)
    check(len(world.server_pids()) == 1, f"app-servers started: {world.server_pids()}")
    shutdown(runner)
    return {"cancel_ms": cancel_ms}


def killed(world):
    # Modly 0.3.6 cancels by killing the runner; it never reads the runner's answer.
    runner = start(world, TEXT, flavour="0.3.6")
    [bridge] = runner.bridge_pids()
    generate(runner, "g1", {"prompt": "a slow fox [fake:slow]"})
    turn_started(world)
    killed_at = time.monotonic()
    os.kill(runner.proc.pid, signal.SIGKILL)
    runner.wait(10)
    world.no_processes_left(within=10)
    gone_ms = round((time.monotonic() - killed_at) * 1000)
    wait_for(lambda: not alive(bridge), 10, f"serve-stdio (pid {bridge}) outlived the runner")
    interrupted(world)
    check(world.outputs_listing() == [], f"files left in outputs_dir: {world.outputs_listing()}")
    check(world.generated_images() == [], f"left in generated_images: {world.generated_images()}")
    return {"everything_gone_ms": gone_ms}


def stdin_closed(world):
    runner = start(world, TEXT)
    generate(runner, "g1", {"prompt": "a slow fox [fake:slow]"})
    turn_started(world)
    runner.proc.stdin.close()
    runner.until("cancelled", MODLY_CANCEL_GRACE)
    status = runner.wait(20)
    check(status == 0, f"the runner exited with {status} after its stdin closed")
    world.no_processes_left()
    interrupted(world)
    check(world.outputs_listing() == [], f"files left in outputs_dir: {world.outputs_listing()}")
    return {}


def reload(world):
    runner = start(world, TEXT)
    [first_bridge] = runner.bridge_pids()
    sent = generate(runner, "g1", {"prompt": "a red apple"})
    first, _, _ = expect_done(runner, "g1", sent)
    runner.send({"action": "unload"})
    runner.until("unloaded", 20)
    # Unloaded: nothing but the runner itself is left with this CODEX_HOME.
    world.no_processes_left(exclude=(runner.proc.pid,))
    sent = runner.send({"action": "load"})
    runner.until("loaded", 60)
    bridges = runner.bridge_pids(2)
    check(len(bridges) == 2 and bridges[0] == first_bridge, f"serve-stdio started: {bridges}")
    sent = generate(runner, "g2", {"prompt": "a green pear"})
    second, data, _ = expect_done(runner, "g2", sent)
    served_image(world, data)
    check(sorted([first.name, second.name]) == world.outputs_listing(), f"outputs: {world.outputs_listing()}")
    check(len(world.server_pids()) == 2, f"app-servers: {world.server_pids()}")
    shutdown(runner)
    return {}


def not_signed_in(world):
    runner = Runner(world, TEXT, env={"FAKE_LOGIN": "none"})
    runner.until("ready", 30)
    runner.send({"action": "load"})
    _, error, _ = runner.until("error", 60, allow_error=True)
    last = ((error.get("traceback") or "").rstrip("\n").splitlines() or [""])[-1]
    check(last.startswith("preflight/not_signed_in: "), f"not reported as preflight/not_signed_in: {last!r}")
    # Reported before any quota is spent, with codex-img already stopped again.
    check(world.events("turn_inputs") == [], "a turn started")
    world.no_processes_left(exclude=(runner.proc.pid,))
    shutdown(runner)
    return {"message": last}


def direct_mode(world):
    """No virtualenv: Modly imports generator.py into its own process and calls it from a worker
    thread, with a cancel event its cancel endpoint sets."""
    import importlib.util
    import traceback

    check("EXTENSION_DIR" not in os.environ, "EXTENSION_DIR is set: this is not Modly's own process")
    spec = importlib.util.spec_from_file_location(f"extensions.{EXTENSION_ID}.generator", world.ext / "generator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gen = module.CodexImgGenerator(world.models / f"{EXTENSION_ID}/{IMAGE}", world.workspace)
    check(gen.params_schema() == world.manifest_node(IMAGE)["params_schema"], "the object's schema is not its node's")
    gen.load()
    gen.outputs_dir = world.outputs
    world.outputs.mkdir(parents=True, exist_ok=True)
    event, outcome, steps = threading.Event(), {}, []

    def work():
        try:
            outcome["path"] = gen.generate(png(8, 8, 5), {"prompt": "a slow owl [fake:slow]"}, lambda p, s: steps.append(p), event)
        except Exception as e:  # what Modly's generation task would see
            outcome["error"] = e
            outcome["traceback"] = traceback.format_exc()

    worker = threading.Thread(target=work)
    worker.start()
    turn_started(world)
    asked = time.monotonic()
    event.set()
    worker.join(timeout=MODLY_CANCEL_GRACE)
    check(not worker.is_alive(), "generate did not return within 3 s of the cancel")
    cancel_ms = round((time.monotonic() - asked) * 1000)
    check(type(outcome.get("error")).__name__ == "GenerationCancelled", f"not cancelled: {outcome}")
    interrupted(world)
    check(steps, "no progress")
    gen.unload()
    world.no_processes_left()
    check(world.outputs_listing() == [], f"files left: {world.outputs_listing()}")
    return {"cancel_ms": cancel_ms}


def live_text_to_image(world):
    """Real Codex against the loopback backend: one text-to-image, byte-identical to what the
    backend served (EXPECT_SHA256)."""
    runner = start(world, TEXT)
    sent = generate(runner, "g1", {"prompt": "a red square on a white background"}, png(1, 1, 9))
    path, data, generate_ms = expect_done(runner, "g1", sent, within=120)
    check(sha256(data) == os.environ["EXPECT_SHA256"], f"not the backend's image: {sha256(data)}")
    check(world.outputs_listing() == [path.name], f"outputs: {world.outputs_listing()}")
    shutdown(runner)
    return {"load_ms": runner.load_ms, "generate_ms": generate_ms}


SCENARIOS = {f.__name__: f for f in (
    text_to_image, image_to_image, usage_limit, cancel, killed, stdin_closed, reload,
    not_signed_in, direct_mode, live_text_to_image,
)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    world = World(args.dir)
    started = time.monotonic()
    try:
        measured = SCENARIOS[args.scenario](world)
    except Failed as e:
        print(f"FAILED {args.scenario}: {e}", file=sys.stderr)
        for runner in world.runners:
            print(f"--- runner messages: {json.dumps(runner.seen)[:20000]}", file=sys.stderr)
            print("--- runner stderr:\n" + "\n".join(runner.stderr[-200:]), file=sys.stderr)
        return 1
    finally:
        for runner in world.runners:
            runner.stop()
    measured["scenario"] = args.scenario
    measured["total_ms"] = round((time.monotonic() - started) * 1000)
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
