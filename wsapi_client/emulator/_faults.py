"""Fault controls for tests: drops, closes, refused and hung handshakes, a half-open path.

A mixin of ``LocalGateway``; each control acts on the connections open at the moment it is
called, or on the next handshakes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from wsapi_client.emulator._records import GoneError

if TYPE_CHECKING:
    from wsapi_client.emulator._connection import GatewayConnection

__all__ = ["FaultControls"]


class FaultControls:
    """``drop_all``, ``drop_connection``, ``close_all``, ``close_connection``, ``refuse_next``,
    ``hang_next``, ..."""

    _cond: threading.Condition
    _all: set[GatewayConnection]
    _connections: dict[str, GatewayConnection]
    _refuse: list[tuple[int, str]]
    _hang_pending: int
    _answer_pings: bool

    def drop_all(self) -> None:
        """Abort every TCP connection without a close frame (clients see 1006)."""
        with self._cond:
            conns = list(self._all)
        for conn in conns:
            conn.abort()

    def drop_connection(self, connection_id: str) -> None:
        """Abort one TCP connection without a close frame (its client sees 1006); GoneError if
        it is not open."""
        conn = self._connections.get(connection_id)
        if conn is None:
            raise GoneError(connection_id)
        conn.abort()

    def close_all(self, code: int = 1001, reason: str = "Going away") -> None:
        """Start the closing handshake on every open connection."""
        with self._cond:
            conns = list(self._connections.values())
        for conn in conns:
            conn.close(code, reason)

    def close_connection(self, connection_id: str, code: int = 1000, reason: str = "") -> None:
        """Close one connection with ``code`` and ``reason``; GoneError if it is not open."""
        conn = self._connections.get(connection_id)
        if conn is None or not conn.close(code, reason):
            raise GoneError(connection_id)

    def delete_connection(self, connection_id: str) -> None:
        """What the management API's DELETE does: close the connection (1000)."""
        self.close_connection(connection_id, 1000, "")

    def refuse_next(self, n: int = 1, status: int = 503, body: str = "") -> None:
        """Answer the next ``n`` handshakes with HTTP ``status`` and ``body``."""
        if not 400 <= status <= 599:
            raise ValueError(f"refuse_next needs a 4xx or 5xx status, not {status}")
        with self._cond:
            self._refuse.extend([(status, body)] * n)

    def hang_next(self, n: int = 1) -> None:
        """Accept the next ``n`` TCP connections but never answer their handshake."""
        with self._cond:
            self._hang_pending += n

    @property
    def answer_pings(self) -> bool:
        """False simulates a half-open network path on the connections open at that moment.

        Setting it to False mutes every open connection: pings go unanswered and nothing at
        all is written to them (the gateway still reads).  Connections opened afterwards are
        not muted, so a client that detects the dead path can reconnect.  Setting it to True
        unmutes them.
        """
        return self._answer_pings

    @answer_pings.setter
    def answer_pings(self, value: bool) -> None:
        with self._cond:
            self._answer_pings = bool(value)
            for conn in self._all:
                conn.muted = not value
