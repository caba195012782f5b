"""The futures ``send()`` returns, and the one seam where the SDK touches a ``Future``'s internals.

A plain ``concurrent.futures.Future`` builds a condition variable when it is created and takes
its lock for every state change: more than the rest of a small send costs. :class:`SendFuture`
builds its condition only when someone looks at it (``result``, ``add_done_callback``,
``cancel``, ``concurrent.futures.wait``...); until then the writer moves it from pending to
running to finished by setting its state under one lock per batch of messages
(:func:`claim_all`, :func:`finish_unwatched`). The owner's ``futures_lock`` makes "create the
condition" and "change the state of a future without one" exclusive, so nobody waits on a
condition that will never be notified.

That needs the state names ``Future`` keeps in ``_state``. They are not imported from the private
``concurrent.futures._base``: :func:`_check_seam` confirms at import time, through the public API
only, that a ``Future`` records exactly these names. If a Python release ever changes them, the
fast path is switched off (:data:`FAST`) and every future is completed the ordinary way, slower
but correct. ``tests/unit/test_futures_seam.py`` checks both paths.

Threads: any. The lock each function takes is named in its docstring.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from wsapi_client._signal_waits import signal_slice, wait_in_slices

if TYPE_CHECKING:
    from wsapi_client._outbox import Outgoing

__all__ = [
    "FAST",
    "FutureOwner",
    "SendFuture",
    "claim_all",
    "complete",
    "fail",
    "finish_fresh",
    "finish_unwatched",
    "settled",
]

PENDING, RUNNING, FINISHED = "PENDING", "RUNNING", "FINISHED"
_OPEN = (PENDING, RUNNING)


def _check_seam() -> bool:
    """Whether ``Future`` keeps its state under the names this module writes."""
    try:
        future: Future[None] = Future()
        if future._state != PENDING:
            return False
        future.set_running_or_notify_cancel()
        if future._state != RUNNING:
            return False
        future.set_result(None)
        return bool(future._state == FINISHED)
    except Exception:  # pragma: no cover - a different implementation
        return False


FAST = _check_seam()
"""True when futures can be moved through their states without their condition."""


class FutureOwner(Protocol):
    """What a :class:`SendFuture` needs from the writer that made it."""

    futures_lock: threading.Lock

    def observe(self, future: SendFuture) -> None: ...


class SendFuture(Future[None]):
    """The future :meth:`WebSocketClient.send` returns: a ``concurrent.futures.Future``.

    Looking at a future whose message is still queued while the connection is up (``done``,
    ``result``, ``exception``) first lets the writer write the queue if nobody is writing, so
    the answer is not "pending" just because the client was about to batch that message with
    the next ones. Looking never waits for the socket.
    """

    _result = None
    _exception = None

    def __init__(self, owner: FutureOwner) -> None:
        if not FAST:
            super().__init__()  # its condition goes through the setter below
        else:  # no super().__init__(): no condition yet
            self._state = PENDING
            self._waiters = []
            self._done_callbacks: list[Callable[[Future[None]], object]] = []
        self._owner = owner

    @property
    def _condition(self) -> threading.Condition:
        condition: Optional[threading.Condition] = self.__dict__.get("_cond")
        if condition is None:
            with self._owner.futures_lock:
                condition = self.__dict__.get("_cond")
                if condition is None:
                    condition = threading.Condition()
                    self.__dict__["_cond"] = condition
        return condition

    @_condition.setter
    def _condition(self, condition: threading.Condition) -> None:
        self.__dict__["_cond"] = condition

    def done(self) -> bool:
        if self._state in _OPEN:
            self._owner.observe(self)
        return self._state not in _OPEN

    def result(self, timeout: Optional[float] = None) -> None:
        if self._state in _OPEN:
            self._owner.observe(self)
            timeout = self._wait_in_slices(timeout)
        return super().result(timeout)

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        if self._state in _OPEN:
            self._owner.observe(self)
            timeout = self._wait_in_slices(timeout)
        return super().exception(timeout)

    def _wait_in_slices(self, timeout: Optional[float]) -> Optional[float]:
        """Wait for the outcome in ``signal_slice`` slices (a Ctrl-C is looked for on the main
        thread); the timeout left for ``Future``'s own wait: 0 once settled or timed out."""
        if signal_slice(timeout) == timeout:  # not the main thread, or a short wait: as it is
            return timeout

        def settled_within(seconds: Optional[float]) -> bool:
            with self._condition:
                if self._state in _OPEN:
                    self._condition.wait(seconds)
                return self._state not in _OPEN

        wait_in_slices(settled_within, timeout)
        return 0


def settled(future: Future[None]) -> bool:
    """Finished or cancelled: a read of one attribute, no lock taken and no write triggered."""
    return future._state not in _OPEN


def _observed(future: Future[None]) -> bool:
    """Whether ``future`` has (or is) a condition someone may wait on."""
    return not FAST or type(future) is not SendFuture or "_cond" in future.__dict__


def claim_all(items: Sequence[Outgoing], lock: threading.Lock) -> list[Outgoing]:
    """Mark ``items`` as being written; return those not cancelled, in order.

    ``lock`` is the owner's ``futures_lock``. A message claimed once (and put back after a
    failed write) stays claimed.
    """
    watched = False
    with lock:
        for item in items:
            if item.claimed:
                continue
            future = item.future
            if _observed(future):
                watched = True
                continue
            future._state = RUNNING
            item.claimed = True
    if not watched:
        return list(items)
    return [item for item in items if item.claim()]


def finish_fresh(future: Future[None]) -> None:
    """Complete the future of a message written before its sender got the future back (nobody
    can have looked at it, so no lock and nobody to notify)."""
    if FAST:
        future._state = FINISHED
    elif not future.done():
        future.set_result(None)


def finish_unwatched(items: Iterable[Outgoing], lock: threading.Lock) -> list[Future[None]]:
    """Complete the futures of written ``items`` that nobody has looked at yet (a state change
    under ``lock``, no user code: the writer does it before it lets go of the write token, so
    a sender woken then finds its future done); return the others, for :func:`complete`."""
    watched = []
    with lock:
        for item in items:
            future = item.future
            if _observed(future):
                watched.append(future)
            elif future._state in _OPEN:
                future._state = FINISHED
    return watched


def complete(futures: Iterable[Future[None]]) -> None:
    """Complete looked-at futures of written messages: outside every SDK lock, since their
    callbacks (user code) run here."""
    for future in futures:
        if future._state in _OPEN:
            future.set_result(None)


def fail(items: Iterable[tuple[Outgoing, BaseException]]) -> None:
    """Fail the futures of messages that will never be written, outside every SDK lock."""
    for item, error in items:
        future = item.future
        if settled(future) or not item.claim():
            continue
        future.set_exception(error)
