"""The supervisor thread: connect, sign, back off, keep alive, rotate, expire queued messages,
finish parked writes, and wind everything down, as one loop over the lifecycle.

Threads. :meth:`Supervisor.run` is the body of the client's supervisor thread; it starts one
reader thread per connection (:mod:`wsapi_client._reader`; two briefly during a rotation, while
the old connection is read to its end). It shares :class:`~wsapi_client._control.Control` with
the facade and sleeps on its condition, which guards everything the two share. ``idle`` and
``flush_requested`` (a burst waiting to be written) are read and written under it too.

Every wait here ends when the client stops: backoff and idle waits on the condition; a
handshake in progress is interrupted (:meth:`Opener.interrupt` shuts its socket down); a write
parked on a full socket is waited on in short slices that look at ``wind_down``; connections
that are replaced are read to their end, but aborted at a deadline.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Optional, Union

import attrs

from wsapi_client import _framing
from wsapi_client._auth import AuthProvider
from wsapi_client._backoff import GiveUp, ReconnectSchedule, Retry
from wsapi_client._connection import Connection, HandshakeFailure, Opener
from wsapi_client._control import Control
from wsapi_client._dispatcher import RECONNECT
from wsapi_client._errors import AuthError, ConnectError
from wsapi_client._events import ErrorKind
from wsapi_client._policies import Keepalive, ReconnectPolicy
from wsapi_client._reader import read_loop

__all__ = ["CLOSE_HANDSHAKE_TIMEOUT", "Settings", "Supervisor"]

CLOSE_HANDSHAKE_TIMEOUT = 2.0  # how long a closing or replaced connection is read to its end
_DRAIN_SLICE = 0.05  # a parked write looks at the lifecycle this often while it waits
_BUSY_RECHECK = 1.0  # a keepalive verdict deferred while the reader is in a listener


@attrs.frozen(kw_only=True)
class Settings:
    """What the supervisor needs to know about the client's configuration."""

    name: str
    url: str
    display_url: str
    auth: AuthProvider
    reconnect: ReconnectPolicy
    keepalive: Optional[Keepalive]
    max_connection_age: Optional[float]
    connect_timeout: float
    max_inbound_message_size: Optional[int]
    sslopt: Optional[dict[str, Any]] = None


class _Stop(Exception):
    """Internal: the client is winding down; unwinds the supervisor's loop."""


