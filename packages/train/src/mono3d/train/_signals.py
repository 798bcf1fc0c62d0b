"""Turning SIGINT / SIGTERM into "save a checkpoint and stop" at the next step boundary.

While a :class:`StopRequest` is active, the first SIGINT or SIGTERM only records the signal;
the training loop polls :attr:`StopRequest.signal` after each step (agreed across ranks),
writes a resumable checkpoint and returns. A second signal restores the default behaviour
(``KeyboardInterrupt`` for SIGINT, termination for SIGTERM) so an impatient user can still
leave at once; checkpoints are written atomically, so even that leaves the last one intact.
"""

import signal
import threading
import types
from typing import Any

__all__ = ["StopRequest"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Context manager recording the first SIGINT/SIGTERM received while it is active."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    def _handle(self, signum: int, frame: types.FrameType | None) -> None:
        if self.signal is not None:  # second signal: default behaviour now
            self._restore()
            signal.raise_signal(signum)
            return
        self.signal = signum

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._restore()
