"""Lambda proxy integration events and contexts, shaped like the ones API Gateway sends.

A handler written for Lambda, ``handler(event, context)``, is bound to a WebSocket route; this
module builds its ``event`` (the WebSocket proxy event: ``requestContext``, ``body``,
``isBase64Encoded``, and the handshake's headers and query on ``$connect``) and its ``context``
(:class:`LambdaContext`), and reads what a ``$connect`` handler returned.  docs/emulator.md lists
each field against the service's documentation and says where the emulator guesses.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Union

import attrs

from wsapi_client.emulator._records import HeaderMap

__all__ = [
    "ApiInfo",
    "ConnectResult",
    "LambdaContext",
    "LambdaHandler",
    "authorizer_event",
    "connect_event",
    "disconnect_event",
    "message_event",
    "read_connect_result",
]

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], Any]
"""A function written for Lambda: ``handler(event, context)``."""


@attrs.frozen(kw_only=True)
class ApiInfo:
    """Where the API is deployed, for ARNs and ``requestContext`` (``domainName``, ``apiId``)."""

    api_id: str
    region: str
    account_id: str
    stage: str
    domain_name: str

    def method_arn(self, route_key: str) -> str:
        """``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{routeKey}``."""
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:"
            f"{self.api_id}/{self.stage}/{route_key}"
        )


@attrs.frozen(kw_only=True)
class ConnectionInfo:
    """What every event of one connection repeats: its id, when it opened, who it is."""

    connection_id: str
    connected_at: float
    source_ip: str
    user_agent: str


class LambdaContext:
    """The context object a Python Lambda handler receives (the attributes handlers read).

    ``get_remaining_time_in_millis()`` counts down from the integration timeout, so a handler
    that budgets its time sees the 29 s API Gateway allows (or the emulator's scaled value).
    """

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        region: str,
        account_id: str,
        timeout: float,
        memory_limit_in_mb: int = 128,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = (
            f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{aws_request_id.replace('=', '')}"
        )
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the integration times out (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, "
            f"function_name={self.function_name!r})"
        )


def _request_time(at: float) -> str:
    """``09/Feb/2024:18:11:43 +0000``, the CLF form of ``requestContext.requestTime``."""
    return datetime.fromtimestamp(at, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _request_context(
    api: ApiInfo,
    conn: ConnectionInfo,
    *,
    route_key: str,
    event_type: str,
    request_id: str,
    extended_request_id: str,
    authorizer: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    now = time.time()
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": extended_request_id,
        "requestTime": _request_time(now),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": int(conn.connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": conn.connection_id,
        "apiId": api.api_id,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def _handshake_fields(headers: HeaderMap, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``headers``/``multiValueHeaders`` and the query maps; a repeated name's last value wins
    in the single-value maps, as in REST proxy events (not documented for WebSocket APIs)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers.raw_items():
        key = next((k for k in multi if k.lower() == name.lower()), name)
        single[key] = value
        multi.setdefault(key, []).append(value)
    fields: dict[str, Any] = {"headers": single, "multiValueHeaders": multi}
    if query:
        params: dict[str, str] = {}
        multi_params: dict[str, list[str]] = {}
        for name, value in query:
            params[name] = value
            multi_params.setdefault(name, []).append(value)
        fields["queryStringParameters"] = params
        fields["multiValueQueryStringParameters"] = multi_params
    return fields


def connect_event(
    api: ApiInfo,
    conn: ConnectionInfo,
    *,
    headers: HeaderMap,
    query: Sequence[tuple[str, str]],
    request_id: str,
    extended_request_id: str,
    authorizer: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    """The ``$connect`` event: handshake headers and query, no body."""
    event = _handshake_fields(headers, query)
    event["requestContext"] = _request_context(
        api,
        conn,
        route_key="$connect",
        event_type="CONNECT",
        request_id=request_id,
        extended_request_id=extended_request_id,
        authorizer=authorizer,
    )
    event["isBase64Encoded"] = False
    return event


def message_event(
    api: ApiInfo,
    conn: ConnectionInfo,
    *,
    route_key: str,
    data: Union[str, bytes],
    message_id: str,
    request_id: str,
    extended_request_id: str,
    authorizer: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    """A message event: ``body`` is the frame's text (binary frames base64-encoded)."""
    context = _request_context(
        api,
        conn,
        route_key=route_key,
        event_type="MESSAGE",
        request_id=request_id,
        extended_request_id=extended_request_id,
        authorizer=authorizer,
    )
    context["messageId"] = message_id
    if isinstance(data, bytes):
        return {
            "requestContext": context,
            "body": base64.b64encode(data).decode("ascii"),
            "isBase64Encoded": True,
        }
    return {"requestContext": context, "body": data, "isBase64Encoded": False}


def disconnect_event(
    api: ApiInfo,
    conn: ConnectionInfo,
    *,
    code: int,
    reason: str,
    request_id: str,
    extended_request_id: str,
    authorizer: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    """The ``$disconnect`` event: the close frame's status code and reason, no body."""
    context = _request_context(
        api,
        conn,
        route_key="$disconnect",
        event_type="DISCONNECT",
        request_id=request_id,
        extended_request_id=extended_request_id,
        authorizer=authorizer,
    )
    context["disconnectStatusCode"] = code
    context["disconnectReason"] = reason
    return {"requestContext": context, "isBase64Encoded": False}


def authorizer_event(
    api: ApiInfo,
    conn: ConnectionInfo,
    *,
    headers: HeaderMap,
    query: Sequence[tuple[str, str]],
    request_id: str,
    extended_request_id: str,
) -> dict[str, Any]:
    """The input of a REQUEST authorizer on ``$connect`` (``type``, ``methodArn``, ...)."""
    event: dict[str, Any] = {"type": "REQUEST", "methodArn": api.method_arn("$connect")}
    event.update(_handshake_fields(headers, query))
    event["stageVariables"] = {}
    event["requestContext"] = _request_context(
        api,
        conn,
        route_key="$connect",
        event_type="CONNECT",
        request_id=request_id,
        extended_request_id=extended_request_id,
        authorizer=None,
    )
    return event


@attrs.frozen
class ConnectResult:
    """How a ``$connect`` handler's return value answers the handshake."""

    status: int
    subprotocol: Optional[str] = None


def read_connect_result(value: Any) -> ConnectResult:
    """A ``$connect`` return value: a dict with ``statusCode`` (and ``headers``), or None.

    None, or a dict without ``statusCode``, accepts (the emulator's reading; the service
    documents only that a non-2xx status refuses).  ``headers["Sec-WebSocket-Protocol"]``
    selects the subprotocol.
    """
    if not isinstance(value, Mapping):
        return ConnectResult(200)
    status = value.get("statusCode", 200)
    try:
        code = int(status)
    except (TypeError, ValueError):
        return ConnectResult(500)
    headers = value.get("headers")
    subprotocol = None
    if isinstance(headers, Mapping):
        for name, header in headers.items():
            if str(name).lower() == "sec-websocket-protocol" and header:
                subprotocol = str(header)
    return ConnectResult(code, subprotocol)
