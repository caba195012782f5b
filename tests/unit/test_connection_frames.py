"""The reader's frame parsing gives what websocket-client's own frame parser gives, for any frame
sizes and any way the bytes arrive; it refuses masked server frames (RFC 6455 5.1) and messages
over the inbound cap before reading their payload."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Optional

import pytest
import websocket
from hypothesis import given, settings
from hypothesis import strategies as st
from websocket._abnf import ABNF, continuous_frame, frame_buffer

from wsapi_client._connection import Closed, Connection

TEXT, BINARY, CONT, PING, PONG = (
    ABNF.OPCODE_TEXT,
    ABNF.OPCODE_BINARY,
    ABNF.OPCODE_CONT,
    ABNF.OPCODE_PING,
    ABNF.OPCODE_PONG,
)


class ChunkedSocket:
    """Serves a byte stream in the given chunks, then the end of the stream, like a non-blocking
    socket: the first read finds nothing yet ("would block", after which the reader waits on
    ``fileno()``, an always-readable pipe); after that a chunk is ready whenever it is asked
    for."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.reads = 0
        self.served = 0  # bytes handed out
        self._ready = False
        self._pipe = os.pipe()
        os.write(self._pipe[1], b"x")

    def fileno(self) -> int:
        return self._pipe[0]

    def recv(self, size: int) -> bytes:
        if not self._ready:
            self._ready = True
            raise BlockingIOError
        self.reads += 1
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if len(chunk) > size:
            self.chunks.insert(0, chunk[size:])
            chunk = chunk[:size]
        self.served += len(chunk)
        return chunk

    def settimeout(self, timeout: Any) -> None:
        pass

    def close(self) -> None:
        for fd in self._pipe:
            with contextlib.suppress(OSError):
                os.close(fd)

    def shutdown(self, how: int) -> None:
        pass


def connection_over(chunks: list[bytes], limit: Optional[int] = None) -> Connection:
    ws = websocket.WebSocket(skip_utf8_validation=True)
    ws.sock = ChunkedSocket(chunks)  # type: ignore[assignment]
    return Connection(ws, 1, 0.0, max_message_size=limit)


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = False) -> bytes:
    abnf = ABNF(int(fin), 0, 0, 0, opcode, int(masked), payload)
    if masked:
        abnf.get_mask_key = lambda length: b"\x01\x02\x03\x04"
    return abnf.format()


def reference(stream: bytes) -> list[tuple[int, bytes]]:
    """What websocket-client's frame parser makes of ``stream``, read exactly as it asks."""
    pos = 0

    def recv(size: int) -> bytes:
        nonlocal pos
        chunk = stream[pos : pos + size]
        pos += len(chunk)
        return chunk

    frames = frame_buffer(recv, True)
    cont = continuous_frame(True, True)
    out: list[tuple[int, bytes]] = []
    while pos < len(stream):
        parsed = frames.recv_frame()
        if parsed.opcode in (TEXT, BINARY, CONT):
            cont.validate(parsed)
            cont.add(parsed)
            if parsed.fin:
                opcode, whole = cont.extract(parsed)
                out.append((opcode, whole.data))
        else:
            out.append((parsed.opcode, parsed.data))
    return out


def read_all(conn: Connection) -> list[tuple[int, bytes]]:
    out = []
    while True:
        try:
            out.append(conn.read_frame())
        except Closed:
            return out


