"""WebSocketClient: the public facade over the runtime's parts.

It composes, and owns nothing but configuration:

- :class:`~wsapi_client._dispatcher.Dispatcher`: listeners, route plans, validators, waiters,
  error and state events;
- :class:`~wsapi_client._writer.Writer`: the outbound queue, the write token, control frames;
- :class:`~wsapi_client._supervisor.Control`: the lifecycle state machine under its condition,
  shared with the supervisor;
- :class:`~wsapi_client._supervisor.Supervisor`: the supervisor and reader threads.

Threads (DESIGN §3): every public method may be called from any thread. ``start()`` runs the
supervisor thread, which starts one reader thread per connection; listeners run on a reader,
state and error listeners on the thread that raised the event. ``close()`` and ``disconnect()``
return within their timeout in every state. Each part's module says which lock guards what.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
from time import perf_counter
from typing import Any, Callable, ClassVar, Optional, TypeVar, Union, overload
from urllib.parse import urlsplit

from wsapi_client import _framing, _process
from wsapi_client._auth import AuthProvider, NoAuth, redact_url
from wsapi_client._body import NO_PAYLOAD, check_inbound_body, check_outbound_body
from wsapi_client._control import Control
from wsapi_client._dispatcher import ANY, ERROR, RECONNECT, STATE, Dispatcher
from wsapi_client._errors import (
    BlockingCallError,
    ClientClosedError,
    MessageTooLargeError,
    ValidationError,
    WsApiError,
)
from wsapi_client._events import ClientStats, ConnectionState, ErrorEvent
from wsapi_client._futures import SendFuture, fail
from wsapi_client._lifecycle import StopMode
from wsapi_client._listeners import Unlisten
from wsapi_client._outbox import Outgoing
from wsapi_client._policies import Keepalive, QueuePolicy, ReconnectPolicy
from wsapi_client._supervisor import Settings, Supervisor
from wsapi_client._waiters import Expectation, MessageStream
from wsapi_client._writer import Writer
from wsapi_client.protocol import encode
from wsapi_client.spec import ApiSpec, Operation
from wsapi_client.spec._cache import resolve_spec

__all__ = ["PUBLIC_ATTRIBUTES", "Expectation", "MessageStream", "WebSocketClient"]

_C = TypeVar("_C", bound="WebSocketClient")
_F = TypeVar("_F", bound=Callable[..., Any])
_KEEPALIVE_DEFAULT = Keepalive()
_INBOUND_DEFAULT = 128 * 1024
_names = itertools.count(1)

SpecSource = Union[ApiSpec, str, "os.PathLike[str]", Mapping[str, Any]]

PUBLIC_ATTRIBUTES = frozenset(
    {
        "url",
        "name",
        "spec",
        "auth",
        "reconnect_policy",
        "queue_policy",
        "keepalive",
        "max_connection_age",
        "max_frame_size",
        "max_message_size",
        "max_inbound_message_size",
        "connect_timeout",
        "validate",
        "logger",
    }
)
"""The public attributes ``__init__`` sets: generated methods must not take these names."""


def _check_url(url: object) -> str:
    """``url`` if it is a usable ws:// or wss:// URL, else ``ValueError`` saying why."""
    if not isinstance(url, str):
        raise ValueError(f"url must be a str, got {type(url).__name__}")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"invalid url {shown!r}: {exc}") from None
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url {shown!r} has an invalid port: {exc}") from None
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"url must start with ws:// or wss://, got {shown!r}")
    if not parts.hostname:
        raise ValueError(f"url {shown!r} has no host")
    if port == 0:
        raise ValueError(f"url {shown!r} has port 0")
    return url


