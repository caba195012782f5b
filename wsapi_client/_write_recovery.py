"""What the writer does when a write goes wrong: the token holder is interrupted, a write fails,
or the connection under a parked write ends. Whole messages that went out are counted and
completed; what did not go out goes back at the head of the queue (or fails, once the client has
stopped); a message caught mid-write fails with :class:`WriteInterruptedError` rather than being
sent twice or dropped silently.

:class:`WriteRecovery` is a part of :class:`~wsapi_client._writer.Writer` kept in a module of its
own (the writer inherits it); it has no state of its own. The writer's one lock, ``_lock``,
guards every field it touches, and the methods named ``*_locked`` expect it held. Runs on the
thread that saw the failure: a sender's, the reader's or the supervisor's.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Callable, Optional

from wsapi_client._connection import Connection
from wsapi_client._errors import ClientClosedError, WriteInterruptedError
from wsapi_client._futures import complete, fail, finish_unwatched
from wsapi_client._outbox import Outbox, Outgoing

__all__ = ["Failed", "Pending", "WriteRecovery"]

Failed = list[tuple[Outgoing, BaseException]]


class Pending:
    """Bytes being written to one connection while the token is held: a batch of messages (whose
    futures complete once all of it is out) or control frames (``items`` empty)."""

    __slots__ = ("conn", "counted", "data", "fresh", "items", "sent")

    def __init__(
        self, conn: Connection, data: bytes, items: list[Outgoing], fresh: bool = False
    ) -> None:
        self.conn = conn
        self.data = data
        self.items = items
        self.sent = 0
        self.fresh = fresh  # one message whose future nobody has seen yet
        self.counted = False  # its outcome is recorded (written and counted, or requeued)

    def split(self) -> tuple[list[Outgoing], list[Outgoing]]:
        """The messages that went out whole, and the rest."""
        offset = 0
        written: list[Outgoing] = []
        back: list[Outgoing] = []
        for item in self.items:
            offset += len(item.data)
            (written if offset <= self.sent else back).append(item)
        return written, back


class WriteRecovery:
    """The failure paths of the writer (see the module docstring)."""

    # The writer's fields these methods use (set in Writer.__init__, guarded by _lock).
    name: str
    futures_lock: threading.Lock
    messages_out: int
    bytes_out: int
    _log: logging.Logger
    _lock: threading.Lock
    _outbox: Outbox
    _active: Optional[Connection]
    _writing: Optional[Pending]
    _holder: int
    _tail: Optional[Pending]
    _controls: list[tuple[Connection, bytes]]
    _closed: Optional[ClientClosedError]
    _stopped: bool
    _wake_supervisor: Callable[[], None]

    if TYPE_CHECKING:  # the writer's own steps, which recovery goes on with

        def _release_locked(self) -> None: ...
        def _next_locked(self) -> Optional[Pending]: ...
        def _drive(self, pending: Pending) -> None: ...

    def _abandon(self) -> None:
        """The token holder was interrupted. Whether its last write reached the socket cannot be
        known (the interrupt may have landed just after the system call returned), so what it
        was writing is neither re-sent (a duplicate) nor dropped silently: those messages fail
        with :class:`WriteInterruptedError` and the connection, perhaps cut mid-frame, is
        replaced. Everything still queued stays queued."""
        uncertain: Failed = []
        watched: list[Future[None]] = []
        with self._lock:
            current = self._writing
            if current is None or self._holder != threading.get_ident():
                return  # not this thread's (given back already, or parked)
            if not current.counted:
                if current.sent >= len(current.data):
                    written, _back = self._split_locked(current)
                    watched = finish_unwatched(written, self.futures_lock)
                else:
                    error = WriteInterruptedError(
                        "interrupted while being written; it may or may not have been sent"
                    )
                    uncertain = [(item, error) for item in current.items]
                    self._break_locked(current.conn, "a write was interrupted")
            self._release_locked()
        complete(watched)
        fail(uncertain)
        self._wake_supervisor()

    def _after_failure_locked(
        self, pending: Pending, error: OSError, dropped: Failed
    ) -> list[Future[None]]:
        """A write failed: count what went out whole, put the rest back at the head of the
        queue, take the connection out of service (the supervisor reconnects). Returns the
        written futures to complete; adds to ``dropped`` what cannot go back (stopped)."""
        conn = pending.conn
        self._log.info(
            "%s: write failed on connection #%d (%s); the unwritten message(s) go back in the "
            "queue",
            self.name,
            conn.number,
            error,
        )
        written, back = self._split_locked(pending)
        self._break_locked(conn, f"write failed: {error}")
        self._give_back_locked(back, dropped)
        return finish_unwatched(written, self.futures_lock)

    def _split_locked(self, pending: Pending) -> tuple[list[Outgoing], list[Outgoing]]:
        """:meth:`Pending.split`, counting what went out (the lock is held)."""
        written, back = pending.split()
        self.messages_out += len(written)
        self.bytes_out += sum(len(item.data) for item in written)
        return written, back

    def _break_locked(self, conn: Connection, reason: str) -> None:
        """``conn`` cannot be written any more: out of service; the supervisor replaces it."""
        if self._active is conn:
            self._active = None
        if conn.close_code is None:
            conn.close_code, conn.close_reason = 1006, reason
        conn.failed = True
        conn.abort()

    def _give_back_locked(self, items: list[Outgoing], dropped: Failed) -> None:
        """Put unwritten ``items`` back at the head of the queue, or, once stopped (nobody will
        flush it again), into ``dropped`` to fail."""
        if self._stopped:
            closed = self._closed or ClientClosedError("the client is closed")
            dropped.extend((item, closed) for item in items)
        else:
            self._outbox.requeue(items)

    def connection_lost(self, conn: Connection) -> None:
        """``conn`` ended: a write parked on it goes back to the queue (whole messages, at the
        head); its control frames are dropped."""
        pending: Optional[Pending] = None
        dropped: Failed = []
        with self._lock:
            if self._active is conn:
                self._active = None
            self._controls = [(c, f) for c, f in self._controls if c is not conn]
            tail = self._tail
            if tail is None or tail.conn is not conn:
                return
            self._tail = None
            written, back = self._split_locked(tail)
            watched = finish_unwatched(written, self.futures_lock)
            self._give_back_locked(back, dropped)
            pending = self._next_locked()
            if pending is None:
                self._release_locked()
        complete(watched)
        if dropped:
            fail(dropped)
        if pending is not None:
            self._drive(pending)