SIZES = [0, 1, 2, 3, 125, 126, 127, 128, 255, 256, 1000, 65535, 65536, 70000]
sizes = st.sampled_from(SIZES) | st.integers(min_value=0, max_value=300)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Messages, some fragmented with control frames between fragments, some frames masked."""
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        opcode = draw(st.sampled_from([TEXT, BINARY]))
        payload = bytes(i % 251 for i in range(draw(sizes)))
        masked = False  # a masked server frame is a protocol error (tested below)
        pieces = draw(st.integers(min_value=1, max_value=3))
        if pieces == 1 or len(payload) < pieces:
            parts.append(frame(opcode, payload, masked=masked))
            continue
        step = len(payload) // pieces
        cuts = [payload[i * step : (i + 1) * step] for i in range(pieces - 1)]
        cuts.append(payload[(pieces - 1) * step :])
        for index, cut in enumerate(cuts):
            last = index == len(cuts) - 1
            parts.append(frame(opcode if index == 0 else CONT, cut, fin=last, masked=masked))
            if not last and draw(st.booleans()):
                parts.append(frame(PING, b"p" * draw(st.integers(min_value=0, max_value=125))))
        if draw(st.booleans()):
            parts.append(frame(PONG, b""))
    return b"".join(parts)


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    return [stream[a:b] for a, b in zip(points, points[1:]) if b > a]


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(min_value=0, max_value=10**6), max_size=12))
def test_frames_match_websocket_clients_parser(stream: bytes, cuts: list[int]) -> None:
    assert read_all(connection_over(split(stream, cuts))) == reference(stream)


@settings(max_examples=100, deadline=None)
@given(streams())
def test_frames_match_when_bytes_arrive_one_at_a_time(stream: bytes) -> None:
    if len(stream) > 3000:
        stream = stream[:0]
    chunks = [stream[i : i + 1] for i in range(len(stream))]
    assert read_all(connection_over(chunks)) == reference(stream)


def test_whole_small_frames_in_one_read_skip_websocket_clients_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = [f'{{"route":"R","payload":{i}}}'.encode() for i in range(200)]
    stream = b"".join(frame(TEXT, m) for m in messages) + frame(BINARY, b"\x00" * 300)
    conn = connection_over([stream])
    monkeypatch.setattr(conn, "_read_frame_parsed", pytest.fail)  # the fast path alone
    got = [conn.read_frame() for _ in range(201)]
    assert got == [(TEXT, m) for m in messages] + [(BINARY, b"\x00" * 300)]


def test_idle_hook_runs_before_each_wait_on_the_socket() -> None:
    conn = connection_over([frame(TEXT, b"a") + frame(TEXT, b"b"), frame(TEXT, b"c")])
    calls = []
    conn.idle = lambda: calls.append(conn.sock.reads)  # type: ignore[attr-defined]
    assert read_all(conn) == [(TEXT, b"a"), (TEXT, b"b"), (TEXT, b"c")]
    assert calls == [0, 1, 2]  # before waiting for the first read, the second, and the end


def test_a_data_frame_inside_a_fragmented_message_is_a_protocol_error() -> None:
    stream = frame(TEXT, b"ab", fin=False) + frame(TEXT, b"cd")
    conn = connection_over([stream])
    with pytest.raises(Closed) as caught:
        read_all_strict(conn)
    assert caught.value.code == 1002


def read_all_strict(conn: Connection) -> list[tuple[int, bytes]]:
    out = []
    while True:
        out.append(conn.read_frame())


def test_arrived_hook_sees_each_chunk_before_its_frames_are_parsed() -> None:
    first, second = frame(TEXT, b"a") + frame(TEXT, b"b"), frame(TEXT, b"c")
    conn = connection_over([first, second])
    seen: list[tuple[bytes, int]] = []
    conn.arrived = lambda chunk: seen.append((chunk, conn._pos))
    assert conn.read_frame() == (TEXT, b"a")
    assert seen == [(first, 0)]  # called with the whole chunk, before the first frame was cut
    assert read_all(conn) == [(TEXT, b"b"), (TEXT, b"c")]
    assert seen == [(first, 0), (second, 0)]


def test_a_masked_server_frame_is_a_protocol_error() -> None:
    conn = connection_over([frame(TEXT, b"hello", masked=True)])
    with pytest.raises(Closed) as caught:
        conn.read_frame()
    assert caught.value.code == 1002


def test_a_frame_declared_over_the_cap_is_refused_before_its_payload_is_read() -> None:
    header = bytes([0x81, 127]) + (2**40).to_bytes(8, "big")
    conn = connection_over([header, b"x" * 65536, b"x" * 65536], limit=64 * 1024)
    with pytest.raises(Closed) as caught:
        conn.read_frame()
    assert caught.value.code == 1009
    assert caught.value.too_large
    assert conn.sock.served == len(header)  # type: ignore[attr-defined]  # no payload byte read


def test_fragments_count_towards_the_cap() -> None:
    stream = frame(TEXT, b"a" * 40_000, fin=False) + frame(CONT, b"b" * 40_000, fin=False)
    conn = connection_over([stream, frame(CONT, b"c" * 1000)], limit=64 * 1024)
    with pytest.raises(Closed) as caught:
        conn.read_frame()
    assert caught.value.too_large
    assert "80000" in caught.value.reason


def test_a_message_at_the_cap_is_accepted_and_many_fragments_are_joined_once() -> None:
    pieces = [bytes([65 + i % 26]) * 64 for i in range(1024)]  # 64 KiB in 1024 fragments
    stream = b"".join(
        frame(TEXT if i == 0 else CONT, piece, fin=i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    )
    conn = connection_over([stream], limit=64 * 1024)
    assert conn.read_frame() == (TEXT, b"".join(pieces))
    big = connection_over([frame(TEXT, b"z" * 2000)], limit=1000)
    with pytest.raises(Closed):
        big.read_frame()  # the fast path checks the cap too
