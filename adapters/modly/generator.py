"""codex-img's Modly model extension: the generator class Modly loads (manifest.json names it).

Images come from the user's own signed-in Codex, through one warm `codex-img serve-stdio` child:

- `load()` starts the child and asks `codex/doctor`, which starts Codex's app-server (it stays warm
  for every generation) and reports a blocking problem, such as no ChatGPT login, before any quota is
  spent. `unload()` (also Modly's `shutdown`) ends the child, and with it Codex.
- `generate()` sends one `image/generate`: the file is saved in the `outputs_dir` Modly gives and its
  absolute path returned; codex-img's phases become Modly's progress; an error is raised as
  `"<code>: <message>"` (see codex_img_modly.errors); a cancel becomes `image/cancel`, which
  interrupts the turn at once.

Standard library only. Modly runs the extension either in its own process (no virtualenv in the
extension folder) or, once setup.py has made the virtualenv, under its runner (api/runner.py) in a
process of the extension's own; both work.
"""

import atexit
import os
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # Modly's own process does not add it

from codex_img_modly import locate, nodes, request, stdin_watch  # noqa: E402
from codex_img_modly.bridge import ANSWER, GONE, Bridge, log  # noqa: E402
from codex_img_modly.errors import cancelled, coded, from_rpc  # noqa: E402
from codex_img_modly.progress import Progress  # noqa: E402

EXTENSION_DIR = nodes.EXTENSION_DIR
# codex/doctor starts Codex; a first `npx -y codex-img` or `uvx codex-img` downloads codex-img before.
DOCTOR_SECONDS = 180.0
# codex-img's own deadline for a generation (its default); ours only guards against a bridge that
# stopped answering altogether, so it waits longer.
GENERATION_SECONDS = 300
ANSWER_GRACE_SECONDS = 60.0
# After `image/cancel` codex-img answers at once; Modly 0.4 waits 3 s before killing the runner.
CANCEL_ANSWER_SECONDS = 2.5


class _NodeSchema:
    """`params_schema()`, callable on the class (Modly's runner asks before making an object) and
    on an object (Modly's own process): the schema of the node this process serves."""

    def __get__(self, obj, cls):
        def params_schema():
            if obj is not None and getattr(obj, "_params_schema", None):
                return obj._params_schema
            node = obj.node if obj is not None else nodes.serving()
            return nodes.schema(node)

        return params_schema


