"""Connection.write_some on real sockets: plain sockets are written with one system call
(os.write), TLS sockets with socket.send; a full socket takes what it can and the call returns at
once; a released connection never writes to whatever reuses its descriptor."""

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
    ours.setblocking(False)  # as Opener.open leaves it
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
    assert conn.write_some(b"hello") == 5
    assert read_exactly(theirs, 5) == b"hello"


@posix_only
@pytest.mark.parametrize("direct", [True, False])
def test_a_full_socket_takes_part_and_never_blocks(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    """write_some returns what the kernel took (0 when full) at once: a server that stops
    reading never holds up the writer; wait_writable says when there is room again."""
    monkeypatch.setattr(_connection, "_DIRECT_WRITES", direct)
    ours, theirs = pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ours.setblocking(False)
    conn = connection_on(ours)
    data = bytes(range(256)) * 8192  # 2 MiB, far more than the buffers hold
    sent = 0
    while True:
        written = conn.write_some(memoryview(data)[sent:])
        if not written:
            break
        sent += written
    assert 0 < sent < len(data)
    assert not conn.wait_writable(0.05)  # nobody reads: no room
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(read_exactly(theirs, len(data))))
    reader.start()
    while sent < len(data):
        assert conn.wait_writable(5.0)
        sent += conn.write_some(memoryview(data)[sent:])
    reader.join(10)
    assert not reader.is_alive()
    assert received == [data]  # whole and in order


@posix_only
def test_a_write_to_a_closed_peer_raises(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    conn = connection_on(ours)
    theirs.close()

    def write_until_refused() -> None:
        for _ in range(100):  # the first write may still be taken by the kernel
            conn.write_some(b"x" * 1024)

    with pytest.raises(OSError):
        write_until_refused()


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
                conn.write_some(b"frame")
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
