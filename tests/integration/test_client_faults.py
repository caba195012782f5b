"""Reconnects, refusals, half-open connections, rotation and queue policies, injected by a real
server (the local gateway's fault controls), never by mocking the client."""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

import pytest

from tests.faults.observe import ErrorLog, StateLog, hold_second_handshake
from wsapi_client import (
    AuthError,
    ClientClosedError,
    ConnectError,
    ConnectionState,
    ErrorEvent,
    Keepalive,
    MessageExpiredError,
    QueueFullError,
    QueuePolicy,
    ReconnectPolicy,
    WebSocketClient,
)
from wsapi_client.emulator import LocalGateway

ClientFactory = Callable[..., WebSocketClient]


def wait_state(client: WebSocketClient, state: ConnectionState, timeout: float = 5.0) -> None:
    reached = threading.Event()
    unlisten = client.on_state_change(lambda s: reached.set() if s is state else None)
    try:
        if client.state is not state:
            assert reached.wait(timeout), f"{client.state} never became {state}"
    finally:
        unlisten()


@pytest.mark.parametrize(
    "fault",
    ["drop", "close-1000", "close-1001", "close-1009", "close-1011", "delete"],
)
def test_reconnects_after_any_unexpected_close(
    gateway: LocalGateway, make_client: ClientFactory, fault: str
) -> None:
    client = make_client(gateway.url)
    resubscribed = threading.Semaphore(0)
    client.with_reconnect(resubscribed.release)
    assert resubscribed.acquire(timeout=1)  # runs at once: already connected
    (cid,) = gateway.connections
    if fault == "drop":
        gateway.drop_all()
    elif fault == "delete":
        gateway.delete_connection(cid)
    else:
        gateway.close_connection(cid, int(fault.split("-")[1]), "test")
    assert resubscribed.acquire(timeout=5)
    assert client.state is ConnectionState.CONNECTED
    assert client.stats.reconnects == 1
    expected_code = {"drop": 1006, "delete": 1001}.get(fault)
    if expected_code is None:
        expected_code = int(fault.split("-")[1])
    if fault != "delete":
        assert client.stats.last_close_code == expected_code
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "again"})
    assert reply.result(5)["greeting"] == "Hello, again!"


def test_outage_queue_is_flushed_before_resubscribing_and_before_later_sends(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, reconnect=ReconnectPolicy(initial_delay=0.3, jitter=False))
    lost = threading.Event()
    client.on_state_change(lambda s: lost.set() if s is ConnectionState.RECONNECTING else None)
    client.with_reconnect(lambda: client.send("SubscribeToNotifications", {"topic": "t"}))
    gateway.wait_for_messages(1, timeout=5)  # the immediate subscription
    gateway.drop_all()
    assert lost.wait(5)
    queued = [client.send("SayHello", {"name": f"q{i}"}) for i in range(3)]
    assert client.stats.queued == 3
    wait_state(client, ConnectionState.CONNECTED)
    client.send("SayHello", {"name": "after"}).result(5)
    for f in queued:
        f.result(5)
    received = gateway.wait_for_messages(6, timeout=5)
    assert [m.payload.get("name", m.route) for m in received[1:]] == [
        "q0",
        "q1",
        "q2",
        "SubscribeToNotifications",
        "after",
    ]


