"""Immutable configuration objects: reconnect, queue and keepalive policies.

Like urllib3's ``Retry`` they are plain values: validated on construction, compared by value,
shared freely between clients, and changed with :func:`attrs.evolve`.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import attrs

__all__ = ["Keepalive", "OverflowPolicy", "QueuePolicy", "ReconnectPolicy"]

OverflowPolicy = Literal["raise", "drop_oldest", "block"]


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _optional_positive(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, (int, float)) or value <= 0):
        raise ValueError(f"{attribute.name} must be None or > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    """How to back off between connection attempts.

    The delay before reconnect attempt *n* (counting from 0) is ``min(max_delay, initial_delay *
    multiplier ** n)``, drawn uniformly from ``[0, that]`` when ``jitter`` is true ("full
    jitter"). ``max_attempts`` bounds consecutive reconnect attempts (None: forever, 0: never);
    the count resets once a connection has stayed up for ``reset_after`` seconds.
    """

    initial_delay: float = attrs.field(default=0.1, validator=_non_negative)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0)
    jitter: bool = True
    max_attempts: Optional[int] = attrs.field(default=None)
    reset_after: float = attrs.field(default=10.0, validator=_non_negative)

    @multiplier.validator
    def _check_multiplier(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if value < 1:
            raise ValueError(f"multiplier must be >= 1, got {value!r}")

    @max_attempts.validator
    def _check_max_attempts(self, _attribute: attrs.Attribute[object], value: object) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ValueError(f"max_attempts must be None or an int >= 0, got {value!r}")

    @classmethod
    def never(cls) -> ReconnectPolicy:
        """A policy that connects once and never reconnects (``max_attempts=0``)."""
        return cls(max_attempts=0)


@attrs.frozen(kw_only=True)
class QueuePolicy:
    """Bounds of the outbound queue that holds messages while disconnected.

    ``overflow`` decides what a full queue does with a new message: ``"raise"`` refuses it with
    :class:`QueueFullError`, ``"drop_oldest"`` fails the oldest queued message's future with
    :class:`QueueFullError` to make room, ``"block"`` makes ``send`` wait until there is room or
    the client closes (a listener, on the reader thread, gets :class:`QueueFullError` instead).
    ``ttl`` (seconds) fails messages still queued after that long with
    :class:`MessageExpiredError`.
    """

    max_messages: Optional[int] = attrs.field(default=10_000, validator=_optional_positive)
    max_bytes: Optional[int] = attrs.field(default=16 * 2**20, validator=_optional_positive)
    ttl: Optional[float] = attrs.field(default=None, validator=_optional_positive)
    overflow: OverflowPolicy = attrs.field(default="raise")

    @overflow.validator
    def _check_overflow(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("raise", "drop_oldest", "block"):
            raise ValueError(f"overflow must be 'raise', 'drop_oldest' or 'block', got {value!r}")


@attrs.frozen(kw_only=True)
class Keepalive:
    """Ping the server every ``interval`` seconds of silence; no frame at all within ``timeout``
    after a ping means the connection is half-open and is replaced.

    The defaults find a dead link within ``interval + timeout`` = 50 s of the last frame
    received, while an idle client sends one small ping every 30 s (API Gateway answers pings
    itself; no Lambda runs). ``timeout`` also bounds how long the kernel may hold written bytes
    unacknowledged (``TCP_USER_TIMEOUT``, where the platform has it), so a write into a dead
    link fails the connection within it instead of reporting success.
    """

    interval: float = attrs.field(default=30.0, validator=_positive)
    timeout: float = attrs.field(default=20.0, validator=_positive)
