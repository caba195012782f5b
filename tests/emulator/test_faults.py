"""Fault controls and connection hooks: refusals, hangs, drops, closes, half-open, $connect."""

from __future__ import annotations

import threading

import pytest
import websocket

from tests.emulator.helpers import Connector, GatewayFactory, recv_close, recv_json, send_json
from wsapi_client.emulator import ConnectRequest, Deny, GoneError, LocalGateway


def test_refuse_next_answers_with_the_status(gateway: LocalGateway, connect: Connector) -> None:
    gateway.refuse_next(2, status=503, body="busy")
    for _ in range(2):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(gateway.url)
        assert refused.value.status_code == 503
        assert refused.value.resp_body == b"busy"
    connect(gateway.url)
    assert [h.status for h in gateway.handshake_log] == [503, 503, 101]
    assert gateway.connect_count == 3
    assert len(gateway.connections) == 1


def test_hang_next_never_answers_the_handshake(gateway: LocalGateway, connect: Connector) -> None:
    gateway.hang_next(1)
    with pytest.raises(websocket.WebSocketTimeoutException):
        connect(gateway.url, timeout=0.3)
    connect(gateway.url)
    log = gateway.handshake_log
    assert [h.status for h in log] == [None, 101]
    assert log[0].path == "/default"


def test_drop_all_aborts_without_a_close_frame(gateway: LocalGateway, connect: Connector) -> None:
    dropped: list[str] = []
    gateway.on_disconnect(dropped.append)
    sockets = [connect(gateway.url) for _ in range(3)]
    ids = gateway.wait_for_connections(3)
    gateway.drop_all()
    for ws in sockets:
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            ws.recv()
    gateway.wait_for_connections(0)
    assert sorted(dropped) == sorted(ids)
    with pytest.raises(GoneError):
        gateway.post_to_connection(ids[0], "SendGreeting", {"greeting": "x"})


def test_close_all_and_close_connection_send_the_code(
    gateway: LocalGateway, connect: Connector
) -> None:
    first = connect(gateway.url)
    [first_id] = gateway.wait_for_connections(1)
    second = connect(gateway.url)
    gateway.wait_for_connections(2)
    gateway.close_connection(first_id, 4000, "one")
    assert recv_close(first) == (4000, "one")
    gateway.wait_for_connections(1)
    gateway.close_all(4001, "all")
    assert recv_close(second) == (4001, "all")
    gateway.wait_for_connections(0)
    with pytest.raises(GoneError):
        gateway.close_connection(first_id, 1000, "")


