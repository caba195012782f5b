"""The handshake side of ``LocalGateway``: accepting TCP connections and answering ``$connect``.

A mixin of ``LocalGateway``.  Threads: ``_accept_loop`` and ``_admit`` run on the accept thread
(``wsapi-emulator-accept``), which creates one :class:`GatewayConnection` per TCP connection;
``_handshake``, ``_handshake_hung``, ``_admit_handshake`` and ``_check_iam`` run on that
connection's own thread once its handshake request has been read, and so do the ``$connect``
hooks (a Lambda authorizer or ``$connect`` function runs on the Lambda pool while that thread
waits).  Locks: the gateway's ``_cond`` guards the connection tables (``_all``,
``_connections``) and the fault queues (``_refuse``, ``_hang_pending``); it is never held
while user code runs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import parse_qsl

from websockets.http11 import Request, Response

from wsapi_client.emulator._connection import GatewayConnection
from wsapi_client.emulator._ids import IdSource
from wsapi_client.emulator._integrations import LambdaRuntime, Refusal
from wsapi_client.emulator._records import ConnectRequest, Deny, HandshakeRecord, HeaderMap
from wsapi_client.emulator._sigv4 import Identity, SignatureError, verify_sigv4_target
from wsapi_client.emulator._throttle import TOO_MANY_REQUESTS, TokenBucket

__all__ = ["ConnectHook", "Handshakes"]

_log = logging.getLogger("wsapi_client.emulator")

ConnectHook = Callable[[ConnectRequest], None]

_FORBIDDEN = '{"message":"Forbidden"}'
_INTERNAL_ERROR = '{"message": "Internal server error"}'


class Handshakes:
    """Accept loop, handshake checks (stage, throttle, SigV4, authorizer, hooks), registration."""

    _cond: threading.Condition
    _all: set[GatewayConnection]
    _connections: dict[str, GatewayConnection]
    _refuse: list[tuple[int, str]]
    _hang_pending: int
    _numbers: itertools.count[int]
    _listener: Optional[socket.socket]
    _selector: Optional[selectors.BaseSelector]
    _wake: Optional[tuple[socket.socket, socket.socket]]
    _ids: IdSource
    _lambda: LambdaRuntime
    _connection_bucket: Optional[TokenBucket]
    _connect_hooks: list[ConnectHook]
    stage: str
    iam_keys: dict[str, str]
    iam_region: Optional[str]
    iam_session_tokens: Optional[dict[str, str]]
    idle_timeout: float
    max_connection_age: float
    close_timeout: float
    max_frame_size: int
    max_message_size: int

    if TYPE_CHECKING:
        # Implemented by the other parts of LocalGateway; a connection calls them on its host.

        def _log_handshake(self, record: HandshakeRecord) -> None: ...

        def _notify(self) -> None: ...

        def _on_ping(self, conn: GatewayConnection) -> None: ...

        def _dispatch(self, conn: GatewayConnection, data: Union[str, bytes]) -> None: ...

        def _connection_closed(self, conn: GatewayConnection) -> None: ...

    def _accept_loop(self) -> None:
        assert self._selector is not None
        assert self._listener is not None
        assert self._wake is not None
        wake = self._wake[0]
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is wake:
                    return
                try:
                    sock, address = self._listener.accept()
                except OSError:
                    continue
                self._admit(sock, address)

    def _admit(self, sock: socket.socket, address: Any) -> None:
        sock.setblocking(True)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._cond:
            hang = self._hang_pending > 0
            if hang:
                self._hang_pending -= 1
            conn = GatewayConnection(
                self,
                sock,
                address,
                number=next(self._numbers),
                hang=hang,
                max_frame_size=self.max_frame_size,
                max_message_size=self.max_message_size,
            )
            self._all.add(conn)
        conn.start()

    def _handshake_hung(self, conn: GatewayConnection, request: Request) -> None:
        path, query, headers = _parse_request(request)
        self._log_handshake(
            HandshakeRecord(
                path=path,
                query=query,
                headers=headers,
                status=None,
                at=time.time(),
                reason="hung by hang_next()",
            )
        )

    def _handshake(self, conn: GatewayConnection, request: Request) -> None:
        """Answer one handshake like API Gateway's ``$connect``; logged before it is answered."""
        path, query, headers = _parse_request(request)
        conn.user_agent = headers.get("User-Agent", "")
        conn.handshake_at_wall = time.time()
        response, reason = self._admit_handshake(conn, request, path, query, headers)
        status = response.status_code
        self._log_handshake(
            HandshakeRecord(
                path=path,
                query=query,
                headers=headers,
                status=status,
                at=time.time(),
                connection_id=conn.connection_id,
                reason=reason,
            )
        )
        if status != 101:
            _log.info("handshake refused with %d: %s", status, reason)
            conn.send_response(response)
            return
        connection_id = conn.connection_id
        assert connection_id is not None
        with self._cond:
            self._connections[connection_id] = conn
            conn.muted = False
        conn.send_response(response, register=True)
        self._notify()
        _log.info(
            "(%s) Client [Connection Id: %s] connected from %s",
            self._ids.request_id(),
            connection_id,
            conn.source_ip,
        )

    def _admit_handshake(
        self,
        conn: GatewayConnection,
        request: Request,
        path: str,
        query: Mapping[str, str],
        headers: HeaderMap,
    ) -> tuple[Response, str]:
        """The response to a handshake (101 to accept) and why it was refused."""

        def refuse(status: int, body: str, reason: str) -> tuple[Response, str]:
            response = conn.protocol.reject(status, body)
            if body.startswith("{"):
                response.headers["Content-Type"] = "application/json"
            return response, reason

        with self._cond:
            refusal = self._refuse.pop(0) if self._refuse else None
        if refusal is not None:
            return refuse(refusal[0], refusal[1], "refused by refuse_next()")
        if path.rstrip("/") != f"/{self.stage}":
            return refuse(403, _FORBIDDEN, f"no stage at {path!r}")
        if self._connection_bucket is not None and not self._connection_bucket.take():
            body = json.dumps({"message": TOO_MANY_REQUESTS})
            return refuse(429, body, "connection rate exceeded (connection_rate)")
        identity: Optional[Identity] = None
        if self.iam_keys:
            try:
                identity = self._check_iam(request, headers)
            except SignatureError as exc:
                return refuse(403, _FORBIDDEN, f"SigV4 {exc}")
        response = conn.protocol.accept(request)
        if response.status_code != 101:
            return response, response.body.decode("utf-8", "replace").strip()
        connection_id = self._ids.connection_id()
        conn.connection_id = connection_id
        items = _query_items(request)
        if self._lambda.authorizer is not None:
            authorized = self._lambda.authorize(conn.lambda_info(), headers, items)
            if isinstance(authorized, Refusal):
                return refuse(authorized.status, authorized.body, authorized.reason)
            conn.authorizer = authorized
        connect = ConnectRequest(
            connection_id=connection_id,
            headers=headers,
            query=query,
            path=path,
            source_ip=conn.source_ip,
            identity=identity,
            query_items=tuple(items),
        )
        for hook in list(self._connect_hooks):
            try:
                hook(connect)
            except Deny as deny:
                body = json.dumps({"message": deny.message})
                return refuse(deny.status, body, f"denied by a $connect hook: {deny}")
            except Exception:
                _log.exception("$connect hook failed for %s", connection_id)
                return refuse(500, _INTERNAL_ERROR, "a $connect hook raised")
        if self._lambda.get("$connect") is not None:
            result = self._lambda.connect(conn.lambda_info(), headers, items, conn.authorizer)
            if isinstance(result, Refusal):
                return refuse(result.status, result.body, result.reason)
            if result.subprotocol is not None:
                response.headers["Sec-WebSocket-Protocol"] = result.subprotocol
        return response, ""

    def _check_iam(self, request: Request, headers: HeaderMap) -> Identity:
        """Who signed the handshake (SigV4, header or query form); raises SignatureError."""
        return verify_sigv4_target(
            "GET",
            request.path,
            headers.raw_items(),
            keys=self.iam_keys,
            now=datetime.now(timezone.utc),
            region=self.iam_region,
            session_tokens=self.iam_session_tokens,
        )


def _parse_request(request: Request) -> tuple[str, dict[str, str], HeaderMap]:
    path, _, query_string = request.path.partition("?")
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    return path, query, HeaderMap(request.headers.raw_items())


def _query_items(request: Request) -> list[tuple[str, str]]:
    """Every query parameter in order, repeated names kept (for multi-value maps)."""
    return parse_qsl(request.path.partition("?")[2], keep_blank_values=True)
