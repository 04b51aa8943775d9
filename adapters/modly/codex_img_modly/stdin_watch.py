"""Modly's `cancel`, read while Modly's runner is busy running `generate`.

Modly's runner (api/runner.py, 0.3.6 and 0.4) reads its stdin in one loop and calls `generate` from
that loop, so a `{"action": "cancel"}` written during a generation waits unread in the pipe until
`generate` returns. Modly 0.4 gives a cancel 3 seconds to be answered and then kills the runner.
To answer in time, this watcher looks at the runner's stdin while `generate` runs:

- it only *peeks* (the bytes stay in the pipe's Python buffer, where the runner's next read finds
  them), and it takes a line out only when that line is a `cancel`: during a generation the runner
  sends nothing else, and the cancel belongs to the one generation a runner runs at a time;
- it never blocks inside Python's stdin objects, so it never holds them when the runner reads again:
  it waits for data with `select` (POSIX) or `PeekNamedPipe` (Windows), then peeks what is there;
- it stops, and is joined, before `generate` returns.

Closing the runner's stdin during a generation counts as a cancel too (Modly has gone away).

Anything unexpected (stdin is not a pipe, no `peek`, an OS call failing) turns the watcher off: Modly
then kills the runner after its grace, and codex-img, seeing its own stdin close, interrupts the turn
and stops Codex; the generation still ends with nothing left behind, only later.
"""

import json
import os
import stat
import sys
import threading
import time

POLL_SECONDS = 0.05


class Watch:
    """A running watch; `fired` is set by a cancel (or the end of stdin)."""

    def __init__(self, stream):
        self.fired = threading.Event()
        self.ended = False  # stdin closed, not an explicit cancel
        self._buffer = stream.buffer
        self._fd = stream.fileno()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modly cancel watch", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        try:
            while not self._stop.is_set():
                if not _readable(self._fd, POLL_SECONDS) or self._stop.is_set():
                    continue
                data = self._buffer.peek(1)  # does not block: data (or the end) is there
                if not data:
                    self.ended = True
                    self.fired.set()
                    return
                end = data.find(b"\n")
                # Modly writes each message whole, in one write; a peek that holds no whole line is
                # something else (a peek never reads more while it has bytes): leave it to the runner.
                if end < 0 or not _is_cancel(data[: end + 1]):
                    return  # for the runner, which reads it after generate: stop looking
                self._buffer.read(end + 1)
                self.fired.set()
                return
        except Exception as e:  # never break the generation over the watch itself
            sys.stderr.write(f"[codex-img] the cancel watch stopped: {e}\n")


def start(extension_dir):
    """A watch over this process's stdin when Modly's runner runs the extension, else None."""
    if not _under_runner(extension_dir):
        return None
    stream = sys.stdin
    if stream is None or not hasattr(getattr(stream, "buffer", None), "peek"):
        return None
    try:
        if not _is_pipe(stream.fileno()):
            return None
    except (OSError, ValueError):
        return None
    return Watch(stream)


def _under_runner(extension_dir):
    """Modly's runner sets EXTENSION_DIR to the extension it runs; in Modly's own process (an
    extension without a virtualenv) it is not set, and stdin is not Modly's to read."""
    given = os.environ.get("EXTENSION_DIR")
    if not given:
        return False
    try:
        return os.path.samefile(given, extension_dir)
    except OSError:
        return False


def _is_cancel(line):
    try:
        message = json.loads(line)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("action") == "cancel"


if os.name == "nt":
    import ctypes
    import msvcrt
    from ctypes import wintypes

    _ERROR_BROKEN_PIPE = 109

    def _is_pipe(fd):
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        return kernel32.GetFileType(wintypes.HANDLE(msvcrt.get_osfhandle(fd))) == 3  # FILE_TYPE_PIPE

    def _readable(fd, timeout):
        # Pipes on Windows cannot be waited on with select: ask how many bytes wait in the pipe.
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        available = wintypes.DWORD(0)
        handle = wintypes.HANDLE(msvcrt.get_osfhandle(fd))
        if not kernel32.PeekNamedPipe(handle, None, 0, None, ctypes.byref(available), None):
            if ctypes.get_last_error() == _ERROR_BROKEN_PIPE:
                return True  # the writer is gone: the peek reads the end
            raise OSError(ctypes.get_last_error(), "PeekNamedPipe failed")
        if available.value:
            return True
        time.sleep(timeout)
        return False

else:
    import select

    def _is_pipe(fd):
        mode = os.fstat(fd).st_mode
        return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)

    def _readable(fd, timeout):
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
