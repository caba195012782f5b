"""Waiting for SIGINT or SIGTERM on the main thread, with handlers that take no lock.

Python runs a signal handler on the main thread between two bytecodes, wherever that thread
is, even inside ``threading.Event.wait`` while it holds the event's lock. A handler that calls
``Event.set()`` then waits for a lock its own thread holds, forever: ``wsapi-client serve`` hung
on SIGTERM that way when the signal landed as the main thread entered its wait (CI caught it;
``tests/unit/test_stop_signals.py`` makes it happen at every line of the wait).

So the handler here only appends the signal number to a list. The main thread sleeps in
``select`` on a socket that :func:`signal.set_wakeup_fd` writes to from C, so a signal that
the kernel delivers to another thread (the emulator has many) wakes it at once.

Runs on the main thread only: :meth:`StopSignals.__enter__` and :meth:`StopSignals.wait` are
called there, and no lock guards ``received`` (only the handler, on that same thread, appends).
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any, Optional

__all__ = ["StopSignals"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM recorded in :attr:`received` while the ``with`` block runs.

    Outside the main thread (where Python cannot install handlers) it installs nothing and
    :meth:`wait` only ends on its timeout. A signal ignored when the block starts (SIGINT in
    a background job of a non-interactive shell) stays ignored, as Python leaves it at startup.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        """Signals received, in order; appended to by the handler alone."""
        self._wake: Optional[tuple[socket.socket, socket.socket]] = None
        self._previous_handlers: dict[int, Any] = {}
        self._previous_wakeup_fd = -1

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._wake = (reader, writer)
        self._previous_wakeup_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        for signum in _STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous_handlers[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._wake is None:
            return
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for sock in self._wake:
            sock.close()
        self._wake = None

    def _record(self, signum: int, frame: Optional[FrameType]) -> None:
        # No lock, no I/O: this may run inside any lock the main thread holds.
        self.received.append(signum)

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """Block until a stop signal arrives; returns it, or ``None`` on ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.received:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            # Bounded, so that a wake-up byte read before its handler ran costs at most a second.
            pause = 1.0 if remaining is None else min(remaining, 1.0)
            if self._wake is None:
                time.sleep(pause)  # not the main thread: no signal arrives here
                continue
            select.select([self._wake[0]], [], [], pause)
            with contextlib.suppress(BlockingIOError):
                while self._wake[0].recv(64):
                    pass
        return self.received[0]
