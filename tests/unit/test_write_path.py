"""The write path against a real socket (the emulator on loopback): messages left for another
thread to write (combining) or held back in a burst are all written, in order, by someone,
without anybody asking."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

import pytest

from wsapi_client import Keepalive, QueuePolicy, ReconnectPolicy, WebSocketClient, _bursts
from wsapi_client._futures import settled
from wsapi_client.emulator import LocalGateway
from wsapi_client.spec import ApiSpec, load_spec

SAMPLE = Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json"
ROUTE = "SubscribeToNotifications"


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return load_spec(SAMPLE)


@pytest.fixture
def gateway(spec: ApiSpec) -> Iterator[LocalGateway]:
    with LocalGateway(spec) as gw:
        yield gw


@pytest.fixture
def make_client(spec: ApiSpec) -> Iterator[Callable[..., WebSocketClient]]:
    clients: list[WebSocketClient] = []

    def make(url: str, **options: Any) -> WebSocketClient:
        options.setdefault("spec", spec)
        options.setdefault("reconnect", ReconnectPolicy(initial_delay=0.02, jitter=False))
        options.setdefault("keepalive", Keepalive(interval=30.0, timeout=10.0))
        client = WebSocketClient(url, **options)
        clients.append(client)
        client.start(timeout=5.0)
        return client

    yield make
    for client in clients:
        client.disconnect()


@pytest.fixture
def always_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every send counts as part of a burst and may be held back (up to the count limit): the
    held-back path is taken whatever the machine's speed."""
    monkeypatch.setattr(_bursts, "BURST_GAP", 3600.0)
    monkeypatch.setattr(_bursts, "HOLD_AGE", 3600.0)


def topics(gateway: LocalGateway) -> list[str]:
    return [m.payload["topic"] for m in gateway.received]


@pytest.mark.parametrize("bursts", ["as_configured", "always"])
def test_eight_threads_keep_their_order_and_strand_nothing(
    gateway: LocalGateway,
    make_client: Callable[..., WebSocketClient],
    monkeypatch: pytest.MonkeyPatch,
    bursts: str,
) -> None:
    if bursts == "always":
        monkeypatch.setattr(_bursts, "BURST_GAP", 3600.0)
        monkeypatch.setattr(_bursts, "HOLD_AGE", 3600.0)
    client = make_client(gateway.url, queue=QueuePolicy(max_messages=None, max_bytes=None))
    threads, per_thread = 8, 400
    futures: dict[int, list[Future[None]]] = defaultdict(list)
    start = threading.Barrier(threads)

    def sender(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            if t % 4 == 3 and i % 10 == 0:  # some threads mix in small batches
                batch = [(ROUTE, {"topic": f"{t}:{i + k}"}) for k in range(10)]
                futures[t].extend(client.send_many(batch))
            elif t % 4 != 3 or i % 10 == 0:
                futures[t].append(client.send(ROUTE, {"topic": f"{t}:{i}"}))

    workers = [threading.Thread(target=sender, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Nobody flushes or looks at a future: whatever was left queued must still go out.
    gateway.wait_until(lambda: gateway.message_count >= threads * per_thread, timeout=10)
    by_thread: dict[int, list[int]] = defaultdict(list)
    for topic in topics(gateway):
        t, i = map(int, topic.split(":"))
        by_thread[t].append(i)
    assert dict(by_thread) == {t: list(range(per_thread)) for t in range(threads)}
    for t in range(threads):
        assert len(futures[t]) == per_thread
        for future in futures[t]:
            assert future.result(5) is None
    assert client.stats.messages_out == threads * per_thread
    assert client.stats.queued == 0


def test_a_held_back_burst_goes_out_while_the_sender_waits(
    gateway: LocalGateway, make_client: Callable[..., WebSocketClient], always_burst: None
) -> None:
    client = make_client(gateway.url)
    resume = threading.Event()
    sent: list[Future[None]] = []

    def burst_then_wait() -> None:
        sent.extend(client.send(ROUTE, {"topic": str(i)}) for i in range(30))
        resume.wait(10)  # no more calls into the client: the supervisor writes the rest

    thread = threading.Thread(target=burst_then_wait)
    thread.start()
    try:
        gateway.wait_until(lambda: gateway.message_count >= 30, timeout=10)
    finally:
        resume.set()
        thread.join()
    assert topics(gateway) == [str(i) for i in range(30)]
    gateway.wait_until(lambda: all(settled(f) for f in sent), timeout=10)


def test_looking_at_a_future_writes_what_a_burst_held_back(
    gateway: LocalGateway, make_client: Callable[..., WebSocketClient], always_burst: None
) -> None:
    client = make_client(gateway.url)
    sent = [client.send(ROUTE, {"topic": str(i)}) for i in range(20)]
    assert all(f.done() for f in sent)  # done() writes first: written, since connected
    assert client.stats.queued == 0
    more = [client.send(ROUTE, {"topic": str(i)}) for i in range(20, 40)]
    assert more[-1].result(5) is None
    gateway.wait_until(lambda: gateway.message_count >= 40, timeout=10)
    assert topics(gateway) == [str(i) for i in range(40)]


def test_flush_and_disconnect_write_what_a_burst_held_back(
    gateway: LocalGateway, make_client: Callable[..., WebSocketClient], always_burst: None
) -> None:
    client = make_client(gateway.url)
    for i in range(10):
        client.send(ROUTE, {"topic": str(i)})
    client.flush(timeout=5)
    assert client.stats.queued == 0
    last = [client.send(ROUTE, {"topic": str(i)}) for i in range(10, 20)]
    client.disconnect()  # no flush, but these were sent while connected: they go out
    assert all(settled(f) and f.exception() is None for f in last)
    gateway.wait_until(lambda: gateway.message_count >= 20, timeout=10)
    assert topics(gateway) == [str(i) for i in range(20)]


def test_replies_sent_by_a_listener_go_out_before_the_reader_waits(
    gateway: LocalGateway, make_client: Callable[..., WebSocketClient], always_burst: None
) -> None:
    client = make_client(gateway.url)
    client.on("SendNotification", lambda p: client.send(ROUTE, {"topic": f"re:{p['message']}"}))
    (connection_id,) = gateway.connections
    for i in range(25):
        gateway.post_to_connection(
            connection_id, "SendNotification", {"topic": "t", "title": "t", "message": str(i)}
        )
    gateway.wait_until(lambda: gateway.message_count >= 25, timeout=10)
    assert topics(gateway) == [f"re:{i}" for i in range(25)]
