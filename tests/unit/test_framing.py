"""Frames the SDK writes, parsed back with websocket-client's own frame reader."""

from __future__ import annotations

import pytest
import websocket
from hypothesis import given
from hypothesis import strategies as st

from wsapi_client import _framing


def parse_all(data: bytes) -> list[websocket.ABNF]:
    view = memoryview(data)
    pos = 0

    def recv(n: int) -> bytes:
        nonlocal pos
        chunk = bytes(view[pos : pos + n])
        pos += len(chunk)
        if not chunk:
            raise websocket.WebSocketConnectionClosedException("end")
        return chunk

    buffer = websocket._abnf.frame_buffer(recv, skip_utf8_validation=False)
    frames = []
    while pos < len(data):
        frames.append(buffer.recv_frame())
    return frames


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_mask_is_an_involution_and_matches_websocket_client(data: bytes, key: bytes) -> None:
    masked = _framing._pure_mask(key, data)
    assert masked == websocket.ABNF.mask(key, data)
    assert _framing._pure_mask(key, masked) == data


@pytest.mark.skipif(_framing._accelerated is None, reason="wsaccel (the speedups extra) absent")
@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_the_accelerated_mask_matches_the_pure_one(data: bytes, key: bytes) -> None:
    assert _framing._accelerated is not None
    assert _framing._accelerated(key, data) == _framing._pure_mask(key, data)


@given(st.text(max_size=2000), st.one_of(st.none(), st.integers(min_value=1, max_value=700)))
def test_messages_round_trip_through_a_frame_parser(text: str, max_frame: int | None) -> None:
    payload = text.encode("utf-8")
    frames = parse_all(_framing.build_message(payload, _framing.OPCODE_TEXT, max_frame))
    assert b"".join(f.data for f in frames) == payload
    assert all(f.mask_value for f in frames)
    assert frames[0].opcode == _framing.OPCODE_TEXT
    assert all(f.opcode == _framing.OPCODE_CONT for f in frames[1:])
    assert [f.fin for f in frames] == [0] * (len(frames) - 1) + [1]
    if max_frame is not None:
        assert all(len(f.data) <= max_frame for f in frames)


def test_lengths_use_the_16_and_64_bit_forms() -> None:
    for size in (0, 125, 126, 65535, 65536, 200_000):
        (frame,) = parse_all(_framing.build_message(b"x" * size, _framing.OPCODE_BINARY))
        assert len(frame.data) == size


def test_a_32k_frame_limit_splits_a_100k_message_into_four_frames() -> None:
    frames = parse_all(_framing.build_message(b"a" * 100_000, _framing.OPCODE_TEXT, 32 * 1024))
    assert [len(f.data) for f in frames] == [32768, 32768, 32768, 1696]


def test_close_frames_carry_code_and_a_reason_cut_to_fit() -> None:
    (frame,) = parse_all(_framing.build_close(1001, "é" * 100))
    assert frame.opcode == _framing.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1001
    assert len(frame.data) <= 125
    frame.data[2:].decode("utf-8")  # still valid UTF-8 after the cut


def test_mask_keys_differ_between_frames() -> None:
    keys = {_framing.build_control(_framing.OPCODE_PING)[2:6] for _ in range(50)}
    assert len(keys) > 45
