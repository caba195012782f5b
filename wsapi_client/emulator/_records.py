"""Values the emulator hands to tests and hooks: what was received, who connected, and how."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional, Union

import attrs

from wsapi_client._auth import redact_headers, redact_query_value
from wsapi_client._errors import WsApiError
from wsapi_client.emulator._sigv4 import Identity

__all__ = [
    "ConnectRequest",
    "Deny",
    "DisconnectRecord",
    "GoneError",
    "HandshakeRecord",
    "HeaderMap",
    "ReceivedMessage",
    "ThrottledError",
]


class HeaderMap(Mapping[str, str]):
    """Read-only HTTP headers: case-insensitive lookups, original names when iterated.

    A repeated header keeps its values joined with ``", "``, as HTTP allows; ``get_all``
    returns them one by one.
    """

    __slots__ = ("_items", "_lower")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        lower: dict[str, tuple[str, str]] = {}
        for name, value in self._items:
            key = name.lower()
            if key in lower:
                first_name, first_value = lower[key]
                lower[key] = (first_name, f"{first_value}, {value}")
            else:
                lower[key] = (name, value)
        self._lower = lower

    def __getitem__(self, name: str) -> str:
        return self._lower[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._lower.values())

    def __len__(self) -> int:
        return len(self._lower)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in the order received."""
        key = name.lower()
        return [value for item_name, value in self._items if item_name.lower() == key]

    def raw_items(self) -> tuple[tuple[str, str], ...]:
        """The headers exactly as received, repeated names included."""
        return self._items

    def __repr__(self) -> str:
        return f"HeaderMap({redact_headers(dict(self.items()))!r})"


def _query_repr(query: Mapping[str, str]) -> str:
    """A query's repr as the client logs queries: every value masked but the harmless SigV4
    ones (a secret can travel under any name: a signature, a session token, an authorizer's
    token)."""
    return repr({name: redact_query_value(name, value) for name, value in query.items()})


@attrs.frozen
class ReceivedMessage:
    """One message a client sent, as the gateway routed it.

    ``route`` is the selected route key (``"$default"`` for the default route), ``payload`` the
    body's ``payload`` (or, on ``$default``, the whole parsed body, or the raw text when it was
    not JSON), ``raw`` the frame data as received (``str`` for text, ``bytes`` for binary),
    ``at`` the wall-clock arrival time (``time.time()``).  ``error`` is None when the message
    reached its integration, else the error frame's message (``Forbidden``,
    ``Invalid request body``, ``Internal server error``).
    """

    connection_id: str
    route: Optional[str]
    payload: Any
    raw: Union[str, bytes] = attrs.field(repr=False)
    at: float
    request_id: str = ""
    error: Optional[str] = None


@attrs.frozen(kw_only=True)
class ConnectRequest:
    """What a ``$connect`` hook sees: the new connection's id and its handshake request."""

    connection_id: str
    headers: HeaderMap
    query: Mapping[str, str] = attrs.field(repr=_query_repr)
    path: str
    source_ip: str = "127.0.0.1"
    identity: Optional[Identity] = None
    """Who signed the handshake, when the gateway checks SigV4 (``iam_keys``)."""
    query_items: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    """Every query parameter in order, repeated names kept (``query`` keeps the last)."""


@attrs.frozen(kw_only=True)
class HandshakeRecord:
    """One handshake attempt, for assertions on authentication and reconnect behaviour.

    ``status`` is the HTTP status answered (101 when accepted), or None when the gateway was
    told to hang it (:meth:`LocalGateway.hang_next`) or the client gave up first.
    ``reason`` says why a handshake was refused.
    """

    path: str
    query: Mapping[str, str] = attrs.field(repr=_query_repr)
    headers: HeaderMap
    status: Optional[int]
    at: float
    connection_id: Optional[str] = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class DisconnectRecord:
    """How a connection ended, for assertions on closes, drops and rotations.

    ``code`` and ``reason`` are those of the close frame that started the closing handshake:
    the client's when it closed first, the gateway's when it did (timeouts, 1009, fault
    controls, stop); 1006 when the TCP connection ended without any close frame.
    ``initiated_by`` is ``"client"``, ``"gateway"`` (including :meth:`drop_all`) or
    ``"network"`` (the client vanished).
    """

    connection_id: str
    code: int
    reason: str
    initiated_by: str
    at: float


class Deny(Exception):
    """Raised by a ``$connect`` hook to refuse the handshake with an HTTP status (default 403)."""

    def __init__(self, status: int = 403, message: str = "Forbidden") -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"Deny needs a 4xx or 5xx HTTP status, not {status}")
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


class GoneError(WsApiError, KeyError):
    """The connection id is unknown or already closed (the management API's 410 GoneException)."""

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        super().__init__(f"connection {connection_id!r} is gone (unknown or closed)")

    def __str__(self) -> str:
        return str(self.args[0])


class ThrottledError(WsApiError):
    """A throttle's bucket is empty (the service's 429 / ``LimitExceededException``)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} rate exceeded")
