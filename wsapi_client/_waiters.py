"""Waiting for inbound messages: :class:`Expectation` (the next match) and :class:`MessageStream`
(every match, buffered). They talk to the dispatcher through the narrow :class:`WaitHost`
interface and never see the client.

Threads: a waiter is fed on a reader thread (``_offer``/``put``) and read on the user's thread;
``client_closed`` runs on the thread that closed the client. Every wait ends: on a match, on its
timeout (:class:`WaitTimeout`), on ``cancel`` (:class:`WaitCancelled`) or when the client closes
or fails (:class:`ClientClosedError`). An expectation is settled once, by whichever of those
gets its ``_claim`` lock first; ``_ready`` is a binary semaphore a waiter blocks on (the cheapest
hand-off), released when the expectation settles (and then left released, for every other
waiter) and also by the reader's early nudge (``Dispatcher.arrived``), after which a waiter that
finds nothing settled yet blocks on it again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable, Optional, Protocol

from wsapi_client._errors import ClientClosedError, WaitCancelled, WaitTimeout
from wsapi_client._listeners import Unlisten
from wsapi_client._signal_waits import get_in_slices, signal_slice

__all__ = ["Expectation", "MessageStream", "WaitHost", "Waiter"]


class Waiter(Protocol):
    def _client_closed(self, error: ClientClosedError) -> None: ...


class WaitHost(Protocol):
    """What a waiter needs from the client's dispatcher."""

    blocked: dict[Any, None]

    def inbound_key(self, route: str) -> str: ...

    def add(self, key: Any, callback: Callable[..., Any]) -> Unlisten: ...

    def add_waiter(self, waiter: Waiter) -> None: ...

    def remove_waiter(self, waiter: Waiter) -> None: ...

    def needle(self, route: str) -> bytes: ...


CheckBlocking = Callable[[str], None]

_WAITING, _MATCHED, _CANCELLED, _CLOSED = "waiting", "matched", "cancelled", "closed"


class Expectation:
    """A registration for the next matching message, made before the send it answers.

    Use as ``with client.expect("SendGreeting") as reply: client.send(...)``, then
    ``reply.result(timeout)``. One-shot: it unregisters itself on the first match, on timeout,
    on :meth:`cancel` and when the client closes.
    """

    def __init__(
        self,
        host: WaitHost,
        route: str,
        where: Optional[Callable[[Any], bool]],
        check_blocking: CheckBlocking,
    ) -> None:
        key = host.inbound_key(route)
        self._host = host
        self.route = key
        self._where = where
        self._check_blocking = check_blocking
        self._state = _WAITING
        self._payload: Any = None
        self._error: Optional[BaseException] = None
        self._needle = host.needle(key)
        self._claim = threading.Lock()
        self._ready = threading.Lock()
        self._ready.acquire()
        self._unlisten = host.add(key, self._offer)
        host.add_waiter(self)

    def __repr__(self) -> str:
        return f"<Expectation {self.route} {self._state}>"

    def _settle(
        self, state: str, payload: Any = None, error: Optional[BaseException] = None
    ) -> bool:
        if not self._claim.acquire(blocking=False):
            return False
        self._payload = payload
        self._error = error
        self._state = state
        self._nudge()
        return True

    def _nudge(self) -> None:
        """Release ``_ready`` unless it is released already (a nudge nobody has taken yet)."""
        try:
            self._ready.release()
        except RuntimeError:  # released already: nothing to do
            return

    def _offer(self, payload: Any) -> None:
        if self._state is not _WAITING:
            self._unlisten()  # settled already (and not yet read): stop listening now
            return
        if self._where is not None and not self._where(payload):
            return
        # Unregister after waking the waiter, not before: the waiter takes a while to be
        # scheduled, and this is done (and the interpreter lock free) by the time it runs.
        self._settle(_MATCHED, payload)
        self._unlisten()
        self._host.remove_waiter(self)

    def _client_closed(self, error: ClientClosedError) -> None:
        if self._settle(_CLOSED, error=error):
            self._unlisten()

    def result(self, timeout: Optional[float] = None) -> Any:
        """The matching message's payload. :class:`WaitTimeout` if none arrives in time,
        :class:`ClientClosedError` if the client closes first, :class:`WaitCancelled` after
        :meth:`cancel`."""
        if self._state is _WAITING:
            self._check_blocking("Expectation.result")
            self._wait(timeout)
        if self._state is _MATCHED:
            return self._payload
        if self._state is _CANCELLED:
            raise WaitCancelled(f"the wait for {self.route} was cancelled")
        assert self._error is not None
        raise self._error

    def _wait(self, timeout: Optional[float]) -> None:
        """Block until settled (woken by the reader), or cancel and raise at the deadline."""
        ready = self._ready
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        blocked = self._host.blocked
        blocked[self] = None
        try:
            while True:
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                pause = signal_slice(remaining)  # on the main thread: look for Ctrl-C now and then
                woken = ready.acquire(True, -1.0 if pause is None else pause)
                if self._state is not _WAITING:
                    self._nudge()  # leave it released for any other waiter
                    return
                if not woken and pause == remaining:
                    break
        finally:
            blocked.pop(self, None)
        if self._settle(_CANCELLED):
            self._unlisten()
            self._host.remove_waiter(self)
            raise WaitTimeout(f"no {self.route} message within {timeout:g} s")

    def done(self) -> bool:
        """True once a message matched, the wait was cancelled or the client closed."""
        return self._state is not _WAITING

    def cancel(self) -> None:
        """Stop waiting; a blocked :meth:`result` raises :class:`WaitCancelled`."""
        self._unlisten()
        self._host.remove_waiter(self)
        self._settle(_CANCELLED)

    def __enter__(self) -> Expectation:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.cancel()


_END = object()


class MessageStream(Iterator[Any]):
    """Messages of one route, buffered from creation; see :meth:`WebSocketClient.messages`.

    Iteration stops when no message arrives within ``timeout`` seconds (None: no limit); when the
    client closes or fails, the buffered messages come first, then :class:`ClientClosedError`.
    """

    def __init__(
        self,
        host: WaitHost,
        route: str,
        timeout: Optional[float],
        check_blocking: CheckBlocking,
    ) -> None:
        key = host.inbound_key(route)
        self._host = host
        self.route = key
        self.timeout = timeout
        self._check_blocking = check_blocking
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._error: Optional[ClientClosedError] = None
        self._unlisten = host.add(key, self._queue.put)
        host.add_waiter(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<MessageStream {self.route} {state}, {self._queue.qsize()} buffered>"

    def _client_closed(self, error: ClientClosedError) -> None:
        self._error = error
        self._unlisten()
        self._queue.put(_END)

    def __iter__(self) -> MessageStream:
        return self

    def __next__(self) -> Any:
        if self._closed:
            raise StopIteration
        self._check_blocking("messages")
        try:  # in slices: on the main thread, Ctrl-C is looked for
            item = get_in_slices(self._queue, self.timeout)
        except queue.Empty:
            self.close()
            raise StopIteration from None
        if item is _END:
            error = self._error
            self.close()
            assert error is not None
            raise error
        return item

    def close(self) -> None:
        """Stop buffering; iteration ends."""
        if not self._closed:
            self._closed = True
            self._unlisten()
            self._host.remove_waiter(self)

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
