"""Expectation: one registration, settled once by a match or a cancel, read any number of times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest

from wsapi_client import Keepalive, WebSocketClient
from wsapi_client.emulator import LocalGateway
from wsapi_client.spec import load_spec

SAMPLE = Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json"


@pytest.fixture
def setup() -> Iterator[tuple[LocalGateway, WebSocketClient]]:
    spec = load_spec(SAMPLE)
    with LocalGateway(spec) as gw:

        @gw.route("SayHello")
        def hello(connection_id: str, payload: Any) -> None:
            gw.post_to_connection(connection_id, "SendGreeting", {"greeting": payload["name"]})

        client = WebSocketClient.connect(
            gw.url, spec=spec, keepalive=Keepalive(interval=30.0, timeout=10.0), timeout=5
        )
        try:
            yield gw, client
        finally:
            client.disconnect()


def listeners(client: WebSocketClient, route: str) -> int:
    return client._dispatcher.registry.count(route)


def test_a_match_is_read_any_number_of_times_and_unregisters(
    setup: tuple[LocalGateway, WebSocketClient],
) -> None:
    _gw, client = setup
    with client.expect("SendGreeting") as reply:
        assert not reply.done()
        client.send("SayHello", {"name": "a"})
    assert reply.result(5) == {"greeting": "a"}
    assert reply.done()
    assert reply.result(0) == {"greeting": "a"}
    assert listeners(client, "SendGreeting") == 0
    reply.cancel()  # too late: still the match
    assert reply.result() == {"greeting": "a"}


def test_cancel_then_result_raises_cancelled(setup: tuple[LocalGateway, WebSocketClient]) -> None:
    _gw, client = setup
    reply = client.expect("SendGreeting")
    reply.cancel()
    assert reply.done()
    assert listeners(client, "SendGreeting") == 0
    client.send("SayHello", {"name": "late"}).result(5)
    with pytest.raises(CancelledError):
        reply.result(5)


def test_timeout_is_the_builtin_error_and_unregisters(
    setup: tuple[LocalGateway, WebSocketClient],
) -> None:
    _gw, client = setup
    reply = client.expect("SendGreeting", where=lambda p: p["greeting"] == "never")
    client.send("SayHello", {"name": "other"})
    with pytest.raises(TimeoutError, match=r"no SendGreeting message within 0\.05 s"):
        reply.result(0.05)
    assert listeners(client, "SendGreeting") == 0


def test_a_match_racing_a_cancel_has_one_outcome(
    setup: tuple[LocalGateway, WebSocketClient],
) -> None:
    _gw, client = setup
    for i in range(50):
        reply = client.expect("SendGreeting", where=lambda p, i=i: p["greeting"] == str(i))
        start = threading.Barrier(2)

        def cancel(reply: Any = reply, start: threading.Barrier = start) -> None:
            start.wait()
            reply.cancel()

        thread = threading.Thread(target=cancel)
        thread.start()
        start.wait()
        client.send("SayHello", {"name": str(i)})
        thread.join()
        try:
            outcome: Any = reply.result(5)
        except CancelledError:
            outcome = "cancelled"
        assert outcome in ({"greeting": str(i)}, "cancelled")
        assert reply.done()
        assert listeners(client, "SendGreeting") == 0


class ObservedLock:
    """A lock that counts acquire calls and signals each one (the waiter's wake-ups)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._calls = threading.Condition()
        self.acquires = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._calls:
            self.acquires += 1
            self._calls.notify_all()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def wait_for_acquires(self, n: int) -> None:
        with self._calls:
            assert self._calls.wait_for(lambda: self.acquires >= n, timeout=5)


@pytest.fixture
def offline() -> Iterator[WebSocketClient]:
    """A client that is never started: the test plays the reader's part."""
    client = WebSocketClient("ws://127.0.0.1:9/", spec=load_spec(SAMPLE))
    try:
        yield client
    finally:
        client.close()


def observed(client: WebSocketClient, route: str, **options: Any) -> tuple[Any, ObservedLock]:
    reply = client.expect(route, **options)
    lock = ObservedLock()
    reply._ready = lock
    return reply, lock


def waiting(reply: Any, timeout: float = 5) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def wait() -> None:
        try:
            outcome.append(reply.result(timeout))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    return thread, outcome


def test_bytes_naming_the_route_wake_the_waiter_early_and_it_waits_on(
    offline: WebSocketClient,
) -> None:
    reply, lock = observed(offline, "SendGreeting", where=lambda p: p["greeting"] == "b")
    thread, outcome = waiting(reply)
    lock.wait_for_acquires(1)  # blocked
    offline._dispatcher.arrived(b'{"route":"SendGreeting","payload":{"greeting":"a"}}')
    lock.wait_for_acquires(2)  # woken, found nothing settled, blocked again
    assert not reply.done()
    assert outcome == []
    offline._dispatcher._dispatch_route("SendGreeting", {"greeting": "a"}, "")  # a decoy
    offline._dispatcher._dispatch_route("SendGreeting", {"greeting": "b"}, "")
    thread.join(5)
    assert outcome == [{"greeting": "b"}]
    assert not lock.locked()  # left released: any later result() returns at once
    assert reply.result(0) == {"greeting": "b"}
    assert offline._dispatcher.blocked == {}


def test_bytes_without_the_route_do_not_wake_the_waiter(offline: WebSocketClient) -> None:
    reply, lock = observed(offline, "SendGreeting")
    thread, outcome = waiting(reply)
    lock.wait_for_acquires(1)
    # The route is looked for as a JSON string: a longer name that starts with it is no match.
    offline._dispatcher.arrived(
        b'{"route":"SendNotification","payload":{"message":"SendGreetings"}}'
    )
    assert lock.locked()
    assert lock.acquires == 1
    offline._dispatcher._dispatch_route("SendGreeting", {"greeting": "x"}, "")
    thread.join(5)
    assert outcome == [{"greeting": "x"}]


def test_a_waiter_woken_by_nudges_alone_still_times_out(offline: WebSocketClient) -> None:
    reply, lock = observed(offline, "SendGreeting")
    thread, outcome = waiting(reply, timeout=0.5)
    lock.wait_for_acquires(1)
    for n in range(2, 5):
        offline._dispatcher.arrived(b'"SendGreeting"')
        lock.wait_for_acquires(n)
    thread.join(5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], TimeoutError)
    assert reply.done()
    assert offline._dispatcher.blocked == {}
    assert listeners(offline, "SendGreeting") == 0
    offline._dispatcher.arrived(b'"SendGreeting"')  # a late nudge harms nothing
    with pytest.raises(CancelledError):
        reply.result(0)


