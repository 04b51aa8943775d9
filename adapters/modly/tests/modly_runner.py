"""A stand-in for Modly's extension runner (api/runner.py), written for codex-img's tests from the
contract Modly's source shows (0.3.6 and 0.4); none of Modly's code is in it.

Modly starts it with the extension's Python, as `python runner.py`, with:

    EXTENSION_DIR   the extension folder (manifest.json, generator.py)
    MODEL_DIR       <models>/<extension id>/<node id>; its last part names the node
    MODEL_NODE_ID   the node id (0.4 only)
    WORKSPACE_DIR   Modly's workspace (the generator's second argument)

and speaks JSON lines. It loads generator.py, makes the class manifest.json names, and writes
`{"type": "ready", "params_schema": [...]}` (the class's own `params_schema()`, else the node's
schema from manifest.json) before reading anything. Then, one message at a time, in one loop:

    {"action": "load"}                      -> {"type": "loaded"}
    {"action": "generate", "id", "params", "outputs_dir", "image_b64"}
                                            -> {"type": "progress", "id", "pct", "step"} ...
                                               then {"type": "done", "id", "output_path"}
                                               or {"type": "error", "id", "message", "traceback"}
                                               or {"type": "cancelled", "id"}
    {"action": "cancel", "id"}              -> sets the generation's cancel event
    {"action": "unload"}                    -> {"type": "unloaded"}
    {"action": "shutdown"}                  -> unload, then exit

`generate` runs inside the loop, as Modly's does: a `cancel` is read only after it returns, which is
why Modly 0.3.6 cancels by killing the runner and 0.4 kills it 3 s after sending `cancel`. With
MODLY_FLAVOUR=0.4 (the default) it also does what 0.4 adds: `generate` carries `model_id`
(`<extension id>/<node id>`, checked), a generator that reports itself not loaded is loaded again
before generating, and an error says whether the model is still loaded (`"loaded"`). With
MODLY_FLAVOUR=0.3.6 it does none of that.
"""

import base64
import importlib.util
import json
import os
import sys
import threading
import traceback
from pathlib import Path

FLAVOUR = os.environ.get("MODLY_FLAVOUR", "0.4")


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def messages():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as e:
            emit({"type": "log", "level": "error", "message": f"not JSON: {e}"})


def generator_class(ext_dir, manifest):
    spec = importlib.util.spec_from_file_location("generator", ext_dir / "generator.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["generator"] = module
    spec.loader.exec_module(module)
    return getattr(module, manifest["generator_class"])


def main():
    ext_dir = Path(os.environ["EXTENSION_DIR"])
    manifest = json.loads((ext_dir / "manifest.json").read_text(encoding="utf-8"))
    model_dir = Path(os.environ.get("MODEL_DIR") or Path.home() / ".modly" / "models" / manifest["id"])
    workspace = Path(os.environ.get("WORKSPACE_DIR") or Path.home() / ".modly" / "workspace")
    node_ids = [n.get("id") for n in manifest.get("nodes", [])]
    wanted = os.environ.get("MODEL_NODE_ID") if FLAVOUR != "0.3.6" else None
    node_id = wanted if wanted in node_ids else model_dir.name if model_dir.name in node_ids else node_ids[0]
    node = next(n for n in manifest["nodes"] if n["id"] == node_id)
    sys.path.insert(0, str(ext_dir))

    try:
        cls = generator_class(ext_dir, manifest)
    except Exception:
        emit({"type": "error", "id": None, "message": "cannot load the generator class",
              "traceback": traceback.format_exc()})
        return
    try:
        schema = cls.params_schema()
    except Exception:
        schema = node.get("params_schema", [])
    emit({"type": "ready", "params_schema": schema})

    gen = cls(model_dir, workspace)
    cancel_events = {}

    def loaded():
        try:
            return bool(gen.is_loaded())
        except Exception:
            return False

    for message in messages():
        action, request_id = message.get("action"), message.get("id")
        try:
            if action == "load":
                gen.load()
                emit({"type": "loaded"})
            elif action == "generate":
                expected = f"{manifest['id']}/{node_id}"
                if FLAVOUR != "0.3.6" and message.get("model_id") not in (None, expected):
                    raise ValueError(f"model {message.get('model_id')} is not this runner's {expected}")
                event = cancel_events[request_id] = threading.Event()
                image = base64.b64decode(message["image_b64"])
                if message.get("outputs_dir"):
                    gen.outputs_dir = Path(message["outputs_dir"])
                    gen.outputs_dir.mkdir(parents=True, exist_ok=True)

                def progress(pct, step="", _id=request_id):
                    emit({"type": "progress", "id": _id, "pct": pct, "step": step})

                try:
                    if FLAVOUR != "0.3.6" and not loaded():
                        gen.load()
                    path = gen.generate(image, message.get("params", {}), progress, event)
                    emit({"type": "done", "id": request_id, "output_path": str(path)})
                except Exception as e:
                    if type(e).__name__ == "GenerationCancelled":
                        emit({"type": "cancelled", "id": request_id})
                    else:
                        error = {"type": "error", "id": request_id, "message": str(e),
                                 "traceback": traceback.format_exc()}
                        if FLAVOUR != "0.3.6":
                            error["loaded"] = loaded()
                        emit(error)
                finally:
                    cancel_events.pop(request_id, None)
            elif action == "cancel":
                if request_id in cancel_events:
                    cancel_events[request_id].set()
            elif action == "unload":
                gen.unload()
                emit({"type": "unloaded"})
            elif action == "shutdown":
                gen.unload()
                break
        except Exception as e:
            emit({"type": "error", "id": request_id, "message": str(e),
                  "traceback": traceback.format_exc()})


if __name__ == "__main__":
    main()
