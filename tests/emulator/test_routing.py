"""Route selection, validation and the gateway's error frames, through raw WebSocket clients."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.emulator.helpers import (
    SPECS,
    Connector,
    GatewayFactory,
    recv_json,
    send_json,
    spec_dict,
)
from wsapi_client.emulator import LocalGateway
from wsapi_client.spec import load_spec

ID_SHAPE = re.compile(r"^[A-Za-z0-9+/]{15}=$")


def test_handler_receives_payload_and_can_reply(gateway: LocalGateway, connect: Connector) -> None:
    @gateway.route("SayHello")
    def hello(connection_id: str, payload: Any) -> None:
        gateway.post_to_connection(
            connection_id, "SendGreeting", {"greeting": f"Hi {payload['name']}"}
        )

    ws = connect(gateway.url)
    send_json(ws, {"route": "SayHello", "payload": {"name": "Jack"}})
    assert recv_json(ws) == {"route": "SendGreeting", "payload": {"greeting": "Hi Jack"}}
    [message] = gateway.wait_for_messages(1)
    assert message.route == "SayHello"
    assert message.payload == {"name": "Jack"}
    assert message.connection_id == gateway.connections[0]
    assert message.error is None


def test_reply_is_compact_json_with_route_first(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    gateway.post_to_connection(cid, "SendGreeting", {"greeting": "héllo"})
    gateway.post_to_connection(cid, "SendGreeting")
    assert ws.recv() == '{"route":"SendGreeting","payload":{"greeting":"héllo"}}'
    assert ws.recv() == '{"route":"SendGreeting"}'


def test_route_without_handler_is_accepted_and_recorded(
    gateway: LocalGateway, connect: Connector
) -> None:
    ws = connect(gateway.url)
    send_json(ws, {"route": "SubscribeToNotifications", "payload": {"topic": "news"}})
    send_json(ws, {"route": "SayHello", "payload": {"name": "Ann"}})
    messages = gateway.wait_for_messages(2)
    assert [m.route for m in messages] == ["SubscribeToNotifications", "SayHello"]
    assert gateway.wait_for_messages(1, route="SayHello")[0].payload == {"name": "Ann"}
    assert gateway.rejected == []


@pytest.mark.parametrize(
    "raw",
    [
        '{"route": "Nope", "payload": {}}',
        '{"route": "SendGreeting", "payload": {"greeting": "x"}}',  # server_to_client: no route
        '{"payload": {"name": "x"}}',
        '{"route": 5}',
        "not json at all",
        "[1, 2]",
    ],
)
def test_unmatched_messages_get_forbidden(
    gateway: LocalGateway, connect: Connector, raw: str
) -> None:
    ws = connect(gateway.url)
    ws.send(raw)
    frame = recv_json(ws)
    assert frame["message"] == "Forbidden"
    assert frame["connectionId"] == gateway.connections[0]
    assert ID_SHAPE.match(frame["requestId"])
    assert list(frame) == ["message", "connectionId", "requestId"]
    [rejected] = gateway.wait_until(lambda: gateway.rejected)
    assert rejected.error == "Forbidden"
    assert rejected.raw == raw
    assert gateway.received == []


def test_error_frame_is_spaced_like_api_gateway(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    ws.send("{}")
    text = ws.recv()
    assert re.fullmatch(
        r'\{"message": "Forbidden", "connectionId":"[^"]{16}", "requestId":"[^"]{16}"\}', text
    )


def test_default_route_takes_what_no_route_matches(
    gateway: LocalGateway, connect: Connector
) -> None:
    seen: list[Any] = []
    gateway.route("$default", lambda cid, body: seen.append(body))
    ws = connect(gateway.url)
    ws.send("plain text")
    send_json(ws, {"route": "Other", "x": 1})
    ws.send_binary(b"\x00\x01")
    send_json(ws, {"route": "SayHello", "payload": {"name": "still routed"}})
    messages = gateway.wait_for_messages(4)
    assert seen == ["plain text", {"route": "Other", "x": 1}, b"\x00\x01"]
    assert [m.route for m in messages] == ["$default", "$default", "$default", "SayHello"]


def test_binary_frame_without_default_is_forbidden(
    gateway: LocalGateway, connect: Connector
) -> None:
    ws = connect(gateway.url)
    ws.send_binary(b'{"route": "SayHello", "payload": {"name": "x"}}')
    assert recv_json(ws)["message"] == "Forbidden"


@pytest.mark.parametrize(
    "message",
    [
        {"route": "SayHello"},  # payload required whenever the operation has a body schema
        {"route": "SayHello", "payload": {}},
        {"route": "SayHello", "payload": {"name": 42}},
        {"route": "SayHello", "payload": "Jack"},
        {"route": "SayHello", "payload": None},
    ],
)
def test_invalid_body_is_refused(gateway: LocalGateway, connect: Connector, message: Any) -> None:
    called: list[Any] = []
    gateway.route("SayHello", lambda cid, payload: called.append(payload))
    ws = connect(gateway.url)
    send_json(ws, message)
    frame = recv_json(ws)
    assert frame["message"] == "Invalid request body"
    assert frame["connectionId"] == gateway.connections[0]
    assert called == []
    assert gateway.wait_until(lambda: gateway.rejected)[0].route == "SayHello"


def test_validation_can_be_switched_off(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory(validate=False)
    ws = connect(gateway.url)
    send_json(ws, {"route": "SayHello", "payload": {"name": 42}})
    assert gateway.wait_for_messages(1)[0].payload == {"name": 42}


def test_extra_fields_are_allowed(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    send_json(ws, {"route": "SayHello", "payload": {"name": "a", "extra": [1]}, "more": True})
    assert gateway.wait_for_messages(1)[0].payload == {"name": "a", "extra": [1]}


def test_handler_exception_gives_internal_server_error(
    gateway: LocalGateway, connect: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    @gateway.route("SayHello")
    def broken(connection_id: str, payload: Any) -> None:
        raise RuntimeError("boom")

    ws = connect(gateway.url)
    send_json(ws, {"route": "SayHello", "payload": {"name": "x"}})
    frame = recv_json(ws)
    assert frame["message"] == "Internal server error"
    [message] = gateway.wait_for_messages(1)
    assert message.error == "Internal server error"
    assert "boom" in caplog.text
    # The connection stays usable.
    send_json(ws, {"route": "SubscribeToNotifications", "payload": {"topic": "t"}})
    gateway.wait_for_messages(2)


def test_recursive_model_is_validated_through_refs(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory(load_spec(SPECS / "recursive.json"))
    ws = connect(gateway.url)
    good = {"trunk": {"label": "a", "left": {"label": "b", "right": {"label": "c"}}}}
    bad = {"trunk": {"label": "a", "left": {"right": {"label": 3}}}}
    send_json(ws, {"route": "Graft", "payload": good})
    send_json(ws, {"route": "Graft", "payload": bad})
    assert recv_json(ws)["message"] == "Invalid request body"
    send_json(
        ws, {"route": "WatchOrchard", "payload": {"orchard": "o", "filter": {"minHeight": 1}}}
    )
    send_json(ws, {"route": "WatchOrchard", "payload": {"filter": {"minHeight": 1}}})
    assert recv_json(ws)["message"] == "Invalid request body"
    send_json(
        ws, {"route": "ReportGrowth", "payload": {"orchard": "o", "species": "s", "note": "n"}}
    )
    assert recv_json(ws)["message"] == "Forbidden"
    assert [m.route for m in gateway.wait_for_messages(2)] == ["Graft", "WatchOrchard"]


def test_operation_without_body_takes_any_or_no_payload(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    spec = spec_dict({"Ping": ("client_to_server", None), "Any": ("bidirectional", {})}, {})
    gateway = gateway_factory(spec)
    ws = connect(gateway.url)
    send_json(ws, {"route": "Ping"})
    send_json(ws, {"route": "Ping", "payload": [1, 2]})
    send_json(ws, {"route": "Any", "payload": "anything"})
    messages = gateway.wait_for_messages(3)
    assert [m.payload for m in messages] == [None, [1, 2], "anything"]


def test_route_registration_checks_the_model(gateway: LocalGateway) -> None:
    with pytest.raises(ValueError, match=r"SendGreeting.*server_to_client"):
        gateway.route("SendGreeting")
    with pytest.raises(ValueError, match=r"no route 'Nope'.*SayHello"):
        gateway.route("Nope")


def test_ids_look_like_api_gateway_and_are_unique(
    gateway: LocalGateway, connect: Connector
) -> None:
    sockets = [connect(gateway.url) for _ in range(5)]
    ids = gateway.wait_for_connections(5)
    assert len(set(ids)) == 5
    assert all(ID_SHAPE.match(i) and "/" not in i for i in ids)
    for ws in sockets:
        for _ in range(20):
            ws.send("x")
    gateway.wait_until(lambda: len(gateway.rejected) == 100)
    request_ids = {m.request_id for m in gateway.rejected}
    assert len(request_ids) == 100
    assert all(ID_SHAPE.match(r) for r in request_ids)


def test_messages_of_one_connection_keep_their_order(
    gateway: LocalGateway, connect: Connector
) -> None:
    ws = connect(gateway.url)
    for i in range(200):
        send_json(ws, {"route": "SubscribeToNotifications", "payload": {"topic": str(i)}})
    messages = gateway.wait_for_messages(200)
    assert [m.payload["topic"] for m in messages] == [str(i) for i in range(200)]
