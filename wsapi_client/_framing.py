"""Client-to-server WebSocket frames (RFC 6455 §5), built ready to write.

The SDK writes frames itself, under its own write lock, rather than through
``websocket.WebSocket.send``: that lets a backlog go out as many frames in one socket call and
keeps a fragmented message's frames contiguous. Masking uses a pool of ``os.urandom`` bytes so
a small frame costs no system call.
"""

from __future__ import annotations

import os
import struct
from typing import Callable, Optional

__all__ = [
    "OPCODE_BINARY",
    "OPCODE_CLOSE",
    "OPCODE_CONT",
    "OPCODE_PING",
    "OPCODE_PONG",
    "OPCODE_TEXT",
    "build_close",
    "build_control",
    "build_message",
    "mask",
]

OPCODE_CONT = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA

_FIN = 0x80
_MASKED = 0x80
_pack_short = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack


def _pure_mask(key: bytes, data: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated, as one big-integer operation (C speed)."""
    n = len(data)
    if n == 0:
        return b""
    repeated = key * (n // 4 + 1)
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated[:n], "little")).to_bytes(
        n, "little"
    )


def _load_accelerated_mask() -> Optional[Callable[[bytes, bytes], bytes]]:
    try:
        from wsaccel.xormask import XorMaskerSimple
    except ImportError:  # the optional `speedups` extra
        return None

    def _wsaccel_mask(key: bytes, data: bytes) -> bytes:
        result: bytes = XorMaskerSimple(key).process(data)
        return result

    return _wsaccel_mask


_accelerated = _load_accelerated_mask()
mask: Callable[[bytes, bytes], bytes] = _accelerated or _pure_mask
"""Mask (or unmask) ``data`` with ``key``; wsaccel's C routine when installed."""


class _MaskKeys:
    """Hands out 4-byte masking keys from a buffer refilled from ``os.urandom``.

    RFC 6455 asks for keys an attacker cannot predict; the OS generator gives that, and drawing
    4 KiB at a time keeps the cost of a key to a slice. Not locked: a race between threads can
    at worst hand two frames the same key, which harms nothing.
    """

    __slots__ = ("_buffer", "_pos")

    def __init__(self) -> None:
        self._buffer = b""
        self._pos = 0

    def next(self) -> bytes:
        pos = self._pos
        if pos + 4 > len(self._buffer):
            self._buffer = os.urandom(4096)
            pos = 0
        self._pos = pos + 4
        return self._buffer[pos : pos + 4]


_keys = _MaskKeys()


def _frame(opcode_byte: int, payload: bytes, key: bytes) -> bytes:
    length = len(payload)
    if length < 126:
        header = bytes((opcode_byte, _MASKED | length))
    elif length < 65536:
        header = _pack_short(opcode_byte, _MASKED | 126, length)
    else:
        header = _pack_long(opcode_byte, _MASKED | 127, length)
    return header + key + mask(key, payload)


def build_message(
    payload: bytes, opcode: int = OPCODE_TEXT, max_frame_size: Optional[int] = None
) -> bytes:
    """The masked frames of one data message, split into frames of at most ``max_frame_size``
    payload bytes (None: one frame), concatenated so that one write sends them contiguously."""
    if max_frame_size is None or len(payload) <= max_frame_size:
        return _frame(_FIN | opcode, payload, _keys.next())
    parts = []
    last = len(payload) - max_frame_size
    for start in range(0, len(payload), max_frame_size):
        fin = _FIN if start >= last else 0
        code = opcode if start == 0 else OPCODE_CONT
        parts.append(_frame(fin | code, payload[start : start + max_frame_size], _keys.next()))
    return b"".join(parts)


def build_control(opcode: int, payload: bytes = b"") -> bytes:
    """A masked control frame (ping, pong, close); RFC 6455 limits the payload to 125 bytes."""
    if len(payload) > 125:
        raise ValueError("control frame payload over 125 bytes")
    return _frame(_FIN | opcode, payload, _keys.next())


def build_close(code: int = 1000, reason: str = "") -> bytes:
    """A masked close frame with ``code`` and a reason truncated to fit."""
    encoded = reason.encode("utf-8")[:123].decode("utf-8", "ignore").encode("utf-8")
    data = struct.pack("!H", code) + encoded
    return build_control(OPCODE_CLOSE, data)
