"""The writer over real socket pairs, with the test playing the supervisor: sends never wait for a
peer that stops reading (the rest of a write is parked), a parked write finishes whole and in
order once the peer reads, control frames go out between messages, and a connection lost with a
write parked on it gives its unwritten messages back whole, at the head of the queue."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Callable

import pytest
import websocket
from websocket._abnf import ABNF, continuous_frame, frame_buffer

from wsapi_client import ClientClosedError, QueueFullError, QueuePolicy, _framing
from wsapi_client._connection import Connection
from wsapi_client._futures import SendFuture
from wsapi_client._outbox import Outgoing
from wsapi_client._writer import Writer

MESSAGE = 100 * 1024


class Harness:
    """A writer and what it tells its supervisor."""

    def __init__(self, policy: QueuePolicy | None = None) -> None:
        self.wakes = 0
        self.writer = Writer(
            policy or QueuePolicy(),
            name="test",
            clock=time.monotonic,
            perf=time.perf_counter,
            logger=logging.getLogger("wsapi_client.test"),
            wake_supervisor=self._wake,
            hold_helper=lambda: False,
            helper_ready=lambda: False,
            on_sdk_thread=lambda: False,
        )

    def _wake(self) -> None:
        self.wakes += 1

    def message(self, text: str) -> Outgoing:
        data = text.encode()
        frames = _framing.build_message(data, _framing.OPCODE_TEXT, 32 * 1024)
        return Outgoing(frames, SendFuture(self.writer), "R", time.monotonic())

    def send(self, text: str) -> Future[None]:
        item = self.message(text)
        self.writer.submit([item], alone=True)
        return item.future

    def drain(self, timeout: float = 10.0) -> None:
        """What the supervisor does while a write is parked: wait for room, resume."""
        deadline = time.monotonic() + timeout
        while (conn := self.writer.tail_connection()) is not None:
            assert time.monotonic() < deadline, "the parked write never finished"
            conn.wait_writable(0.05)
            self.writer.resume()


class Peer:
    """The server side of a socket pair: reads and parses the client's (masked) frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.frames: list[tuple[int, bytes]] = []
        self._thread: threading.Thread | None = None

    def read(self) -> None:
        """Read in the background until the client side closes."""

        def run() -> None:
            self.sock.settimeout(10)
            fb = frame_buffer(self._recv, True)
            cont = continuous_frame(True, True)
            while True:
                try:
                    frame = fb.recv_frame()
                except (websocket.WebSocketException, OSError):
                    return
                if frame.opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_CONT):
                    cont.add(frame)
                    if frame.fin:
                        opcode, whole = cont.extract(frame)
                        self.frames.append((opcode, whole.data))
                else:
                    self.frames.append((frame.opcode, frame.data))

        self._thread = threading.Thread(target=run, name="peer")
        self._thread.start()

    def _recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        if not data:
            raise websocket.WebSocketConnectionClosedException("closed")
        return data

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[int, bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.frames) < count and time.monotonic() < deadline:
            assert self._thread is not None
            self._thread.join(0.02)
        return self.frames

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(10)


NewPair = Callable[[], tuple[Connection, Peer]]


@pytest.fixture
def new_pair() -> Iterator[NewPair]:
    """Makes connected socket pairs with small buffers: our side non-blocking, as Opener leaves
    it; everything is closed at the end."""
    made: list[tuple[Connection, Peer, socket.socket, socket.socket]] = []

    def make() -> tuple[Connection, Peer]:
        ours, theirs = socket.socketpair()
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        ours.setblocking(False)
        ws = websocket.WebSocket(skip_utf8_validation=True)
        ws.sock = ours
        conn = Connection(ws, len(made) + 1, time.monotonic())
        peer = Peer(theirs)
        made.append((conn, peer, ours, theirs))
        return conn, peer

    yield make
    for conn, peer, ours, theirs in made:
        conn.release()
        theirs.close()
        peer.stop()
        ours.close()


def test_a_peer_that_stops_reading_never_holds_up_a_send(new_pair: NewPair) -> None:
    h = Harness()
    conn, peer = new_pair()
    h.writer.activate(conn)
    futures = [h.send(f"{i:04d}" + "x" * MESSAGE) for i in range(40)]  # 4 MiB, nobody reads
    assert h.writer.tail_connection() is conn  # the rest is parked with the token
    assert h.wakes >= 1  # and the supervisor was told
    assert not all(f.done() for f in futures)
    peer.read()
    h.drain()
    assert all(f.done() and f.exception() is None for f in futures)
    frames = peer.wait_for(40)
    assert [data[:4].decode() for _op, data in frames] == [f"{i:04d}" for i in range(40)]
    assert all(len(data) == 4 + MESSAGE for _op, data in frames)  # whole, none cut


def test_control_frames_go_out_between_messages_never_inside_one(new_pair: NewPair) -> None:
    h = Harness()
    conn, peer = new_pair()
    h.writer.activate(conn)
    h.send("a" * MESSAGE)  # parks mid-message
    assert h.writer.tail_connection() is conn
    h.writer.send_control(conn, _framing.build_control(_framing.OPCODE_PING, b"hi"))
    h.send("b")
    peer.read()
    h.drain()
    frames = peer.wait_for(3)
    assert [(op, data[:1]) for op, data in frames] == [
        (ABNF.OPCODE_TEXT, b"a"),
        (ABNF.OPCODE_PING, b"h"),
        (ABNF.OPCODE_TEXT, b"b"),
    ]


def test_a_connection_lost_under_a_parked_write_gives_its_messages_back_whole(
    new_pair: NewPair,
) -> None:
    h = Harness()
    first, _silent = new_pair()
    h.writer.activate(first)
    futures = [h.send(f"{i:04d}" + "y" * MESSAGE) for i in range(10)]
    assert h.writer.tail_connection() is first
    first.abort()
    h.writer.connection_lost(first)  # what the reader does when the connection ends
    assert h.writer.tail_connection() is None
    queued, _bytes = h.writer.queue_size()
    unwritten = [f for f in futures if not f.done()]
    assert queued == len(unwritten) > 0
    second, peer = new_pair()
    peer.read()
    h.writer.activate(second)
    h.drain()
    assert all(f.done() and f.exception() is None for f in futures)
    frames = peer.wait_for(len(unwritten))
    labels = [data[:4].decode() for _op, data in frames]
    assert labels == [f"{i:04d}" for i in range(10 - len(unwritten), 10)]  # FIFO, whole
    assert all(len(data) == 4 + MESSAGE for _op, data in frames)


def test_the_queue_policy_applies_while_a_write_is_parked(new_pair: NewPair) -> None:
    h = Harness(QueuePolicy(max_messages=3))
    conn, _peer = new_pair()
    h.writer.activate(conn)
    h.send("z" * MESSAGE)  # parks
    for _ in range(3):
        h.send("queued")
    with pytest.raises(QueueFullError):
        h.send("one too many")


def test_fail_all_fails_a_parked_write_and_the_queue(new_pair: NewPair) -> None:
    h = Harness()
    conn, _peer = new_pair()
    h.writer.activate(conn)
    futures = [h.send("w" * MESSAGE) for _ in range(5)]
    assert h.writer.tail_connection() is conn
    error = ClientClosedError("closed for the test")
    assert h.writer.fail_all(error) > 0
    for future in futures:
        assert future.done()
    failed = [f for f in futures if f.exception() is not None]
    assert failed
    assert all(f.exception() is error for f in failed)
    with pytest.raises(ClientClosedError):
        h.send("after")