class CodexImgGenerator:
    """One node (text-to-image or image-to-image) of the extension."""

    MODEL_ID = "codex-img"
    DISPLAY_NAME = "codex-img"
    VRAM_GB = 0

    params_schema = _NodeSchema()

    def __init__(self, model_dir, outputs_dir):
        self.model_dir = Path(model_dir)
        self.outputs_dir = Path(outputs_dir)
        # Modly passes its workspace here; relative reference paths are read from it.
        self.workspace_dir = Path(outputs_dir)
        self.node = nodes.serving(model_dir)
        # Set by Modly from the manifest; there are no weights to download.
        self.hf_repo = ""
        self.hf_skip_prefixes = []
        self.download_check = ""
        self._params_schema = []
        self._bridge = None
        self._lock = threading.Lock()
        # However this process ends (Modly's `shutdown`, its stdin closing), codex-img ends first.
        atexit.register(self.unload)

    # -- Modly's model lifecycle ---------------------------------------------------------------

    def is_downloaded(self):
        return True

    def is_loaded(self):
        return self._bridge is not None and self._bridge.alive()

    def load(self):
        """Starts codex-img (unless it runs) and checks Codex is ready; returns the bridge."""
        with self._lock:
            if self.is_loaded():
                return self._bridge
            self._drop_bridge()
            env = dict(os.environ)
            codex = locate.codex_bin(EXTENSION_DIR)
            if codex:
                env["CODEX_BIN"] = codex
            bridge = Bridge(locate.command(EXTENSION_DIR), env=env)
            try:
                report = bridge.call("codex/doctor", timeout=DOCTOR_SECONDS)
                blocking = (report or {}).get("blocking")
                if not (report or {}).get("ready"):
                    raise from_rpc({"data": blocking or {}, "message": "Codex is not ready"})
            except BaseException:
                bridge.close()
                raise
            log(
                f"ready: Codex {report.get('version')}, {report.get('login')} login"
                f" ({report.get('plan') or 'plan unknown'}), node {self.node}"
            )
            self._bridge = bridge
            return bridge

    def unload(self):
        with self._lock:
            self._drop_bridge()

    # -- generation ----------------------------------------------------------------------------

    def generate(self, image_bytes, params, progress_cb=None, cancel_event=None):
        """Saves one image in `self.outputs_dir` and returns its absolute path."""
        params = params if isinstance(params, dict) else {}
        outputs = Path(self.outputs_dir)
        outputs.mkdir(parents=True, exist_ok=True)
        wanted = request.build(self.node, params, image_bytes, outputs, self.workspace_dir)
        progress = Progress(progress_cb)
        watch = stdin_watch.start(EXTENSION_DIR)

        def asked():
            return (cancel_event is not None and cancel_event.is_set()) or (
                watch is not None and watch.fired.is_set()
            )

        try:
            # Warm already, except on the first generation after codex-img died (Modly 0.3.6 does
            # not call `load` again then); starting a new one spends nothing.
            bridge = self.load()
            if asked():
                raise cancelled()  # cancelled while codex-img started: no request sent at all
            request_id, answers = bridge.start("image/generate", wanted)
            deadline = time.monotonic() + GENERATION_SECONDS + ANSWER_GRACE_SECONDS
            cancel_sent = None
            while True:
                if asked() and cancel_sent is None:
                    bridge.notify("image/cancel", {"id": request_id})
                    cancel_sent = time.monotonic()
                    log(f"cancel: image/cancel sent for request {request_id}")
                try:
                    kind, payload = answers.get(timeout=0.1)
                except queue.Empty:
                    progress.tick()
                    now = time.monotonic()
                    late = now > deadline or (
                        cancel_sent is not None and now - cancel_sent > CANCEL_ANSWER_SECONDS
                    )
                    if late:
                        # Stopping the bridge interrupts the turn; the next generation starts anew.
                        self.unload()
                        if cancel_sent is not None:
                            raise cancelled()
                        raise coded(
                            "runtime/bridge_unresponsive",
                            "codex-img did not answer the generation in time; it was stopped "
                            "(whether the turn spent quota is unknown, so it is not retried)",
                        )
                    continue
                if kind == GONE:
                    error = bridge.exited_error()
                    self.unload()
                    raise error
                if kind != ANSWER:
                    progress.phase(payload.get("phase"))
                    continue
                if "error" in payload:
                    error = from_rpc(payload["error"])
                    if cancel_sent is not None and error.code == "runtime/cancelled":
                        raise cancelled()
                    raise error
                # A cancel that came too late (the image was already being saved) still returns
                # the image: it is paid for, and Modly keeps what a finished generation returns.
                return self._saved_path(payload.get("result") or {}, outputs)
        finally:
            if watch is not None:
                watch.stop()

    def generate_artifact(self, kind, path, params, progress_cb=None, cancel_event=None):
        """Modly 0.4's typed input; an image node only ever gets an image (by path)."""
        if kind != "image":
            raise coded("request/invalid_image", f"this node takes an image, not a {kind}")
        return self.generate(Path(path).read_bytes(), params, progress_cb, cancel_event)

    # -- helpers -------------------------------------------------------------------------------

    def _drop_bridge(self):
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.close()

    @staticmethod
    def _saved_path(report, outputs):
        saved = report.get("path")
        if not saved:
            raise coded("output/write_failed", "codex-img saved no file")
        # The path in Modly's own spelling of outputs_dir (codex-img gives the canonical one), so
        # Modly can make it relative to its workspace even through a symbolic link.
        mine = outputs / Path(saved).name
        try:
            if os.path.samefile(mine, saved):
                return mine.absolute()
        except OSError:
            pass
        return Path(saved)
