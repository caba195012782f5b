"""Values handed to user callbacks: connection states, error events and statistics."""

from __future__ import annotations

import enum
from typing import Any, Literal, Optional

import attrs

__all__ = ["ClientStats", "ConnectionState", "ErrorEvent", "ErrorKind"]

ErrorKind = Literal[
    "gateway", "parse", "unexpected", "listener", "decode", "connection", "auth", "too_large"
]


class ConnectionState(str, enum.Enum):
    """The life cycle of a client; see ``WebSocketClient.on_state_change``."""

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class ErrorEvent:
    """What an error listener receives.

    ``kind`` says where it came from: ``gateway`` (an API Gateway error frame such as
    ``Forbidden``), ``parse`` (not JSON or not an object), ``unexpected`` (JSON without a route),
    ``listener`` (a callback raised), ``decode`` (a payload did not fit the model),
    ``connection`` (a connection was lost or could not be made, or one being replaced by a
    rotation ended without its closing handshake), ``auth`` (signing or the
    auth hook failed, or the handshake was refused as unauthorised), ``too_large`` (the server
    sent a message over ``max_inbound_message_size``: the connection was closed 1009 and is
    replaced).
    """

    message: str
    kind: ErrorKind
    connection_id: Optional[str] = None
    request_id: Optional[str] = None
    raw: Optional[str] = None
    route: Optional[str] = None
    exception: Optional[BaseException] = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class ClientStats:
    """A snapshot of a client's counters, taken by ``WebSocketClient.stats``."""

    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    ignored_frames: int = 0
    queued: int = 0
    queued_bytes: int = 0
    reconnects: int = 0
    last_close_code: Optional[int] = None
    last_close_reason: Optional[str] = None
    connection_age: Optional[float] = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    def html(self, caption: str = "ClientStats", **first: str) -> str:
        """The counters as an HTML table (notebooks), after the ``first`` rows given."""
        from html import escape

        age = "" if self.connection_age is None else f"{self.connection_age:.1f} s"
        rows = [
            *first.items(),
            ("queued", f"{self.queued} ({self.queued_bytes} bytes)"),
            ("messages in / out", f"{self.messages_in} / {self.messages_out}"),
            ("bytes in / out", f"{self.bytes_in} / {self.bytes_out}"),
            ("ignored frames", str(self.ignored_frames)),
            ("reconnects", str(self.reconnects)),
            ("connection age", age),
            ("last close", f"{self.last_close_code or ''} {self.last_close_reason or ''}".strip()),
        ]
        body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        return f"<table><caption>{escape(caption)}</caption>{body}</table>"

    def _repr_html_(self) -> str:
        return self.html()
