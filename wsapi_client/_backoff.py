"""The reconnect schedule as a pure state machine: no clock reads, no sleeping, no threads.

The supervisor feeds it what happened (an attempt failed with this HTTP status, a connection
came up at time t and went down at time t2) and asks it what to do next. Tests drive it with a
fixed random source and explicit timestamps, so the schedule is checked exactly.
"""

from __future__ import annotations

import random as _random
from typing import Callable, Optional, Union

import attrs

from wsapi_client._policies import ReconnectPolicy

__all__ = [
    "FATAL_HANDSHAKE_STATUSES",
    "FATAL_AFTER",
    "GiveUp",
    "ReconnectSchedule",
    "Retry",
    "is_fatal_status",
]

FATAL_HANDSHAKE_STATUSES = frozenset({400, 401, 403, 404})
"""Handshake answers that retrying is unlikely to fix (bad request, credentials, wrong stage)."""

FATAL_AFTER = 3
"""How many fatal answers in a row end the reconnect loop: credentials may rotate meanwhile."""


def is_fatal_status(status: Optional[int]) -> bool:
    """True for handshake statuses that count towards giving up (400/401/403/404).

    429, 5xx and network failures (``status`` None) are always retried.
    """
    return status in FATAL_HANDSHAKE_STATUSES


@attrs.frozen
class Retry:
    """Wait ``delay`` seconds, then make attempt number ``attempt`` (0-based)."""

    delay: float
    attempt: int


@attrs.frozen
class GiveUp:
    """Stop reconnecting; ``reason`` says why in words fit for an error event."""

    reason: str
    status: Optional[int] = None


Decision = Union[Retry, GiveUp]


class ReconnectSchedule:
    """Tracks consecutive failures and computes the next delay from a :class:`ReconnectPolicy`.

    Delay for attempt ``n``: ``min(max_delay, initial_delay * multiplier**n)``, scaled by a
    uniform draw from ``random()`` when the policy has ``jitter`` ("full jitter"). Attempt
    numbers restart at 0 once a connection has stayed up ``reset_after`` seconds.
    """

    def __init__(
        self, policy: ReconnectPolicy, random: Optional[Callable[[], float]] = None
    ) -> None:
        self.policy = policy
        self._random = random if random is not None else _random.random
        self.attempt = 0
        self.fatal_in_a_row = 0
        self._connected_at: Optional[float] = None

    def delay_for(self, attempt: int) -> float:
        """The delay before attempt ``attempt`` (0-based), jittered when the policy says so."""
        policy = self.policy
        # Cap the exponent so huge attempt counts cannot overflow a float.
        exponent = min(attempt, 1024)
        try:
            ceiling = policy.initial_delay * policy.multiplier**exponent
        except OverflowError:
            ceiling = policy.max_delay
        ceiling = min(policy.max_delay, ceiling)
        if policy.jitter:
            return ceiling * self._random()
        return ceiling

    def first(self) -> Retry:
        """The plan for the very first connection: no delay."""
        return Retry(0.0, 0)

    def failed(
        self, status: Optional[int] = None, reason: str = "", *, fatal: Optional[bool] = None
    ) -> Decision:
        """An attempt failed (``status``: the HTTP answer, None for a network error).

        ``fatal`` overrides the classification by status: the client passes True for an attempt
        that never reached the server because signing failed, which counts like a 401.
        """
        if fatal is None:
            fatal = is_fatal_status(status)
        if fatal:
            self.fatal_in_a_row += 1
            if self.fatal_in_a_row >= FATAL_AFTER:
                what = (
                    f"handshake refused with HTTP {status}"
                    if status is not None
                    else "attempt failed"
                )
                return GiveUp(
                    f"{what} {FATAL_AFTER} times in a row" + (f": {reason}" if reason else ""),
                    status,
                )
        else:
            self.fatal_in_a_row = 0
        return self._next(reason)

    def connected(self, now: float) -> None:
        """A connection came up at ``now`` (monotonic seconds)."""
        self._connected_at = now
        self.fatal_in_a_row = 0

    def disconnected(self, now: float, reason: str = "") -> Decision:
        """The connection that came up at :meth:`connected` went down at ``now``."""
        if self._connected_at is not None and now - self._connected_at >= self.policy.reset_after:
            self.attempt = 0
        self._connected_at = None
        return self._next(reason)

    def _next(self, reason: str) -> Decision:
        max_attempts = self.policy.max_attempts
        if max_attempts is not None and self.attempt >= max_attempts:
            return GiveUp(
                f"gave up after {self.attempt} reconnect attempts"
                + (f": {reason}" if reason else "")
            )
        decision = Retry(self.delay_for(self.attempt), self.attempt)
        self.attempt += 1
        return decision
