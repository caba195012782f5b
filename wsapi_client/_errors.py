"""The exception hierarchy: every error the SDK raises derives from :class:`WsApiError`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import CancelledError
from typing import Optional, Union

__all__ = [
    "AuthError",
    "BlockingCallError",
    "ClientClosedError",
    "ConnectError",
    "MessageExpiredError",
    "MessageTooLargeError",
    "QueueFullError",
    "SpecError",
    "ValidationError",
    "WaitCancelled",
    "WaitTimeout",
    "WriteInterruptedError",
    "WsApiError",
    "format_path",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MapKey(str):
    """A path segment that is a key of a map (``additionalProperties``), not a property."""

    __slots__ = ()


def format_path(segments: Sequence[Union[str, int]]) -> str:
    """``["legs", 2, "symbol"]`` -> ``legs[2].symbol``; a map key or odd name -> ``["key"]``.

    How a :class:`ValidationError` names a field, wherever it was found."""
    parts: list[str] = []
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif not isinstance(segment, MapKey) and _IDENTIFIER.match(segment):
            parts.append(f".{segment}" if parts else segment)
        else:
            parts.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(parts)


class WsApiError(Exception):
    """Base class of every error raised by wsapi-client."""


class SpecError(WsApiError):
    """The API model is malformed; ``pointer`` is the JSON pointer of the problem."""

    def __init__(self, message: str, pointer: str = "", source: Optional[str] = None) -> None:
        self.pointer = pointer
        self.source = source
        where = f" at {pointer}" if pointer else ""
        origin = f" in {source}" if source else ""
        super().__init__(f"{message}{where}{origin}")
        self.message = message


class ValidationError(WsApiError, ValueError):
    """A payload does not fit the model; ``path`` names the field (``legs[2].symbol``)."""

    def __init__(self, message: str, path: str = "", route: Optional[str] = None) -> None:
        self.path = path
        self.route = route
        self.message = message
        parts = []
        if route:
            parts.append(f"{route}: ")
        if path:
            parts.append(f"{path}: ")
        parts.append(message)
        super().__init__("".join(parts))


class ConnectError(WsApiError):
    """A connection could not be established; ``status`` is the HTTP status when there was one.

    ``url`` is the connection URL with any signature or credential query parameters redacted.
    """

    def __init__(
        self,
        message: str,
        *,
        url: Optional[str] = None,
        status: Optional[int] = None,
        cause: Optional[BaseException] = None,
    ) -> None:
        self.url = url
        self.status = status
        self.cause = cause
        self.message = message
        super().__init__(message)


class AuthError(ConnectError):
    """The handshake was refused as unauthorised (HTTP 401 or 403), or signing failed."""


class ClientClosedError(WsApiError):
    """The client was closed, disconnected or gave up before the operation could complete.

    ``code`` and ``reason`` are the WebSocket close code and reason when a close caused it
    (None otherwise, e.g. after ``close()`` on a client that was never connected).
    """

    def __init__(
        self,
        message: str = "the client is closed",
        *,
        code: Optional[int] = None,
        reason: Optional[str] = None,
    ) -> None:
        self.message = message
        self.code = code
        self.reason = reason
        super().__init__(message)


class WaitTimeout(WsApiError, TimeoutError):
    """A blocking helper (``wait_for``, ``result``, ``flush``, ``wait_until_connected``) ran out
    of time. Both ``except WsApiError`` and ``except TimeoutError`` catch it."""


class WaitCancelled(WsApiError, CancelledError):
    """The wait was cancelled (``Expectation.cancel()``) before a message matched. Both
    ``except WsApiError`` and ``except concurrent.futures.CancelledError`` catch it."""


class MessageTooLargeError(WsApiError, ValueError):
    """A message exceeds the configured maximum size; nothing was written."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"message of {size} bytes exceeds the limit of {limit} bytes")


class QueueFullError(WsApiError):
    """The outbound queue is at its limit and the overflow policy refused the message."""


class MessageExpiredError(WsApiError):
    """A queued message outlived the queue's ``ttl`` before it could be written."""


class WriteInterruptedError(WsApiError):
    """An interrupt (``KeyboardInterrupt``) hit the thread that was writing this message: it may
    or may not have reached the server, so it is not sent again (that could duplicate it)."""


class BlockingCallError(WsApiError, RuntimeError):
    """A blocking helper (``wait_for``, ``flush``, ...) was called on an SDK thread, where it
    would wait for the very thread it runs on."""
