"""Coded errors, raised so that Modly shows exactly `"<code>: <message>"`.

Modly reports a failed `load` or `generate` with the Python traceback its runner formats, and the user
sees that traceback's last line. Python writes that line as `<exception type name>: <str(exception)>`
(without a module prefix for types that claim to live in `builtins`). So each code gets its own
exception type, *named* after the code: the last line then reads `runtime/usage_limit: the ChatGPT
plan's usage limit is reached until ...`, with nothing before the code.
"""

import datetime

_TYPES = {}


class CodexImgError(Exception):
    """An error with a stable code (`runtime/usage_limit`, `preflight/codex_img_missing`, ...)."""

    code = "runtime/error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    @property
    def line(self):
        """The one line Modly shows: `"<code>: <message>"`."""
        return f"{self.code}: {self.message}"


def coded(code, message):
    """A `CodexImgError` whose type is named `code`, ready to raise."""
    cls = _TYPES.get(code)
    if cls is None:
        # `__module__ = "builtins"` keeps Python from printing a module path before the type name.
        cls = type(code, (CodexImgError,), {"__module__": "builtins", "code": code})
        _TYPES[code] = cls
    return cls(message)


def from_rpc(error):
    """The coded error for a JSON-RPC `error` object from `codex-img serve-stdio`."""
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    message = str(data.get("message") or error.get("message") or "codex-img reported an error")
    code = data.get("code")
    if not isinstance(code, str) or not code:
        # Only the protocol errors (-32600..-32700) come without a report; -32602 is a parameter the
        # bridge refused, which the node's panel produced.
        code = "request/invalid_params" if error.get("code") == -32602 else "runtime/bridge_error"
    if code == "runtime/usage_limit" and isinstance(data.get("resets_at"), (int, float)):
        message += f" ({_local_reset(data['resets_at'])})"
    recovered = data.get("recovered_path")
    if isinstance(recovered, str) and recovered and recovered not in message:
        # A generated image that could not be saved where asked: say where it is, never lose it.
        message += f" (the image is kept at {recovered})"
    return coded(code, message)


def _local_reset(unix_seconds):
    """`resets at 14:05 local time`, with the date when it is not today."""
    at = datetime.datetime.fromtimestamp(unix_seconds)
    if at.date() == datetime.date.today():
        return f"resets at {at:%H:%M} local time"
    return f"resets on {at:%Y-%m-%d} at {at:%H:%M} local time"


class GenerationCancelled(Exception):
    """Modly's runner recognises a cancelled generation by this class name."""


def cancelled():
    """Modly's own `GenerationCancelled` when its API is importable (in Modly's process it must be
    that class to be caught as a cancellation), else one with the same name, which is what Modly's
    runner looks for."""
    try:
        from services.generators.base import GenerationCancelled as modly_cancelled
    except Exception:  # not inside Modly, or an older or newer layout: the name is what counts
        return GenerationCancelled()
    return modly_cancelled()
