"""The signals that stop a training run (Ctrl-C, a scheduler's SIGTERM, a closed terminal's SIGHUP)
between two iterations, so that what is saved is always a whole iteration."""

import os
import signal
import threading

from ..core.errors import Interrupted


class StopSignals:
    """SIGINT (Ctrl-C), SIGTERM (a scheduler, `timeout`) and SIGHUP (a closed terminal) during a run.

    Until `deferred` is set (nothing trained yet) they stop the run at once. After, the first one is
    only noted in `signum`, for the loop to save and stop between two iterations; a second one stops
    at once, keeping the last checkpoint. Handlers can only be set in the main thread; elsewhere
    signals keep their usual effect.
    """
    NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self):
        self.signum, self.deferred, self.previous = None, False, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in (getattr(signal, n) for n in self.NAMES if hasattr(signal, n)):
                self.previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.deferred and self.signum is None:
            self.signum = signum
            os.write(2, f"\n{name}: stopping after this iteration ({name} again to stop at once)\n".encode())
            return
        if not self.deferred:
            raise Interrupted(f"interrupted by {name} before training started", signum)
        raise Interrupted(f"interrupted by {name} again: stopped at once, the last checkpoint is kept; continue "
                          "with --resume", signum)

    def interrupted(self, message):
        return Interrupted(f"interrupted by {signal.Signals(self.signum).name}: {message}", self.signum)
