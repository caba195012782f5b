"""Generated clients over a real connection to the emulator (LocalGateway on 127.0.0.1).

What goes on the wire is checked frame by frame as the gateway received it; what comes back is
posted by the gateway as a server would, and must arrive as models at the typed listeners.
"""

from __future__ import annotations

import datetime
import importlib
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from wsapi_client import ErrorEvent, ValidationError, WebSocketClient
from wsapi_client.emulator import LocalGateway

UTC = datetime.timezone.utc
PLACED = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
TIMEOUT = 5.0

ORDER_WIRE = {
    "id": "A-1",
    "placedAt": "2024-01-02T03:04:05Z",
    "status": "open",
    "legs": [{"symbol": "X", "quantity": 3}],
}


def package(generated: dict[str, Path], name: str) -> ModuleType:
    assert name in generated
    return importlib.import_module(name)


@pytest.fixture
def features_gateway(generated: dict[str, Path]) -> Iterator[LocalGateway]:
    with LocalGateway(generated["gen_features"] / "gen_features" / "_model.json") as gw:
        yield gw


@pytest.fixture
def client(features: ModuleType, features_gateway: LocalGateway) -> Iterator[Any]:
    with features.DefaultApiWebSocketClient.connect(features_gateway.url, timeout=TIMEOUT) as c:
        yield c


def only_connection(gw: LocalGateway) -> str:
    return gw.wait_for_connections(1, TIMEOUT)[0]


def sent_frames(gw: LocalGateway, n: int) -> list[Any]:
    return [json.loads(m.raw) for m in gw.wait_for_messages(n, TIMEOUT)]


def test_connect_returns_the_generated_class_with_its_model(
    client: Any, features: ModuleType
) -> None:
    assert type(client) is features.DefaultApiWebSocketClient
    assert isinstance(client, WebSocketClient)
    assert client.spec is not None
    assert client.spec.title == "Features"


def test_send_a_model_or_keywords(
    client: Any, features_gateway: LocalGateway, features_models: ModuleType
) -> None:
    m = features_models
    leg = m.OrderLegsItem(symbol="X", quantity=3)
    client.place_order(m.Order(id="A-1", placed_at=PLACED, status=m.Status.OPEN, legs=[leg]))
    client.place_order(id="A-2", placed_at=PLACED, status=m.Status.DONE, legs=[leg], note="n")
    first, second = sent_frames(features_gateway, 2)
    assert features_gateway.received[0].raw == (
        '{"route":"PlaceOrder","payload":{"id":"A-1","placedAt":"2024-01-02T03:04:05Z",'
        '"status":"open","legs":[{"symbol":"X","quantity":3,"side":"buy"}],"rush":false,'
        '"quantityHint":1,"channels":[]}}'
    )
    assert first["route"] == second["route"] == "PlaceOrder"
    assert second["payload"]["id"] == "A-2"
    assert second["payload"]["note"] == "n"


def test_invalid_payload_is_refused_before_anything_is_queued(
    client: Any, features_gateway: LocalGateway, features_models: ModuleType
) -> None:
    m = features_models
    bad_leg = m.OrderLegsItem(symbol="X", quantity=3, limit_price=0.0)
    with pytest.raises(ValidationError) as caught:
        client.place_order(id="A-1", placed_at=PLACED, status=m.Status.OPEN, legs=[bad_leg])
    assert caught.value.path == "legs[0].limitPrice"  # wire names, as the server sees them
    assert caught.value.route == "PlaceOrder"
    with pytest.raises(ValidationError) as caught:
        client.note(text="far too long for ten")
    assert caught.value.path == "text"
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        client.note(text="ok", colour="red")
    with pytest.raises(TypeError, match="not both"):
        client.note(m.NoteRequestContent(text="ok"), payload="x")
    client.note(text="ok", payload="field named payload").result(TIMEOUT)
    (frame,) = sent_frames(features_gateway, 1)
    assert frame == {"route": "Note", "payload": {"text": "ok", "payload": "field named payload"}}


