"""Starting and stopping: prompt, idempotent, and leaving no thread or file descriptor behind."""

from __future__ import annotations

import os
import socket
import threading
import time

import boto3
import pytest
import websocket

from tests.emulator.helpers import send_json
from wsapi_client.emulator import SAMPLE_API, LocalGateway
from wsapi_client.spec import ApiSpec


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


def test_urls_and_ports(sample_spec: ApiSpec) -> None:
    gateway = LocalGateway(sample_spec, stage="dev")
    with pytest.raises(RuntimeError, match="not started"):
        _ = gateway.url
    with gateway as started:
        assert started is gateway
        assert gateway.url == f"ws://127.0.0.1:{gateway.port}/dev"
        assert gateway.callback_url.startswith("http://127.0.0.1:")
        assert gateway.callback_url.endswith("/dev")
        with pytest.raises(RuntimeError, match="already started"):
            gateway.start()
    gateway.stop()  # idempotent


def test_threads_are_named_and_all_joined(sample_spec: ApiSpec) -> None:
    before = set(threading.enumerate())
    with LocalGateway(sample_spec) as gateway:
        ws = websocket.create_connection(gateway.url, timeout=5)
        send_json(ws, {"route": "SayHello", "payload": {"name": "x"}})
        gateway.wait_for_messages(1)
        boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=gateway.callback_url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        ).get_connection(ConnectionId=gateway.connections[0])
        new = set(threading.enumerate()) - before
        assert new
        assert all(t.name.startswith("wsapi-emulator") for t in new), [t.name for t in new]
        ws.shutdown()
    assert [t for t in new if t.is_alive()] == []


def test_stop_is_prompt_with_unresponsive_peers(sample_spec: ApiSpec) -> None:
    fds = _open_fds()
    gateway = LocalGateway(sample_spec).start()
    peers: list[socket.socket] = []
    try:
        # An upgraded connection whose client never reads nor answers the close frame.
        silent = websocket.create_connection(gateway.url, timeout=5)
        # A TCP connection that never sends its handshake, and one the gateway hangs.
        peers.append(socket.create_connection(("127.0.0.1", gateway.port)))
        gateway.hang_next(1)
        hung = socket.create_connection(("127.0.0.1", gateway.port))
        hung.sendall(b"GET /default HTTP/1.1\r\nHost: x\r\n\r\n")
        peers.append(hung)
        # A half-open connection, and half a management request.
        muted = websocket.create_connection(gateway.url, timeout=5)
        gateway.wait_for_connections(2)
        gateway.answer_pings = False
        management_port = int(gateway.callback_url.rsplit(":", 1)[1].split("/")[0])
        partial = socket.create_connection(("127.0.0.1", management_port))
        partial.sendall(b"GET /default/@connections/x HTTP/1.1\r\n")
        peers.append(partial)
        gateway.wait_until(lambda: gateway.connect_count == 3)
        started = time.monotonic()
        gateway.stop()
        elapsed = time.monotonic() - started
    finally:
        gateway.stop()
        for peer in peers:
            peer.close()
        silent.shutdown()
        muted.shutdown()
    assert elapsed < 1.0
    assert _open_fds() <= fds


def test_start_stop_cycles_leave_no_descriptors(sample_spec: ApiSpec) -> None:
    fds = _open_fds()
    for _ in range(5):
        with LocalGateway(sample_spec) as gateway:
            ws = websocket.create_connection(gateway.url, timeout=5)
            ws.close()
            gateway.wait_for_connections(0)
    assert _open_fds() <= fds


def test_bad_settings_are_refused(sample_spec: ApiSpec) -> None:
    with pytest.raises(ValueError, match="stage"):
        LocalGateway(sample_spec, stage="a/b")
    with pytest.raises(ValueError, match="max_frame_size"):
        LocalGateway(sample_spec, max_frame_size=200, max_message_size=100)
    with pytest.raises(ValueError, match="idle_timeout"):
        LocalGateway(sample_spec, idle_timeout=0)


def test_a_path_is_loaded() -> None:
    with LocalGateway(SAMPLE_API) as by_path, LocalGateway(str(SAMPLE_API)) as by_str:
        assert by_path.spec.title == by_str.spec.title == "SampleWebSocketApi"


def test_without_recording_only_the_counters_grow(sample_spec: ApiSpec) -> None:
    """``record_messages=False`` (what ``serve`` runs): no per-message or per-connection record."""
    with LocalGateway(sample_spec, record_messages=False) as gw:
        for name in ("a", "b"):
            ws = websocket.create_connection(gw.url, timeout=5)
            send_json(ws, {"route": "SayHello", "payload": {"name": name}})
            ws.send("nonsense")  # rejected: Forbidden
            ws.recv()
            ws.close()
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(gw.url.replace("/default", "/other"), timeout=5)
        gw.wait_until(lambda: gw.message_count == 2 and not gw.connections)
        assert gw.connect_count == 3
        assert (gw.received, gw.rejected, gw.handshake_log, gw.disconnect_log) == ([], [], [], [])
