"""Ctrl-C that never lands inside the runtime's bookkeeping.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. Inside a client call
that updates shared state (``send`` writing on the caller's thread, ``close`` flushing) it can
leave that state half-updated, and the ``close`` that follows then waits forever. The commands
run such calls inside :meth:`Interrupts.deferred`: a Ctrl-C there is held until the call returns,
then raised; while the command waits (``start``, a future, its own queue) it is raised at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Optional

__all__ = ["Interrupts"]


class Interrupts:
    """SIGINT as ``KeyboardInterrupt``, held back inside :meth:`deferred` blocks."""

    def __init__(self) -> None:
        self._depth = 0
        self._pending = False

    def install(self) -> Callable[[], None]:
        """Take over SIGINT (main thread only; elsewhere a no-op); returns the undo callable.

        A SIGINT ignored when the command starts (a background job of a non-interactive
        shell, ``nohup``) stays ignored, as Python itself leaves it at startup.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return lambda: None
        previous: Any = signal.signal(signal.SIGINT, self._handle)

        def restore() -> None:
            signal.signal(signal.SIGINT, previous)

        return restore

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self._depth:
            self._pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold a Ctrl-C arriving inside the block until the block has finished."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._pending:
                self._pending = False
                raise KeyboardInterrupt
