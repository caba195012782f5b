"""wsapi-client: a synchronous, threaded, typed client for WebSocket APIs modelled with ``x-async``.

The public API is what this module exports; everything in underscored modules is private.
Names are imported on first use (PEP 562), so ``import wsapi_client.spec`` or the command line's
``--help`` do not pay for the runtime's imports.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# A library logs and lets the application decide where records go (as urllib3 and websockets
# do): without this, Python's last-resort handler would print WARNING and up to stderr.
logging.getLogger("wsapi_client").addHandler(logging.NullHandler())

_EXPORTS: dict[str, str] = {
    "AuthProvider": "wsapi_client._auth",
    "CustomAuth": "wsapi_client._auth",
    "IamAuth": "wsapi_client._auth",
    "NoAuth": "wsapi_client._auth",
    "PreparedRequest": "wsapi_client._auth",
    "redact_headers": "wsapi_client._auth",
    "redact_url": "wsapi_client._auth",
    "Expectation": "wsapi_client._waiters",
    "MessageStream": "wsapi_client._waiters",
    "WebSocketClient": "wsapi_client._client",
    "AuthError": "wsapi_client._errors",
    "BlockingCallError": "wsapi_client._errors",
    "ClientClosedError": "wsapi_client._errors",
    "ConnectError": "wsapi_client._errors",
    "MessageExpiredError": "wsapi_client._errors",
    "MessageTooLargeError": "wsapi_client._errors",
    "QueueFullError": "wsapi_client._errors",
    "SpecError": "wsapi_client._errors",
    "ValidationError": "wsapi_client._errors",
    "WaitCancelled": "wsapi_client._errors",
    "WaitTimeout": "wsapi_client._errors",
    "WriteInterruptedError": "wsapi_client._errors",
    "WsApiError": "wsapi_client._errors",
    "ClientStats": "wsapi_client._events",
    "ConnectionState": "wsapi_client._events",
    "ErrorEvent": "wsapi_client._events",
    "Keepalive": "wsapi_client._policies",
    "QueuePolicy": "wsapi_client._policies",
    "ReconnectPolicy": "wsapi_client._policies",
    "ApiSpec": "wsapi_client.spec",
    "Direction": "wsapi_client.spec",
    "Operation": "wsapi_client.spec",
    "load_spec": "wsapi_client.spec",
}

__all__ = [
    "ApiSpec",
    "AuthError",
    "AuthProvider",
    "BlockingCallError",
    "ClientClosedError",
    "ClientStats",
    "ConnectError",
    "ConnectionState",
    "CustomAuth",
    "Direction",
    "ErrorEvent",
    "Expectation",
    "IamAuth",
    "Keepalive",
    "MessageExpiredError",
    "MessageStream",
    "MessageTooLargeError",
    "NoAuth",
    "Operation",
    "PreparedRequest",
    "QueueFullError",
    "QueuePolicy",
    "ReconnectPolicy",
    "SpecError",
    "ValidationError",
    "WaitCancelled",
    "WaitTimeout",
    "WebSocketClient",
    "WriteInterruptedError",
    "WsApiError",
    "__version__",
    "load_spec",
    "redact_headers",
    "redact_url",
]

if TYPE_CHECKING:
    from wsapi_client._auth import (
        AuthProvider,
        CustomAuth,
        IamAuth,
        NoAuth,
        PreparedRequest,
        redact_headers,
        redact_url,
    )
    from wsapi_client._client import WebSocketClient
    from wsapi_client._errors import (
        AuthError,
        BlockingCallError,
        ClientClosedError,
        ConnectError,
        MessageExpiredError,
        MessageTooLargeError,
        QueueFullError,
        SpecError,
        ValidationError,
        WaitCancelled,
        WaitTimeout,
        WriteInterruptedError,
        WsApiError,
    )
    from wsapi_client._events import ClientStats, ConnectionState, ErrorEvent
    from wsapi_client._policies import Keepalive, QueuePolicy, ReconnectPolicy
    from wsapi_client._waiters import Expectation, MessageStream
    from wsapi_client.spec import ApiSpec, Direction, Operation, load_spec


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'wsapi_client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
