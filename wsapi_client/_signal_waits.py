"""Waits on the main thread that let a signal's handler run: they sleep in short slices.

CPython runs a signal handler (Ctrl-C's KeyboardInterrupt) on the main thread, when it next
runs bytecode. A signal that arrives after the main thread's last look and before it blocks in
a lock (a queue ``get``, a condition, ``Future.result``) is not acted on until the lock is taken
or the wait times out. ``wsapi-client send``'s Ctrl-C test hung 15 s that way in about one run
in ten under load: SIGINT caught and unblocked, its handler never ran, the main thread asleep in
a 60 s queue wait. So the client's waits on the main thread sleep at most :data:`SIGNAL_CHECK`
at a time (:func:`signal_slice`, :func:`wait_in_slices`) and look again; on other threads, where
no handler runs, they wait as before.

The client's threads do not block signals to steer them to the main thread: a thread's signal
mask is inherited by the processes it starts, and a subprocess started from a listener would not
stop on SIGTERM (``tests/integration/test_lifecycle_promises.py`` checks that it does).

No state; called on whichever thread waits.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Optional, TypeVar

__all__ = ["SIGNAL_CHECK", "get_in_slices", "join_in_slices", "signal_slice", "wait_in_slices"]

_T = TypeVar("_T")

SIGNAL_CHECK = 0.25
"""Seconds: the longest a wait on the main thread sleeps before Python looks for signals."""


def signal_slice(timeout: Optional[float]) -> Optional[float]:
    """How long a wait on this thread may sleep at once (None: no limit): ``timeout`` capped at
    :data:`SIGNAL_CHECK` on the main thread, unchanged on any other (no handler runs there)."""
    if threading.get_ident() != threading.main_thread().ident:  # cheaper than current_thread()
        return timeout
    return SIGNAL_CHECK if timeout is None or timeout > SIGNAL_CHECK else timeout


def wait_in_slices(wait: Callable[[Optional[float]], bool], timeout: Optional[float]) -> bool:
    """Call ``wait(seconds)`` (it waits up to that long, None: no limit, and says whether what
    it waits for happened) in :func:`signal_slice` slices until it happens (True) or
    ``timeout`` ends (False): for waits on primitives the client does not own."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        pause = signal_slice(remaining)
        if wait(pause):
            return True
        if pause == remaining:
            return False


def get_in_slices(source: queue.SimpleQueue[_T], timeout: Optional[float]) -> _T:
    """``source.get(timeout=timeout)`` waited for in slices; :class:`queue.Empty` on timeout."""
    got: list[_T] = []

    def take(seconds: Optional[float]) -> bool:
        try:
            got.append(source.get(timeout=seconds))
        except queue.Empty:
            return False
        return True

    if not wait_in_slices(take, timeout):
        raise queue.Empty
    return got[0]


def join_in_slices(thread: threading.Thread, timeout: float) -> None:
    """``thread.join(timeout)`` waited for in slices; a thread never started counts as ended."""

    def ended(seconds: Optional[float]) -> bool:
        if thread.is_alive():
            thread.join(seconds)
        return not thread.is_alive()

    wait_in_slices(ended, max(0.0, timeout))
