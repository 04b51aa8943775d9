"""codex-img's progress phases turned into Modly's `progress {pct, step}`.

codex-img reports phases (`queued`, `starting_process`, `thread_started`, `generating`,
`image_received`, `done`); the image itself takes 30 to 140 s inside `generating`, with no event. So
while it generates, the percentage creeps towards 88 on a curve (fast at first, slower later) and the
step shows the seconds spent, which tells the user the work is alive without pretending to know how
far along it is. The percentage never goes back.
"""

import math
import time

PHASES = {
    "queued": (3, "Waiting for a free Codex slot"),
    "starting_process": (6, "Starting Codex"),
    "thread_started": (10, "Codex is ready"),
    "generating": (15, "Generating the image"),
    "image_received": (92, "Image received; saving it"),
    "done": (97, "Image saved"),
}
CREEP_FROM, CREEP_TO, CREEP_SECONDS = 15, 88, 40.0


class Progress:
    """Feeds Modly's `progress_cb(pct, step)`; every call comes from the thread running `generate`."""

    def __init__(self, callback, clock=time.monotonic):
        self._callback = callback
        self._clock = clock
        self._pct = -1
        self._generating_since = None

    def phase(self, name):
        known = PHASES.get(name)
        if known is None:
            return  # a phase a newer codex-img adds: the next known one will move the bar
        if name == "generating":
            self._generating_since = self._clock()
        elif name in ("image_received", "done"):
            self._generating_since = None
        self._emit(*known)

    def tick(self):
        """Called about every 100 ms while waiting; reports only when the percentage moves."""
        if self._generating_since is None:
            return
        spent = self._clock() - self._generating_since
        pct = CREEP_FROM + int((CREEP_TO - CREEP_FROM) * (1 - math.exp(-spent / CREEP_SECONDS)))
        if pct > self._pct:
            self._emit(pct, f"Generating the image ({spent:.0f} s)")

    def _emit(self, pct, step):
        if pct < self._pct:
            return
        self._pct = pct
        if self._callback is not None:
            self._callback(pct, step)
