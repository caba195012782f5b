"""The outbound queue: messages waiting to be written, bounded by a :class:`QueuePolicy`.

It is a plain data structure, not thread-safe by itself: the writer
(:mod:`wsapi_client._writer`) guards it with its lock, so "is the queue empty?" and "write to
the socket" are decided atomically and a message sent later can never overtake one already
queued. Futures are never completed here (user
callbacks must not run under the lock): methods return the messages whose futures the caller
must complete once the lock is released.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Optional

from wsapi_client._errors import QueueFullError
from wsapi_client._policies import QueuePolicy

__all__ = ["Outbox", "Outgoing"]


class Outgoing:
    """One encoded message: its frames, ready to write, and the future its sender holds."""

    __slots__ = ("claimed", "data", "enqueued_at", "future", "route")

    def __init__(self, data: bytes, future: Future[None], route: str, enqueued_at: float) -> None:
        self.data = data
        self.future = future
        self.route = route
        self.enqueued_at = enqueued_at
        self.claimed = False

    def claim(self) -> bool:
        """Mark the message as being written; False if its sender cancelled it meanwhile.

        A claimed message can no longer be cancelled; one put back after a failed write
        stays claimed.
        """
        if self.claimed:
            return True
        self.claimed = True
        return self.future.set_running_or_notify_cancel()

    def __repr__(self) -> str:
        return f"<Outgoing {self.route} {len(self.data)} bytes>"


class Outbox:
    """A FIFO of :class:`Outgoing` with message, byte and age limits."""

    def __init__(self, policy: QueuePolicy) -> None:
        self.policy = policy
        self._items: deque[Outgoing] = deque()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def has_room(self, size: int) -> bool:
        """Whether a message of ``size`` bytes fits without evicting anything."""
        policy = self.policy
        if policy.max_messages is not None and len(self._items) >= policy.max_messages:
            return False
        return policy.max_bytes is None or self.bytes + size <= policy.max_bytes or not self._items

    def check_fits_at_all(self, size: int) -> None:
        """Refuse a message larger than the whole byte budget: no eviction could make room."""
        max_bytes = self.policy.max_bytes
        if max_bytes is not None and size > max_bytes:
            raise QueueFullError(
                f"message of {size} bytes is larger than the queue's max_bytes ({max_bytes})"
            )

    def check_room_for(self, items: list[Outgoing]) -> None:
        """Raise :class:`QueueFullError` unless all of ``items`` fit without evicting anything."""
        policy = self.policy
        count = len(self._items) + len(items)
        size = self.bytes + sum(len(item.data) for item in items)
        if (policy.max_messages is not None and count > policy.max_messages) or (
            policy.max_bytes is not None and size > policy.max_bytes
        ):
            raise QueueFullError(
                f"outbound queue cannot take {len(items)} more messages "
                f"({len(self._items)} queued, {self.bytes} bytes; limits "
                f"max_messages={policy.max_messages}, max_bytes={policy.max_bytes})"
            )

    def push(self, item: Outgoing) -> list[Outgoing]:
        """Append ``item`` under the overflow policy; returns evicted messages (``drop_oldest``).

        Raises :class:`QueueFullError` when the policy is ``raise`` and there is no room. The
        ``block`` policy is the caller's to implement (wait for :meth:`has_room`); if it calls
        this anyway on a full queue, the queue grows rather than losing anything.
        """
        size = len(item.data)
        evicted: list[Outgoing] = []
        if not self.has_room(size):
            overflow = self.policy.overflow
            if overflow == "raise":
                raise QueueFullError(self._full_message(size))
            if overflow == "drop_oldest":
                while self._items and not self.has_room(size):
                    evicted.append(self._popleft())
        self._items.append(item)
        self.bytes += size
        return evicted

    def room_for(self, count: int, size: int) -> bool:
        """Whether ``count`` more messages, ``size`` bytes in all, fit without evicting any."""
        policy = self.policy
        if policy.max_messages is not None and len(self._items) + count > policy.max_messages:
            return False
        return policy.max_bytes is None or self.bytes + size <= policy.max_bytes

    def append(self, items: Iterable[Outgoing]) -> None:
        """Add ``items`` at the tail without applying the bounds: for messages about to be
        written with the rest of the queue, which must not overtake it."""
        for item in items:
            self._items.append(item)
            self.bytes += len(item.data)

    def requeue(self, items: Iterable[Outgoing]) -> None:
        """Put ``items`` back at the head, in their order; bounds are not applied to them."""
        pending = list(items)
        for item in reversed(pending):
            self._items.appendleft(item)
            self.bytes += len(item.data)

    def take(self, max_bytes: int) -> list[Outgoing]:
        """Remove and return messages from the head: at least one, then up to ``max_bytes``."""
        batch: list[Outgoing] = []
        total = 0
        items = self._items
        while items and (not batch or total + len(items[0].data) <= max_bytes):
            item = self._popleft()
            total += len(item.data)
            batch.append(item)
        return batch

    def expire(self, now: float) -> list[Outgoing]:
        """Remove and return the messages older than the policy's ``ttl`` at ``now``."""
        ttl = self.policy.ttl
        if ttl is None:
            return []
        expired: list[Outgoing] = []
        items = self._items
        # FIFO by enqueue time, except re-queued heads, which are older still: scan the prefix.
        while items and now - items[0].enqueued_at >= ttl:
            expired.append(self._popleft())
        return expired

    def next_expiry(self) -> Optional[float]:
        """When the oldest message expires (clock seconds), or None without a ttl."""
        if self.policy.ttl is None or not self._items:
            return None
        return self._items[0].enqueued_at + self.policy.ttl

    def clear(self) -> list[Outgoing]:
        """Remove and return everything."""
        items = list(self._items)
        self._items.clear()
        self.bytes = 0
        return items

    def _popleft(self) -> Outgoing:
        item = self._items.popleft()
        self.bytes -= len(item.data)
        return item

    def _full_message(self, size: int) -> str:
        policy = self.policy
        return (
            f"outbound queue full ({len(self._items)} messages, {self.bytes} bytes; limits "
            f"max_messages={policy.max_messages}, max_bytes={policy.max_bytes}); "
            f"message of {size} bytes refused"
        )
