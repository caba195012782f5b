"""The outbound side of a client: the bounded queue, the write token, combining and burst
holding, control frames (ping, pong, close) through one path, and the outbound counters.

One lock, ``_lock``, guards every field here: the active connection, the queue, the token
(``_writing``), the parked remainder of a write (``_tail``), the control frames waiting for the
token, the counters and ``_closed``. Two conditions on it wait for two different things:
``_room`` (room in the queue, for ``overflow="block"``) and ``_drained`` (nothing queued and
nothing being written, for ``flush``); nobody ever waits for the token itself (control frames
are queued for its holder instead). Futures are completed
outside it (their callbacks are user code), a batch at a time (:mod:`wsapi_client._futures`).
Lock order: ``_lock``, then the futures lock; nothing here takes another SDK lock.

The token. The one thread allowed to write sets ``_writing``, writes outside the lock, then takes
the lock again and writes whatever was queued meanwhile before it lets go, so nothing queued
while it wrote is left behind and the queue stays FIFO. Writes never wait for the socket
(:meth:`Connection.write_some`): when the socket takes only part of a batch, the rest is parked
in ``_tail`` with the token still held, and the supervisor finishes it when the socket has room
(:meth:`resume`). So a send:

- with a connection up, nothing queued and nobody writing, is written at once on the caller's
  thread (no hand-off);
- while another thread writes (or a write is parked), is queued for that writer, which writes it
  with the rest of the queue, several frames per socket call (combining);
- during a burst (the previous send very shortly before) is held without a write, within the
  limits of :class:`~wsapi_client._bursts.BurstGate`; the send that passes a limit writes them
  all at once. What a burst leaves is written by the next send, by the
  reader before it waits for data, by anyone looking at one of its futures, or by the
  supervisor, asked through ``hold_helper`` (it runs as soon as the sending thread lets go of the
  GIL). Isolated sends are never held back;
- without a connection, joins the queue under its :class:`QueuePolicy`; the supervisor flushes it
  after the next connect.

What happens when a write goes wrong (an interrupt, a failed write, a lost connection under a
parked write) lives in :mod:`wsapi_client._write_recovery`, which this class inherits.

Threads: ``submit``/``observe``/``flush`` run on callers' threads, ``send_control`` on the reader
(pong, close reply) and the supervisor (ping, close), ``resume``/``activate``/``expire`` on the
supervisor, ``connection_lost`` on the thread that saw the connection end.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import Callable, Optional

from wsapi_client._bursts import BurstGate
from wsapi_client._connection import Connection
from wsapi_client._errors import (
    ClientClosedError,
    MessageExpiredError,
    QueueFullError,
    WaitTimeout,
)
from wsapi_client._futures import (
    SendFuture,
    claim_all,
    complete,
    fail,
    finish_fresh,
    finish_unwatched,
    settled,
)
from wsapi_client._outbox import Outbox, Outgoing
from wsapi_client._policies import QueuePolicy
from wsapi_client._signal_waits import signal_slice
from wsapi_client._write_recovery import Failed, Pending, WriteRecovery

__all__ = ["Writer"]

_WRITE_BATCH_BYTES = 256 * 1024
_CATCH_UP_MESSAGES = 1024  # queued behind a thread that is writing: a sender lets it catch up


class Writer(WriteRecovery):
    """The outbound side of one client; see the module docstring."""

    def __init__(
        self,
        policy: QueuePolicy,
        *,
        name: str,
        clock: Callable[[], float],
        perf: Callable[[], float],
        logger: logging.Logger,
        wake_supervisor: Callable[[], None],
        hold_helper: Callable[[], bool],
        helper_ready: Callable[[], bool],
        on_sdk_thread: Callable[[], bool],
    ) -> None:
        self.policy = policy
        self.name = name
        self._clock = clock
        self._perf = perf
        self._log = logger
        # Tell the supervisor: a write is parked on a full socket, a write failed, or a message
        # with a ttl joined an empty queue (its expiry is the next thing to wait for).
        self._wake_supervisor = wake_supervisor
        self._hold_helper = hold_helper  # ask the supervisor to write a burst's leftovers
        self._helper_ready = helper_ready  # whether the supervisor is idle (a cheap read)
        self._on_sdk_thread = on_sdk_thread
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._room_waiters = 0  # threads in _room.wait(): notify only when there are some
        self.futures_lock = threading.Lock()
        self._outbox = Outbox(policy)
        self._active: Optional[Connection] = None
        self._writing: Optional[Pending] = None  # the token: what its holder is writing
        self._holder = 0  # the thread holding the token (0: a parked write holds it)
        self._tail: Optional[Pending] = None
        self._controls: list[tuple[Connection, bytes]] = []
        self._closed: Optional[ClientClosedError] = None  # set when sends stop being accepted
        self._stopped = False  # fail_all() ran: nothing may be queued any more
        self._dropped = False  # fail_all() failed messages (a flush waiting for them fails too)
        self._burst = BurstGate()
        self.messages_out = 0
        self.bytes_out = 0

    # -- state ---------------------------------------------------------------------------

    @property
    def active(self) -> Optional[Connection]:
        return self._active

    def queue_size(self) -> tuple[int, int]:
        with self._lock:
            return len(self._outbox), self._outbox.bytes

    def tail_connection(self) -> Optional[Connection]:
        """The connection a parked write waits on, or None."""
        tail = self._tail
        return tail.conn if tail is not None else None

    def next_expiry(self) -> Optional[float]:
        with self._lock:
            return self._outbox.next_expiry()

    def stop_accepting(self, error: ClientClosedError) -> None:
        """From now on ``submit`` raises ``error``; senders waiting for room are woken."""
        with self._lock:
            if self._closed is None:
                self._closed = error
            self._room.notify_all()
            self._drained.notify_all()

    # -- sending -------------------------------------------------------------------------

    def submit(self, items: list[Outgoing], *, atomic: bool = False, alone: bool = False) -> None:
        """Write ``items`` now, leave them to the thread writing, hold them back in a burst, or
        queue them for the next connection (see the module docstring). ``alone``: one message
        from ``send``, whose future nobody has seen yet. Never waits for the socket; waits for
        room only with ``overflow="block"``."""
        failed: Failed = []
        now = self._perf()
        pending: Optional[Pending] = None
        ask_helper = False
        wake_for_ttl = False
        with self._lock:
            if self._closed is not None:
                raise self._closed
            conn = self._active
            outbox = self._outbox
            if conn is None or self._writing:
                if self._holder and len(outbox) >= _CATCH_UP_MESSAGES:
                    self._wait_for_writer_locked()
                if atomic and self.policy.overflow == "raise":
                    try:
                        outbox.check_room_for(items)
                    except QueueFullError as exc:
                        raise self._explain_full_locked(exc) from None
                was_empty = not outbox
                for item in items:
                    self._enqueue_locked(item, failed)
                wake_for_ttl = was_empty and self.policy.ttl is not None and conn is None
                conn = self._active  # a "block" wait may have spanned a reconnect
                if conn is not None and not self._writing and outbox:
                    pending = self._take_locked(conn)
            else:
                size = len(items[0].data) if alone else sum(len(i.data) for i in items)
                if (
                    alone
                    and self._burst.may_hold(now, len(outbox), outbox.bytes, size)
                    and self._helper_ready()
                    and outbox.room_for(1, size)
                ):
                    if not outbox:
                        self._burst.started(now)
                        ask_helper = True  # the first held message wakes the supervisor
                    outbox.append(items)
                elif alone and not outbox:
                    pending = self._hold_locked(Pending(conn, items[0].data, items, fresh=True))
                else:
                    outbox.append(items)
                    pending = self._take_locked(conn)
            self._burst.sent(now)
        if failed:
            fail(failed)
        if wake_for_ttl:
            self._wake_supervisor()
        if ask_helper and not self._hold_helper():
            self.write_pending()  # the supervisor is busy: no holding back
        if pending is not None:
            self._drive(pending)

    def _wait_for_writer_locked(self) -> None:
        """Many messages are queued for a thread that is writing right now: let it catch up
        before adding more, or a sender that holds the interpreter lock outruns it and fills
        the queue on a healthy connection. This waits for CPU, never for the socket: it ends
        as soon as the writer takes a batch, gives the token back or parks on a full socket,
        and on close, raising the closed error (what it would queue could never be written)."""
        if self._on_sdk_thread():
            return
        self._room_waiters += 1
        try:
            me = threading.get_ident()
            while (
                self._holder not in (0, me)  # a thread of its own is writing (not parked)
                and len(self._outbox) >= _CATCH_UP_MESSAGES
                and self._closed is None
            ):
                self._room.wait(0.05)
        finally:
            self._room_waiters -= 1
        if self._closed is not None:
            raise self._closed

    def _enqueue_locked(self, item: Outgoing, failed: Failed) -> None:
        outbox = self._outbox
        size = len(item.data)
        outbox.check_fits_at_all(size)
        if not outbox.has_room(size) and self.policy.overflow == "block":
            if self._on_sdk_thread():
                raise QueueFullError(
                    "outbound queue full; a listener cannot block waiting for room "
                    "(it would stop the reader)"
                )
            while not outbox.has_room(size):
                if self._closed is not None:
                    raise self._closed
                self._room_waiters += 1
                try:
                    self._room.wait(signal_slice(None))
                finally:
                    self._room_waiters -= 1
            if self._closed is not None:
                raise self._closed
        try:
            evicted_items = outbox.push(item)
        except QueueFullError as exc:
            raise self._explain_full_locked(exc) from None
        for evicted in evicted_items:
            failed.append(
                (evicted, QueueFullError("dropped from a full outbound queue (drop_oldest)"))
            )

    def _explain_full_locked(self, error: QueueFullError) -> QueueFullError:
        """A full queue while a connection is up means the server reads more slowly than
        messages are sent (``send`` never waits for the socket): say so, and what to do."""
        if self._active is None:
            return error  # an outage: the queue is doing its job
        return QueueFullError(
            f"{error}; the connection is up but the server reads more slowly than messages "
            'are sent: QueuePolicy(overflow="block") makes send wait for room instead'
        )

    def _take_locked(self, conn: Connection) -> Pending:
        """Take the token and the head of the queue for ``conn`` (the lock is held)."""
        batch = self._outbox.take(_WRITE_BATCH_BYTES)
        if self._room_waiters:  # a batch left the queue: there is room again
            self._room.notify_all()
        return self._hold_locked(Pending(conn, b"", batch))

    def _hold_locked(self, pending: Pending) -> Pending:
        """This thread holds the token, to write ``pending`` (the lock is held)."""
        self._writing = pending
        self._holder = threading.get_ident()
        return pending

    def write_pending(self) -> None:
        """Write what is queued now, on this thread, if a connection is up and nobody is
        writing (whoever is writing drains the queue before letting go)."""
        if not self._outbox or self._writing:
            return
        with self._lock:
            conn = self._active
            if conn is None or self._writing or not self._outbox:
                return
            pending = self._take_locked(conn)
        self._drive(pending)

    def observe(self, future: SendFuture) -> None:
        """Someone looks at ``future``: if its message waits in the queue while a connection is
        up and nobody writes, write the queue now. Never waits."""
        if not settled(future):
            self.write_pending()

    # -- the token holder ------------------------------------------------------------------

    def _drive(self, pending: Pending) -> None:
        """Holding the token: write ``pending``, then the control frames and whatever was queued
        meanwhile; give the token back, or park the rest when the socket is full.

        An exception from outside (``KeyboardInterrupt`` on a sender's thread) puts what was
        not written back in the queue and gives the token back before it propagates."""
        try:
            self._drive_from(pending)
        except BaseException:
            self._abandon()
            raise

    def _drive_from(self, pending: Pending) -> None:
        lock = self.futures_lock
        watched: list[Future[None]] = []
        dropped: Failed = []
        broken = False
        current: Optional[Pending] = pending
        while current is not None:
            if current.items and not current.data:  # a batch from the queue, not claimed yet
                live = claim_all(current.items, lock)
                current.items = live
                current.data = live[0].data if len(live) == 1 else b"".join([i.data for i in live])
            error: Optional[OSError] = None
            data = current.data
            conn = current.conn
            try:
                while current.sent < len(data):
                    written = conn.write_some(memoryview(data)[current.sent :])
                    if not written:
                        break
                    current.sent += written
            except OSError as exc:
                error = exc
            if error is None and current.sent < len(data):
                if current.fresh:  # its future is about to be handed out: claim it first
                    claim_all(current.items, lock)
                    current.fresh = False
                with self._lock:
                    self._tail = current  # the token stays held; resume() goes on
                    self._holder = 0
                    if self._room_waiters:  # senders letting the writer catch up: it parked
                        self._room.notify_all()
                self._wake_supervisor()
                break
            if error is None:
                if current.fresh:
                    finish_fresh(current.items[0].future)
                elif current.items:
                    watched += finish_unwatched(current.items, lock)
            with self._lock:
                if error is None:
                    self.messages_out += len(current.items)
                    self.bytes_out += len(data) if current.items else 0
                else:
                    watched += self._after_failure_locked(current, error, dropped)
                    broken = True
                current.counted = True
                current = self._next_locked()
                if current is None:
                    self._release_locked()
        if broken:
            self._wake_supervisor()  # it replaces the connection, even if its reader is busy
        if watched:
            complete(watched)
        if dropped:
            fail(dropped)

    def _next_locked(self) -> Optional[Pending]:
        """What the token holder writes next: control frames first (between messages, never
        inside one), then the head of the queue if a connection is up."""
        while self._controls:
            target = self._controls[0][0]
            frames = [frame for c, frame in self._controls if c is target]
            self._controls = [(c, f) for c, f in self._controls if c is not target]
            if not target.stopping:
                return self._hold_locked(Pending(target, b"".join(frames), []))
        conn = self._active
        if conn is not None and self._outbox:
            return self._take_locked(conn)
        return None

    def _release_locked(self) -> None:
        self._writing = None
        self._holder = 0
        if self._room_waiters:
            self._room.notify_all()
        if not self._outbox:
            self._drained.notify_all()

    def resume(self) -> None:
        """The socket under a parked write has room (supervisor): go on writing."""
        with self._lock:
            pending, self._tail = self._tail, None
            if pending is not None:
                self._hold_locked(pending)
        if pending is not None:
            self._drive(pending)

    # -- connections -----------------------------------------------------------------------

    def activate(self, conn: Connection) -> int:
        """Make ``conn`` the connection sends go to and start flushing the queue on it;
        returns how many messages were queued."""
        with self._lock:
            self._active = conn
            queued = len(self._outbox)
            pending = None if self._writing or not queued else self._take_locked(conn)
        if pending is not None:
            self._drive(pending)
        return queued

    def deactivate(self, conn: Connection) -> None:
        """Send nothing more to ``conn`` (it is closing or lost); later sends queue."""
        with self._lock:
            if self._active is conn:
                self._active = None

    def send_control(self, conn: Connection, frame: bytes, *, close: bool = False) -> None:
        """Write a control frame to ``conn`` between messages; nothing after a close frame.

        Written at once when nobody holds the token, else by the token holder at the next
        message boundary. Never waits."""
        with self._lock:
            if conn.close_sent or conn.stopping:
                return
            if close:
                conn.close_sent = True
                if self._active is conn:
                    self._active = None
            if self._writing:
                self._controls.append((conn, frame))
                return
            pending = self._hold_locked(Pending(conn, frame, []))
        self._drive(pending)

    # -- waiting, expiry, the end ------------------------------------------------------------

    def flush(
        self,
        timeout: Optional[float],
        closed: Callable[[], Optional[ClientClosedError]],
    ) -> None:
        """Block until nothing is queued or being written; :class:`WaitTimeout` at the deadline,
        ``closed()``'s error as soon as the client is closed or failed."""
        deadline = None if timeout is None else self._clock() + timeout
        self.write_pending()
        with self._drained:
            while self._outbox or self._writing:
                error = closed()
                if error is not None:
                    raise error
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    raise WaitTimeout(
                        f"{len(self._outbox)} message(s) still queued after {timeout:g} s"
                    )
                self._drained.wait(0.5 if remaining is None else min(remaining, 0.5))
            if self._stopped and self._dropped and self._closed is not None:
                raise self._closed  # what it waited for was failed, not written

    def expire(self, now: float) -> int:
        """Fail the messages queued longer than the policy's ttl; returns how many."""
        ttl = self.policy.ttl
        if ttl is None:
            return 0
        with self._lock:
            expired = self._outbox.expire(now)
            if expired:
                self._room.notify_all()
                if not self._outbox and not self._writing:
                    self._drained.notify_all()
        if expired:
            self._log.warning("%s: %d queued message(s) expired", self.name, len(expired))
            fail(
                (item, MessageExpiredError(f"{item.route}: still queued after ttl {ttl:g} s"))
                for item in expired
            )
        return len(expired)

    def fail_all(self, error: ClientClosedError) -> int:
        """The client has stopped: refuse sends, fail everything queued or parked with
        ``error``; returns how many messages failed."""
        with self._lock:
            if self._closed is None:
                self._closed = error
            self._stopped = True
            self._active = None
            leftovers = self._outbox.clear()
            self._dropped = bool(leftovers) or self._tail is not None
            tail, self._tail = self._tail, None
            if tail is not None:
                written, back = self._split_locked(tail)
                finish_unwatched(written, self.futures_lock)
                leftovers = back + leftovers
                self._release_locked()
            self._controls = []
            self._room.notify_all()
            self._drained.notify_all()
        if leftovers:
            self._log.warning(
                "%s: %d queued message(s) not sent: %s", self.name, len(leftovers), error
            )
            fail((item, error) for item in leftovers)
        return len(leftovers)
