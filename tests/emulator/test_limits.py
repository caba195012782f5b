"""API Gateway's size limits (1009) and timeouts (1001 Going away), with short settings."""

from __future__ import annotations

import contextlib
import time

import websocket

from tests.emulator.helpers import Connector, GatewayFactory, recv_close, recv_json, send_json
from wsapi_client.emulator import LocalGateway

KIB = 1024


def _fragmented(ws: websocket.WebSocket, chunks: list[str]) -> None:
    """Send one text message as the given continuation frames."""
    for index, chunk in enumerate(chunks):
        opcode = websocket.ABNF.OPCODE_TEXT if index == 0 else websocket.ABNF.OPCODE_CONT
        fin = 1 if index == len(chunks) - 1 else 0
        ws.send_frame(websocket.ABNF.create_frame(chunk, opcode, fin))


def _hello(name_length: int) -> str:
    return '{"route":"SayHello","payload":{"name":"' + "n" * name_length + '"}}'


def test_frame_over_32_kib_closes_1009(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    ws.send(_hello(33 * KIB))
    code, _ = recv_close(ws)
    assert code == 1009
    assert gateway.received == []
    ws.shutdown()  # as a client does once the closing handshake is over
    gateway.wait_for_connections(0)


def test_frame_of_exactly_32_kib_is_accepted(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    message = _hello(32 * KIB - len(_hello(0)))
    assert len(message) == 32 * KIB
    ws.send(message)
    assert len(gateway.wait_for_messages(1)[0].payload["name"]) == 32 * KIB - len(_hello(0))


def test_fragmented_message_under_128_kib_is_accepted(
    gateway: LocalGateway, connect: Connector
) -> None:
    ws = connect(gateway.url)
    text = _hello(100 * KIB)
    _fragmented(ws, [text[i : i + 30 * KIB] for i in range(0, len(text), 30 * KIB)])
    assert len(gateway.wait_for_messages(1)[0].payload["name"]) == 100 * KIB


def test_message_over_128_kib_closes_1009(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    text = _hello(129 * KIB)
    # The gateway may close while the last frames are still being written.
    with contextlib.suppress(OSError):
        _fragmented(ws, [text[i : i + 30 * KIB] for i in range(0, len(text), 30 * KIB)])
    code, _ = recv_close(ws)
    assert code == 1009
    assert gateway.received == []


def test_limits_are_configurable(gateway_factory: GatewayFactory, connect: Connector) -> None:
    gateway = gateway_factory(max_frame_size=100, max_message_size=1000)
    ws = connect(gateway.url)
    ws.send(_hello(100))
    assert recv_close(ws)[0] == 1009


def test_long_outbound_messages_are_split_into_32_kib_frames(
    gateway: LocalGateway, connect: Connector
) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    gateway.post_to_connection(cid, "SendGreeting", {"greeting": "g" * (70 * KIB)})
    frames = []
    while True:
        frame = ws.recv_frame()
        frames.append(frame)
        if frame.fin:
            break
    assert [len(f.data) for f in frames[:-1]] == [32 * KIB, 32 * KIB]
    assert frames[0].opcode == websocket.ABNF.OPCODE_TEXT
    assert all(f.opcode == websocket.ABNF.OPCODE_CONT for f in frames[1:])
    text = b"".join(f.data for f in frames).decode()
    assert text.startswith('{"route":"SendGreeting"')


def test_idle_connection_is_closed_going_away(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory(idle_timeout=0.4)
    ws = connect(gateway.url)
    started = time.monotonic()
    assert recv_close(ws) == (1001, "Going away")
    assert time.monotonic() - started >= 0.35
    gateway.wait_for_connections(0)


def test_client_frames_keep_a_connection_from_idling(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory(idle_timeout=0.5)
    ws = connect(gateway.url)
    ws.settimeout(0.15)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # ~1 s of pings, 0.15 s apart: never 0.5 s idle
        ws.ping("keepalive")
        try:
            opcode, _ = ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        assert opcode == websocket.ABNF.OPCODE_PONG
    [cid] = gateway.connections
    gateway.post_to_connection(cid, "SendGreeting", {"greeting": "still here"})
    ws.settimeout(5)
    assert recv_json(ws)["payload"] == {"greeting": "still here"}
    assert recv_close(ws) == (1001, "Going away")


def test_maximum_age_closes_an_active_connection(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gateway = gateway_factory(max_connection_age=0.5, idle_timeout=60)
    ws = connect(gateway.url)
    started = time.monotonic()
    ws.settimeout(0.1)
    while True:
        send_json(ws, {"route": "SayHello", "payload": {"name": "busy"}})
        try:
            opcode, frame = ws.recv_data_frame()
        except websocket.WebSocketTimeoutException:
            continue
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        break
    assert frame.data[:2] == (1001).to_bytes(2, "big")
    assert 0.45 <= time.monotonic() - started < 3
