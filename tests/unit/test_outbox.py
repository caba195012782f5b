"""The outbound queue's bounds, overflow policies, TTL and head re-queueing."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from wsapi_client._errors import QueueFullError
from wsapi_client._outbox import Outbox, Outgoing
from wsapi_client._policies import QueuePolicy


def item(n: int, size: int = 10, at: float = 0.0) -> Outgoing:
    return Outgoing(bytes([n % 256]) * size, Future(), f"R{n}", at)


def routes(items: list[Outgoing]) -> list[str]:
    return [i.route for i in items]


def test_fifo_and_byte_accounting() -> None:
    box = Outbox(QueuePolicy())
    for n in range(5):
        box.push(item(n, size=n + 1))
    assert len(box) == 5
    assert box.bytes == 15
    assert routes(box.take(max_bytes=6)) == ["R0", "R1", "R2"]
    assert box.bytes == 9
    assert routes(box.clear()) == ["R3", "R4"]
    assert box.bytes == 0
    assert not box


def test_take_returns_at_least_one_message_even_if_larger_than_the_batch() -> None:
    box = Outbox(QueuePolicy())
    box.push(item(1, size=1000))
    assert routes(box.take(max_bytes=10)) == ["R1"]


def test_raise_policy_refuses_and_keeps_what_was_accepted() -> None:
    box = Outbox(QueuePolicy(max_messages=2, overflow="raise"))
    box.push(item(1))
    box.push(item(2))
    with pytest.raises(QueueFullError, match="max_messages=2"):
        box.push(item(3))
    assert routes(box.clear()) == ["R1", "R2"]


def test_drop_oldest_evicts_from_the_head() -> None:
    box = Outbox(QueuePolicy(max_messages=2, overflow="drop_oldest"))
    assert box.push(item(1)) == []
    box.push(item(2))
    assert routes(box.push(item(3))) == ["R1"]
    assert routes(box.clear()) == ["R2", "R3"]


def test_byte_limit_counts_bytes() -> None:
    box = Outbox(QueuePolicy(max_bytes=25, max_messages=None, overflow="drop_oldest"))
    box.push(item(1, size=10))
    box.push(item(2, size=10))
    assert routes(box.push(item(3, size=10))) == ["R1"]
    assert box.bytes == 20


def test_a_message_larger_than_max_bytes_is_refused_outright() -> None:
    box = Outbox(QueuePolicy(max_bytes=100))
    with pytest.raises(QueueFullError, match="larger than the queue's max_bytes"):
        box.check_fits_at_all(101)


def test_requeue_puts_messages_back_at_the_head_in_order() -> None:
    box = Outbox(QueuePolicy(max_messages=2))
    box.push(item(1))
    box.push(item(2))
    taken = box.take(max_bytes=100)
    box.push(item(3))
    box.requeue(taken)
    assert routes(box.clear()) == ["R1", "R2", "R3"]


def test_ttl_expires_the_oldest_first() -> None:
    box = Outbox(QueuePolicy(ttl=5.0))
    box.push(item(1, at=0.0))
    box.push(item(2, at=3.0))
    assert box.next_expiry() == 5.0
    assert box.expire(4.9) == []
    assert routes(box.expire(5.0)) == ["R1"]
    assert box.next_expiry() == 8.0
    assert routes(box.expire(100.0)) == ["R2"]
    assert box.next_expiry() is None


def test_no_ttl_never_expires() -> None:
    box = Outbox(QueuePolicy())
    box.push(item(1, at=0.0))
    assert box.expire(1e9) == []
    assert box.next_expiry() is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_messages": 0}, "max_messages"),
        ({"max_bytes": -1}, "max_bytes"),
        ({"ttl": 0}, "ttl"),
        ({"overflow": "wait"}, "overflow"),
    ],
)
def test_queue_policy_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        QueuePolicy(**kwargs)  # type: ignore[arg-type]
