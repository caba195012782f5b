"""``_signal_waits``: waits on the main thread sleep in slices short enough for signal handlers."""

from __future__ import annotations

import queue
import threading
from typing import Optional

import pytest

from wsapi_client._signal_waits import (
    SIGNAL_CHECK,
    get_in_slices,
    join_in_slices,
    signal_slice,
    wait_in_slices,
)


def test_signal_slice_caps_waits_on_the_main_thread_only() -> None:
    assert threading.current_thread() is threading.main_thread()
    assert signal_slice(None) == SIGNAL_CHECK
    assert signal_slice(60.0) == SIGNAL_CHECK
    assert signal_slice(0.1) == 0.1
    elsewhere: list[Optional[float]] = []
    thread = threading.Thread(
        target=lambda: elsewhere.extend([signal_slice(None), signal_slice(60.0)])
    )
    thread.start()
    thread.join()
    assert elsewhere == [None, 60.0]


def test_wait_in_slices_ends_on_the_event_or_the_timeout() -> None:
    event = threading.Event()
    pauses: list[Optional[float]] = []

    def wait(seconds: Optional[float]) -> bool:
        pauses.append(seconds)
        return event.wait(seconds)

    assert wait_in_slices(wait, 0.6) is False
    assert len(pauses) >= 3
    assert all(p is not None and p <= SIGNAL_CHECK for p in pauses)
    event.set()
    pauses.clear()
    assert wait_in_slices(wait, None) is True
    assert pauses == [SIGNAL_CHECK]


def test_get_in_slices_returns_the_item_or_raises_empty() -> None:
    source: queue.SimpleQueue[str] = queue.SimpleQueue()
    source.put("first")
    assert get_in_slices(source, None) == "first"
    with pytest.raises(queue.Empty):
        get_in_slices(source, 0.3)  # longer than a slice: the wait goes round more than once


def test_join_in_slices_joins_a_thread_and_passes_one_never_started() -> None:
    join_in_slices(threading.Thread(target=lambda: None), 5.0)  # not started: returns at once
    go = threading.Event()
    thread = threading.Thread(target=go.wait, args=(5,))
    thread.start()
    join_in_slices(thread, 0.3)  # over a slice: the join goes round and times out
    assert thread.is_alive()
    go.set()
    join_in_slices(thread, 5.0)
    assert not thread.is_alive()
