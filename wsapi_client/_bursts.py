"""Burst holding: whether a send joins a burst that is written later, several frames per socket
call, instead of being written at once.

A plain ``for`` loop of ``send`` calls on one thread pays one system call per message when each
is written as it is sent; holding the sends of a burst back and writing them together roughly
halves the cost per message (docs/performance.md, "send, plain loop"). An isolated send is never
held: latency comes first.

Pure: times come in as arguments, verdicts go out; no clock, no lock, no thread. The writer
calls it under its own lock (``Writer._lock`` guards ``_last_send`` and ``_held_since``), and the
limits are read at each call so that tests can widen them.
"""

from __future__ import annotations

__all__ = ["BurstGate"]

BURST_GAP = 20e-6  # a send this soon after the previous one is part of a burst
HOLD_MESSAGES = 64  # a burst is written at least every this many messages,
HOLD_BYTES = 64 * 1024  # this many bytes,
HOLD_AGE = 200e-6  # or this many seconds after its first held-back message


class BurstGate:
    """Tells the writer whether a lone send may be held back, given what it holds already."""

    __slots__ = ("_held_since", "_last_send")

    def __init__(self) -> None:
        self._last_send = float("-inf")
        self._held_since = 0.0

    def may_hold(self, now: float, held: int, held_bytes: int, size: int) -> bool:
        """Whether a send of ``size`` bytes at ``now`` may join the burst being held, which has
        ``held`` messages of ``held_bytes`` bytes (none: it would start one). Only sends that
        follow the previous one within :data:`BURST_GAP` are held; a burst is let go when it
        reaches :data:`HOLD_MESSAGES`, :data:`HOLD_BYTES` or :data:`HOLD_AGE`."""
        if now - self._last_send >= BURST_GAP:
            return False
        if not held:
            return True
        return (
            held < HOLD_MESSAGES
            and held_bytes + size <= HOLD_BYTES
            and now - self._held_since < HOLD_AGE
        )

    def started(self, now: float) -> None:
        """The first message of a burst was held back at ``now``."""
        self._held_since = now

    def sent(self, now: float) -> None:
        """A send was accepted at ``now`` (held, queued or written)."""
        self._last_send = now
