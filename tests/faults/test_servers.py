"""The fault servers do what they claim, checked with raw websocket-client sockets."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import websocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.faults.servers import (
    OP_BINARY,
    OP_TEXT,
    FaultServers,
    close_frame,
    endless_continuation,
    frame,
    text_frame,
    tls_context,
)


def test_hanging_server_never_answers_and_sees_the_close(faults: FaultServers) -> None:
    server = faults.hanging()
    with pytest.raises(websocket.WebSocketTimeoutException):
        websocket.create_connection(server.url, timeout=0.3)
    assert server.wait_count("requests", 1, timeout=5)
    assert server.wait_count("peer_closed", 1, timeout=5)


def test_stalling_server_stops_reading_so_writes_block(faults: FaultServers) -> None:
    server = faults.stalling()
    ws = websocket.create_connection(server.url, timeout=5)
    try:
        ws.sock.setblocking(False)
        written = 0
        with pytest.raises(BlockingIOError):  # noqa: PT012 - the loop is the point
            for _ in range(10_000):
                written += ws.sock.send(b"x" * 65536)
        assert written < 64 * 2**20  # the window filled long before
    finally:
        ws.sock.close()


def test_raw_server_sends_frames_and_records_the_close(faults: FaultServers) -> None:
    server = faults.raw(
        [text_frame("hi"), frame(OP_BINARY, b"\x00\x01"), text_frame(b"\xff\xfe"), text_frame("")]
    )
    ws = websocket.create_connection(server.url, timeout=5, skip_utf8_validation=True)
    assert ws.recv_data()[1] == b"hi"
    assert ws.recv_data() == (OP_BINARY, b"\x00\x01")
    assert ws.recv_data() == (OP_TEXT, b"\xff\xfe")
    assert ws.recv_data() == (OP_TEXT, b"")
    ws.send("from client")
    ws.close(status=1000)
    assert server.wait_until(lambda: server.close_codes() == [1000], timeout=5)
    assert server.texts() == [b"from client"]


def test_raw_server_close_frames_and_later_connections(faults: FaultServers) -> None:
    server = faults.raw(close_frame(1011, "bye"), then=b"")
    first = websocket.create_connection(server.url, timeout=5)
    opcode, data = first.recv_data(control_frame=True)
    assert opcode == 0x8
    assert data[:2] == b"\x03\xf3"  # 1011
    second = websocket.create_connection(server.url, timeout=5)
    second.ping(b"p")
    assert second.recv_data(control_frame=True)[1] == b"p"
    second.close()
    first.shutdown()


def test_raw_server_streams_an_endless_message_until_the_client_leaves(
    faults: FaultServers,
) -> None:
    server = faults.raw(endless_continuation(chunk=4096, limit=2**30))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(
        b"GET /default HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    got = 0
    while got < 2**20:
        got += len(sock.recv(65536))
    sock.close()
    assert server.wait_count("peer_closed", 1, timeout=5)


def test_huge_declared_frame_header(faults: FaultServers) -> None:
    assert frame(OP_TEXT, b"", declared_length=2**40)[:2] == b"\x81\x7f"


def test_status_server_answers_with_the_status(faults: FaultServers) -> None:
    server = faults.status(418, "teapot")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(server.url, timeout=5)
    assert refused.value.status_code == 418


def test_tls_server_with_a_self_signed_cert(
    faults: FaultServers, self_signed_cert: tuple[Path, Path]
) -> None:
    cert, key = self_signed_cert
    server = faults.raw(then=text_frame("secure"), ssl_context=tls_context(cert, key))
    with pytest.raises(ssl.SSLError):
        websocket.create_connection(server.url, timeout=5)
    ws = websocket.create_connection(server.url, timeout=5, sslopt={"ca_certs": str(cert)})
    assert ws.recv() == "secure"
    ws.close()


@pytest.mark.parametrize(
    "script",
    [
        lambda: text_frame('"' + "x" * 100 * 1024 + '"'),
        lambda: frame(OP_TEXT, b"", declared_length=2**40),
        endless_continuation,
    ],
    ids=["big-message", "declared-2**40", "endless-continuation"],
)
def test_raw_server_records_a_1009_from_a_client_with_a_size_cap(
    faults: FaultServers, script: Any
) -> None:
    """The inbound-cap rows rely on this: a capped client's close 1009 reaches the server,
    even while it floods the client."""
    server = faults.raw(script())
    capped = ws_connect(server.url, max_size=64 * 1024, open_timeout=5, close_timeout=2)
    with capped as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.sent is not None
    assert closed.value.sent.code == 1009
    assert server.wait_until(lambda: 1009 in server.close_codes(), timeout=5)
