"""One WebSocket connection: the handshake through websocket-client, buffered frame reading,
and raw writes of frames built by :mod:`wsapi_client._framing`.

websocket-client does the opening handshake, TLS, proxies and frame parsing; the SDK hands its
frame buffer a receive function that reads 64 KiB at a time (websocket-client itself asks the
socket for exactly the bytes it needs, two or more calls per frame) and writes frames itself
under the client's write lock. This module does no locking and runs no thread of its own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union

import websocket

from wsapi_client import _framing

__all__ = ["Closed", "Connection", "HandshakeFailure", "open_connection"]

_RECV_SIZE = 65536
_DIRECT_WRITES = os.name == "posix"
_FIN_TEXT = 0x80 | _framing.OPCODE_TEXT
_FIN_BINARY = 0x80 | _framing.OPCODE_BINARY


class HandshakeFailure(Exception):
    """An attempt to open a connection failed; ``status`` is the HTTP answer when there was one."""

    def __init__(
        self, message: str, *, status: Optional[int] = None, cause: Optional[BaseException] = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.cause = cause


class Closed(Exception):
    """The connection ended; ``code``/``reason`` come from the close frame (1006: none came)."""

    def __init__(self, code: int = 1006, reason: str = "") -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


class Connection:
    """An open WebSocket connection and the state the client keeps about it."""

    def __init__(
        self,
        ws: websocket.WebSocket,
        number: int,
        opened_at: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ws = ws
        sock = ws.sock
        assert sock is not None
        self.sock: socket.socket = sock
        self.number = number
        self.opened_at = opened_at
        self.last_received = opened_at  # when the last read from the socket returned data
        self._clock = clock
        self.last_ping: Optional[float] = None
        # Set by the client: this connection is being replaced or closed on purpose, so its end
        # is not a loss to recover from.
        self.retiring = False
        self.close_sent = False
        self.ended = False
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.stopping = False
        self._buffer = b""
        self._pos = 0
        # A plain TCP socket on POSIX is written with os.write first: socket.send on a socket
        # with a timeout polls before every write, a second system call (half the cost of a
        # small write here). TLS sockets and other platforms keep socket.send.
        self._fd = sock.fileno() if _DIRECT_WRITES and type(sock) is socket.socket else -1
        # Called (on the reader thread) before the reader waits on the socket, and with each
        # chunk read from it before any frame in it is parsed; set by the client.
        self.idle: Optional[Callable[[], None]] = None
        self.arrived: Optional[Callable[[bytes], None]] = None
        ws.frame_buffer.recv = self._recv
        self._recv_frame: Callable[[], Any] = ws.frame_buffer.recv_frame
        self._cont = ws.cont_frame

    def __repr__(self) -> str:
        return f"<Connection #{self.number}>"

    # -- reading (the reader thread only) ------------------------------------------------

    def _fill(self) -> bytes:
        """Read the next chunk (up to 64 KiB) from the socket into the buffer and return it.

        ``idle`` runs first: the socket is about to be waited on, so the client's writes that
        were left for later go out now.
        """
        idle = self.idle
        if idle is not None:
            idle()
        while True:
            try:
                buffer = self.sock.recv(_RECV_SIZE)
            except (socket.timeout, ssl.SSLWantReadError):
                # The socket timeout bounds writes; an idle read just keeps waiting.
                if self.stopping:
                    raise Closed(1006, "connection aborted") from None
                continue
            except OSError as exc:
                raise Closed(1006, f"connection lost: {exc}") from exc
            break
        if not buffer:
            raise Closed(1006, "connection closed without a close frame")
        self.last_received = self._clock()
        self._buffer = buffer
        self._pos = 0
        arrived = self.arrived
        if arrived is not None:
            arrived(buffer)
        return buffer

    def _recv(self, size: int) -> bytes:
        """Hand websocket-client's frame buffer up to ``size`` bytes from a 64 KiB buffer."""
        buffer = self._buffer
        pos = self._pos
        if pos >= len(buffer):
            buffer = self._fill()
            pos = 0
            if size >= len(buffer):
                self._pos = len(buffer)
                return buffer
        end = pos + size
        self._pos = min(end, len(buffer))
        return buffer[pos:end]

    def read_frame(self) -> tuple[int, bytes]:
        """The next frame as ``(opcode, payload)``; raises :class:`Closed` at the end.

        Data frames are reassembled here: a data opcode is returned only for the final frame of a
        message, with the whole message; control frames come back as they arrive.

        The usual frame (a whole unfragmented text or binary message, unmasked, up to 64 KiB,
        complete in the buffer) is sliced straight out of the buffer; anything else goes through
        websocket-client's frame parser, fed from the same buffer.
        """
        buffer = self._buffer
        pos = self._pos
        if pos >= len(buffer):
            buffer = self._fill()
            pos = 0
        if len(buffer) - pos >= 4 and self._cont.recving_frames is None:
            first = buffer[pos]
            if first in (_FIN_TEXT, _FIN_BINARY):
                length = buffer[pos + 1]
                start = pos + 2
                if length == 126:  # unmasked, 16-bit length
                    length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                    start = pos + 4
                elif length > 126:  # masked (not allowed from a server) or a 64-bit length
                    start = -1
                end = start + length
                if start >= 0 and end <= len(buffer):
                    self._pos = end
                    return first & 0x0F, buffer[start:end]
        return self._read_frame_parsed()

    def _read_frame_parsed(self) -> tuple[int, bytes]:
        """:meth:`read_frame` through websocket-client's frame buffer and continuation state."""
        while True:
            try:
                frame = self._recv_frame()
            except Closed:
                raise
            except (websocket.WebSocketException, ValueError, struct.error) as exc:
                raise Closed(1002, f"protocol error: {exc}") from exc
            opcode = frame.opcode
            if opcode <= _framing.OPCODE_BINARY:
                try:
                    self._cont.validate(frame)
                except websocket.WebSocketException as exc:
                    raise Closed(1002, f"protocol error: {exc}") from exc
                self._cont.add(frame)
                if frame.fin:
                    opcode, frame = self._cont.extract(frame)
                    return opcode, frame.data
                continue
            return opcode, frame.data

    # -- writing (callers hold the client's write lock) -----------------------------------

    def write(self, data: Union[bytes, memoryview]) -> int:
        """Write as much of ``data`` as the socket takes, until all of it or an error.

        Returns the number of bytes written; on an error the exception carries that count in
        ``written`` so the caller knows which messages went out whole.
        """
        total = len(data)
        sent = 0
        try:
            if self._fd >= 0:
                try:  # non-blocking underneath (the socket has a timeout): one system call
                    sent = os.write(self._fd, data)
                except (BlockingIOError, InterruptedError):
                    sent = 0  # full, or a signal: socket.send below waits within the timeout
            if sent < total:  # the rest, without copies
                view = memoryview(data)
                send = self.sock.send
                while sent < total:
                    sent += send(view[sent:])
        except OSError as exc:
            exc.written = sent  # type: ignore[attr-defined]
            raise
        return sent

    # -- ending --------------------------------------------------------------------------

    def abort(self) -> None:
        """Shut the socket down without a close frame; wakes the reader at once."""
        self.stopping = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """Close the socket (after the reader has finished with it)."""
        self.stopping = True
        self._fd = -1  # a late write fails on the closed socket, never on a reused descriptor
        with contextlib.suppress(OSError):
            self.sock.close()
        self.ws.sock = None
        self.ws.connected = False


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a close frame's payload (1005 when it has none)."""
    if len(payload) < 2:
        return 1005, ""
    code = struct.unpack("!H", payload[:2])[0]
    return code, payload[2:].decode("utf-8", "replace")


