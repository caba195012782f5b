"""Sending, receiving and the blocking helpers, over real sockets to the local gateway."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

import pytest

from wsapi_client import (
    BlockingCallError,
    ClientClosedError,
    ConnectionState,
    ErrorEvent,
    MessageTooLargeError,
    ValidationError,
    WebSocketClient,
)
from wsapi_client.emulator import LocalGateway

ClientFactory = Callable[..., WebSocketClient]


def test_send_and_receive_with_expect(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(gateway.url)
    assert client.state is ConnectionState.CONNECTED
    with client.expect("SendGreeting") as reply:
        future = client.send("SayHello", {"name": "Jack"})
    assert reply.result(timeout=5) == {"greeting": "Hello, Jack!"}
    assert future.result(timeout=5) is None
    (message,) = gateway.wait_for_messages(1, timeout=5)
    assert message.route == "SayHello"
    assert message.payload == {"name": "Jack"}
    assert json.loads(message.raw) == {"route": "SayHello", "payload": {"name": "Jack"}}
    assert message.raw == '{"route":"SayHello","payload":{"name":"Jack"}}'


def test_listeners_wait_for_and_messages(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(gateway.url)
    got: list[Any] = []
    anys: list[tuple[str, Any]] = []
    client.on("SendGreeting", got.append)
    client.on_any_message(lambda route, payload: anys.append((route, payload)))
    stream = client.messages("SendGreeting", timeout=5)
    for name in ("a", "b", "c"):
        client.send("SayHello", {"name": name})
    assert [next(stream)["greeting"] for _ in range(3)] == ["Hello, a!", "Hello, b!", "Hello, c!"]
    stream.close()
    assert [g["greeting"] for g in got] == ["Hello, a!", "Hello, b!", "Hello, c!"]
    assert [route for route, _ in anys] == ["SendGreeting"] * 3

    (cid,) = gateway.connections
    waiter_result: list[Any] = []
    ready = threading.Event()

    def waiter() -> None:
        ready.set()
        waiter_result.append(
            client.wait_for("SendNotification", where=lambda p: p["topic"] == "b", timeout=5)
        )

    thread = threading.Thread(target=waiter)
    thread.start()
    ready.wait(5)
    with client.expect("SendNotification", where=lambda p: p["topic"] == "b") as seen:
        gateway.post_to_connection(
            cid, "SendNotification", {"topic": "a", "title": "t", "message": "1"}
        )
        gateway.post_to_connection(
            cid, "SendNotification", {"topic": "b", "title": "t", "message": "2"}
        )
    assert seen.result(5)["message"] == "2"
    thread.join(5)
    assert waiter_result
    assert waiter_result[0]["message"] == "2"


def test_wait_for_times_out_with_a_clear_error(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    with pytest.raises(TimeoutError, match="SendGreeting"):
        client.wait_for("SendGreeting", timeout=0.05)
    stream = client.messages("SendGreeting", timeout=0.05)
    assert list(stream) == []


def test_unlisten_and_duplicate_registration(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    calls: list[Any] = []
    first = client.on("SendGreeting", calls.append)
    client.on("SendGreeting", calls.append)
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "x"})
    reply.result(5)
    assert len(calls) == 2
    first()
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "y"})
    reply.result(5)
    assert len(calls) == 3


def test_server_route_name_reaches_the_same_listener(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    (cid,) = gateway.connections
    got: list[Any] = []
    done = threading.Event()
    client.on("SendNotification", lambda p: (got.append(p), done.set()))
    # A PDK server SDK names routes upperFirst(camelcase(operationId)); same name here.
    gateway.send_raw(
        cid, '{"route":"SendNotification","payload":{"topic":"t","title":"x","message":"m"}}'
    )
    assert done.wait(5)
    assert got[0]["topic"] == "t"


def test_validation_errors_name_the_field_and_send_nothing(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    with pytest.raises(ValidationError) as info:
        client.send("SayHello", {"name": 42})
    assert info.value.path == "name"
    assert "SayHello" in str(info.value)
    with pytest.raises(ValidationError, match="required"):
        client.send("SayHello", {})
    with pytest.raises(ValidationError, match="unknown route 'Nope'"):
        client.send("Nope", {})
    with pytest.raises(ValidationError, match="server_to_client"):
        client.send("SendGreeting", {"greeting": "hi"})
    with pytest.raises(ValidationError, match="payload is required"):
        client.send("SayHello")
    client.send("SayHello", {"name": "ok"}).result(5)
    gateway.wait_for_messages(1, timeout=5)
    assert [m.payload for m in gateway.received] == [{"name": "ok"}]


def test_too_large_is_refused_before_writing_and_large_messages_are_fragmented(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    with pytest.raises(MessageTooLargeError) as info:
        client.send("SayHello", {"name": "x" * (128 * 1024)})
    assert info.value.limit == 128 * 1024
    # 100 KiB goes out as 32 KiB frames, which the gateway accepts (a bigger frame: 1009).
    client.send("SayHello", {"name": "y" * 100_000}).result(5)
    (message,) = gateway.wait_for_messages(1, timeout=5)
    assert len(message.payload["name"]) == 100_000
    assert client.state is ConnectionState.CONNECTED
    assert client.stats.reconnects == 0


def test_gateway_and_parse_errors_reach_error_listeners(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, validate=False)
    events: list[ErrorEvent] = []
    four = threading.Semaphore(0)
    client.on_error(lambda e: (events.append(e), four.release()))
    (cid,) = gateway.connections
    client.send("SayHello", {"wrong": True})  # validation off: the gateway answers
    gateway.send_raw(cid, "not json")
    gateway.send_raw(cid, "[1, 2]")
    gateway.send_raw(cid, b"\x00binary")
    gateway.send_raw(cid, "")
    gateway.send_raw(cid, '{"route": 5}')
    for _ in range(4):
        assert four.acquire(timeout=5)
    by_kind = {e.kind: e for e in events}
    assert by_kind["gateway"].message == "Invalid request body"
    assert by_kind["gateway"].connection_id == cid
    assert by_kind["gateway"].request_id
    assert by_kind["parse"].message == "Failed to parse received data not json"
    assert [e.message for e in events if e.kind == "unexpected"] == [
        "Unexpected data received [1, 2]",
        'Unexpected data received {"route": 5}',
    ]
    assert client.stats.ignored_frames == 2


def test_listener_errors_are_reported_and_the_rest_go_on(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    errors: list[ErrorEvent] = []
    client.on_error(errors.append)

    def broken(payload: Any) -> None:
        raise RuntimeError("boom")

    client.on("SendGreeting", broken)
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "Jack"})
    assert reply.result(5)["greeting"] == "Hello, Jack!"
    assert [(e.kind, e.route) for e in errors] == [("listener", "SendGreeting")]
    assert isinstance(errors[0].exception, RuntimeError)
    assert "boom" in errors[0].message


def test_listeners_may_send_unlisten_and_block_helpers_refuse_on_the_reader(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def on_greeting(payload: Any) -> None:
        if payload["greeting"] == "Hello, first!":
            unlisten()
            client.send("SayHello", {"name": "second"})
            try:
                client.wait_for("SendGreeting", timeout=1)
            except BlockingCallError as exc:
                outcome["blocking"] = exc
            try:
                client.flush(1)
            except BlockingCallError as exc:
                outcome["flush"] = exc
            done.set()

    unlisten = client.on("SendGreeting", on_greeting)
    with client.expect("SendGreeting", where=lambda p: p["greeting"] == "Hello, second!") as r:
        client.send("SayHello", {"name": "first"})
        assert done.wait(5)
    assert r.result(5)
    assert "reader" in str(outcome["blocking"])
    assert isinstance(outcome["flush"], BlockingCallError)


def test_close_from_a_listener(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(gateway.url)
    closed = threading.Event()
    client.on_state_change(lambda s: closed.set() if s is ConnectionState.CLOSED else None)
    client.on("SendGreeting", lambda p: client.close())
    client.send("SayHello", {"name": "bye"})
    assert closed.wait(5)
    client.close()  # idempotent, and joins the threads from here
    with pytest.raises(ClientClosedError):
        client.send("SayHello", {"name": "late"})


def test_state_changes_and_stats(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(gateway.url, start=False)
    states: list[ConnectionState] = []
    client.on_state_change(states.append)
    client.start(timeout=5)
    client.send("SayHello", {"name": "s"}).result(5)
    with client.expect("SendGreeting") as r:
        client.send("SayHello", {"name": "t"})
    r.result(5)
    stats = client.stats
    assert stats.messages_out == 2
    assert stats.messages_in >= 1
    assert stats.bytes_out > 0
    assert stats.queued == 0
    assert stats.connection_age is not None
    assert stats.connection_age >= 0
    client.close()
    assert states == [
        ConnectionState.CONNECTED,
        ConnectionState.CLOSING,
        ConnectionState.CLOSED,
    ]
    assert client.stats.connection_age is None


def test_messages_queued_before_start_go_out_first(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, start=False)
    futures = [client.send("SayHello", {"name": str(i)}) for i in range(5)]
    assert client.stats.queued == 5
    client.start(timeout=5)
    for f in futures:
        f.result(5)
    client.send("SayHello", {"name": "later"}).result(5)
    received = gateway.wait_for_messages(6, timeout=5)
    assert [m.payload["name"] for m in received] == ["0", "1", "2", "3", "4", "later"]


def test_with_statement_closes_and_leaves_no_thread(
    gateway: LocalGateway, sample_spec: Any
) -> None:
    with WebSocketClient.connect(gateway.url, spec=sample_spec, timeout=5) as client:
        client.send("SubscribeToNotifications", {"topic": "w"})
    assert client.state is ConnectionState.CLOSED
    gateway.wait_for_messages(1, timeout=5)
    assert not [t for t in threading.enumerate() if t.name.startswith(f"wsapi-{client.name}-")]


def test_dynamic_client_without_a_spec_sends_any_route(gateway: LocalGateway) -> None:
    with WebSocketClient.connect(gateway.url, timeout=5) as client:
        with client.expect("SendGreeting") as reply:
            client.send("SayHello", {"name": "free"})
        assert reply.result(5) == {"greeting": "Hello, free!"}


def test_batch_writes_once_at_the_end_in_order(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    with client.batch():
        futures = [client.send("SubscribeToNotifications", {"topic": str(i)}) for i in range(50)]
        with client.batch():  # nested: joins the outer batch
            futures.append(client.send("SubscribeToNotifications", {"topic": "50"}))
        assert client.stats.messages_out == 0
        assert not any(f.done() for f in futures)
    assert all(f.result(0) is None for f in futures)
    received = gateway.wait_for_messages(51, timeout=5)
    assert [m.payload["topic"] for m in received] == [str(i) for i in range(51)]


def test_batch_sends_what_was_accepted_even_if_the_block_raises(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    accepted: list[Any] = []

    def batch_that_raises() -> None:
        with client.batch():
            accepted.append(client.send("SubscribeToNotifications", {"topic": "kept"}))
            client.send("SubscribeToNotifications", {"topic": 1})

    with pytest.raises(ValidationError):
        batch_that_raises()
    assert accepted[0].result(5) is None
    (message,) = gateway.wait_for_messages(1, timeout=5)
    assert message.payload == {"topic": "kept"}


def test_send_many_validates_everything_first_and_is_all_or_nothing(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    from wsapi_client import QueueFullError, QueuePolicy

    client = make_client(gateway.url, start=False, queue=QueuePolicy(max_messages=3))
    with pytest.raises(ValidationError):
        client.send_many([("SubscribeToNotifications", {"topic": "a"}), ("SayHello", {})])
    assert client.stats.queued == 0
    with pytest.raises(QueueFullError, match="cannot take 4 more"):
        client.send_many([("SubscribeToNotifications", {"topic": str(i)}) for i in range(4)])
    assert client.stats.queued == 0
    futures = client.send_many([("SubscribeToNotifications", {"topic": str(i)}) for i in range(3)])
    client.start(timeout=5)
    assert all(f.result(5) is None for f in futures)
    more = client.send_many([("SubscribeToNotifications", {"topic": str(i)}) for i in range(3, 9)])
    assert all(f.result(5) is None for f in more)
    received = gateway.wait_for_messages(9, timeout=5)
    assert [m.payload["topic"] for m in received] == [str(i) for i in range(9)]


def test_a_queued_send_can_be_cancelled(gateway: LocalGateway, make_client: ClientFactory) -> None:
    client = make_client(gateway.url, start=False)
    dropped = client.send("SubscribeToNotifications", {"topic": "dropped"})
    kept = client.send("SubscribeToNotifications", {"topic": "kept"})
    assert dropped.cancel()
    client.start(timeout=5)
    kept.result(5)
    client.flush(5)
    assert [m.payload["topic"] for m in gateway.wait_for_messages(1, timeout=5)] == ["kept"]
    assert client.stats.messages_out == 1


def test_with_reconnect_registered_before_start_runs_on_the_first_connection(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, start=False)
    calls: list[int] = []
    client.with_reconnect(lambda: calls.append(1))
    client.start(timeout=5)
    assert calls == [1]
    client.with_reconnect(lambda: calls.append(2))  # connected: runs at once, exactly once
    assert calls == [1, 2]