class WebSocketClient:
    """A client for a WebSocket API: connect, send, listen; reconnects by itself.

    Create one with :meth:`connect`, which blocks until the first connection is up::

        client = WebSocketClient.connect(url, spec="api.json", auth=IamAuth())

    or construct it, register listeners, and call :meth:`start`. Every method is safe to call
    from any thread; listeners run on the client's reader thread.
    """

    spec_document: ClassVar[Optional[Mapping[str, Any]]] = None
    """The embedded model of a generated client (the ``.api.json`` document)."""

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
        max_inbound_message_size: Optional[int] = _INBOUND_DEFAULT,
        connect_timeout: float = 10.0,
        name: Optional[str] = None,
        replace: bool = False,
        validate: bool = True,
        sslopt: Optional[Mapping[str, Any]] = None,
        logger: Optional[logging.Logger] = None,
        clock: Callable[[], float] = time.monotonic,
        random: Optional[Callable[[], float]] = None,
    ) -> None:
        self.url = _check_url(url)
        for label, value in (
            ("max_connection_age", max_connection_age),
            ("max_frame_size", max_frame_size),
            ("max_message_size", max_message_size),
            ("max_inbound_message_size", max_inbound_message_size),
        ):
            if value is not None and (isinstance(value, bool) or value <= 0):
                raise ValueError(f"{label} must be None or > 0, got {value!r}")
        if connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be > 0, got {connect_timeout!r}")
        self.name = name or f"client-{next(_names)}"
        self.spec: Optional[ApiSpec] = resolve_spec(type(self), spec)
        self.auth: AuthProvider = auth if auth is not None else NoAuth()
        self.reconnect_policy = reconnect if reconnect is not None else ReconnectPolicy()
        self.queue_policy = queue if queue is not None else QueuePolicy()
        self.keepalive = keepalive
        self.max_connection_age = max_connection_age
        self.max_frame_size = max_frame_size
        self.max_message_size = max_message_size
        self.max_inbound_message_size = max_inbound_message_size
        self.connect_timeout = connect_timeout
        self.validate = validate
        self.logger = logger if logger is not None else logging.getLogger("wsapi_client")
        self._clock = clock
        self._batch = threading.local()
        self._pid = os.getpid()
        self._forked = False
        if name is not None:
            _process.close_namesakes(self, replace)

        self._dispatcher = Dispatcher(
            self.spec,
            name=self.name,
            logger=self.logger,
            decode=self._decode_payload,
            plain_decode=type(self)._decode_payload is WebSocketClient._decode_payload,
            validate=validate,
        )
        supervisor: Optional[Supervisor] = None
        self._writer = Writer(
            self.queue_policy,
            name=self.name,
            clock=clock,
            perf=perf_counter,
            logger=self.logger,
            wake_supervisor=lambda: self._control.wake(),  # noqa: PLW0108 (_control is next)
            hold_helper=lambda: supervisor is not None and supervisor.hold_helper(),
            helper_ready=lambda: supervisor is not None and supervisor.idle,
            on_sdk_thread=lambda: self._control.on_sdk_thread(),  # noqa: PLW0108
        )
        self._control = Control(self._dispatcher, self._writer, self.logger, self.name, clock)
        settings = Settings(
            name=self.name,
            url=url,
            display_url=self._display_url(),
            auth=self.auth,
            reconnect=self.reconnect_policy,
            keepalive=keepalive,
            max_connection_age=max_connection_age,
            connect_timeout=connect_timeout,
            max_inbound_message_size=max_inbound_message_size,
            sslopt=dict(sslopt) if sslopt else None,
        )
        supervisor = Supervisor(settings, self._control, clock=clock, random=random)
        self._supervisor = supervisor
        _process.register(self)

    @classmethod
    def connect(cls: type[_C], url: str, *, timeout: Optional[float] = 10.0, **options: Any) -> _C:
        """Create a client and block until it is connected.

        Raises :class:`ConnectError` (with the cause: HTTP status, refused, DNS, TLS, timeout)
        or :class:`AuthError` (401/403) when no connection is made within ``timeout``; retryable
        failures are retried inside it by the reconnect policy. An interrupt (Ctrl-C) or any
        other exception leaves nothing running.
        """
        client = cls(url, **options)
        client.start(timeout=timeout)
        return client

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: Optional[float] = 10.0) -> None:
        """Start the supervisor and wait for the first connection (see :meth:`connect`).

        Raises :class:`ClientClosedError` after ``close()``, :class:`WsApiError` if the client
        was started already.
        """
        self._check_fork()
        self._control.start(self._supervisor.run, timeout, self._display_url())

    def close(self, timeout: Optional[float] = 10.0) -> None:
        """Flush the queue, close the connection with 1000 and stop every SDK thread.

        Idempotent, and returns within ``timeout`` in every state. Messages still queued when
        ``timeout`` runs out fail with :class:`ClientClosedError`. From a listener it only
        starts the close (a thread cannot wait for itself).
        """
        self._stop("close", timeout)

    def disconnect(self, timeout: float = 5.0) -> None:
        """Stop at once: no flush; queued messages fail with :class:`ClientClosedError`."""
        self._stop("disconnect", timeout)

    def _stop(self, mode: StopMode, timeout: Optional[float]) -> None:
        if not self._forked:
            self._control.stop(mode, timeout)

    def _final_error(self) -> Optional[ClientClosedError]:
        return self._control.final_error()

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState`."""
        return self._control.lifecycle.state

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters: messages and bytes in/out, queue, reconnects, close."""
        writer, dispatcher, control = self._writer, self._dispatcher, self._control
        queued, queued_bytes = (0, 0) if self._forked else writer.queue_size()
        active = writer.active
        code, reason = control.last_close
        return ClientStats(
            messages_in=dispatcher.messages_in,
            messages_out=writer.messages_out,
            bytes_in=dispatcher.bytes_in,
            bytes_out=writer.bytes_out,
            ignored_frames=dispatcher.ignored,
            queued=queued,
            queued_bytes=queued_bytes,
            reconnects=control.reconnects,
            last_close_code=code,
            last_close_reason=reason,
            connection_age=self._clock() - active.opened_at if active is not None else None,
        )

    def __repr__(self) -> str:
        stats = self.stats
        return (
            f"<{type(self).__name__} {self.name} {self._display_url()} {self.state.value} "
            f"queued={stats.queued} in={stats.messages_in} out={stats.messages_out} "
            f"reconnects={stats.reconnects}>"
        )

    def _repr_html_(self) -> str:
        """The client in a notebook: state, redacted URL, queue and counters."""
        return self.stats.html(
            type(self).__name__, name=self.name, url=self._display_url(), state=self.state.value
        )

    # ------------------------------------------------------------------ sending

    def send(self, route: str, payload: Any = NO_PAYLOAD) -> Future[None]:
        """Validate, encode and write (or queue) one message; returns a Future.

        Never blocks on the socket (only ``QueuePolicy(overflow="block")`` waits for room). The
        future completes when the message has been handed to the kernel on a connection, or
        fails with :class:`QueueFullError`, :class:`MessageExpiredError` or
        :class:`ClientClosedError`. Validation and size errors are raised here, before
        anything is queued. ``route`` may be the route key, the operationId or the TypeScript
        client's name.
        """
        item = self._prepare(route, payload)
        pending = self._batch.__dict__.get("items")
        if pending is not None:
            pending.append(item)
        else:
            self._writer.submit([item], alone=True)
        return item.future

    def send_many(self, messages: Iterable[tuple[str, Any]]) -> list[Future[None]]:
        """Send several ``(route, payload)`` messages, written together in as few socket calls
        as possible. Every message is validated before any is queued; with the ``raise``
        overflow policy the queue takes all of them or none."""
        items = [self._prepare(route, payload) for route, payload in messages]
        if items:
            self._writer.submit(items, atomic=True)
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
                    self._writer.submit(items)
                except WsApiError as exc:
                    fail((item, exc) for item in items)

    def _prepare(self, route: str, payload: Any) -> Outgoing:
        """Validate and encode one message into ready-to-write frames."""
        if self._forked:
            self._check_fork()
        op = self._dispatcher.outbound_operation(route)
        wire_route = op.route_key if op is not None else route
        body = self._encode_payload(op, payload) if op is not None else payload
        data = encode(wire_route, body).encode("utf-8")
        limit = self.max_message_size
        if limit is not None and len(data) > limit:
            raise MessageTooLargeError(len(data), limit)
        frames = _framing.build_message(data, _framing.OPCODE_TEXT, self.max_frame_size)
        return Outgoing(frames, SendFuture(self._writer), wire_route, self._clock())

    def flush(self, timeout: Optional[float] = None) -> None:
        """Block until every queued message has been written. :class:`WaitTimeout` at the
        timeout, :class:`ClientClosedError` when the client is (or becomes) closed or failed."""
        self._check_blocking_allowed("flush")
        error = self._final_error()
        if error is not None:
            raise error
        self._writer.flush(timeout, self._final_error)

    # ------------------------------------------------------------------ listening

    @overload
    def on(self, route: str, callback: Callable[[Any], None]) -> Unlisten: ...

    @overload
    def on(self, route: str, callback: None = None) -> Callable[[_F], _F]: ...

    def on(
        self, route: str, callback: Optional[Callable[[Any], None]] = None
    ) -> Union[Unlisten, Callable[[_F], _F]]:
        """Call ``callback(payload)`` for every message of ``route``; returns an unlisten callable.

        ``route`` may be the route key (``SendGreeting``), the PDK server SDK's name, the
        operationId or the TypeScript client's name; with a model, a route the server can never
        send raises :class:`ValidationError`. Without ``callback`` it is a decorator
        (``@client.on("SendGreeting")``), which returns the function unchanged.
        """
        key = self._dispatcher.inbound_key(route)
        if callback is None:

            def register(function: _F) -> _F:
                self._dispatcher.add(key, function)
                return function

            return register
        return self._dispatcher.add(key, callback)

    def on_any_message(self, callback: Callable[[str, Any], None]) -> Unlisten:
        """Call ``callback(route, payload)`` for every routed message, known route or not."""
        return self._dispatcher.add(ANY, callback)

    def on_error(self, callback: Callable[[ErrorEvent], None]) -> Unlisten:
        """Call ``callback(event)`` for gateway error frames, undecodable data, listener errors
        and connection problems; see :class:`ErrorEvent`."""
        return self._dispatcher.add(ERROR, callback)

    def on_state_change(self, callback: Callable[[ConnectionState], None]) -> Unlisten:
        """Call ``callback(new_state)`` on every :class:`ConnectionState` change."""
        return self._dispatcher.add(STATE, callback)

    def with_reconnect(self, callback: Callable[[], None]) -> Unlisten:
        """Run ``callback()`` now if connected, and after every reconnect (after the queue has
        been flushed): the place to (re)subscribe."""
        control = self._control
        with control.cond:
            unlisten = self._dispatcher.add(RECONNECT, callback)
            run_now = control.resubscribed
        if run_now:
            self._dispatcher.call_safely(callback, (), "with_reconnect callback")
        return unlisten

    def wait_for(
        self,
        route: str,
        *,
        where: Optional[Callable[[Any], bool]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Block until a message of ``route`` (matching ``where``) arrives after this call.

        Raises :class:`WaitTimeout`, or :class:`ClientClosedError` when the client closes. To
        catch the reply to something you send, use :meth:`expect`, which is registered before
        the send and cannot miss a fast reply.
        """
        self._check_blocking_allowed("wait_for")
        with self.expect(route, where=where) as expectation:
            return expectation.result(timeout)

    def expect(self, route: str, *, where: Optional[Callable[[Any], bool]] = None) -> Expectation:
        """Register now for the next message of ``route``; read it later with ``.result()``."""
        return Expectation(self._dispatcher, route, where, self._check_blocking_allowed)

    def messages(self, route: str, *, timeout: Optional[float] = None) -> MessageStream:
        """An iterator over messages of ``route``, buffered from this call on.

        Iteration stops when no message arrives within ``timeout`` seconds (None: no limit);
        when the client closes, the buffered messages come first, then
        :class:`ClientClosedError`. Close it (or use ``with``) to stop buffering.
        """
        return MessageStream(self._dispatcher, route, timeout, self._check_blocking_allowed)

    def wait_until_connected(self, timeout: Optional[float] = None) -> None:
        """Block until the client is connected; :class:`WaitTimeout` or
        :class:`ClientClosedError`."""
        self._check_blocking_allowed("wait_until_connected")
        self._control.wait_connected(timeout)

    # ------------------------------------------------------------------ hooks for subclasses

    def _encode_payload(self, op: Operation, payload: Any) -> Any:
        """Check ``payload`` against ``op``'s model and return the JSON value to send.

        Generated clients override this to unstructure their models first.
        """
        if not check_outbound_body(op, payload):
            return payload
        if self.validate:
            try:
                self._dispatcher.validator(op)(payload)
            except ValidationError as exc:
                raise ValidationError(exc.message, exc.path, route=op.route_key) from None
        return payload

    def _decode_payload(self, op: Operation, payload: Any) -> Any:
        """Check an inbound payload against ``op``'s model and return what listeners receive.

        Generated clients override this to structure the payload into their models. Raising
        here reports a ``decode`` error; the route's listeners are skipped.
        """
        if check_inbound_body(op, payload) and self.validate:
            self._dispatcher.validator(op)(payload)
        return payload

    # ------------------------------------------------------------------ helpers

    def _check_blocking_allowed(self, what: str) -> None:
        if self._forked:
            self._check_fork()
        if self._control.on_sdk_thread():
            raise BlockingCallError(
                f"{what}() called on {threading.current_thread().name}: it would wait for the "
                "thread it runs on; call it from another thread, or use a listener instead"
            )

    def _display_url(self) -> str:
        return redact_url(self.url)

    def _check_fork(self) -> None:
        if self._forked:
            raise ClientClosedError(
                f"{self.name} was created in process {self._pid} and cannot be used after "
                "os.fork(); create a new client in the child process"
            )

    def _after_fork_in_child(self) -> None:
        """In a forked child: forget the parent's socket and threads without touching them
        (their locks may have been held by threads that do not exist here)."""
        self._forked = True
        control = Control(self._dispatcher, self._writer, self.logger, self.name, self._clock)
        control.lifecycle.stop("disconnect")
        control.lifecycle.closed_reason = (
            f"{self.name} was created in process {self._pid} and cannot be used after os.fork()"
        )
        self._control = control

    def _needs_closing_at_exit(self) -> bool:
        lifecycle = self._control.lifecycle
        return not self._forked and lifecycle.started and not lifecycle.stopping