def test_typed_listeners_receive_models(
    client: Any, features_gateway: LocalGateway, features_models: ModuleType
) -> None:
    m = features_models
    cid = only_connection(features_gateway)
    received: queue.Queue[Any] = queue.Queue()
    unlisten = client.on_order_placed(received.put)
    with client.expect_order_placed(where=lambda o: o.id == "A-2") as reply:
        features_gateway.post_to_connection(cid, "OrderPlaced", ORDER_WIRE)
        features_gateway.post_to_connection(cid, "OrderPlaced", {**ORDER_WIRE, "id": "A-2"})
        placed = reply.result(TIMEOUT)
    assert isinstance(placed, m.Order)
    assert placed.id == "A-2"
    assert placed.placed_at == PLACED
    assert placed.status is m.Status.OPEN
    assert placed.legs == [m.OrderLegsItem(symbol="X", quantity=3)]
    assert received.get(timeout=TIMEOUT).id == "A-1"
    assert received.get(timeout=TIMEOUT).id == "A-2"
    unlisten()


def test_wait_for_returns_the_next_model(
    client: Any, features_gateway: LocalGateway, features_models: ModuleType
) -> None:
    cid = only_connection(features_gateway)
    results: queue.Queue[Any] = queue.Queue()
    waiter = threading.Thread(
        target=lambda: results.put(client.wait_for_draw(TIMEOUT, where=lambda s: s.side == 2.0)),
        name="test-waiter",
    )
    waiter.start()
    # wait_for sees only messages that arrive after it registered, which the test cannot observe:
    # post until the waiter has its match (each post is a full round of the reader thread).
    for _ in range(100):
        features_gateway.post_to_connection(cid, "Draw", {"kind": "sq", "side": 2})
        waiter.join(0.05)
        if not waiter.is_alive():
            break
    assert results.get(timeout=TIMEOUT) == features_models.Square(side=2.0)
    with pytest.raises(TimeoutError, match=r"no Draw message within 0\.01 s"):
        client.wait_for_draw(0.01, where=lambda s: False)


def test_payload_that_does_not_fit_is_a_decode_error(
    client: Any, features_gateway: LocalGateway, features_models: ModuleType
) -> None:
    cid = only_connection(features_gateway)
    errors: queue.Queue[ErrorEvent] = queue.Queue()
    raw: queue.Queue[tuple[str, Any]] = queue.Queue()
    typed: queue.Queue[Any] = queue.Queue()
    client.on_error(errors.put)
    client.on_any_message(lambda route, payload: raw.put((route, payload)))
    client.on_order_placed(typed.put)
    broken = {k: v for k, v in ORDER_WIRE.items() if k != "placedAt"}
    features_gateway.post_to_connection(cid, "OrderPlaced", broken)
    features_gateway.post_to_connection(cid, "OrderPlaced", ORDER_WIRE)
    event = errors.get(timeout=TIMEOUT)
    assert event.kind == "decode"
    assert event.route == "OrderPlaced"
    assert event.raw is not None
    assert json.loads(event.raw)["payload"] == broken
    assert "placedAt" in event.message
    assert raw.get(timeout=TIMEOUT) == ("OrderPlaced", broken)
    assert raw.get(timeout=TIMEOUT) == ("OrderPlaced", ORDER_WIRE)
    assert typed.get(timeout=TIMEOUT).id == "A-1"  # only the good one reached the typed listener
    assert typed.empty()


def test_echo_of_every_feature_round_trips(
    client: Any, features_gateway: LocalGateway, features_models: ModuleType
) -> None:
    m = features_models

    @features_gateway.route("Echo")
    def echo(connection_id: str, payload: Any) -> None:
        features_gateway.post_to_connection(connection_id, "Echo", payload)

    node = m.Node(
        value="a",
        children=[m.Node(value="b", left=m.Node(value="c"))],
        index={"k": m.Node(value="d")},
    )
    value = m.Everything(
        order=m.Order(
            id="A-1",
            placed_at=PLACED,
            delivery_date=datetime.date(2024, 2, 29),
            status=m.Status.IN_PROGRESS,
            legs=[m.OrderLegsItem(symbol="X", quantity=3, side=m.OrderLegsItemSide.SELL)],
            attributes={"k": "v"},
        ),
        shape=m.Square(side=2.0),
        pet=m.Dog(bark=True),
        scalar=7,
        node=node,
        record=m.Record(id="r", size=1),
        keywords=m.Keywords(class_="c", from_=2, n2fa=False),
        level=m.Level.VALUE_10,
        inline_choice=m.EverythingInlineChoiceOption1(a="x"),
        created_on=datetime.date(2020, 1, 1),
    )
    with client.expect_echo() as reply:
        client.echo(value)
        echoed = reply.result(TIMEOUT)
    assert echoed == value


