"""What a gateway records for tests, and the waits on it: a mixin of ``LocalGateway``.

Every record is appended under the gateway's condition, which is notified on each event, so
``wait_until`` and the other waits need no sleeps.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from wsapi_client.emulator._records import DisconnectRecord, HandshakeRecord, ReceivedMessage

if TYPE_CHECKING:
    from wsapi_client.emulator._connection import GatewayConnection

__all__ = ["Recording"]

_WAIT_SLICE = 0.05  # seconds: wait_until re-checks at least this often, for outside state


class Recording:
    """Recorded messages, handshakes, disconnects and pings; waits on them."""

    _cond: threading.Condition
    _connections: dict[str, GatewayConnection]
    _received: list[ReceivedMessage]
    _rejected: list[ReceivedMessage]
    _route_counts: dict[str, int]
    _message_count: int
    _handshakes: list[HandshakeRecord]
    _disconnects: list[DisconnectRecord]
    _connect_count: int
    _pings: int
    record_messages: bool
    """False for a long-running server: keep the counters, no record of each message,
    handshake or disconnect (they would grow for as long as it runs)."""

    def _init_recording(self) -> None:
        self._received = []
        self._rejected = []
        self._route_counts = {}
        self._message_count = 0
        self._handshakes = []
        self._disconnects = []
        self._connect_count = 0
        self._pings = 0

    def _route_key(self, name: str) -> str:
        raise NotImplementedError  # the gateway's route lookup

    @property
    def connections(self) -> list[str]:
        """Ids of the connections currently open (a snapshot)."""
        with self._cond:
            return list(self._connections)

    @property
    def received(self) -> list[ReceivedMessage]:
        """Every message that reached an integration, in arrival order (a snapshot)."""
        with self._cond:
            return list(self._received)

    @property
    def rejected(self) -> list[ReceivedMessage]:
        """Messages answered with ``Forbidden`` or ``Invalid request body`` (a snapshot)."""
        with self._cond:
            return list(self._rejected)

    @property
    def message_count(self) -> int:
        """How many messages were routed to an integration (counted even when not recorded)."""
        return self._message_count

    @property
    def handshake_log(self) -> list[HandshakeRecord]:
        """Every handshake attempt, accepted or not, in order (a snapshot; empty without
        ``record_messages``)."""
        with self._cond:
            return list(self._handshakes)

    @property
    def disconnect_log(self) -> list[DisconnectRecord]:
        """How every opened connection ended, in order (a snapshot; empty without
        ``record_messages``)."""
        with self._cond:
            return list(self._disconnects)

    @property
    def pings_received(self) -> int:
        """How many ping frames clients sent (answered or not)."""
        return self._pings

    @property
    def connect_count(self) -> int:
        """How many handshakes were attempted (accepted, refused or hung)."""
        return self._connect_count

    def clear_received(self) -> None:
        """Forget the recorded messages (counters included)."""
        with self._cond:
            self._received.clear()
            self._rejected.clear()
            self._route_counts.clear()
            self._message_count = 0

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until ``predicate()`` is truthy and return its value, or raise TimeoutError.

        The predicate is re-checked on every gateway event (message, handshake, open,
        close) and at least every 50 ms, so it may also look at state outside the gateway.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self._cond.wait(min(remaining, _WAIT_SLICE))

    def wait_for_messages(
        self, n: int, timeout: float = 5.0, route: Optional[str] = None
    ) -> list[ReceivedMessage]:
        """Block until ``n`` messages (of ``route``, if given) are recorded; return the first ``n``.

        Messages are recorded once their handler has returned, so its effects are visible.
        """
        key = None if route is None else self._route_key(route)

        def count() -> int:
            return len(self._received) if key is None else self._route_counts.get(key, 0)

        try:
            self.wait_until(lambda: count() >= n, timeout)
        except TimeoutError:
            with self._cond:
                routes = [m.route for m in self._received]
            what = "messages" if key is None else f"{key} messages"
            raise TimeoutError(
                f"{count()} of {n} {what} received within {timeout} s; received routes: {routes}"
            ) from None
        with self._cond:
            matching = [m for m in self._received if key is None or m.route == key]
        return matching[:n]

    def wait_for_connections(self, n: int, timeout: float = 5.0) -> list[str]:
        """Block until exactly ``n`` connections are open; return their ids."""
        try:
            self.wait_until(lambda: len(self._connections) == n, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{len(self._connections)} connections open, not {n}, after {timeout} s"
            ) from None
        return self.connections

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _record(self, message: ReceivedMessage) -> None:
        with self._cond:
            self._message_count += 1
            if self.record_messages:
                self._received.append(message)
            self._route_counts[message.route or ""] = (
                self._route_counts.get(message.route or "", 0) + 1
            )
            self._cond.notify_all()

    def _log_handshake(self, record: HandshakeRecord) -> None:
        with self._cond:
            self._connect_count += 1
            if self.record_messages:
                self._handshakes.append(record)
            self._cond.notify_all()

    def _on_ping(self, conn: GatewayConnection) -> None:
        with self._cond:
            self._pings += 1
            self._cond.notify_all()
