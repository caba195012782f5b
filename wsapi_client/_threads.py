"""Signals and threads: SDK threads block process signals, waits on the main thread slice.

Python runs signal handlers on the main thread only, when it next runs bytecode. Two things
could hold a Ctrl-C (SIGINT; also SIGTERM, pytest-timeout's SIGALRM) back while the main thread
sleeps in a lock (a queue ``get``, ``Future.result``, the client's own waits):

- The kernel may hand a process-directed signal to any thread that does not block it (Linux
  picks another when the main thread is not eligible, for instance while it has a signal
  pending). On an SDK thread nothing would wake the main thread. A thread made by
  :func:`sdk_thread` (the client's and the emulator's) blocks those signals as its first step,
  so they go to a thread that can act on them. The mask is set in the new thread, never around
  ``Thread.start`` in the caller: an exception there could leave the caller deaf to Ctrl-C.
- A signal that arrives after the main thread's last look and before it blocks is not acted on
  until the lock is taken or its timeout ends. ``wsapi-client send``'s Ctrl-C test hung 15 s
  that way in about one run in ten under load (SIGINT caught and unblocked, its handler never
  ran, the main thread in a 60 s queue wait). So the client's waits on the main thread sleep at
  most :data:`SIGNAL_CHECK` at a time (:func:`signal_slice`, :func:`wait_in_slices`) and look
  again.

No state; these run on whichever thread makes an SDK thread or waits.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, Optional

__all__ = ["SIGNAL_CHECK", "sdk_thread", "signal_slice", "wait_in_slices"]

SIGNAL_CHECK = 0.25
"""Seconds: the longest a wait on the main thread sleeps before Python looks for signals."""

_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD")
_BLOCKED = frozenset(getattr(signal, name) for name in _NAMES if hasattr(signal, name))
"""Asynchronous signals only: a fault signal (SIGSEGV, SIGPIPE...) goes to the thread that
caused it and must not be blocked."""


def sdk_thread(target: Callable[..., Any], args: tuple[Any, ...], name: str) -> threading.Thread:
    """A daemon thread (not started) running ``target(*args)`` with :data:`_BLOCKED` blocked."""

    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):  # not on Windows, which has no signal masks
            signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
        target(*args)

    return threading.Thread(target=run, name=name, daemon=True)


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
