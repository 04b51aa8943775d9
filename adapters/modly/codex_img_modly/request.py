"""A node's Modly parameters turned into an `image/generate` request for codex-img.

- text-to-image: the prompt and the options. The image Modly attaches to every model call (the
  selected image, or a 1x1 placeholder) is not sent: it is not what the user asked to draw from.
- image-to-image: the image Modly sends is the image to edit; `references` (paths separated by `;` or
  new lines; a folder stands for its images, by name) and, from Modly 0.4, images connected to extra
  inputs (`extra_image_paths`) are reference images, in that order.

Parameters Modly 0.3.6 leaves out take the manifest's defaults. `"auto"` means "say nothing" (the
image tool decides). Everything else is checked by codex-img, before any quota is spent.
"""

import base64
import os
from pathlib import Path

from . import nodes
from .errors import coded

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def build(node, params, image_bytes, outputs_dir, base_dir):
    """The `image/generate` params. `outputs_dir` is where the file goes (codex-img names it
    `codex-img-<sha12>.<ext>`); relative reference paths are taken from `base_dir`."""
    values = dict(nodes.defaults(node))
    values.update({k: v for k, v in (params or {}).items() if v is not None})
    request = {"prompt": str(values.get("prompt") or ""), "output": str(Path(outputs_dir).resolve())}
    size = _choice(values.get("size"))
    if size:
        request["aspect" if ":" in size else "size"] = size
    for option in ("quality", "background", "format"):
        chosen = _choice(values.get(option))
        if chosen:
            request[option] = chosen
    if node == nodes.IMAGE_TO_IMAGE:
        if not image_bytes:
            raise coded(
                "request/invalid_image",
                "Modly sent no image to edit; connect an image to the image-to-image node",
            )
        request["image"] = {"base64": base64.b64encode(image_bytes).decode("ascii")}
        paths = references(values.get("references"), base_dir)
        paths += [str(p) for p in values.get("extra_image_paths") or [] if p]
        if paths:
            request["references"] = [{"path": p} for p in paths]
    return request


def references(text, base_dir):
    """The reference image paths in `text`, in order."""
    out = []
    for item in str(text or "").replace("\r", "\n").replace(";", "\n").split("\n"):
        item = item.strip().strip('"').strip("'").strip()
        if not item:
            continue
        path = Path(os.path.expanduser(item))
        if not path.is_absolute():
            path = Path(base_dir) / path
        if path.is_dir():
            # Modly's text fields come with a folder picker: a folder means its images, by name.
            out += [str(p) for p in sorted(path.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        else:
            out.append(str(path))  # a missing or unreadable file is codex-img's request/invalid_image
    return out


def _choice(value):
    text = str(value or "").strip()
    return "" if text.lower() in ("", "auto") else text
