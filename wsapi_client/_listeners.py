"""The listener registry: callbacks by key, changed under a lock, read without one.

Each key maps to a tuple that is replaced (never mutated) on every change, so dispatch reads a
consistent snapshot with a single dictionary lookup and callbacks may register or unlisten
while being called. Every registration is its own entry: the same callable registered twice
fires twice, and each unlisten removes exactly the entry it was returned for.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, TypeVar

__all__ = ["Entry", "Registry", "Unlisten"]

Unlisten = Callable[[], None]
K = TypeVar("K")
F = TypeVar("F", bound=Callable[..., Any])


class Entry(Generic[F]):
    """One registration; identity distinguishes two registrations of one callable."""

    __slots__ = ("callback",)

    def __init__(self, callback: F) -> None:
        self.callback = callback

    def __repr__(self) -> str:
        return f"<Entry {self.callback!r}>"


class Registry(Generic[K]):
    """Callbacks grouped by key with copy-on-write snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[Entry[Any], ...]] = {}

    def add(self, key: K, callback: Callable[..., Any]) -> Unlisten:
        """Register ``callback`` under ``key``; the returned callable removes it (idempotent)."""
        entry: Entry[Any] = Entry(callback)
        with self._lock:
            self._entries[key] = (*self._entries.get(key, ()), entry)

        def unlisten() -> None:
            self.remove(key, entry)

        return unlisten

    def remove(self, key: K, entry: Entry[Any]) -> bool:
        """Remove one registration; False when it was already gone."""
        with self._lock:
            current = self._entries.get(key, ())
            if entry not in current:
                return False
            remaining = tuple(e for e in current if e is not entry)
            if remaining:
                self._entries[key] = remaining
            else:
                del self._entries[key]
            return True

    def snapshot(self, key: K) -> tuple[Entry[Any], ...]:
        """The registrations under ``key`` right now (a tuple that later changes don't touch)."""
        return self._entries.get(key, ())

    def count(self, key: K) -> int:
        return len(self._entries.get(key, ()))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
