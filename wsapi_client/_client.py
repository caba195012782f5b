"""WebSocketClient: the threaded runtime.

Threads, per client (DESIGN §3):

- the **supervisor** connects (signing through the auth provider on every attempt), backs off,
  reconnects, pings, rotates the connection before API Gateway's two-hour limit and, after each
  (re)connect, flushes the outbound queue and then runs the ``with_reconnect`` callbacks;
- one **reader** per connection decodes frames and calls listeners in frame order. A thread
  blocked on an :class:`Expectation` is woken as soon as the reader reads bytes that name its
  route, before they are decoded (waking a thread is slow; see ``_arrived``), and settled in
  frame order like any listener.

The write path. ``_write_lock`` guards the active connection, the outbound queue, the counters
and ``_writing``, the write token: the one thread allowed to write to the socket sets it, writes
outside the lock, then takes the lock again and writes whatever was queued meanwhile before it
lets go (so nothing queued while it wrote is left behind, and the queue stays FIFO). A send:

- with a connection up, nothing queued and nobody writing, is written at once on the caller's
  thread (no hand-off);
- while another thread writes, is queued for that thread, which writes it with the rest of the
  queue, several frames per socket call (combining);
- during a burst (the previous send less than ``_BURST_GAP`` ago) is queued without a write, up
  to ``_DEFER_MESSAGES`` messages, ``_DEFER_BYTES`` bytes or ``_DEFER_AGE`` seconds; the send that
  passes a limit writes them all at once. What a burst leaves queued is written by the next send,
  by the reader before it waits for data, by anyone looking at one of its futures (``done``,
  ``result``, :meth:`flush`, :meth:`close`), or else by the supervisor, woken by the first
  message of the burst (it runs as soon as the sending thread lets go of the GIL, and within the
  interpreter's switch interval when it does not). Isolated sends are never held back;
- without a connection, joins the bounded queue (:class:`QueuePolicy`) that the supervisor
  flushes after the next connect.

Futures are completed outside the lock, a batch at a time (:mod:`wsapi_client._outbox`).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import queue
import stat
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import CancelledError, Future
from concurrent.futures._base import FINISHED
from time import perf_counter as _perf
from typing import Any, Callable, ClassVar, Optional, TypeVar, Union

from wsapi_client import _framing
from wsapi_client._auth import AuthProvider, NoAuth
from wsapi_client._backoff import GiveUp, ReconnectSchedule, Retry
from wsapi_client._connection import (
    Closed,
    Connection,
    HandshakeFailure,
    open_connection,
    parse_close,
)
from wsapi_client._errors import (
    AuthError,
    BlockingCallError,
    ClientClosedError,
    ConnectError,
    MessageExpiredError,
    MessageTooLargeError,
    QueueFullError,
    ValidationError,
    WsApiError,
)
from wsapi_client._events import ClientStats, ConnectionState, ErrorEvent, ErrorKind
from wsapi_client._listeners import Registry, Unlisten
from wsapi_client._outbox import (
    Outbox,
    Outgoing,
    SendFuture,
    claim_all,
    complete,
    finish_unwatched,
    settled,
)
from wsapi_client._policies import Keepalive, QueuePolicy, ReconnectPolicy
from wsapi_client._validation import Validator, compile_validator
from wsapi_client.protocol import (
    NO_PAYLOAD,
    GatewayError,
    Ignored,
    Malformed,
    RouteMessage,
    classify,
    encode,
    split_routed,
)
from wsapi_client.spec import ApiSpec, Operation, load_spec

__all__ = ["Expectation", "MessageStream", "WebSocketClient"]

logger = logging.getLogger("wsapi_client")

_C = TypeVar("_C", bound="WebSocketClient")
_KEEPALIVE_DEFAULT = Keepalive()
_WRITE_BATCH_BYTES = 256 * 1024
_BURST_GAP = 20e-6  # a send this soon after the previous one is part of a burst
_DEFER_MESSAGES = 64  # a burst is written at least every this many messages,
_DEFER_BYTES = 64 * 1024  # this many bytes,
_DEFER_AGE = 200e-6  # or this many seconds after its first held-back message
_COMBINE_MESSAGES = 1024  # queued for another thread's write beyond this, a sender waits
_PLAN_CACHE = 256  # inbound routes remembered when the model does not know them
_CLOSE_HANDSHAKE_TIMEOUT = 2.0
_EXIT_FLUSH_TIMEOUT = 2.0
_names = itertools.count(1)
_live_clients: weakref.WeakSet[WebSocketClient] = weakref.WeakSet()

SpecSource = Union[ApiSpec, str, "os.PathLike[str]", Mapping[str, Any]]

_FINAL_STATES = frozenset({ConnectionState.CLOSING, ConnectionState.CLOSED, ConnectionState.FAILED})

# Registry keys that are not routes (routes are str).
_ANY = ("any",)
_ERROR = ("error",)
_STATE = ("state",)
_RECONNECT = ("reconnect",)


class _Stop(Exception):
    """Internal: the client is stopping; unwinds the supervisor."""


class WebSocketClient:
    """A client for a WebSocket API: connect, send, listen; reconnects by itself.

    Create one with :meth:`connect`, which blocks until the first connection is up::

        client = WebSocketClient.connect(url, spec="api.json", auth=IamAuth())

    or construct it, register listeners, and call :meth:`start`. Every method is safe to call
    from any thread; listeners run on the client's reader thread.
    """

    spec_document: ClassVar[Optional[Mapping[str, Any]]] = None
    """The embedded model of a generated client (the ``.api.json`` document)."""

    _class_specs: ClassVar[dict[type, ApiSpec]] = {}

    def __init__(
        self,
        url: str,
        *,
        spec: Optional[SpecSource] = None,
        auth: Optional[AuthProvider] = None,
        reconnect: Optional[ReconnectPolicy] = None,
        queue: Optional[QueuePolicy] = None,
        keepalive: Optional[Keepalive] = _KEEPALIVE_DEFAULT,
        max_connection_age: Optional[float] = 7000.0,
        max_frame_size: Optional[int] = 32 * 1024,
        max_message_size: Optional[int] = 128 * 1024,
        connect_timeout: float = 10.0,
        name: Optional[str] = None,
        validate: bool = True,
        sslopt: Optional[Mapping[str, Any]] = None,
        clock: Callable[[], float] = time.monotonic,
        random: Optional[Callable[[], float]] = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must start with ws:// or wss://, got {url!r}")
        for label, value in (
            ("max_connection_age", max_connection_age),
            ("max_frame_size", max_frame_size),
            ("max_message_size", max_message_size),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"{label} must be None or > 0, got {value!r}")
        self.url = url
        self.name = name or f"client-{next(_names)}"
        self.spec: Optional[ApiSpec] = self._resolve_spec(spec)
        self.auth: AuthProvider = auth if auth is not None else NoAuth()
        self.reconnect_policy = reconnect if reconnect is not None else ReconnectPolicy()
        self.queue_policy = queue if queue is not None else QueuePolicy()
        self.keepalive = keepalive
        self.max_connection_age = max_connection_age
        self.max_frame_size = max_frame_size
        self.max_message_size = max_message_size
        self.connect_timeout = connect_timeout
        self.validate = validate
        self._sslopt = sslopt
        self._clock = clock
        self._random = random
        self._io_timeout = keepalive.timeout if keepalive is not None else 30.0

        # Write side: one lock guards the active connection, the queue and the counters.
        self._write_lock = threading.Lock()
        self._room = threading.Condition(self._write_lock)
        self._room_waiters = 0  # threads in _room.wait(): notify only when there are some
        self._outbox = Outbox(self.queue_policy)
        self._active: Optional[Connection] = None
        self._writing = False  # the write token (see the module docstring)
        self._last_send = 0.0  # perf_counter() of the previous send, for burst detection
        self._held_since = 0.0  # perf_counter() when a burst started holding messages back
        # The supervisor as the writer of last resort for a burst's held-back messages: it is
        # asked (``_flush_requested``) only while it waits idle (``_flusher_ready``), both under
        # ``_cond``; a sender that finds it busy writes at once instead.
        self._flusher_ready = False
        self._flush_requested = False
        self._futures_lock = threading.Lock()
        self._accepting = True
        self._stopped = False  # _finish_stopped() has run: nothing may be queued any more
        self._closed_reason = "the client is closed"

        # Supervisor side.
        self._cond = threading.Condition(threading.Lock())
        self._state = ConnectionState.CONNECTING
        self._stop_mode: Optional[str] = None  # "close" | "disconnect"
        self._started = False
        self._supervisor: Optional[threading.Thread] = None
        self._readers: dict[int, tuple[threading.Thread, Connection]] = {}
        self._stop_requested = False
        self._sdk_threads: set[int] = set()
        self._connected_event = threading.Event()
        self._first_outcome: Optional[BaseException] = None
        self._first_done = threading.Event()
        self._connection_numbers = itertools.count(1)
        self._fail_reason: Optional[str] = None

        # Listeners; the dispatch lock makes callbacks run one at a time, even while a rotation
        # has two connections reading.
        self._registry: Registry[Any] = Registry()
        self._dispatch_lock = threading.RLock()
        self._resubscribed = False
        self._validators: dict[str, Validator] = {}
        self._plans: dict[str, tuple[str, Optional[Operation], Optional[Validator]]] = {}
        # Inbound payloads only need validating unless a subclass decodes them (generated clients).
        self._plain_decode = type(self)._decode_payload is WebSocketClient._decode_payload
        self._batch = threading.local()
        # Expectations a thread is blocked on right now, woken early by the reader when their
        # route shows up in bytes just read (see _arrived). A dict used as an ordered set:
        # adding, removing and copying it are atomic, so no lock is needed.
        self._blocked: dict[Expectation, None] = {}
        self._needles: dict[str, bytes] = {}  # route -> its JSON string as bytes

        # Counters.
        self._messages_in = 0
        self._messages_out = 0
        self._bytes_in = 0
        self._bytes_out = 0
        self._ignored = 0
        self._reconnects = 0
        self._last_close: tuple[Optional[int], Optional[str]] = (None, None)

        self._pid = os.getpid()
        self._forked = False
        _live_clients.add(self)

    # ------------------------------------------------------------------ construction

    @classmethod
    def connect(cls: type[_C], url: str, *, timeout: Optional[float] = 10.0, **options: Any) -> _C:
        """Create a client and block until it is connected.

        Raises :class:`ConnectError` (with the cause: HTTP status, refused, DNS, TLS, timeout)
        or :class:`AuthError` (401/403) when no connection is made within ``timeout``; retryable
        failures are retried inside it by the reconnect policy.
        """
        client = cls(url, **options)
        client.start(timeout=timeout)
        return client

    def _resolve_spec(self, spec: Optional[SpecSource]) -> Optional[ApiSpec]:
        if isinstance(spec, ApiSpec):
            return spec
        if isinstance(spec, (str, os.PathLike)):
            return _load_spec_file(spec)
        if spec is not None:
            return load_spec(spec)
        cls = type(self)
        document = cls.spec_document
        if document is None:
            return None
        cached = WebSocketClient._class_specs.get(cls)
        if cached is None:
            cached = load_spec(document, name=cls.__name__)
            WebSocketClient._class_specs[cls] = cached
        return cached

    def start(self, timeout: Optional[float] = 10.0) -> None:
        """Start the supervisor and wait for the first connection (see :meth:`connect`)."""
        self._check_fork()
        with self._cond:
            if self._started:
                raise WsApiError(f"{self.name} was already started")
            if self._stop_mode is not None:
                raise ClientClosedError(self._closed_reason)
            self._started = True
        deadline = None if timeout is None else self._clock() + timeout
        thread = threading.Thread(
            target=self._supervise,
            args=(deadline,),
            name=f"wsapi-{self.name}-supervisor",
            daemon=True,
        )
        self._supervisor = thread
        thread.start()
        if not self._first_done.wait(None if timeout is None else timeout + 1.0):
            self.disconnect()
            raise ConnectError(
                f"could not connect to {self._display_url()} within {timeout:g} s",
                url=self._display_url(),
            )
        outcome = self._first_outcome
        if outcome is not None:
            self._join_threads(self._clock() + 5.0)
            raise outcome

    # ------------------------------------------------------------------ public state

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState`."""
        return self._state

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters: messages and bytes in/out, queue, reconnects, close."""
        with self._write_lock:
            queued, queued_bytes = len(self._outbox), self._outbox.bytes
            active = self._active
        age = self._clock() - active.opened_at if active is not None else None
        code, reason = self._last_close
        return ClientStats(
            messages_in=self._messages_in,
            messages_out=self._messages_out,
            bytes_in=self._bytes_in,
            bytes_out=self._bytes_out,
            ignored_frames=self._ignored,
            queued=queued,
            queued_bytes=queued_bytes,
            reconnects=self._reconnects,
            last_close_code=code,
            last_close_reason=reason,
            connection_age=age,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self._display_url()} {self._state.value}>"

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ sending

    def send(self, route: str, payload: Any = NO_PAYLOAD) -> Future[None]:
        """Validate, encode and write (or queue) one message; returns a Future.

        The future completes when the message has been written to a connection, or fails with
        :class:`QueueFullError`, :class:`MessageExpiredError` or :class:`ClientClosedError`.
        Validation and size errors are raised here, before anything is queued.
        """
        item = self._prepare(route, payload)
        pending = self._batch.__dict__.get("items")
        if pending is not None:
            pending.append(item)
        else:
            self._submit([item], alone=True)
        return item.future

    def send_many(self, messages: Iterable[tuple[str, Any]]) -> list[Future[None]]:
        """Send several ``(route, payload)`` messages, written together in as few socket calls
        as possible. Every message is validated before any is queued; with the ``raise``
        overflow policy the queue takes all of them or none."""
        items = [self._prepare(route, payload) for route, payload in messages]
        if items:
            self._submit(items, atomic=True)
        return [item.future for item in items]

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Collect this thread's sends and write them together when the block ends.

        Each ``send`` inside still validates at once and returns its future; nothing is written
        before the block ends (then, even if it raised: what was accepted is not lost). Nested
        blocks join the outermost one. Other threads' sends are not delayed.
        """
        local = self._batch
        if local.__dict__.get("items") is not None:
            yield
            return
        local.items = []
        try:
            yield
        finally:
            items: list[Outgoing] = local.items
            local.items = None
            if items:
                try:
                    self._submit(items)
                except WsApiError as exc:
                    _settle([], [(item, exc) for item in items])

    def _prepare(self, route: str, payload: Any) -> Outgoing:
        """Validate and encode one message into ready-to-write frames."""
        if self._forked:
            self._check_fork()
        op = self._outbound_operation(route)
        wire_route = op.route_key if op is not None else route
        body = self._encode_payload(op, payload) if op is not None else payload
        data = encode(wire_route, body).encode("utf-8")
        limit = self.max_message_size
        if limit is not None and len(data) > limit:
            raise MessageTooLargeError(len(data), limit)
        frames = _framing.build_message(data, _framing.OPCODE_TEXT, self.max_frame_size)
        return Outgoing(frames, SendFuture(self), wire_route, self._clock())

    def _submit(self, items: list[Outgoing], *, atomic: bool = False, alone: bool = False) -> None:
        """Write ``items`` now, leave them to the thread writing, hold them back in a burst, or
        queue them for the next connection (see the module docstring).

        ``alone``: a single message from :meth:`send`, whose future nobody has seen yet.
        """
        failed: list[tuple[Outgoing, BaseException]] = []
        now = _perf()
        wake_supervisor = False
        batch: Optional[list[Outgoing]] = None
        fresh = False  # batch is ``items`` alone, written before its future is handed out
        conn: Optional[Connection] = None
        with self._write_lock:
            while True:
                if not self._accepting:
                    raise ClientClosedError(self._closed_reason)
                conn = self._active
                outbox = self._outbox
                if conn is None:
                    if atomic and self.queue_policy.overflow == "raise":
                        outbox.check_room_for(items)
                    for item in items:
                        self._enqueue_locked(item, failed)
                    # Read again: a "block" wait may have spanned a reconnect.
                    conn = self._active
                    if conn is not None and not self._writing:
                        batch = self._take_locked()
                    break
                size = len(items[0].data) if alone else sum(len(i.data) for i in items)
                if self._writing:
                    if len(outbox) < _COMBINE_MESSAGES and outbox.room_for(len(items), size):
                        # The thread writing takes these with the rest of the queue before it
                        # lets go of the token (looking at a future waits for that write).
                        outbox.append(items)
                        break
                    self._wait_room_locked(None)
                    continue
                if (
                    alone
                    and now - self._last_send < _BURST_GAP
                    and self._flusher_ready
                    and self._may_hold_locked(now, size)
                ):
                    if not outbox:
                        self._held_since = now
                    outbox.append(items)
                    wake_supervisor = not self._flush_requested
                    break
                if alone and not outbox:
                    self._writing = True
                    batch, fresh = items, True
                    break
                outbox.append(items)
                batch = self._take_locked()
                break
            self._last_send = now
        if failed:
            _settle([], failed)
        if wake_supervisor:
            with self._cond:
                if self._flusher_ready:
                    self._flush_requested = True
                    self._cond.notify_all()
                else:
                    wake_supervisor = False
            if not wake_supervisor:  # the supervisor got busy meanwhile: no holding back
                self._write_pending()
        if batch is not None:
            assert conn is not None
            self._write_out(conn, batch, fresh=fresh)

    def _may_hold_locked(self, now: float, size: int) -> bool:
        """Whether a message of a burst may wait for the next ones (the lock is held)."""
        outbox = self._outbox
        if not outbox:
            return outbox.room_for(1, size)
        return (
            len(outbox) < _DEFER_MESSAGES
            and outbox.bytes + size <= _DEFER_BYTES
            and now - self._held_since < _DEFER_AGE
            and outbox.room_for(1, size)
        )

    def _take_locked(self) -> list[Outgoing]:
        """Take the write token and the first batch of the queue (the lock is held)."""
        self._writing = True
        return self._outbox.take(_WRITE_BATCH_BYTES)

    def _wait_room_locked(self, timeout: Optional[float]) -> bool:
        self._room_waiters += 1
        try:
            return self._room.wait(timeout)
        finally:
            self._room_waiters -= 1

    def _write_out(self, conn: Connection, batch: list[Outgoing], *, fresh: bool = False) -> None:
        """Write ``batch`` to ``conn`` holding the write token, then what was queued meanwhile,
        then give the token back. ``fresh``: ``batch`` is one message whose future nobody has
        seen yet (no claim needed: nobody can have cancelled it; no lock to complete it)."""
        lock = self._futures_lock
        watched: list[Future[None]] = []
        lost: Optional[OSError] = None
        dropped: list[Outgoing] = []
        while True:
            live = batch if fresh else claim_all(batch, lock)
            error: Optional[OSError] = None
            data = b""
            if live:
                data = live[0].data if len(live) == 1 else b"".join([i.data for i in live])
                try:
                    conn.write(data)
                except OSError as exc:
                    error = exc
                else:
                    if fresh:  # nobody has the future yet: no lock, nothing to notify
                        live[0].future._state = FINISHED
                    else:
                        watched += finish_unwatched(live, lock)
            with self._write_lock:
                if error is None:
                    self._messages_out += len(live)
                    self._bytes_out += len(data)
                    if self._outbox and self._active is conn:
                        if self._room_waiters:
                            self._room.notify_all()  # senders waiting for their message
                        batch = self._outbox.take(_WRITE_BATCH_BYTES)
                        fresh = False
                        continue
                else:
                    lost = error
                    written: list[Outgoing] = []
                    dropped = self._requeue_after_failure_locked(conn, live, error, written)
                    watched += finish_unwatched(written, lock)
                self._writing = False
                if self._room_waiters:
                    self._room.notify_all()
                break
        if watched:
            complete(watched)
        if lost is not None:
            logger.info(
                "%s: write failed on connection #%d (%s); the unwritten message(s) went back "
                "in the queue",
                self.name,
                conn.number,
                lost,
            )
            if dropped:
                closed = ClientClosedError(self._closed_reason)
                _settle([], [(item, closed) for item in dropped])

    def _requeue_after_failure_locked(
        self, conn: Connection, items: list[Outgoing], error: OSError, written: list[Outgoing]
    ) -> list[Outgoing]:
        """After a failed write: count what went out whole, put the rest back at the head of
        the queue, take ``conn`` out of service. Returns what must fail instead of going back
        (the client has stopped: nobody would flush it)."""
        sent = getattr(error, "written", 0)
        offset = 0
        back = []
        for item in items:
            end = offset + len(item.data)
            if end <= sent:
                written.append(item)
                self._messages_out += 1
                self._bytes_out += len(item.data)
            else:
                back.append(item)
            offset = end
        self._lose_locked(conn, f"write failed: {error}")
        if self._stopped:  # nobody will flush the queue again
            return back
        self._outbox.requeue(back)
        return []

    def _enqueue_locked(self, item: Outgoing, failed: list[tuple[Outgoing, BaseException]]) -> None:
        outbox = self._outbox
        size = len(item.data)
        outbox.check_fits_at_all(size)
        if not outbox.has_room(size) and self.queue_policy.overflow == "block":
            if self._on_sdk_thread():
                raise QueueFullError(
                    "outbound queue full; a listener cannot block waiting for room "
                    "(it would stop the reader)"
                )
            while not outbox.has_room(size):
                if not self._accepting:
                    raise ClientClosedError(self._closed_reason)
                self._wait_room_locked(None)
            if not self._accepting:
                raise ClientClosedError(self._closed_reason)
        for evicted in outbox.push(item):
            failed.append(
                (evicted, QueueFullError("dropped from a full outbound queue (drop_oldest)"))
            )

    def _exclusive_locked(self) -> None:
        """Wait (the lock is held) until nobody holds the write token: for control frames
        written under the lock."""
        while self._writing:
            self._wait_room_locked(None)

    def _write_pending(self) -> None:
        """Write what is queued now, on this thread, if a connection is up and nobody is
        writing (whoever is writing drains the queue before letting go)."""
        if not self._outbox or self._writing:
            return
        with self._write_lock:
            conn = self._active
            if conn is None or self._writing or not self._outbox:
                return
            batch = self._take_locked()
        self._write_out(conn, batch)

    def _observe_send(self, future: SendFuture) -> None:
        """Someone is looking at ``future``: if its message is still queued while a connection
        is up, get it written now (on this thread, or by waiting for the thread writing)."""
        with self._write_lock:
            while self._writing and not settled(future):
                self._wait_room_locked(None)
            conn = self._active
            if conn is None or not self._outbox or settled(future):
                return
            batch = self._take_locked()
        self._write_out(conn, batch)

    def _lose_locked(self, conn: Connection, reason: str) -> None:
        """Take ``conn`` out of service after an I/O failure; the supervisor reconnects."""
        if self._active is conn:
            self._active = None
        conn.abort()

    def flush(self, timeout: Optional[float] = None) -> None:
        """Block until every queued message has been written, or raise ``TimeoutError``."""
        self._check_blocking_allowed("flush")
        deadline = None if timeout is None else self._clock() + timeout
        self._write_pending()
        with self._room:
            while self._outbox or self._writing:
                if self._state in (ConnectionState.CLOSED, ConnectionState.FAILED):
                    raise ClientClosedError(self._closed_reason)
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(
                        f"{len(self._outbox)} message(s) still queued after {timeout:g} s"
                    )
                self._wait_room_locked(remaining)

    # ------------------------------------------------------------------ listening

    def on(self, route: str, callback: Callable[[Any], None]) -> Unlisten:
        """Call ``callback(payload)`` for every message of ``route``; returns an unlisten callable.

        ``route`` may be the route key (``SendGreeting``) or the PDK server SDK's name; both
        reach the same listeners.
        """
        return self._registry.add(self._inbound_key(route), callback)

    def on_any_message(self, callback: Callable[[str, Any], None]) -> Unlisten:
        """Call ``callback(route, payload)`` for every routed message, known route or not."""
        return self._registry.add(_ANY, callback)

    def on_error(self, callback: Callable[[ErrorEvent], None]) -> Unlisten:
        """Call ``callback(event)`` for gateway error frames, undecodable data, listener errors
        and connection problems; see :class:`ErrorEvent`."""
        return self._registry.add(_ERROR, callback)

    def on_state_change(self, callback: Callable[[ConnectionState], None]) -> Unlisten:
        """Call ``callback(new_state)`` on every :class:`ConnectionState` change."""
        return self._registry.add(_STATE, callback)

    def with_reconnect(self, callback: Callable[[], None]) -> Unlisten:
        """Run ``callback()`` now if connected, and after every reconnect (after the queue has
        been flushed): the place to (re)subscribe."""
        with self._cond:
            unlisten = self._registry.add(_RECONNECT, callback)
            run_now = self._resubscribed
        if run_now:
            self._call_safely(callback, (), "with_reconnect callback")
        return unlisten

    def wait_for(
        self,
        route: str,
        *,
        where: Optional[Callable[[Any], bool]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Block until a message of ``route`` (matching ``where``) arrives after this call.

        Raises ``TimeoutError``. To catch the reply to something you send, use :meth:`expect`,
        which is registered before the send and cannot miss a fast reply.
        """
        self._check_blocking_allowed("wait_for")
        with self.expect(route, where=where) as expectation:
            return expectation.result(timeout)

    def expect(self, route: str, *, where: Optional[Callable[[Any], bool]] = None) -> Expectation:
        """Register now for the next message of ``route``; read it later with ``.result()``."""
        return Expectation(self, route, where)

    def messages(self, route: str, *, timeout: Optional[float] = None) -> MessageStream:
        """An iterator over messages of ``route``, buffered from this call on.

        Iteration stops when no message arrives within ``timeout`` seconds (None: wait until
        the client closes). Close it (or use ``with``) to stop buffering.
        """
        return MessageStream(self, route, timeout)

    def wait_until_connected(self, timeout: Optional[float] = None) -> None:
        """Block until the client is connected; ``TimeoutError`` or ``ClientClosedError``."""
        self._check_blocking_allowed("wait_until_connected")
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while self._state is not ConnectionState.CONNECTED:
                if self._state in (ConnectionState.CLOSED, ConnectionState.FAILED):
                    raise ClientClosedError(self._closed_reason)
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"not connected after {timeout:g} s ({self._state})")
                self._cond.wait(remaining)

    # ------------------------------------------------------------------ closing

    def close(self, timeout: Optional[float] = 10.0) -> None:
        """Flush the queue, close the connection with 1000 and stop every SDK thread.

        Idempotent. Messages still queued when ``timeout`` runs out fail with
        :class:`ClientClosedError`. From a listener it only starts the close (a thread cannot
        wait for itself).
        """
        self._stop("close", timeout)

    def disconnect(self) -> None:
        """Stop at once: no flush; queued messages fail with :class:`ClientClosedError`."""
        self._stop("disconnect", 5.0)

    def _stop(self, mode: str, timeout: Optional[float]) -> None:
        if self._forked:
            self._forked_close()
            return
        deadline = self._clock() + (timeout if timeout is not None else 3600.0)
        on_sdk_thread = self._on_sdk_thread()
        with self._cond:
            first = not self._stop_requested
            self._stop_requested = True
            started = self._started
        if first:
            logger.debug("%s: %s requested", self.name, mode)
            # What a burst held back was sent while connected: it goes out, even on disconnect.
            self._write_pending()
            with self._write_lock:
                self._accepting = False
                self._closed_reason = (
                    "the client was closed" if mode == "close" else "the client was disconnected"
                )
                self._room.notify_all()
            if not started:
                with self._cond:
                    self._stop_mode = mode
                self._finish_stopped()
                return
            if mode == "close":
                self._set_state(ConnectionState.CLOSING)
                if not on_sdk_thread:
                    # The supervisor keeps reconnecting meanwhile, so an outage does not lose
                    # what was queued, as long as the connection returns within the timeout.
                    with contextlib.suppress(TimeoutError, ClientClosedError):
                        self.flush(max(0.0, deadline - self._clock()))
            with self._cond:
                self._stop_mode = mode
                self._cond.notify_all()
        if not on_sdk_thread:
            self._join_threads(deadline)

    def _join_threads(self, deadline: float) -> None:
        supervisor = self._supervisor
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(max(0.0, deadline - self._clock()))
        for thread, _conn in list(self._readers.values()):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - self._clock()))

    def _finish_stopped(self) -> None:
        """Fail whatever is still queued and settle in CLOSED (or FAILED)."""
        with self._write_lock:
            self._accepting = False
            # A write in progress ends soon: every connection has been closed or aborted.
            deadline = time.monotonic() + _CLOSE_HANDSHAKE_TIMEOUT
            while self._writing and time.monotonic() < deadline:
                self._wait_room_locked(0.05)
            self._stopped = True
            leftovers = self._outbox.clear()
            self._room.notify_all()
        if leftovers:
            logger.warning(
                "%s: %d queued message(s) not sent: %s",
                self.name,
                len(leftovers),
                self._closed_reason,
            )
        _settle([], [(item, ClientClosedError(self._closed_reason)) for item in leftovers])
        if self._state is not ConnectionState.FAILED:
            self._set_state(ConnectionState.CLOSED)
        self._connected_event.clear()

    # ------------------------------------------------------------------ supervisor

    def _supervise(self, first_deadline: Optional[float]) -> None:
        self._sdk_threads.add(threading.get_ident())
        schedule = ReconnectSchedule(self.reconnect_policy, self._random)
        decision: Union[Retry, GiveUp] = schedule.first()
        last_failure: Optional[HandshakeFailure] = None
        first = True
        try:
            while True:
                assert isinstance(decision, Retry)
                if decision.delay > 0:
                    logger.info(
                        "%s: reconnect attempt %d in %.3f s",
                        self.name,
                        decision.attempt + 1,
                        decision.delay,
                    )
                deadline = self._clock() + decision.delay
                if first and first_deadline is not None:
                    deadline = min(deadline, first_deadline)
                self._idle_until(deadline)
                if first and first_deadline is not None and self._clock() >= first_deadline:
                    self._first_failed(self._connect_error("timed out", last_failure))
                    return
                conn, failure = self._attempt(first_deadline if first else None)
                if conn is None:
                    assert failure is not None
                    last_failure = failure
                    decision = schedule.failed(failure.status, failure.message)
                    if isinstance(decision, GiveUp):
                        self._give_up(decision.reason, failure, first)
                        return
                    continue
                schedule.connected(self._clock())
                self._go_live(conn, reconnected=not first)
                if first:
                    first = False
                    self._first_done.set()
                reason = self._watch(conn)
                decision = schedule.disconnected(self._clock(), reason)
                if isinstance(decision, GiveUp):
                    self._give_up(decision.reason, None, False)
                    return
                self._set_state(ConnectionState.RECONNECTING)
        except _Stop:
            pass
        except BaseException as exc:  # pragma: no cover - a bug; never leave the client wedged
            logger.exception("%s: supervisor crashed", self.name)
            self._emit_error("supervisor crashed: " + repr(exc), "connection", exception=exc)
            with self._cond:
                self._stop_mode = self._stop_mode or "disconnect"
                self._fail_reason = f"internal error: {exc!r}"
        finally:
            self._shutdown_connections()
            if first:
                self._first_done.set()
            self._finish_stopped()
            self._sdk_threads.discard(threading.get_ident())

    def _idle_until(self, deadline: float) -> None:
        """Wait (for a backoff delay) until ``deadline``, expiring queued messages meanwhile."""
        while True:
            self._expire_queued()
            now = self._clock()
            wake = deadline
            expiry = self._outbox.next_expiry()
            if expiry is not None:
                wake = min(wake, expiry)
            with self._cond:
                if self._stop_mode is not None:
                    raise _Stop
                if now >= deadline:
                    return
                self._cond.wait(max(0.0, wake - now))

    def _attempt(
        self, first_deadline: Optional[float]
    ) -> tuple[Optional[Connection], Optional[HandshakeFailure]]:
        try:
            prepared = self.auth.prepare(self.url)
        except Exception as exc:  # the hook's failure is an attempt's failure, not a crash
            message = f"auth failed: {exc}"
            if not isinstance(exc, AuthError):
                message = f"auth hook raised {type(exc).__name__}: {exc}"
            logger.warning("%s: %s", self.name, message)
            self._emit_error(message, "auth", exception=exc)
            # Counted like a 401: three in a row give up.
            return None, HandshakeFailure(message, status=401, cause=exc)
        timeout = self.connect_timeout
        if first_deadline is not None:
            timeout = max(0.05, min(timeout, first_deadline - self._clock()))
        number = next(self._connection_numbers)
        logger.debug("%s: connecting to %s (#%d)", self.name, prepared.display_url, number)
        try:
            conn = open_connection(
                prepared.url,
                prepared.headers,
                timeout=timeout,
                io_timeout=self._io_timeout,
                number=number,
                now=self._clock(),
                sslopt=self._sslopt,
                clock=self._clock,
            )
        except HandshakeFailure as failure:
            kind: ErrorKind = "auth" if failure.status in (401, 403) else "connection"
            text = f"connecting to {prepared.display_url} failed: {failure.message}"
            logger.warning("%s: %s", self.name, text)
            self._emit_error(text, kind, exception=failure.cause or failure)
            failure.message = text
            return None, failure
        with self._cond:
            if self._stop_mode is not None:
                conn.release()
                raise _Stop
        logger.info("%s: connected to %s (#%d)", self.name, prepared.display_url, number)
        return conn, None

    def _go_live(self, conn: Connection, *, reconnected: bool) -> None:
        """Make ``conn`` the active connection: reader, flush, then resubscribe."""
        conn.idle = self._write_pending
        conn.arrived = self._arrived
        self._start_reader(conn)
        batch: Optional[list[Outgoing]] = None
        with self._write_lock:
            self._exclusive_locked()
            self._active = conn
            if self._outbox:
                logger.info("%s: flushing %d queued message(s)", self.name, len(self._outbox))
                batch = self._take_locked()
        if batch is not None:
            self._write_out(conn, batch)
        if reconnected:
            self._reconnects += 1
        self._set_state(ConnectionState.CONNECTED)
        self._connected_event.set()
        # Callbacks registered before this point run now; later ones run at registration.
        with self._cond:
            callbacks = self._registry.snapshot(_RECONNECT)
            self._resubscribed = True
        for entry in callbacks:
            self._call_safely(entry.callback, (), "with_reconnect callback")

    def _start_reader(self, conn: Connection) -> None:
        thread = threading.Thread(
            target=self._read_loop,
            args=(conn,),
            name=f"wsapi-{self.name}-reader-{conn.number}",
            daemon=True,
        )
        self._readers[conn.number] = (thread, conn)
        thread.start()

    def _watch(self, conn: Connection) -> str:
        """Keep ``conn`` healthy until it ends: keepalive, rotation, queue expiry.

        Returns the reason the connection was lost.
        """
        keepalive = self.keepalive
        while True:
            if self._flush_requested:
                # A burst held messages back (see the module docstring): write what is left.
                with self._cond:
                    self._flush_requested = False
                self._write_pending()
            self._expire_queued()
            now = self._clock()
            wake = now + 3600.0
            with self._cond:
                if self._stop_mode is not None:
                    raise _Stop
                if conn.ended or (self._active is not conn and not conn.retiring):
                    break
            if keepalive is not None:
                if conn.last_ping is not None and conn.last_received < conn.last_ping:
                    if now - conn.last_ping >= keepalive.timeout:
                        logger.warning(
                            "%s: no answer to a ping within %g s; replacing the connection",
                            self.name,
                            keepalive.timeout,
                        )
                        self._emit_error(
                            f"connection #{conn.number} is unresponsive (no pong within "
                            f"{keepalive.timeout:g} s)",
                            "connection",
                        )
                        self._abort(conn, 1006, "keepalive timeout")
                        continue
                    wake = min(wake, conn.last_ping + keepalive.timeout)
                else:
                    due = (
                        max(conn.last_received, conn.last_ping or conn.opened_at)
                        + keepalive.interval
                    )
                    if now >= due:
                        self._ping(conn)
                        continue
                    wake = min(wake, due)
            if self.max_connection_age is not None:
                due = conn.opened_at + self.max_connection_age
                if now >= due:
                    replacement = self._rotate(conn)
                    if replacement is not None:
                        conn = replacement
                    continue
                wake = min(wake, due)
            expiry = self._outbox.next_expiry()
            if expiry is not None:
                wake = min(wake, expiry)
            with self._cond:
                if (
                    self._stop_mode is None
                    and not conn.ended
                    and self._active is conn
                    and not self._flush_requested
                ):
                    self._flusher_ready = True
                    try:
                        self._cond.wait(max(0.0, wake - self._clock()))
                    finally:
                        self._flusher_ready = False
        code = conn.close_code if conn.close_code is not None else 1006
        reason = f"connection #{conn.number} closed: {code} {conn.close_reason}".strip()
        self._last_close = (code, conn.close_reason)
        with self._write_lock:
            if self._active is conn:
                self._active = None
        with self._cond:
            self._resubscribed = False
        self._connected_event.clear()
        logger.warning("%s: %s; reconnecting", self.name, reason)
        self._emit_error(reason, "connection")
        return reason

    def _ping(self, conn: Connection) -> None:
        conn.last_ping = self._clock()
        with self._write_lock:
            self._exclusive_locked()
            if self._active is not conn:
                return
            try:
                conn.write(_framing.build_control(_framing.OPCODE_PING))
            except OSError as exc:
                self._lose_locked(conn, f"ping failed: {exc}")

    def _rotate(self, old: Connection) -> Optional[Connection]:
        """Make-before-break: open, flush and resubscribe a new connection, then close ``old``."""
        logger.info(
            "%s: connection #%d reached max_connection_age (%g s); rotating",
            self.name,
            old.number,
            self.max_connection_age,
        )
        new, _failure = self._attempt(None)
        if new is None:
            # Try again later; the old connection still works. Push the deadline a little.
            old.opened_at = (
                self._clock()
                - (self.max_connection_age or 0)
                + min(5.0, (self.max_connection_age or 5.0) / 2)
            )
            return None
        old.retiring = True
        self._go_live(new, reconnected=True)
        self._send_close(old, 1000, "rotating")
        return new

    def _send_close(self, conn: Connection, code: int, reason: str) -> None:
        with self._write_lock:
            if self._active is conn:
                self._active = None
            self._exclusive_locked()
            if conn.close_sent or conn.ended:
                return
            conn.close_sent = True
            try:
                conn.write(_framing.build_close(code, reason))
            except OSError:
                conn.abort()

    def _abort(self, conn: Connection, code: int, reason: str) -> None:
        with self._write_lock:
            if self._active is conn:
                self._active = None
        conn.close_code, conn.close_reason = code, reason
        conn.abort()
        with self._cond:
            conn.ended = True

    def _shutdown_connections(self) -> None:
        """Close every connection (1000, then wait for the readers) as the supervisor stops."""
        with self._write_lock:
            active = self._active
            self._active = None
        deadline = self._clock() + _CLOSE_HANDSHAKE_TIMEOUT
        if active is not None:
            active.retiring = True
            self._send_close(active, 1000, "")
        for thread, conn in list(self._readers.values()):
            if thread is threading.current_thread():
                continue
            thread.join(max(0.0, deadline - self._clock()))
            if thread.is_alive():
                conn.abort()
                thread.join(1.0)

    def _expire_queued(self) -> None:
        if self.queue_policy.ttl is None:
            return
        with self._write_lock:
            expired = self._outbox.expire(self._clock())
            if expired:
                self._room.notify_all()
        if expired:
            ttl = self.queue_policy.ttl
            logger.warning("%s: %d queued message(s) expired", self.name, len(expired))
            _settle(
                [],
                [
                    (item, MessageExpiredError(f"{item.route}: still queued after ttl {ttl:g} s"))
                    for item in expired
                ],
            )

    def _first_failed(self, error: BaseException) -> None:
        self._first_outcome = error
        with self._cond:
            self._stop_mode = self._stop_mode or "disconnect"
            self._closed_reason = f"connecting failed: {error}"
        self._set_state(ConnectionState.FAILED)

    def _connect_error(self, reason: str, failure: Optional[HandshakeFailure]) -> ConnectError:
        """The exception for giving up, carrying the last attempt's status and cause."""
        status = failure.status if failure is not None else None
        cause = failure.cause if failure is not None else None
        url = self._display_url()
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

    def _give_up(self, reason: str, failure: Optional[HandshakeFailure], first: bool) -> None:
        error = self._connect_error(reason, failure)
        logger.error("%s: giving up: %s", self.name, reason)
        self._fail_reason = reason
        self._emit_error(
            f"giving up: {reason}",
            "auth" if isinstance(error, AuthError) else "connection",
            exception=error,
        )
        with self._cond:
            self._stop_mode = self._stop_mode or "disconnect"
            self._closed_reason = f"the client gave up reconnecting: {reason}"
        with self._write_lock:
            self._accepting = False
        self._set_state(ConnectionState.FAILED)
        if first:
            self._first_outcome = error

    # ------------------------------------------------------------------ reader

    def _read_loop(self, conn: Connection) -> None:
        self._sdk_threads.add(threading.get_ident())
        read_frame = conn.read_frame
        dispatch = self._dispatch
        try:
            while True:
                opcode, data = read_frame()
                if opcode == _framing.OPCODE_TEXT:
                    self._messages_in += 1
                    self._bytes_in += len(data)
                    try:
                        text = data.decode("utf-8")
                    except UnicodeDecodeError:
                        raw = data.decode("utf-8", "replace")
                        self._emit_error(f"Failed to parse received data {raw}", "parse", raw=raw)
                        continue
                    dispatch(text)
                elif opcode == _framing.OPCODE_BINARY:
                    self._ignored += 1
                elif opcode == _framing.OPCODE_PING:
                    with self._write_lock:
                        self._exclusive_locked()
                        if not conn.close_sent:
                            try:
                                conn.write(_framing.build_control(_framing.OPCODE_PONG, data))
                            except OSError as exc:
                                self._lose_locked(conn, f"pong failed: {exc}")
                elif opcode == _framing.OPCODE_CLOSE:
                    code, reason = parse_close(data)
                    conn.close_code, conn.close_reason = code, reason
                    with self._write_lock:
                        if self._active is conn:
                            self._active = None
                        self._exclusive_locked()
                        if not conn.close_sent:
                            conn.close_sent = True
                            with contextlib.suppress(OSError):
                                conn.write(_framing.build_close(code if code != 1005 else 1000))
                    break
        except Closed as closed:
            if conn.close_code is None:
                conn.close_code, conn.close_reason = closed.code, closed.reason
        except Exception as exc:  # pragma: no cover - a bug; report, end this connection
            logger.exception("%s: reader crashed", self.name)
            conn.close_code, conn.close_reason = 1011, f"reader error: {exc!r}"
        finally:
            with self._write_lock:
                if self._active is conn:
                    self._active = None
            conn.release()
            with self._cond:
                conn.ended = True
                self._cond.notify_all()
            self._readers.pop(conn.number, None)
            self._sdk_threads.discard(threading.get_ident())

    def _arrived(self, data: bytes) -> None:
        """Bytes were just read: start waking the threads blocked on an expectation whose
        route they contain, before the frames are decoded and dispatched.

        Waking a sleeping thread takes long (20-25 us on a virtual machine whose idle CPUs
        halt), so doing it now overlaps that with decoding and dispatching instead of adding
        to it. The woken thread goes back to sleep if its message was not among them.
        Expectations with a ``where`` filter are nudged only when no other thread is blocked:
        several threads each waiting for their own reply on one route would otherwise all be
        woken by every reply.
        """
        blocked = self._blocked
        if blocked:
            alone = len(blocked) == 1
            for expectation in tuple(blocked):
                if (alone or expectation._where is None) and expectation._needle in data:
                    expectation._nudge()

    def _needle(self, route: str) -> bytes:
        """``route`` as it appears in a frame: a JSON string (escapes included)."""
        needle = self._needles.get(route)
        if needle is None:
            needle = json.dumps(route).encode()
            if len(self._needles) < _PLAN_CACHE:
                self._needles[route] = needle
        return needle

    def _dispatch(self, text: str) -> None:
        routed = split_routed(text)
        if routed is not None:
            with self._dispatch_lock:
                self._dispatch_route(routed[0], routed[1], text)
            return
        message = classify(text)
        with self._dispatch_lock:
            if isinstance(message, RouteMessage):
                self._dispatch_route(message.route, message.payload, message.raw)
            elif isinstance(message, GatewayError):
                self._emit_error(
                    message.message,
                    "gateway",
                    connection_id=message.connection_id,
                    request_id=message.request_id,
                    raw=message.raw,
                )
            elif isinstance(message, Malformed):
                self._emit_error(message.message, message.kind, raw=message.raw)
            elif isinstance(message, Ignored):
                self._ignored += 1

    def _inbound_plan(self, route: str) -> tuple[str, Optional[Operation], Optional[Validator]]:
        """For an inbound route: the listeners' key, its operation, and the validator to run
        when the payload needs no more than validating (None: call :meth:`_decode_payload`)."""
        plan = self._plans.get(route)
        if plan is None:
            op = self.spec.find(route) if self.spec is not None else None
            key = op.route_key if op is not None else route
            validator: Optional[Validator] = None
            if op is not None and self._plain_decode and op.has_body and op.request_schema:
                validator = self._validator(op)
            plan = (key, op, validator)
            if op is not None or len(self._plans) < _PLAN_CACHE:
                self._plans[route] = plan
        return plan

    def _dispatch_route(self, route: str, payload: Any, raw: str) -> None:
        key, op, validator = self._inbound_plan(route)
        snapshot = self._registry.snapshot
        entries = snapshot(key)
        if entries:
            try:
                if op is None:
                    decoded = payload
                elif validator is not None and self.validate:
                    if payload is None:
                        raise ValidationError("payload is missing", route=op.route_key)
                    validator(payload)
                    decoded = payload
                else:
                    decoded = self._decode_payload(op, payload)
            except Exception as exc:
                self._emit_error(
                    f"{key}: received payload does not fit the model: {exc}",
                    "decode",
                    raw=raw,
                    route=key,
                    exception=exc,
                )
            else:
                for entry in entries:
                    try:
                        entry.callback(decoded)
                    except Exception as exc:
                        self._listener_failed(entry.callback, key, exc)
        for entry in snapshot(_ANY):
            self._call_listener(entry.callback, (key, payload), key)

    def _call_listener(
        self, callback: Callable[..., Any], args: tuple[Any, ...], route: str
    ) -> None:
        try:
            callback(*args)
        except Exception as exc:
            self._listener_failed(callback, route, exc)

    def _listener_failed(self, callback: Callable[..., Any], route: str, exc: Exception) -> None:
        logger.exception("%s: listener %r for %s raised", self.name, callback, route)
        self._emit_error(
            f"listener for {route} raised {type(exc).__name__}: {exc}",
            "listener",
            route=route,
            exception=exc,
        )

    # ------------------------------------------------------------------ hooks for subclasses

    def _encode_payload(self, op: Operation, payload: Any) -> Any:
        """Check ``payload`` against ``op``'s model and return the JSON value to send.

        Generated clients override this to unstructure their models first.
        """
        if payload is NO_PAYLOAD:
            if op.has_body and op.body_required:
                raise ValidationError("payload is required", route=op.route_key)
            return NO_PAYLOAD
        if not op.has_body:
            raise ValidationError("this operation takes no payload", route=op.route_key)
        if self.validate:
            validator = self._validator(op)
            try:
                validator(payload)
            except ValidationError as exc:
                raise ValidationError(exc.message, exc.path, route=op.route_key) from None
        return payload

    def _decode_payload(self, op: Operation, payload: Any) -> Any:
        """Check an inbound payload against ``op``'s model and return what listeners receive.

        Generated clients override this to structure the payload into their models. Raising
        here reports a ``decode`` error; the route's listeners are skipped.
        """
        if op.has_body and self.validate:
            if payload is None:
                raise ValidationError("payload is missing", route=op.route_key)
            self._validator(op)(payload)
        return payload

    def _validator(self, op: Operation) -> Validator:
        validator = self._validators.get(op.route_key)
        if validator is None:
            assert self.spec is not None
            assert op.request_schema is not None
            validator = compile_validator(op.request_schema, self.spec.schemas)
            self._validators[op.route_key] = validator
        return validator

    # ------------------------------------------------------------------ helpers

    def _outbound_operation(self, route: str) -> Optional[Operation]:
        if not isinstance(route, str) or not route:
            raise ValidationError(f"route must be a non-empty string, got {route!r}")
        spec = self.spec
        if spec is None:
            return None
        op = spec.find(route)
        if op is None:
            known = ", ".join(
                sorted(o.route_key for o in spec.operations if o.direction.client_sends)
            )
            raise ValidationError(f"unknown route {route!r}; the model's routes are: {known}")
        if not op.direction.client_sends:
            raise ValidationError(
                f"{op.route_key} is a server_to_client operation; the client cannot send it",
                route=op.route_key,
            )
        return op

    def _inbound_key(self, route: str) -> str:
        if not isinstance(route, str) or not route:
            raise ValueError(f"route must be a non-empty string, got {route!r}")
        if self.spec is not None:
            op = self.spec.find(route)
            if op is not None:
                return op.route_key
        return route

    def _set_state(self, state: ConnectionState) -> None:
        with self._cond:
            if self._state is state:
                return
            if self._state is ConnectionState.FAILED and state is ConnectionState.CLOSED:
                return
            if self._stop_requested and state not in _FINAL_STATES:
                return
            self._state = state
            self._cond.notify_all()
        logger.debug("%s: state %s", self.name, state.value)
        entries = self._registry.snapshot(_STATE)
        if entries:
            with self._dispatch_lock:
                for entry in entries:
                    self._call_safely(entry.callback, (state,), "state listener")

    def _emit_error(
        self,
        message: str,
        kind: ErrorKind,
        *,
        connection_id: Optional[str] = None,
        request_id: Optional[str] = None,
        raw: Optional[str] = None,
        route: Optional[str] = None,
        exception: Optional[BaseException] = None,
    ) -> None:
        entries = self._registry.snapshot(_ERROR)
        if not entries:
            if kind in ("gateway", "parse", "unexpected", "decode"):
                logger.warning("%s: %s", self.name, message)
            return
        event = ErrorEvent(
            message=message,
            kind=kind,
            connection_id=connection_id,
            request_id=request_id,
            raw=raw,
            route=route,
            exception=exception,
        )
        with self._dispatch_lock:
            for entry in entries:
                self._call_safely(entry.callback, (event,), "error listener")

    def _call_safely(self, callback: Callable[..., Any], args: tuple[Any, ...], what: str) -> None:
        try:
            callback(*args)
        except Exception as exc:
            logger.exception("%s: %s %r raised", self.name, what, callback)
            if what != "error listener":
                self._emit_error(
                    f"{what} raised {type(exc).__name__}: {exc}", "listener", exception=exc
                )

    def _on_sdk_thread(self) -> bool:
        return threading.get_ident() in self._sdk_threads

    def _check_blocking_allowed(self, what: str) -> None:
        if self._forked:
            self._check_fork()
        if self._on_sdk_thread():
            raise BlockingCallError(
                f"{what}() called on {threading.current_thread().name}: it would wait for the "
                "thread it runs on; call it from another thread, or use a listener instead"
            )

    def _display_url(self) -> str:
        return self.url.split("?", 1)[0]

    # ------------------------------------------------------------------ fork

    def _check_fork(self) -> None:
        if self._forked:
            raise ClientClosedError(
                f"{self.name} was created in process {self._pid} and cannot be used after "
                "os.fork(); create a new client in the child process"
            )

    def _after_fork_in_child(self) -> None:
        """In a forked child: forget the parent's socket and threads without touching them."""
        self._forked = True
        self._write_lock = threading.Lock()
        self._room = threading.Condition(self._write_lock)
        self._room_waiters = 0
        self._writing = False
        self._futures_lock = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        self._dispatch_lock = threading.RLock()
        self._active = None
        self._accepting = False
        self._supervisor = None
        self._readers = {}
        self._sdk_threads = set()

    def _forked_close(self) -> None:
        self._state = ConnectionState.CLOSED


_SPEC_CACHE_SIZE = 32
_spec_cache: dict[str, tuple[tuple[int, int, int], ApiSpec]] = {}
_spec_cache_lock = threading.Lock()


def _load_spec_file(source: Union[str, os.PathLike[str]]) -> ApiSpec:
    """``load_spec(source)``, shared by every client given the same file while it is unchanged.

    A model file is loaded (and its validators compiled) once, not once per client: 200 clients
    of one ``api.json`` share one :class:`ApiSpec`. The file is looked at again (``stat``) for
    every client; a changed modification time, size or inode loads it again. JSON text and
    anything that is not a regular file are loaded each time, as before.
    """
    try:
        path = os.path.realpath(source)
        info = os.stat(path)
    except (OSError, ValueError):  # JSON text, or no such file: load_spec says what is wrong
        return load_spec(source)
    if not stat.S_ISREG(info.st_mode):
        return load_spec(source)
    stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
    with _spec_cache_lock:
        cached = _spec_cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    spec = load_spec(source)
    with _spec_cache_lock:
        _spec_cache.pop(path, None)
        if len(_spec_cache) >= _SPEC_CACHE_SIZE:
            _spec_cache.pop(next(iter(_spec_cache)))
        _spec_cache[path] = (stamp, spec)
    return spec


def _settle(done: list[Outgoing], failed: list[tuple[Outgoing, BaseException]]) -> None:
    """Complete futures, outside every SDK lock (their callbacks are user code)."""
    for item in done:
        if not item.future.done():
            item.future.set_result(None)
    for item, error in failed:
        future = item.future
        if future.done():
            continue
        if not item.claim():
            continue
        future.set_exception(error)


class Expectation:
    """A registration for the next matching message, made before the send it answers.

    Use as ``with client.expect("SendGreeting") as reply: client.send(...)``, then
    ``reply.result(timeout)``. One-shot: it unregisters itself on the first match, on timeout
    and on :meth:`cancel`.
    """

    # Settled once, by whichever of the reader (a match) and cancel() gets ``_claim`` first.
    # ``_ready`` is a binary semaphore a waiter blocks on (the cheapest hand-off): released
    # when the expectation settles (and then left released, for every other waiter), and also
    # by the reader's early nudge (see WebSocketClient._arrived), after which a waiter that
    # finds nothing settled yet blocks on it again.
    _WAITING, _MATCHED, _CANCELLED = "waiting", "matched", "cancelled"

    def __init__(
        self, client: WebSocketClient, route: str, where: Optional[Callable[[Any], bool]]
    ) -> None:
        self._client = client
        self.route = route
        self._where = where
        self._state = Expectation._WAITING
        self._payload: Any = None
        self._needle = client._needle(route)
        self._claim = threading.Lock()
        self._ready = threading.Lock()
        self._ready.acquire()
        self._unlisten = client.on(route, self._offer)

    def _settle(self, state: str, payload: Any = None) -> bool:
        if not self._claim.acquire(blocking=False):
            return False
        self._payload = payload
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
        if self._state is not Expectation._WAITING:
            self._unlisten()  # settled already (and not yet read): stop listening now
            return
        if self._where is not None and not self._where(payload):
            return
        # Unregister after waking the waiter, not before: the waiter takes a while to be
        # scheduled, and this is done (and the interpreter lock free) by the time it runs.
        self._settle(Expectation._MATCHED, payload)
        self._unlisten()

    def result(self, timeout: Optional[float] = None) -> Any:
        """The matching message's payload; ``TimeoutError`` if none arrives in time."""
        if self._state is Expectation._WAITING:
            self._client._check_blocking_allowed("Expectation.result")
            self._wait(timeout)
        if self._state is Expectation._CANCELLED:
            raise CancelledError(f"the wait for {self.route} was cancelled")
        return self._payload

    def _wait(self, timeout: Optional[float]) -> None:
        """Block until settled (woken by the reader), or cancel and raise at the deadline."""
        ready = self._ready
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        blocked = self._client._blocked
        blocked[self] = None
        try:
            while True:
                remaining = -1.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
                woken = ready.acquire(True, remaining)
                if self._state is not Expectation._WAITING:
                    self._nudge()  # leave it released for any other waiter
                    return
                if not woken:
                    break
        finally:
            blocked.pop(self, None)
        self.cancel()
        if self._state is not Expectation._MATCHED:  # a match may have won the race
            raise TimeoutError(
                f"no {self.route} message within {timeout:g} s"
                if timeout is not None
                else f"no {self.route} message"
            )

    def done(self) -> bool:
        """True once a message matched or the wait was cancelled."""
        return self._state is not Expectation._WAITING

    def cancel(self) -> None:
        """Stop waiting."""
        self._unlisten()
        self._settle(Expectation._CANCELLED)

    def __enter__(self) -> Expectation:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.cancel()


class MessageStream(Iterator[Any]):
    """Messages of one route, buffered from creation; see :meth:`WebSocketClient.messages`."""

    _END = object()

    def __init__(self, client: WebSocketClient, route: str, timeout: Optional[float]) -> None:
        self._client = client
        self.route = route
        self.timeout = timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._unlisten = client.on(route, self._queue.put)
        self._unlisten_state = client.on_state_change(self._on_state)

    def _on_state(self, state: ConnectionState) -> None:
        if state in (ConnectionState.CLOSED, ConnectionState.FAILED):
            self._queue.put(self._END)

    def __iter__(self) -> MessageStream:
        return self

    def __next__(self) -> Any:
        if self._closed:
            raise StopIteration
        self._client._check_blocking_allowed("messages")
        try:
            item = self._queue.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise StopIteration from None
        if item is self._END:
            self.close()
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop buffering; iteration ends."""
        if not self._closed:
            self._closed = True
            self._unlisten()
            self._unlisten_state()

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _after_fork_in_child() -> None:
    for client in list(_live_clients):
        client._after_fork_in_child()


def _close_all_at_exit() -> None:
    """At interpreter exit, give live clients a short chance to flush: one shared deadline of
    ``_EXIT_FLUSH_TIMEOUT`` seconds for all of them, so many clients cannot add up."""
    deadline = time.monotonic() + _EXIT_FLUSH_TIMEOUT
    for client in list(_live_clients):
        if client._forked or client._stop_mode is not None or not client._started:
            continue
        try:
            client.close(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:  # pragma: no cover - never fail interpreter exit
            logger.debug("closing %s at exit failed", client.name, exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
