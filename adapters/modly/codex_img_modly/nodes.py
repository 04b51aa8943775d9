"""The extension's two nodes, as manifest.json declares them, and which one this process serves.

Modly starts one process (or one generator object) per node: `<extension id>/<node id>`. Modly 0.4
names the node in `MODEL_NODE_ID`; every version passes a model folder ending in the node id (the
`MODEL_DIR` variable under the runner, the constructor's first argument in Modly's own process).
"""

import json
import os
from pathlib import Path

TEXT_TO_IMAGE = "text-to-image"
IMAGE_TO_IMAGE = "image-to-image"

EXTENSION_DIR = Path(__file__).resolve().parent.parent
MANIFEST = EXTENSION_DIR / "manifest.json"


def manifest():
    """manifest.json, read fresh (it is small, and the user may edit it between loads)."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def ids():
    return [n["id"] for n in manifest().get("nodes", [])]


def serving(model_dir=None, environ=None):
    """The node id this process serves: `MODEL_NODE_ID`, else the model folder's last part (given,
    else `MODEL_DIR`), else the first node."""
    environ = os.environ if environ is None else environ
    known = ids()
    for candidate in (
        environ.get("MODEL_NODE_ID", ""),
        Path(str(model_dir)).name if model_dir else "",
        Path(environ.get("MODEL_DIR", "")).name,
    ):
        if candidate in known:
            return candidate
    return known[0]


def schema(node_id):
    """The node's `params_schema` from manifest.json."""
    for node in manifest().get("nodes", []):
        if node.get("id") == node_id:
            return node.get("params_schema", [])
    return []


def defaults(node_id):
    """`{param id: default}`: Modly 0.3.6 sends only the values the user changed."""
    return {p["id"]: p.get("default") for p in schema(node_id) if "id" in p}
