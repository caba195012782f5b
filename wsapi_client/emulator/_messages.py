"""The message side of ``LocalGateway``: routing, integrations, records and ``$disconnect``.

A mixin of ``LocalGateway``.  Threads: ``_dispatch`` and what it calls (``_integrate`` with the
:meth:`~LocalGateway.route` handler, ``_invoke``, ``_reject``) run on the connection's own
thread, one message at a time in arrival order; a Lambda function runs on the Lambda pool, and
its ``settled`` callback on the worker (or the timeout watchdog) that settled it.
``_connection_closed`` runs on the connection's thread as it ends, after its socket is closed.
Locks: the gateway's ``_cond`` guards the records and counters and the connection tables
(``_all``, ``_connections``); it is notified on every change and never held while a handler,
hook or Lambda function runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from wsapi_client.emulator._connection import GatewayConnection
from wsapi_client.emulator._ids import IdSource
from wsapi_client.emulator._integrations import LambdaRuntime
from wsapi_client.emulator._records import DisconnectRecord, ReceivedMessage
from wsapi_client.emulator._routes import RouteTable
from wsapi_client.emulator._throttle import TOO_MANY_REQUESTS, TokenBucket

__all__ = ["DisconnectHook", "Handler", "Messages"]

_log = logging.getLogger("wsapi_client.emulator")

Handler = Callable[[str, Any], None]
"""A route integration: ``handler(connection_id, payload)``; runs on the connection's thread."""

DisconnectHook = Callable[[str], None]

_MOCK_RESPONSE = '{"statusCode":200}'
_NOT_JSON: Any = object()


def _error_frame(message: str, connection_id: str, request_id: str) -> str:
    """An API Gateway error frame, spaced exactly as the service sends it."""
    return (
        f'{{"message": {json.dumps(message)}, "connectionId":{json.dumps(connection_id)}, '
        f'"requestId":{json.dumps(request_id)}}}'
    )