def test_refused_handshakes_are_retried_with_the_exact_schedule(
    gateway: LocalGateway, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wsapi_client")
    client = make_client(
        gateway.url,
        reconnect=ReconnectPolicy(initial_delay=0.01, multiplier=2.0, max_delay=0.05, jitter=True),
        random=lambda: 0.5,
    )
    errors: list[ErrorEvent] = []
    client.on_error(errors.append)
    gateway.refuse_next(4, status=503)
    gateway.drop_all()
    wait_state(client, ConnectionState.RECONNECTING)
    wait_state(client, ConnectionState.CONNECTED)
    delays = [
        r.getMessage().rsplit(" in ", 1)[1]
        for r in caplog.records
        if "reconnect attempt" in r.getMessage()
    ]
    # Full jitter with random() = 0.5: half of 0.01, 0.02, 0.04, then the 0.05 cap.
    assert delays == ["0.005 s", "0.010 s", "0.020 s", "0.025 s", "0.025 s"]
    refused = [e for e in errors if "HTTP 503" in e.message]
    assert len(refused) == 4
    assert all(e.kind == "connection" for e in refused)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_on_first_connect(
    gateway: LocalGateway, make_client: ClientFactory, status: int
) -> None:
    gateway.refuse_next(5, status=status)
    client = make_client(gateway.url)
    assert client.state is ConnectionState.CONNECTED


def test_three_403s_in_a_row_fail_the_client_and_its_queue(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    errors: list[ErrorEvent] = []
    client.on_error(errors.append)
    gateway.refuse_next(10, status=403)
    lost = threading.Event()
    client.on_state_change(lambda s: lost.set() if s is ConnectionState.RECONNECTING else None)
    gateway.drop_all()
    assert lost.wait(5)
    pending = client.send("SayHello", {"name": "never"})
    wait_state(client, ConnectionState.FAILED)
    with pytest.raises(ClientClosedError, match="gave up"):
        pending.result(5)
    with pytest.raises(ClientClosedError):
        client.send("SayHello", {"name": "after"})
    assert any(e.kind == "auth" and "giving up" in e.message for e in errors)
    assert isinstance(next(e for e in errors if "giving up" in e.message).exception, AuthError)


def test_first_connect_401_raises_auth_error(gateway: LocalGateway, sample_spec: Any) -> None:
    gateway.refuse_next(3, status=401)
    with pytest.raises(AuthError) as info:
        WebSocketClient.connect(
            gateway.url,
            spec=sample_spec,
            timeout=5,
            reconnect=ReconnectPolicy(initial_delay=0.01, jitter=False),
        )
    assert info.value.status == 401


def test_connection_refused_raises_connect_error_within_the_timeout(sample_spec: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectError) as info:
        WebSocketClient.connect(f"ws://127.0.0.1:{port}/default", spec=sample_spec, timeout=0.5)
    assert time.monotonic() - started < 3
    assert "refused" in str(info.value)
    assert not isinstance(info.value, AuthError)


def test_a_server_that_never_answers_the_handshake_times_out(
    gateway: LocalGateway, sample_spec: Any
) -> None:
    gateway.hang_next(100)
    started = time.monotonic()
    with pytest.raises(ConnectError, match="timed out"):
        WebSocketClient.connect(gateway.url, spec=sample_spec, timeout=0.5, connect_timeout=0.2)
    assert time.monotonic() - started < 3


def test_half_open_connection_is_detected_by_keepalive(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, keepalive=Keepalive(interval=0.1, timeout=0.2))
    errors: list[ErrorEvent] = []
    client.on_error(errors.append)
    reconnected = threading.Event()
    client.with_reconnect(reconnected.set)
    reconnected.clear()
    gateway.answer_pings = False
    wait_state(client, ConnectionState.RECONNECTING)
    gateway.answer_pings = True
    assert reconnected.wait(5)
    assert any("unresponsive" in e.message for e in errors)


def test_keepalive_pings_keep_a_quiet_connection(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, keepalive=Keepalive(interval=0.05, timeout=1.0))
    gateway.wait_until(lambda: gateway.pings_received >= 3, timeout=5)
    assert client.stats.reconnects == 0


def test_rotation_is_make_before_break(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(gateway.url, max_connection_age=0.5)
    subscriptions = threading.Semaphore(0)
    client.with_reconnect(
        lambda: (client.send("SubscribeToNotifications", {"topic": "t"}), subscriptions.release())
    )
    (first,) = gateway.connections
    assert subscriptions.acquire(timeout=1)
    assert subscriptions.acquire(timeout=5)  # resubscribed on the new connection
    gateway.wait_until(lambda: first not in gateway.connections, timeout=5)
    (second,) = gateway.connections
    assert second != first

    def subscriptions_received() -> list[str]:
        return [m.connection_id for m in gateway.received if m.route == "SubscribeToNotifications"]

    # Sent is not yet received: wait for the gateway to have read the second subscription.
    gateway.wait_until(lambda: len(subscriptions_received()) >= 2, timeout=5)
    assert subscriptions_received()[:2] == [first, second]
    closes = [r for r in gateway.disconnect_log if r.connection_id == first]
    assert closes
    assert closes[0].code == 1000
    with client.expect("SendGreeting") as r:
        client.send("SayHello", {"name": "rotated"})
    assert r.result(5)
    assert client.stats.reconnects >= 1


def test_a_connection_lost_while_being_replaced_is_reported(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    """The old connection is reset while the rotation's handshake is in progress. The client
    never goes RECONNECTING (the new connection takes over), but what was written to the old
    one in its last moments may be lost: an error event of kind "connection" says so."""
    in_handshake, release = hold_second_handshake(gateway)  # the rotation's
    client = make_client(gateway.url, start=False, max_connection_age=0.3)
    states, errors = StateLog(client), ErrorLog(client)
    client.start(5)
    (old,) = gateway.connections
    assert in_handshake.wait(5), "the rotation never began"
    gateway.drop_connection(old)
    release.set()
    assert errors.wait_for("connection"), "the loss was not reported"
    [message] = errors.messages()
    assert "while being replaced" in message
    assert "1006" in message
    assert ConnectionState.RECONNECTING not in states.snapshot()
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "after"})
    assert reply.result(5) == {"greeting": "Hello, after!"}


def test_queue_overflow_policies(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(
        gateway.url,
        start=False,
        queue=QueuePolicy(max_messages=2, overflow="drop_oldest"),
    )
    a, b, c = (client.send("SayHello", {"name": n}) for n in "abc")
    with pytest.raises(QueueFullError):
        a.result(0)
    strict = make_client(gateway.url, start=False, queue=QueuePolicy(max_messages=1))
    strict.send("SayHello", {"name": "kept"})
    with pytest.raises(QueueFullError, match="max_messages=1"):
        strict.send("SayHello", {"name": "refused"})
    client.start(5)
    b.result(5)
    c.result(5)
    strict.start(5)
    strict.flush(5)
    names = sorted(m.payload["name"] for m in gateway.wait_for_messages(3, timeout=5))
    assert names == ["b", "c", "kept"]


def test_block_policy_waits_for_room(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(
        gateway.url, start=False, queue=QueuePolicy(max_messages=1, overflow="block")
    )
    client.send("SayHello", {"name": "1"})
    second: list[Future[None]] = []
    blocked = threading.Thread(target=lambda: second.append(client.send("SayHello", {"name": "2"})))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()  # waiting for room
    client.start(5)
    blocked.join(5)
    second[0].result(5)
    assert [m.payload["name"] for m in gateway.wait_for_messages(2, timeout=5)] == ["1", "2"]


def test_ttl_expires_messages_while_the_first_connect_keeps_failing(sample_spec: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WebSocketClient(
        f"ws://127.0.0.1:{port}/default", spec=sample_spec, queue=QueuePolicy(ttl=0.1)
    )
    future = client.send("SayHello", {"name": "stale"})
    with pytest.raises(ConnectError):
        client.start(timeout=0.5)
    with pytest.raises(MessageExpiredError, match="ttl"):
        future.result(0)
    assert client.state is ConnectionState.FAILED


def test_ttl_expiry_during_an_outage(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(
        gateway.url,
        queue=QueuePolicy(ttl=0.1),
        reconnect=ReconnectPolicy(initial_delay=1.0, jitter=False),
    )
    lost = threading.Event()
    client.on_state_change(lambda s: lost.set() if s is ConnectionState.RECONNECTING else None)
    gateway.drop_all()
    assert lost.wait(5)
    future = client.send("SayHello", {"name": "stale"})
    with pytest.raises(MessageExpiredError, match="ttl"):
        future.result(5)


def test_disconnect_during_backoff_cancels_the_reconnect(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, reconnect=ReconnectPolicy(initial_delay=30.0, jitter=False))
    lost = threading.Event()
    client.on_state_change(lambda s: lost.set() if s is ConnectionState.RECONNECTING else None)
    gateway.drop_all()
    assert lost.wait(5)
    pending = client.send("SayHello", {"name": "x"})
    started = time.monotonic()
    client.disconnect()
    assert time.monotonic() - started < 2
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(ClientClosedError):
        pending.result(0)
    assert gateway.connect_count == 1


def test_close_waits_for_the_outage_queue_to_flush(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, reconnect=ReconnectPolicy(initial_delay=0.2, jitter=False))
    lost = threading.Event()
    client.on_state_change(lambda s: lost.set() if s is ConnectionState.RECONNECTING else None)
    gateway.drop_all()
    assert lost.wait(5)
    pending = [client.send("SubscribeToNotifications", {"topic": str(i)}) for i in range(3)]
    client.close(timeout=5)
    for f in pending:
        assert f.result(0) is None
    assert len(gateway.wait_for_messages(3, timeout=5)) == 3
