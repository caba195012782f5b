"""SendFuture: a concurrent.futures.Future whose condition is built only when someone looks,
completed a batch at a time; nothing that waits on it can miss its completion."""

from __future__ import annotations

import threading
from concurrent.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    CancelledError,
    Future,
    ThreadPoolExecutor,
    as_completed,
    wait,
)

import pytest

from wsapi_client._futures import (
    SendFuture,
    claim_all,
    complete,
    finish_unwatched,
    settled,
)
from wsapi_client._outbox import Outgoing


class Owner:
    """What a client gives its futures: the lock and a hook called when one is looked at."""

    def __init__(self) -> None:
        self.futures_lock = threading.Lock()
        self.observed: list[SendFuture] = []

    def observe(self, future: SendFuture) -> None:
        self.observed.append(future)


def items(owner: Owner, n: int) -> list[Outgoing]:
    return [Outgoing(b"x", SendFuture(owner), f"R{i}", 0.0) for i in range(n)]


def write(owner: Owner, batch: list[Outgoing]) -> list[Outgoing]:
    """What the client's writer does around a socket write."""
    live = claim_all(batch, owner.futures_lock)
    complete(finish_unwatched(live, owner.futures_lock))
    return live


def test_is_a_concurrent_future_with_its_api() -> None:
    owner = Owner()
    (item,) = items(owner, 1)
    future = item.future
    assert isinstance(future, Future)
    assert not future.running()
    assert not future.cancelled()
    assert not future.done()
    assert owner.observed == [future]  # done() on an open future asks the owner to write
    seen: list[Future[None]] = []
    future.add_done_callback(seen.append)
    assert write(owner, [item]) == [item]
    assert future.done()
    assert future.result(0) is None
    assert future.exception(0) is None
    assert seen == [future]
    late: list[Future[None]] = []
    future.add_done_callback(late.append)
    assert late == [future]
    assert not future.cancel()
    assert "finished" in repr(future)


def test_unwatched_futures_need_no_condition() -> None:
    owner = Owner()
    batch = items(owner, 3)
    write(owner, batch)
    assert all(settled(i.future) for i in batch)
    assert all("_cond" not in vars(i.future) for i in batch)
    assert owner.observed == []


def test_a_cancelled_message_is_not_claimed_and_order_is_kept() -> None:
    owner = Owner()
    batch = items(owner, 4)
    assert batch[1].future.cancel()
    assert batch[1].future.cancelled()
    assert write(owner, batch) == [batch[0], batch[2], batch[3]]
    with pytest.raises(CancelledError):
        batch[1].future.result(0)
    assert [i.future.done() for i in batch] == [True, True, True, True]


def test_a_claimed_message_cannot_be_cancelled() -> None:
    owner = Owner()
    batch = items(owner, 2)
    batch[1].future.add_done_callback(lambda f: None)  # looked at: has a condition
    assert claim_all(batch, owner.futures_lock) == batch
    assert not batch[0].future.cancel()
    assert not batch[1].future.cancel()
    assert batch[0].future.running()
    assert batch[1].future.running()
    assert claim_all(batch, owner.futures_lock) == batch  # claimed stays claimed (requeue)


def test_failures_reach_waiters_and_callbacks() -> None:
    owner = Owner()
    (item,) = items(owner, 1)
    seen: list[Future[None]] = []
    item.future.add_done_callback(seen.append)
    assert item.claim()
    item.future.set_exception(RuntimeError("lost"))
    assert seen == [item.future]
    assert isinstance(item.future.exception(0), RuntimeError)


def test_wait_and_as_completed_with_other_futures() -> None:
    owner = Owner()
    batch = items(owner, 5)
    with ThreadPoolExecutor(2) as pool:
        others = [pool.submit(lambda n=n: n) for n in range(3)]
        mixed: list[Future[object]] = [*others, *(i.future for i in batch)]  # type: ignore[list-item]
        _done, not_done = wait(mixed, timeout=0, return_when=FIRST_COMPLETED)
        assert not_done  # the sends are still open
        writer = threading.Thread(target=write, args=(owner, batch))
        writer.start()
        _done, not_done = wait(mixed, timeout=10, return_when=ALL_COMPLETED)
        writer.join()
        assert not not_done
        assert len(list(as_completed(mixed, timeout=10))) == len(mixed)


@pytest.mark.parametrize("how", ["result", "wait", "callback", "as_completed"])
def test_completion_racing_a_waiter_is_never_missed(how: str) -> None:
    """A writer completing while another thread starts to wait, many times over: every wait
    ends (a lost wake-up would hang until the 10 s timeout and fail)."""
    owner = Owner()
    for _ in range(300):
        batch = items(owner, 3)
        start = threading.Barrier(2)

        def writer(batch: list[Outgoing] = batch, start: threading.Barrier = start) -> None:
            start.wait()
            write(owner, batch)

        thread = threading.Thread(target=writer)
        thread.start()
        start.wait()
        futures = [i.future for i in batch]
        if how == "result":
            for future in futures:
                assert future.result(10) is None
        elif how == "wait":
            assert not wait(futures, timeout=10).not_done
        elif how == "callback":
            events = [threading.Event() for _ in futures]
            for future, event in zip(futures, events):
                future.add_done_callback(lambda _f, event=event: event.set())
            assert all(event.wait(10) for event in events)
        else:
            assert len(list(as_completed(futures, timeout=10))) == len(futures)
        thread.join()


def test_cancel_racing_a_claim_has_one_winner() -> None:
    owner = Owner()
    for _ in range(300):
        (item,) = items(owner, 1)
        start = threading.Barrier(2)
        outcome: list[bool] = []

        def cancel(
            item: Outgoing = item, start: threading.Barrier = start, outcome: list[bool] = outcome
        ) -> None:
            start.wait()
            outcome.append(item.future.cancel())

        thread = threading.Thread(target=cancel)
        thread.start()
        start.wait()
        live = claim_all([item], owner.futures_lock)
        thread.join()
        assert outcome == [not live]
        complete(finish_unwatched(live, owner.futures_lock))
        assert item.future.done()
        assert item.future.cancelled() == (not live)