class Messages:
    """Route a message, run its integration, record it; record a connection's end."""

    _cond: threading.Condition
    _all: set[GatewayConnection]
    _connections: dict[str, GatewayConnection]
    _received: list[ReceivedMessage]
    _rejected: list[ReceivedMessage]
    _route_counts: dict[str, int]
    _message_count: int
    _disconnects: list[DisconnectRecord]
    _ids: IdSource
    _lambda: LambdaRuntime
    _routes: RouteTable
    _handlers: dict[str, Handler]
    _message_bucket: Optional[TokenBucket]
    _disconnect_hooks: list[DisconnectHook]
    log_frames: bool
    validate: bool
    mock_integrations: bool
    record_messages: bool

    if TYPE_CHECKING:
        # Implemented by Recording, another part of LocalGateway.

        def _record(self, message: ReceivedMessage) -> None: ...

    def _dispatch(self, conn: GatewayConnection, data: Union[str, bytes]) -> None:
        """Route one message, run its integration and record it (the hot path)."""
        connection_id = conn.connection_id
        assert connection_id is not None
        request_id = self._ids.request_id()
        if self._message_bucket is not None and not self._message_bucket.take():
            self._reject(conn, None, data, request_id, TOO_MANY_REQUESTS)
            return
        body: Any = _NOT_JSON
        if isinstance(data, str):
            with contextlib.suppress(ValueError):
                body = json.loads(data)
        key = body.get("route") if isinstance(body, dict) else None
        route = self._routes.get(key) if isinstance(key, str) else None
        if self.log_frames:
            _log.info(
                "(%s) WebSocket Request Route: [%s] Connection Id: %s, body: %.200r",
                request_id,
                route.key if route else "$default",
                connection_id,
                data,
            )
        if route is None:
            if self._lambda.get("$default") is not None:
                payload = data if body is _NOT_JSON else body
                self._invoke(conn, "$default", data, payload, request_id)
                return
            default = self._handlers.get("$default")
            if default is None:
                self._reject(
                    conn, key if isinstance(key, str) else None, data, request_id, "Forbidden"
                )
                return
            payload = data if body is _NOT_JSON else body
            self._integrate(conn, "$default", default, payload, raw=data, request_id=request_id)
            return
        if self.validate and route.validator is not None and not route.validator(body):
            self._reject(conn, route.key, data, request_id, "Invalid request body")
            return
        if self._lambda.get(route.key) is not None:
            self._invoke(conn, route.key, data, body.get("payload"), request_id)
            return
        handler = self._handlers.get(route.key)
        payload = body.get("payload")
        self._integrate(conn, route.key, handler, payload, raw=data, request_id=request_id)
        if handler is None and self.mock_integrations:
            # The PDK's MockIntegrations.mockAll(): the mock's response is sent as a frame.
            conn.send_message(_MOCK_RESPONSE)

    def _invoke(
        self,
        conn: GatewayConnection,
        route: str,
        data: Union[str, bytes],
        payload: Any,
        request_id: str,
    ) -> None:
        """Run a route's Lambda function; record the message once it has settled.

        Sequential (the default): this connection's next message waits until the function
        returned or timed out.  With ``concurrent_handlers`` it does not wait.
        """
        connection_id = conn.connection_id
        assert connection_id is not None

        def settled(error: Optional[str]) -> None:
            if error is not None:
                conn.send_message(_error_frame(error, connection_id, request_id))
            self._record(
                ReceivedMessage(connection_id, route, payload, data, time.time(), request_id, error)
            )

        invocation = self._lambda.message(
            conn.lambda_info(),
            route,
            data,
            request_id=request_id,
            authorizer=conn.authorizer,
            settled=settled,
        )
        if not self._lambda.concurrent:
            invocation.wait()

    def _integrate(
        self,
        conn: GatewayConnection,
        route: str,
        handler: Optional[Handler],
        payload: Any,
        *,
        raw: Union[str, bytes],
        request_id: str,
    ) -> None:
        connection_id = conn.connection_id
        assert connection_id is not None
        error = None
        if handler is not None:
            try:
                handler(connection_id, payload)
            except Exception:
                _log.exception("(%s) handler of route %s raised", request_id, route)
                error = "Internal server error"
                conn.send_message(_error_frame(error, connection_id, request_id))
        message = ReceivedMessage(
            connection_id, route, payload, raw, time.time(), request_id, error
        )
        with self._cond:
            self._message_count += 1
            if self.record_messages:
                self._received.append(message)
            self._route_counts[route] = self._route_counts.get(route, 0) + 1
            self._cond.notify_all()
        if self.log_frames:
            _log.info("(%s) Method completed with status: %s", request_id, 500 if error else 200)

    def _reject(
        self,
        conn: GatewayConnection,
        route: Optional[str],
        raw: Union[str, bytes],
        request_id: str,
        error: str,
    ) -> None:
        connection_id = conn.connection_id
        assert connection_id is not None
        conn.send_message(_error_frame(error, connection_id, request_id))
        message = ReceivedMessage(connection_id, route, None, raw, time.time(), request_id, error)
        with self._cond:
            if self.record_messages:
                self._rejected.append(message)
            self._cond.notify_all()
        if self.log_frames:
            _log.info("(%s) %s (route %s)", request_id, error, route)

    def _connection_closed(self, conn: GatewayConnection) -> None:
        connection_id = conn.connection_id
        record = None
        if conn.registered and connection_id is not None:
            code, reason, initiated_by = conn.close_outcome()
            record = DisconnectRecord(
                connection_id=connection_id,
                code=code,
                reason=reason,
                initiated_by=initiated_by,
                at=time.time(),
            )
            if self._lambda.get("$disconnect") is not None:
                self._lambda.disconnect(conn.lambda_info(), code, reason, conn.authorizer)
            for hook in list(self._disconnect_hooks):
                try:
                    hook(connection_id)
                except Exception:
                    _log.exception("$disconnect hook failed for %s", connection_id)
            _log.info(
                "Client [Connection Id: %s] disconnected: %d %s (closed by %s)",
                connection_id,
                code,
                reason,
                initiated_by,
            )
        with self._cond:
            if record is not None and self.record_messages:
                self._disconnects.append(record)
            self._all.discard(conn)
            if connection_id is not None and self._connections.get(connection_id) is conn:
                del self._connections[connection_id]
            self._cond.notify_all()
