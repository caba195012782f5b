"""Connection.write on real sockets: plain sockets are written with one system call
(os.write) and fall back to socket.send when the socket is full; TLS sockets keep socket.send;
a released connection never writes to whatever reuses its descriptor."""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator

import pytest
import websocket

from wsapi_client import _connection
from wsapi_client._connection import Connection

posix_only = pytest.mark.skipif(os.name != "posix", reason="direct writes are POSIX only")


def connection_on(sock: socket.socket) -> Connection:
    ws = websocket.WebSocket(skip_utf8_validation=True)
    ws.sock = sock
    return Connection(ws, 1, 0.0)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5.0)  # as open_connection leaves it: non-blocking underneath
    theirs.settimeout(5.0)
    yield ours, theirs
    ours.close()
    theirs.close()


def read_exactly(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = sock.recv(min(65536, size - got))
        assert part, "the peer closed early"
        parts.append(part)
        got += len(part)
    return b"".join(parts)


@posix_only
def test_a_plain_socket_is_written_directly(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    conn = connection_on(ours)
    assert conn._fd == ours.fileno()
    assert conn.write(b"hello") == 5
    assert read_exactly(theirs, 5) == b"hello"


@posix_only
def test_a_write_bigger_than_the_socket_buffer_goes_out_whole_and_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    conn = connection_on(ours)
    data = bytes(range(256)) * 8192  # 2 MiB: os.write takes part, socket.send the rest
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(read_exactly(theirs, len(data))))
    reader.start()
    assert conn.write(memoryview(data)) == len(data)
    reader.join(10)
    assert not reader.is_alive()
    assert received == [data]


@posix_only
def test_a_failed_write_reports_what_went_out(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    conn = connection_on(ours)
    theirs.close()
    with pytest.raises(OSError) as caught:
        conn.write(b"x" * 1024)
    assert caught.value.written == 0  # type: ignore[attr-defined]


@posix_only
def test_a_released_connection_never_writes_to_a_reused_descriptor(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _theirs = pair
    conn = connection_on(ours)
    number = ours.fileno()
    conn.release()
    with tempfile.TemporaryFile() as stray:
        if stray.fileno() != number:  # make the number be reused, whatever else is open
            os.dup2(stray.fileno(), number)
        try:
            with pytest.raises(OSError):
                conn.write(b"frame")
            stray.seek(0)
            assert stray.read() == b""
        finally:
            if stray.fileno() != number:
                os.close(number)


def test_tls_sockets_and_other_platforms_keep_socket_send(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, _theirs = pair
    monkeypatch.setattr(_connection, "_DIRECT_WRITES", False)
    assert connection_on(ours)._fd == -1
    monkeypatch.undo()
    raw = socket.socket()
    try:
        tls = ssl.create_default_context().wrap_socket(
            raw, server_hostname="localhost", do_handshake_on_connect=False
        )
        assert connection_on(tls)._fd == -1
    finally:
        raw.close()
