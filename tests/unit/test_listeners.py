"""The listener registry: duplicates, one-entry unlisten, snapshots under mutation."""

from __future__ import annotations

import threading

from wsapi_client._listeners import Registry


def test_same_callable_twice_fires_twice_and_each_unlisten_removes_one() -> None:
    registry: Registry[str] = Registry()
    calls: list[int] = []

    def cb() -> None:
        calls.append(1)

    first = registry.add("R", cb)
    registry.add("R", cb)
    for entry in registry.snapshot("R"):
        entry.callback()
    assert len(calls) == 2
    first()
    first()  # idempotent: does not remove the other registration
    assert registry.count("R") == 1


def test_snapshot_is_unaffected_by_changes_during_dispatch() -> None:
    registry: Registry[str] = Registry()
    seen: list[str] = []
    unlisten_b = None

    def a() -> None:
        seen.append("a")
        assert unlisten_b is not None
        unlisten_b()
        registry.add("R", lambda: seen.append("late"))

    unlisten_b = registry.add("R", a) and registry.add("R", lambda: seen.append("b"))
    for entry in registry.snapshot("R"):
        entry.callback()
    assert seen == ["a", "b"]
    assert registry.count("R") == 2  # a and late


def test_concurrent_add_and_remove_lose_nothing() -> None:
    registry: Registry[int] = Registry()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        unlistens = [registry.add(0, lambda: None) for _ in range(500)]
        for unlisten in unlistens[::2]:
            unlisten()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert registry.count(0) == 8 * 250
