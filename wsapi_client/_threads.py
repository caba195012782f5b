"""The SDK's threads: daemon threads that block process signals (POSIX).

Python runs signal handlers on the main thread only. When the kernel hands a process-directed
signal (Ctrl-C's SIGINT, SIGTERM, pytest-timeout's SIGALRM) to one of the SDK's threads, that
thread cannot run the handler and nothing wakes the main thread: its blocking call (a queue
``get``, ``Future.result``) goes on until it ends by itself. ``wsapi-client send`` ignored a
Ctrl-C that way in about one run in sixty of its test, the main thread in a 60 s queue wait.

A thread made by :func:`sdk_thread` (the client's and the emulator's) blocks those signals as
its first step, so the kernel delivers them to a thread that does not block them: the main
thread, in a program that leaves signal masks alone. The mask is set in the new thread, never
around ``Thread.start`` in the caller: an exception there could leave the caller deaf to Ctrl-C.

No state; :func:`sdk_thread` runs on whichever thread makes an SDK thread.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable

__all__ = ["sdk_thread"]

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
