"""wsapi-client: a synchronous, threaded, typed client for WebSocket APIs modelled with ``x-async``.

The public API is what this module exports; everything in underscored modules is private.
"""

from wsapi_client._auth import AuthProvider, CustomAuth, IamAuth, NoAuth
from wsapi_client._client import Expectation, WebSocketClient
from wsapi_client._errors import (
    AuthError,
    ClientClosedError,
    ConnectError,
    MessageExpiredError,
    MessageTooLargeError,
    QueueFullError,
    SpecError,
    ValidationError,
    WsApiError,
)
from wsapi_client._events import ClientStats, ConnectionState, ErrorEvent
from wsapi_client._policies import Keepalive, QueuePolicy, ReconnectPolicy
from wsapi_client.spec import ApiSpec, Direction, Operation, load_spec

__version__ = "0.1.0"

__all__ = [
    "ApiSpec",
    "AuthError",
    "AuthProvider",
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
    "MessageTooLargeError",
    "NoAuth",
    "Operation",
    "QueueFullError",
    "QueuePolicy",
    "ReconnectPolicy",
    "SpecError",
    "ValidationError",
    "WebSocketClient",
    "WsApiError",
    "__version__",
    "load_spec",
]