def test_bodyless_any_and_array_payloads(
    generated: dict[str, Path], features: ModuleType, features_gateway: LocalGateway
) -> None:
    with features.DefaultApiWebSocketClient.connect(features_gateway.url, timeout=TIMEOUT) as c:
        cid = only_connection(features_gateway)
        pings: queue.Queue[None] = queue.Queue()
        c.on_ping(lambda: pings.put(None))
        c.ping()
        c.anything({"free": [1, None, "x"]})
        c.tags(["a", "b"])
        assert sent_frames(features_gateway, 3) == [
            {"route": "Ping"},
            {"route": "Anything", "payload": {"free": [1, None, "x"]}},
            {"route": "Tags", "payload": ["a", "b"]},
        ]
        with c.expect_tags() as tags, c.expect_anything() as anything:
            features_gateway.post_to_connection(cid, "Ping")
            features_gateway.post_to_connection(cid, "Tags", ["x"])
            features_gateway.post_to_connection(cid, "Anything", 42)
            assert tags.result(TIMEOUT) == ["x"]
            assert anything.result(TIMEOUT) == 42
        assert pings.get(timeout=TIMEOUT) is None


def test_pdk_server_route_names_reach_the_typed_listener(generated: dict[str, Path]) -> None:
    directions = package(generated, "gen_directions")
    models = importlib.import_module("gen_directions.models")
    model = generated["gen_directions"] / "gen_directions" / "_model.json"
    with LocalGateway(model) as gw, directions.DefaultApiWebSocketClient.connect(gw.url) as c:
        cid = only_connection(gw)
        with c.expect_station_report() as by_key, c.expect_sensor_map() as mapped:
            gw.post_to_connection(cid, "StationReport", {"celsius": 1.5})  # the PDK's name
            gw.post_to_connection(cid, "sensor-map", {"sensors": {"k": {"unit": "x"}}})
            assert by_key.result(TIMEOUT) == models.Reading(celsius=1.5)
            assert mapped.result(TIMEOUT) == models.SensorMap(
                sensors={"k": models.SensorMapSensorsValue(unit="x")}
            )
        c.submit_reading(celsius=2.0)
        c.radar_image("a string body")
        c.unnamed_route_post(models.Reading())
        assert sent_frames(gw, 3) == [
            {"route": "submit-reading", "payload": {"celsius": 2.0}},
            {"route": "radar-image", "payload": "a string body"},
            {"route": "unnamed-route", "payload": {}},
        ]


def test_clashing_names_get_a_trailing_underscore(generated: dict[str, Path]) -> None:
    clashes = package(generated, "gen_clashes")
    models = importlib.import_module("gen_clashes.models")
    model = generated["gen_clashes"] / "gen_clashes" / "_model.json"
    with LocalGateway(model) as gw, clashes.DefaultApiWebSocketClient.connect(gw.url) as c:
        cid = only_connection(gw)
        errors: queue.Queue[ErrorEvent] = queue.Queue()
        messages: queue.Queue[Any] = queue.Queue()
        c.on_error(errors.put)  # the client's own error listener is still there
        c.on_error_(messages.put)  # ... next to the listener of the "error" operation
        c.send_(text="hi")
        c.class_(models.Msg(text="k"))
        c.validate_()
        c.models_()
        c.on_ping_()
        assert [f["route"] for f in sent_frames(gw, 5)] == [
            "send", "class", "validate", "models", "OnPing",
        ]  # fmt: skip
        gw.post_to_connection(cid, "error", {"text": "an operation called error"})
        assert messages.get(timeout=TIMEOUT) == models.Msg(text="an operation called error")
        assert errors.empty()
        assert c.send("send", {"text": "plain"}).result(TIMEOUT) is None