def test_nudges_racing_the_match_leave_one_outcome_and_the_lock_released(
    offline: WebSocketClient,
) -> None:
    for i in range(200):
        reply = offline.expect("SendGreeting")
        thread, outcome = waiting(reply)
        nudger = threading.Thread(
            target=lambda: [offline._dispatcher.arrived(b'"SendGreeting"') for _ in range(5)]
        )
        nudger.start()
        offline._dispatcher._dispatch_route("SendGreeting", {"greeting": str(i)}, "")
        nudger.join(5)
        thread.join(5)
        assert outcome == [{"greeting": str(i)}]
        assert not reply._ready.locked()
        assert offline._dispatcher.blocked == {}


def test_filtered_waiters_are_not_nudged_while_others_wait(offline: WebSocketClient) -> None:
    # Threads each waiting for their own reply on one route: a reply would wake all of them.
    first, first_lock = observed(offline, "SendGreeting", where=lambda p: p["greeting"] == "1")
    second, second_lock = observed(offline, "SendGreeting", where=lambda p: p["greeting"] == "2")
    threads = [waiting(first)[0], waiting(second)[0]]
    first_lock.wait_for_acquires(1)
    second_lock.wait_for_acquires(1)
    offline._dispatcher.arrived(b'{"route":"SendGreeting","payload":{"greeting":"1"}}')
    assert first_lock.locked()
    assert second_lock.locked()
    offline._dispatcher._dispatch_route("SendGreeting", {"greeting": "1"}, "")
    offline._dispatcher._dispatch_route("SendGreeting", {"greeting": "2"}, "")
    for thread in threads:
        thread.join(5)
    assert first.result(0) == {"greeting": "1"}
    assert second.result(0) == {"greeting": "2"}


def test_two_threads_waiting_on_one_expectation_both_get_the_match(
    offline: WebSocketClient,
) -> None:
    reply, lock = observed(offline, "SendGreeting")
    first, got_first = waiting(reply)
    second, got_second = waiting(reply)
    lock.wait_for_acquires(2)
    offline._dispatcher.arrived(b'"SendGreeting"')
    offline._dispatcher._dispatch_route("SendGreeting", {"greeting": "both"}, "")
    first.join(5)
    second.join(5)
    assert got_first == got_second == [{"greeting": "both"}]


def test_round_trips_with_decoys_over_the_emulator() -> None:
    spec = load_spec(SAMPLE)
    with LocalGateway(spec) as gw:

        @gw.route("SayHello")
        def hello(connection_id: str, payload: Any) -> None:
            gw.post_to_connection(connection_id, "SendGreeting", {"greeting": "decoy"})
            gw.post_to_connection(connection_id, "SendGreeting", {"greeting": payload["name"]})

        client = WebSocketClient.connect(
            gw.url, spec=spec, keepalive=Keepalive(interval=30.0, timeout=10.0), timeout=5
        )
        try:
            for i in range(200):
                name = str(i)
                with client.expect("SendGreeting", where=lambda p, n=name: p["greeting"] == n) as r:
                    client.send("SayHello", {"name": name})
                assert r.result(5) == {"greeting": name}
            assert client._dispatcher.blocked == {}
        finally:
            client.disconnect()