class Supervisor:
    """The body of the supervisor thread (and of the reader threads it starts)."""

    def __init__(
        self,
        settings: Settings,
        control: Control,
        *,
        clock: Callable[[], float],
        random: Optional[Callable[[], float]],
    ) -> None:
        self.s = settings
        self.c = control
        self.clock = clock
        self.random = random
        self.writer = control.writer
        self.dispatcher = control.dispatcher
        self.log = control.log
        self._numbers = itertools.count(1)
        # Replaced connections being read to their end: (abort deadline, replaced by a rotation).
        self._retiring: dict[Connection, tuple[float, bool]] = {}
        self.idle = False  # waiting in _watch with nothing to do (may write a burst's leftovers)
        self.flush_requested = False

    def hold_helper(self) -> bool:
        """A burst is holding messages back: write them when this thread next runs. False when
        the supervisor is busy (then the sender writes them itself)."""
        with self.c.cond:
            if not self.idle:
                return False
            self.flush_requested = True
            self.c.cond.notify_all()
            return True

    # -- the loop --------------------------------------------------------------------------

    def run(self, first_deadline: Optional[float]) -> None:
        c = self.c
        c.sdk_threads.add(threading.get_ident())
        schedule = ReconnectSchedule(self.s.reconnect, self.random)
        decision: Union[Retry, GiveUp] = schedule.first()
        last_failure: Optional[HandshakeFailure] = None
        first = True
        try:
            while True:
                assert isinstance(decision, Retry)
                if decision.delay > 0:
                    self.log.info(
                        "%s: reconnect attempt %d in %.3f s",
                        self.s.name,
                        decision.attempt + 1,
                        decision.delay,
                    )
                deadline = self.clock() + decision.delay
                if first and first_deadline is not None:
                    deadline = min(deadline, first_deadline)
                self._idle_until(deadline)
                if first and first_deadline is not None and self.clock() >= first_deadline:
                    self._give_up_first(self._connect_error("timed out", last_failure))
                    return
                conn, failure = self._attempt(first_deadline if first else None)
                if conn is None:
                    assert failure is not None
                    last_failure = failure
                    decision = schedule.failed(
                        failure.status, failure.message, fatal=True if failure.fatal else None
                    )
                    if isinstance(decision, GiveUp):
                        self._give_up(decision.reason, failure)
                        return
                    continue
                schedule.connected(self.clock())
                self._go_live(conn, reconnected=not first)
                first = False
                reason = self._watch(conn)
                decision = schedule.disconnected(self.clock(), reason)
                if isinstance(decision, GiveUp):
                    self._give_up(decision.reason, None)
                    return
        except _Stop:
            pass
        except BaseException as exc:  # pragma: no cover - a bug; never leave the client wedged
            self.log.exception("%s: supervisor crashed", self.s.name)
            self.dispatcher.emit_error(
                "supervisor crashed: " + repr(exc), "connection", exception=exc
            )
            with c.cond:
                lifecycle = c.lifecycle
                if not lifecycle.stopping:
                    lifecycle.stop("disconnect")
                lifecycle.closed_reason = f"internal error: {exc!r}"
        finally:
            try:
                self._shutdown()
            finally:
                c.move(lambda lc: lc.finished())
                c.sdk_threads.discard(threading.get_ident())

    def _check_stop(self) -> None:
        """Raise :class:`_Stop` when the client must wind down (``cond`` is held)."""
        if self.c.wind_down or self.c.lifecycle.phase.final:
            raise _Stop

    def _idle_until(self, deadline: float) -> None:
        """Wait (for a backoff delay) until ``deadline``, expiring queued messages meanwhile."""
        while True:
            now = self.clock()
            self.writer.expire(now)
            wake = deadline
            expiry = self.writer.next_expiry()
            if expiry is not None:
                wake = min(wake, expiry)
            with self.c.cond:
                self._check_stop()
                if now >= deadline:
                    return
                self.c.cond.wait(max(0.0, wake - now))

    def _attempt(
        self, first_deadline: Optional[float]
    ) -> tuple[Optional[Connection], Optional[HandshakeFailure]]:
        s = self.s
        try:
            prepared = s.auth.prepare(s.url)
        except Exception as exc:  # the hook's failure is an attempt's failure, not a crash
            if isinstance(exc, AuthError):
                message = f"could not sign the handshake: {exc}"
            else:
                message = f"the auth hook raised {type(exc).__name__}: {exc}"
            self.log.info("%s: %s", s.name, message)
            self.dispatcher.emit_error(message, "auth", exception=exc)
            status = exc.status if isinstance(exc, AuthError) else None
            return None, HandshakeFailure(message, status=status, cause=exc, fatal=True)
        timeout = s.connect_timeout
        if first_deadline is not None:
            timeout = max(0.05, min(timeout, first_deadline - self.clock()))
        number = next(self._numbers)
        keepalive = s.keepalive
        opener = Opener(
            prepared.url,
            prepared.headers,
            timeout=timeout,
            user_timeout=keepalive.timeout if keepalive is not None else None,
            number=number,
            sslopt=s.sslopt,
            clock=self.clock,
            max_message_size=s.max_inbound_message_size,
        )
        with self.c.cond:
            self._check_stop()
            self.c.opener = opener
        self.log.debug("%s: connecting to %s (#%d)", s.name, prepared.display_url, number)
        try:
            conn = opener.open()
        except HandshakeFailure as failure:
            with self.c.cond:
                self.c.opener = None
                self._check_stop()
            kind: ErrorKind = "auth" if failure.status in (401, 403) else "connection"
            text = f"connecting to {prepared.display_url} failed: {failure.message}"
            self.log.info("%s: %s", s.name, text)
            self.dispatcher.emit_error(text, kind, exception=failure.cause or failure)
            failure.message = text
            return None, failure
        with self.c.cond:
            self.c.opener = None
            if self.c.wind_down or self.c.lifecycle.phase.final:
                conn.release()
                raise _Stop
        self.log.info("%s: connected to %s (#%d)", s.name, prepared.display_url, number)
        return conn, None

    def _go_live(self, conn: Connection, *, reconnected: bool, rotated: bool = False) -> None:
        """Make ``conn`` the active connection: flush, resubscribe, CONNECTED, then its reader.

        CONNECTED is announced after the flushed queue and the ``with_reconnect`` callbacks'
        sends (the PDK order), so whatever is sent once the client says it is connected goes
        out after them; the reader starts last, so a listener that gets the new connection's
        first message already sees the client CONNECTED and the reconnect counted (what the
        server sends meanwhile waits in the socket)."""
        c = self.c
        conn.idle = self.writer.write_pending
        conn.arrived = self.dispatcher.arrived
        if reconnected:
            c.reconnects += 1
        queued = self.writer.activate(conn)
        if queued:
            self.log.info("%s: flushing %d queued message(s)", self.s.name, queued)
        # Callbacks registered before this point run now; later ones run at registration.
        with c.cond:
            callbacks = self.dispatcher.registry.snapshot(RECONNECT)
            c.resubscribed = True
        for entry in callbacks:
            self.dispatcher.call_safely(entry.callback, (), "with_reconnect callback")
        c.move(lambda lc: lc.rotated() if rotated else lc.connected())
        self._start_reader(conn)

    def _start_reader(self, conn: Connection) -> None:
        thread = threading.Thread(
            target=read_loop,
            args=(conn, self.c, self.log),
            name=f"wsapi-{self.s.name}-reader-{conn.number}",
            daemon=True,
        )
        with self.c.cond:
            self.c.readers[conn.number] = (thread, conn)
        thread.start()

    # -- watching a live connection ----------------------------------------------------------

    def _watch(self, conn: Connection) -> str:
        """Keep ``conn`` healthy until it ends: keepalive, rotation, expiry, parked writes,
        replaced connections. Returns the reason it was lost."""
        keepalive = self.s.keepalive
        writer = self.writer
        while True:
            if self.flush_requested:  # a burst held messages back: write what is left
                self.flush_requested = False
                writer.write_pending()
            now = self.clock()
            writer.expire(now)
            wake = now + 3600.0
            with self.c.cond:
                self._check_stop()
                if conn.ended or conn.retiring or conn.failed:
                    break
            tail = writer.tail_connection()
            if tail is not None:  # a write is parked on a full socket: finish it when it can
                tail.wait_writable(_DRAIN_SLICE)
                writer.resume()
                now = self.clock()
            wake = min(wake, self._tend_retiring(now))
            if keepalive is not None:
                due = self._keepalive(conn, keepalive, now)
                if due is None:
                    continue
                wake = min(wake, due)
            age = self.s.max_connection_age
            if age is not None:
                due = conn.opened_at + age
                if now >= due:
                    replacement = self._rotate(conn)
                    if replacement is not None:
                        conn = replacement
                    continue
                wake = min(wake, due)
            expiry = writer.next_expiry()
            if expiry is not None:
                wake = min(wake, expiry)
            with self.c.cond:
                if self.c.wind_down or conn.ended or conn.retiring or conn.failed:
                    continue
                if self.flush_requested:
                    continue
                if writer.tail_connection() is not None:
                    continue
                self.idle = True
                try:
                    self.c.cond.wait(max(0.0, wake - self.clock()))
                finally:
                    self.idle = False
        return self._lost(conn)

    def _keepalive(self, conn: Connection, keepalive: Keepalive, now: float) -> Optional[float]:
        """Ping when the connection has been quiet; replace it when a ping goes unanswered.
        Returns when to look again (None: look again now)."""
        if conn.last_ping is not None and conn.last_received < conn.last_ping:
            if now - conn.last_ping < keepalive.timeout:
                return conn.last_ping + keepalive.timeout
            if conn.busy:
                # The reader is in a listener: the answer may be waiting unread. Not dead.
                return now + min(_BUSY_RECHECK, keepalive.timeout)
            self.log.warning(
                "%s: no answer to a ping within %g s; replacing the connection",
                self.s.name,
                keepalive.timeout,
            )
            self.dispatcher.emit_error(
                f"connection #{conn.number} is unresponsive (no pong within "
                f"{keepalive.timeout:g} s)",
                "connection",
            )
            conn.close_code, conn.close_reason = 1006, "keepalive timeout"
            self._retire(conn, 1001, "keepalive timeout")  # the supervisor reconnects now
            return None
        due = max(conn.last_received, conn.last_ping or conn.opened_at) + keepalive.interval
        if now >= due:
            conn.last_ping = now
            self.writer.send_control(conn, _framing.build_control(_framing.OPCODE_PING))
            return None
        return due

    def _retire(self, conn: Connection, code: int, reason: str, *, rotated: bool = False) -> None:
        """Stop sending to ``conn`` and close it, reading it to its end (nothing already
        received is lost), or aborting it at the close-handshake deadline."""
        conn.retiring = True
        self.writer.deactivate(conn)
        self.writer.send_control(conn, _framing.build_close(code, reason), close=True)
        self._retiring[conn] = (self.clock() + CLOSE_HANDSHAKE_TIMEOUT, rotated)

    def _tend_retiring(self, now: float) -> float:
        """Abort replaced connections past their deadline; returns the next deadline."""
        wake = now + 3600.0
        for conn, (deadline, rotated) in list(self._retiring.items()):
            if conn.stopping:  # ended (released or aborted) by now
                self._retiring.pop(conn, None)
                if rotated and (conn.failed or conn.close_code in (None, 1006)):
                    self._report_replaced_loss(conn, f"{conn.close_code or 1006}")
            elif now >= deadline:
                conn.abort()
                self._retiring.pop(conn, None)
                if rotated:
                    self._report_replaced_loss(conn, "no answer to its close frame")
            else:
                wake = min(wake, deadline)
        return wake

    def _report_replaced_loss(self, conn: Connection, how: str) -> None:
        """A connection replaced by a rotation ended without its closing handshake. The client
        did not reconnect (the new connection had taken over), so no other event tells that
        what was written to it in its last moments may not have reached the server. (A
        connection replaced after a failure was reported when the failure was found.)"""
        reason = f" {conn.close_reason}" if conn.close_reason else ""
        text = (
            f"connection #{conn.number} ended without a closing handshake while being replaced "
            f"({how}{reason}); messages written to it just before may not have reached the server"
        )
        self.log.info("%s: %s", self.s.name, text)
        self.dispatcher.emit_error(text, "connection")

    def _rotate(self, old: Connection) -> Optional[Connection]:
        """Make-before-break: open, flush and resubscribe a new connection, then close ``old``."""
        age = self.s.max_connection_age or 0.0
        self.log.info(
            "%s: connection #%d reached max_connection_age (%g s); rotating",
            self.s.name,
            old.number,
            age,
        )
        new, _failure = self._attempt(None)
        if new is None:  # try again later; the old connection still works
            old.opened_at = self.clock() - age + min(5.0, (age or 5.0) / 2)
            return None
        old.retiring = True
        self.writer.deactivate(old)
        self._go_live(new, reconnected=True, rotated=True)
        self._retire(old, 1000, "rotating", rotated=True)
        return new

    def _lost(self, conn: Connection) -> str:
        code = conn.close_code if conn.close_code is not None else 1006
        reason = f"connection #{conn.number} closed: {code} {conn.close_reason}".strip()
        self.c.last_close = (code, conn.close_reason)
        self.writer.deactivate(conn)
        with self.c.cond:
            self.c.resubscribed = False
        self.c.move(lambda lc: lc.lost(code, conn.close_reason))
        self.log.info("%s: %s; reconnecting", self.s.name, reason)
        self.dispatcher.emit_error(reason, "connection")
        return reason

    # -- giving up and winding down ------------------------------------------------------------

    def _connect_error(self, reason: str, failure: Optional[HandshakeFailure]) -> ConnectError:
        """The exception for giving up, carrying the last attempt's status and cause."""
        status = failure.status if failure is not None else None
        cause = failure.cause if failure is not None else None
        url = self.s.display_url
        message = f"could not connect to {url}: {reason}"
        if failure is not None and failure.message not in reason:
            message += f" (last attempt: {failure.message})"
        error: ConnectError
        if status in (401, 403) or isinstance(cause, AuthError):
            error = AuthError(message, url=url, status=status, cause=cause)
        else:
            error = ConnectError(message, url=url, status=status, cause=cause)
        error.__cause__ = cause
        return error

    def _give_up_first(self, error: ConnectError) -> None:
        self.log.error("%s: %s", self.s.name, error)
        self.c.move(lambda lc: lc.give_up("the first connection timed out", error))

    def _give_up(self, reason: str, failure: Optional[HandshakeFailure]) -> None:
        error = self._connect_error(reason, failure)
        self.log.error("%s: giving up: %s", self.s.name, reason)
        self.dispatcher.emit_error(
            f"giving up: {reason}",
            "auth" if isinstance(error, AuthError) else "connection",
            exception=error,
        )
        self.c.move(lambda lc: lc.give_up(reason, error))

    def _shutdown(self) -> None:
        """Close every connection (1000, read to the end until the deadline), then fail what
        is still queued."""
        c = self.c
        with c.cond:
            deadline = c.deadline
        now = self.clock()
        close_by = now + CLOSE_HANDSHAKE_TIMEOUT
        if deadline is not None:
            close_by = min(close_by, deadline)
        if c.lifecycle.stop_mode != "close":
            close_by = min(close_by, now + _DRAIN_SLICE)  # no flush, no waiting for the echo
        active = self.writer.active
        if active is not None:
            active.retiring = True
            self.writer.send_control(active, _framing.build_close(1000, ""), close=True)
        with c.cond:
            readers = list(c.readers.values())
        for thread, conn in readers:
            if thread is threading.current_thread():
                continue
            while thread.is_alive() and self.clock() < close_by:
                tail = self.writer.tail_connection()
                if tail is not None:
                    tail.wait_writable(_DRAIN_SLICE)
                    self.writer.resume()
                else:
                    thread.join(min(_DRAIN_SLICE * 4, max(0.0, close_by - self.clock())))
            if thread.is_alive():  # unanswered, or its reader is busy in a listener
                conn.abort()
                thread.join(max(0.0, min(0.2, close_by - self.clock())))
        for conn in list(self._retiring):
            conn.abort()
        self._retiring.clear()
        with c.cond:
            error = c.lifecycle.closed_error()
        self.writer.fail_all(error)
