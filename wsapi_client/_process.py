"""Process events that concern every client: ``os.fork()`` and interpreter exit.

The registry of live clients is a ``WeakSet`` changed and copied only under ``_lock``; nothing
else here keeps state. Hooks run on whichever thread forks (the child's only thread) or runs
``atexit``.

- After ``os.fork()`` the child holds copies of the parent's clients whose threads do not exist
  there and whose sockets are the parent's: each copy is made inert (it raises
  ``ClientClosedError`` naming the fork) without touching the socket.
- At interpreter exit, open clients get one shared, short deadline to flush and close, so that
  many clients stuck in an outage cannot add up to a hang.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import warnings
import weakref
from typing import Optional, Protocol

__all__ = ["EXIT_FLUSH_TIMEOUT", "Forkable", "close_namesakes", "live_clients", "register"]

EXIT_FLUSH_TIMEOUT = 2.0
_log = logging.getLogger("wsapi_client")


class Forkable(Protocol):
    name: str

    def _after_fork_in_child(self) -> None: ...

    def _needs_closing_at_exit(self) -> bool: ...

    def close(self, timeout: Optional[float] = ...) -> None: ...


_lock = threading.Lock()
_clients: weakref.WeakSet[Forkable] = weakref.WeakSet()


def register(client: Forkable) -> None:
    with _lock:
        _clients.add(client)


def close_namesakes(client: Forkable, replace: bool) -> None:
    """Another open client has ``client``'s name (a notebook cell run twice): close it when
    ``replace``, else warn, since its threads and connection live on."""
    for other in live_clients():
        if other is client or other.name != client.name or not other._needs_closing_at_exit():
            continue
        if replace:
            other.close(timeout=5.0)
        else:
            warnings.warn(
                f"a client named {client.name!r} is already open; close it first, or pass "
                "replace=True to close it now",
                ResourceWarning,
                stacklevel=3,
            )


def live_clients() -> list[Forkable]:
    with _lock:
        return list(_clients)


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - the parent's lock may be held by a thread that is gone here
    _lock = threading.Lock()
    for client in list(_clients):
        client._after_fork_in_child()


def _close_all_at_exit() -> None:
    deadline = time.monotonic() + EXIT_FLUSH_TIMEOUT
    for client in live_clients():
        if not client._needs_closing_at_exit():
            continue
        try:
            client.close(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:  # pragma: no cover - never fail interpreter exit
            _log.debug("closing %s at exit failed", client.name, exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