def test_half_open_connections_stop_answering(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    ws.ping("one")
    assert ws.recv_data_frame(control_frame=True)[0] == websocket.ABNF.OPCODE_PONG

    gateway.answer_pings = False
    assert gateway.answer_pings is False
    ws.ping("two")
    gateway.post_to_connection(cid, "SendGreeting", {"greeting": "lost"})
    ws.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv_data_frame(control_frame=True)
    # The gateway still reads what the client sends ...
    send_json(ws, {"route": "SayHello", "payload": {"name": "heard"}})
    gateway.wait_for_messages(1)
    # ... and a new connection is not muted.
    other = connect(gateway.url)
    other.ping("three")
    assert other.recv_data_frame(control_frame=True)[0] == websocket.ABNF.OPCODE_PONG

    gateway.answer_pings = True
    ws.settimeout(5)
    ws.ping("four")
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert (opcode, frame.data) == (websocket.ABNF.OPCODE_PONG, b"four")


def test_connect_hook_sees_the_request_and_may_deny(
    gateway: LocalGateway, connect: Connector
) -> None:
    seen: list[ConnectRequest] = []

    @gateway.on_connect
    def check(request: ConnectRequest) -> None:
        seen.append(request)
        if request.query.get("token") != "good":
            raise Deny(401, "Unauthorized")

    with pytest.raises(websocket.WebSocketBadStatusException) as denied:
        connect(f"{gateway.url}?token=bad")
    assert denied.value.status_code == 401
    assert gateway.connections == []
    connect(f"{gateway.url}?token=good", header=["X-Custom: yes"])
    [cid] = gateway.wait_for_connections(1)
    assert seen[1].connection_id == cid
    assert seen[1].headers["x-custom"] == "yes"
    assert seen[1].path == "/default"
    assert [h.status for h in gateway.handshake_log] == [401, 101]
    assert "denied" in gateway.handshake_log[0].reason


def test_connect_hook_that_raises_gives_500(gateway: LocalGateway, connect: Connector) -> None:
    def broken(request: ConnectRequest) -> None:
        raise RuntimeError("hook bug")

    gateway.on_connect(broken)
    with pytest.raises(websocket.WebSocketBadStatusException) as failed:
        connect(gateway.url)
    assert failed.value.status_code == 500


def test_wrong_stage_is_forbidden(gateway: LocalGateway, connect: Connector) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(gateway.url.replace("/default", "/prod"))
    assert refused.value.status_code == 403
    connect(gateway.url + "/")


def test_disconnect_hook_runs_before_the_connection_is_forgotten(
    gateway: LocalGateway, connect: Connector
) -> None:
    events: list[tuple[str, list[str]]] = []
    gateway.on_disconnect(lambda cid: events.append((cid, gateway.connections)))
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    ws.close()
    gateway.wait_for_connections(0)
    assert events == [(cid, [cid])]


def test_send_raw_writes_exactly_the_frame(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    gateway.send_raw(cid, "not json")
    gateway.send_raw(cid, b"\x00bin")
    gateway.send_raw(cid, "x" * 40000)  # unfragmented, even over the frame limit
    assert ws.recv() == "not json"
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"\x00bin")
    frame = ws.recv_frame()
    assert frame.fin
    assert len(frame.data) == 40000


def test_post_checks_size_and_liveness(gateway: LocalGateway, connect: Connector) -> None:
    connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    with pytest.raises(ValueError, match="exceeds the limit"):
        gateway.post_to_connection(cid, "SendGreeting", {"greeting": "x" * 140_000})
    with pytest.raises(GoneError, match="gone"):
        gateway.post_to_connection("AAAAAAAAAAAAAAA=", "SendGreeting", {})


def test_stop_closes_connections_going_away(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory()
    ws = connect(gateway.url)
    gateway.wait_for_connections(1)
    stopper = threading.Thread(target=gateway.stop, name="test-stopper")
    stopper.start()
    assert recv_close(ws) == (1001, "Going away")
    stopper.join(5)
    assert not stopper.is_alive()


def test_handlers_run_in_order_and_may_post_back(gateway: LocalGateway, connect: Connector) -> None:
    @gateway.route("SubscribeToNotifications")
    def subscribe(cid: str, payload: dict[str, str]) -> None:
        topic = payload["topic"]
        gateway.post_to_connection(
            cid, "SendNotification", {"topic": topic, "title": "t", "message": f"on {topic}"}
        )

    ws = connect(gateway.url)
    for topic in ("a", "b", "c"):
        send_json(ws, {"route": "SubscribeToNotifications", "payload": {"topic": topic}})
    assert [recv_json(ws)["payload"]["message"] for _ in range(3)] == ["on a", "on b", "on c"]


def test_disconnect_log_says_how_each_connection_ended(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory(idle_timeout=0.3)
    by_client = connect(gateway.url)
    [client_id] = gateway.wait_for_connections(1)
    by_client.close(status=4100, reason=b"bye")  # websocket-client 1.9.0 takes bytes only
    gateway.wait_for_connections(0)
    idle = connect(gateway.url)
    [idle_id] = gateway.wait_for_connections(1)
    assert recv_close(idle) == (1001, "Going away")
    gateway.wait_for_connections(0)
    connect(gateway.url)
    [dropped_id] = gateway.wait_for_connections(1)
    gateway.drop_all()
    gateway.wait_for_connections(0)
    outcomes = [(r.connection_id, r.code, r.initiated_by) for r in gateway.disconnect_log]
    assert outcomes == [
        (client_id, 4100, "client"),
        (idle_id, 1001, "gateway"),
        (dropped_id, 1006, "gateway"),
    ]
    assert gateway.disconnect_log[0].reason == "bye"


def test_pings_are_counted(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    for _ in range(3):
        ws.ping("p")
    gateway.wait_until(lambda: gateway.pings_received == 3)
