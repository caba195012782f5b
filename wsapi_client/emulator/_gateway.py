"""LocalGateway: Amazon API Gateway's WebSocket behaviour on loopback, for tests and demos.

This module holds the gateway's configuration, lifecycle, integration registry and the sending
side; the connection side is in ``_handshakes`` (accept and ``$connect``) and ``_messages``
(routing, integrations, ``$disconnect``), what tests see in ``_recording`` and ``_faults``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar, Union

from wsapi_client._errors import MessageTooLargeError
from wsapi_client.emulator._authorizer import RequestAuthorizer
from wsapi_client.emulator._backend import ConnectionDescription
from wsapi_client.emulator._faults import FaultControls
from wsapi_client.emulator._handshakes import ConnectHook, Handshakes
from wsapi_client.emulator._ids import IdSource
from wsapi_client.emulator._integrations import LambdaRuntime
from wsapi_client.emulator._lambda import ApiInfo, LambdaHandler
from wsapi_client.emulator._management import ManagementServer
from wsapi_client.emulator._messages import DisconnectHook, Handler, Messages
from wsapi_client.emulator._recording import Recording
from wsapi_client.emulator._records import GoneError, ThrottledError
from wsapi_client.emulator._routes import RouteTable
from wsapi_client.emulator._throttle import TokenBucket
from wsapi_client.spec._model import ApiSpec

__all__ = ["Handler", "LocalGateway"]

_log = logging.getLogger("wsapi_client.emulator")

F = TypeVar("F", bound=Callable[..., Any])

_ENDPOINT_ENV = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"
_SPECIAL_ROUTES = ("$connect", "$disconnect", "$default")
_OMITTED: Any = object()
_STOP_GRACE = 0.3  # seconds stop() gives clients to answer the closing handshake


def _coerce_spec(spec: Union[ApiSpec, str, os.PathLike[str], Mapping[str, Any]]) -> ApiSpec:
    if isinstance(spec, ApiSpec):
        return spec
    from wsapi_client.spec import load_spec

    loaded: ApiSpec = load_spec(spec if isinstance(spec, Mapping) else Path(spec))
    return loaded


class LocalGateway(Recording, FaultControls, Handshakes, Messages):
    """API Gateway for a WebSocket API model, on loopback, in background threads.

    ``with LocalGateway(spec) as gw:`` serves ``gw.url`` (WebSocket) and ``gw.callback_url``
    (the ``@connections`` management API, for boto3's ``endpoint_url``).  Messages are routed
    on ``$request.body.route`` to the model's ``client_to_server``/``bidirectional``
    operations, validated with the PDK's request models, handed to the handler registered
    with :meth:`route` (a route without handler accepts and records, like a deployed
    integration that returns nothing), and recorded in :attr:`received`.  Functions written
    for Lambda are bound with :meth:`lambda_route` and :meth:`set_authorizer`.

    Threads: one accepting connections, one per connection (which also runs the :meth:`route`
    handlers for that connection's messages, in order), one for the management API plus one
    per open management connection, and for Lambda functions a pool of workers plus one
    watchdog for the integration timeout.  All are named ``wsapi-emulator-...`` and
    :meth:`stop` joins them (waiting for running integrations up to their timeout).
    """

    def __init__(
        self,
        spec: Union[ApiSpec, str, os.PathLike[str], Mapping[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "default",
        iam_keys: Optional[Mapping[str, str]] = None,
        idle_timeout: float = 600.0,
        max_connection_age: float = 7200.0,
        max_frame_size: int = 32 * 1024,
        max_message_size: int = 128 * 1024,
        validate: bool = True,
        log_frames: bool = False,
        callback_port: int = 0,
        close_timeout: float = 2.0,
        record_messages: bool = True,
        region: Optional[str] = None,
        account_id: str = "123456789012",
        api_id: Optional[str] = None,
        iam_session_tokens: Optional[Mapping[str, str]] = None,
        integration_timeout: float = 29.0,
        concurrent_handlers: bool = False,
        mock_integrations: bool = False,
        connection_rate: Optional[float] = None,
        message_rate: Optional[float] = None,
        export_env: bool = False,
    ) -> None:
        if not stage or "/" in stage:
            raise ValueError(f"stage must be a non-empty name without '/', not {stage!r}")
        if idle_timeout <= 0 or max_connection_age <= 0:
            raise ValueError("idle_timeout and max_connection_age must be positive seconds")
        if not 0 < max_frame_size <= max_message_size:
            raise ValueError("need 0 < max_frame_size <= max_message_size")
        self.spec = _coerce_spec(spec)
        self.host = host
        self.stage = stage
        self.iam_keys: dict[str, str] = dict(iam_keys or {})
        self.idle_timeout = float(idle_timeout)
        self.max_connection_age = float(max_connection_age)
        self.close_timeout = float(close_timeout)
        self.max_frame_size = max_frame_size
        self.max_message_size = max_message_size
        self.validate = validate
        self.log_frames = log_frames
        self.record_messages = record_messages
        self.region = region or "us-east-1"
        self.iam_region = region
        """The region SigV4 signatures must name (None: any), from ``region``."""
        self.iam_session_tokens: Optional[dict[str, str]] = (
            None if iam_session_tokens is None else dict(iam_session_tokens)
        )
        self.account_id = account_id
        self.api_id = api_id or _api_id()
        self.mock_integrations = mock_integrations
        self.export_env = export_env
        self._connection_bucket = None if connection_rate is None else TokenBucket(connection_rate)
        self._message_bucket = None if message_rate is None else TokenBucket(message_rate)
        self._saved_env: dict[str, Optional[str]] = {}
        self._requested_port = port
        self._callback_port = callback_port
        self._routes = RouteTable.from_spec(self.spec, validate=True)
        self._ids = IdSource()
        self._handlers: dict[str, Handler] = {}
        self._lambda = LambdaRuntime(
            self._ids,
            timeout=integration_timeout,
            concurrent=concurrent_handlers,
            region=self.region,
            account_id=account_id,
        )
        self._connect_hooks: list[ConnectHook] = []
        self._disconnect_hooks: list[DisconnectHook] = []

        self._cond = threading.Condition(threading.RLock())
        self._connections = {}
        self._all = set()
        self._init_recording()
        self._refuse: list[tuple[int, str]] = []
        self._hang_pending = 0
        self._answer_pings = True
        self._numbers = itertools.count(1)

        self._listener: Optional[socket.socket] = None
        self._selector: Optional[selectors.BaseSelector] = None
        self._wake: Optional[tuple[socket.socket, socket.socket]] = None
        self._accept_thread: Optional[threading.Thread] = None
        self._management: Optional[ManagementServer] = None
        self._port = 0
        self._started = False

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> LocalGateway:
        """Bind both ports and start serving; returns self."""
        if self._started:
            raise RuntimeError("this LocalGateway is already started")
        listener = socket.create_server((self.host, self._requested_port))
        try:
            listener.setblocking(False)
            management = ManagementServer(self, self.host, self._callback_port)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._management = management
        self._wake = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(self._wake[0], selectors.EVENT_READ)
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="wsapi-emulator-accept", daemon=True
        )
        self._started = True
        self._lambda.api = ApiInfo(
            api_id=self.api_id,
            region=self.region,
            account_id=self.account_id,
            stage=self.stage,
            domain_name=f"{_url_host(self.host)}:{management.port}",
        )
        if self.export_env:
            self._export_env()
        self._accept_thread.start()
        management.start()
        _log.info("emulator serving %s (management API %s)", self.url, self.callback_url)
        return self

    def stop(self) -> None:
        """Close every connection with 1001, stop both servers and join every thread.

        Clients get ``_STOP_GRACE`` seconds to answer the closing handshake; then their
        sockets are shut down.  Idempotent.
        """
        if not self._started:
            return
        self._started = False
        assert self._wake is not None
        assert self._accept_thread is not None
        with contextlib.suppress(OSError):
            self._wake[1].send(b"x")
        self._accept_thread.join()
        for closable in (self._selector, self._listener, *self._wake):
            if closable is not None:
                closable.close()
        if self._management is not None:
            self._management.stop()
        with self._cond:
            conns = list(self._all)
        for conn in conns:
            if not conn.close(1001, "Going away", force_write=True):
                conn.shutdown()
        deadline = time.monotonic() + _STOP_GRACE
        for conn in conns:
            conn.thread.join(max(0.0, deadline - time.monotonic()))
        for conn in conns:
            if conn.thread.is_alive():
                conn.shutdown()
        for conn in conns:
            conn.thread.join()
        self._lambda.invoker.stop(grace=max(self.close_timeout, 1.0))
        self._restore_env()
        _log.info("emulator stopped")

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def _summary(self) -> tuple[str, int, int, int]:
        """(where it serves or "stopped", open connections, routed messages, rejected ones)."""
        with self._cond:
            counts = (len(self._connections), self._message_count, len(self._rejected))
        where = f"serving {self.url}" if self._started else "stopped"
        return (where, *counts)

    def __repr__(self) -> str:
        """What a notebook cell or a debugger should show: the model, the URL, the counters."""
        where, connections, messages, rejected = self._summary()
        return (
            f"<LocalGateway {self.spec.title!r} {self.spec.version} {where}: "
            f"{connections} connection(s), {messages} message(s), {rejected} rejected>"
        )

    def _repr_html_(self) -> str:
        """The same as a small table, for Jupyter."""
        from html import escape

        where, connections, messages, rejected = self._summary()
        rows = [("state", where), ("connections", connections), ("messages", messages)]
        rows.append(("rejected", rejected))
        if self._started:
            rows.append(("callback URL", self.callback_url))
        cells = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
            for k, v in rows
        )
        title = escape(f"LocalGateway: {self.spec.title} {self.spec.version}")
        return f"<table><caption>{title}</caption>{cells}</table>"

    @property
    def port(self) -> int:
        """The WebSocket port (known once started)."""
        return self._port

    @property
    def url(self) -> str:
        """The WebSocket URL of the stage, ``ws://127.0.0.1:PORT/default``."""
        self._require_started()
        return f"ws://{_url_host(self.host)}:{self._port}/{self.stage}"

    @property
    def callback_url(self) -> str:
        """The management API endpoint for boto3 (``endpoint_url``), ``http://HOST:PORT2/stage``."""
        self._require_started()
        assert self._management is not None
        return f"http://{_url_host(self.host)}:{self._management.port}/{self.stage}"

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError("the LocalGateway is not started; use `with gw:` or gw.start()")

    # --- integrations -------------------------------------------------------------------

    def route(self, name: str, handler: Optional[Handler] = None) -> Callable[[F], F]:
        """Register the integration of a route: ``@gw.route("SayHello")``.

        ``name`` is a route key of the model (or the PDK server name of the same operation),
        or ``"$default"``, which then receives every message no route matches (with the whole
        parsed body, or the raw text or bytes when the body is not JSON) instead of the
        ``Forbidden`` error frame.  A later registration replaces an earlier one.
        """
        key = self._route_key(name)

        def register(fn: F) -> F:
            self._handlers[key] = fn
            self._lambda.functions.pop(key, None)
            return fn

        if handler is not None:
            register(handler)
        return register

    def remove_route(self, name: str) -> None:
        """Forget the handler of a route (it goes back to accept-and-record)."""
        self._handlers.pop(self._route_key(name), None)

    def _route_key(self, name: str) -> str:
        if name == "$default":
            return name
        if name in self._routes:
            return name
        op = self.spec.find(name)
        if op is not None and op.route_key in self._routes:
            return op.route_key
        if op is not None:
            raise ValueError(
                f"{name!r} is a {op.direction.value} operation: API Gateway has no route for it"
            )
        known = ", ".join(self._routes.route_keys()) or "(none)"
        raise ValueError(f"no route {name!r} in the model; routes: {known}, $default")

    def on_connect(self, fn: ConnectHook) -> ConnectHook:
        """Add a ``$connect`` hook; it may raise :class:`Deny` to refuse the handshake."""
        self._connect_hooks.append(fn)
        return fn

    def on_disconnect(self, fn: DisconnectHook) -> DisconnectHook:
        """Add a ``$disconnect`` hook, called with the connection id once it has closed."""
        self._disconnect_hooks.append(fn)
        return fn

    def lambda_route(self, name: str, handler: Optional[LambdaHandler] = None) -> Callable[[F], F]:
        """Bind a function written for Lambda, ``handler(event, context)``, to a route.

        ``name`` is a route key (or operation name) of the model, ``"$connect"``,
        ``"$disconnect"`` or ``"$default"``.  The function gets API Gateway's WebSocket proxy
        event and a Lambda-like context; a route's return value is not sent to the client
        (the PDK configures no route responses); a ``$connect`` function refuses the
        handshake with a non-2xx ``statusCode``.  It replaces a :meth:`route` handler of the
        same route.  Usable as a decorator.
        """
        key = name if name in _SPECIAL_ROUTES else self._route_key(name)

        def register(fn: F) -> F:
            self._lambda.bind(key, fn)
            self._handlers.pop(key, None)
            return fn

        if handler is not None:
            register(handler)
        return register

    def set_authorizer(self, function: LambdaHandler, identity_sources: Sequence[str] = ()) -> None:
        """Guard ``$connect`` with a Lambda REQUEST authorizer.

        ``identity_sources`` are ``route.request.header.NAME`` or
        ``route.request.querystring.NAME``: a handshake lacking one is refused with 401
        without calling the function.  The returned policy must allow ``execute-api:Invoke``
        on ``arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/$connect``; its
        ``principalId`` and ``context`` become ``requestContext.authorizer`` of every later
        event of the connection.  A route has one authorization type, so this cannot be
        combined with ``iam_keys``.
        """
        if self.iam_keys:
            raise ValueError("$connect has one authorization type: iam_keys or an authorizer")
        self._lambda.authorizer = RequestAuthorizer(function, tuple(identity_sources))

    @property
    def lambda_routes(self) -> list[str]:
        """The routes bound to Lambda functions, sorted."""
        return sorted(self._lambda.functions)

    @property
    def integration_timeout(self) -> float:
        """Seconds an integration may run before the client gets ``Endpoint request timed out``."""
        return self._lambda.timeout

    def _export_env(self) -> None:
        """Point boto3's ``apigatewaymanagementapi`` clients of this process at the emulator."""
        values = {_ENDPOINT_ENV: self.callback_url}
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if not os.environ.get(name):
                values[name] = self.region
        for name, value in values.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    # --- sending to clients -------------------------------------------------------------

    def post_to_connection(self, connection_id: str, route: str, payload: Any = _OMITTED) -> None:
        """Send ``{"route": route, "payload": payload}`` to a client, as the PDK server SDK does.

        ``payload`` left out gives ``{"route": route}``.  Raises :class:`GoneError` for an
        unknown or closed connection and ``MessageTooLargeError`` above ``max_message_size``.
        """
        message: dict[str, Any] = {"route": route}
        if payload is not _OMITTED:
            message["payload"] = payload
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        self._post(connection_id, data, fragment=True)

    def send_raw(self, connection_id: str, data: Union[str, bytes]) -> None:
        """Send one frame exactly as given (text for ``str``, binary for ``bytes``), unchecked."""
        conn = self._connections.get(connection_id)
        if conn is None or not conn.send_message(data, fragment=False):
            raise GoneError(connection_id)

    def _post(self, connection_id: str, data: Union[str, bytes], *, fragment: bool) -> None:
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        if size > self.max_message_size:
            raise MessageTooLargeError(size, self.max_message_size)
        conn = self._connections.get(connection_id)
        if conn is None or not conn.send_message(data, fragment=fragment):
            raise GoneError(connection_id)
        # Messages to the client count as activity for the idle timeout.
        conn.last_active = time.monotonic()
        if self.log_frames:
            _log.info("(%s) Sent %d bytes to the client", connection_id, size)

    # --- management API backend (called on management threads) ------------------------

    def new_request_id(self) -> str:
        """A fresh request id, as the management API's ``x-amzn-RequestId``."""
        return self._ids.request_id()

    def post_data(self, connection_id: str, data: Union[str, bytes]) -> None:
        """What ``POST @connections/{id}`` does: send ``data`` (continuation frames if long).

        Raises ``GoneError``, ``MessageTooLargeError``, or ``ThrottledError`` when the
        ``message_rate`` throttle is empty.
        """
        if self._message_bucket is not None and not self._message_bucket.take():
            raise ThrottledError("message")
        self._post(connection_id, data, fragment=True)

    def describe_connection(self, connection_id: str) -> ConnectionDescription:
        """What ``GET @connections/{id}`` answers; GoneError for an unknown or closed id."""
        conn = self._connections.get(connection_id)
        if conn is None or not conn.is_open:
            raise GoneError(connection_id)
        return ConnectionDescription(
            connected_at=conn.connected_at_wall,
            last_active_at=conn.last_active_wall,
            source_ip=conn.source_ip,
            user_agent=conn.user_agent,
        )


def _api_id() -> str:
    """Ten lowercase letters and digits, like an API Gateway API id."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in os.urandom(10))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