def open_connection(
    url: str,
    headers: Mapping[str, str],
    *,
    timeout: float,
    io_timeout: float,
    number: int,
    now: float,
    sslopt: Optional[Mapping[str, Any]] = None,
    clock: Callable[[], float] = time.monotonic,
) -> Connection:
    """Open a connection, or raise :class:`HandshakeFailure` saying why in words."""
    ws = websocket.WebSocket(
        skip_utf8_validation=True,
        enable_multithread=False,
        sslopt=dict(sslopt) if sslopt else None,
    )
    header = [f"{name}: {value}" for name, value in headers.items()]
    try:
        ws.connect(  # type: ignore[no-untyped-call]
            url, header=header, timeout=timeout, suppress_origin=True
        )
    except websocket.WebSocketBadStatusException as exc:
        status = getattr(exc, "status_code", None)
        raise HandshakeFailure(
            f"handshake refused with HTTP {status}", status=status, cause=exc
        ) from None
    except (websocket.WebSocketTimeoutException, socket.timeout, TimeoutError) as exc:
        raise HandshakeFailure(f"handshake timed out after {timeout:g} s", cause=exc) from None
    except ConnectionRefusedError as exc:
        raise HandshakeFailure("connection refused", cause=exc) from None
    except socket.gaierror as exc:
        raise HandshakeFailure(f"DNS lookup failed: {exc.strerror or exc}", cause=exc) from None
    except ssl.SSLError as exc:
        raise HandshakeFailure(f"TLS handshake failed: {exc.reason or exc}", cause=exc) from None
    except websocket.WebSocketException as exc:
        raise HandshakeFailure(f"handshake failed: {exc}", cause=exc) from None
    except OSError as exc:
        raise HandshakeFailure(f"connection failed: {exc.strerror or exc}", cause=exc) from None
    finally:
        if not ws.connected:
            ws.shutdown()  # type: ignore[no-untyped-call]
    assert ws.sock is not None
    ws.sock.settimeout(io_timeout)
    return Connection(ws, number, now, clock)
