"""One WebSocket connection: an opening handshake that another thread can interrupt, frame
reading with an inbound size cap, and non-blocking writes of frames built by
:mod:`wsapi_client._framing`.

Threads. :class:`Opener` runs on the supervisor; its :meth:`Opener.interrupt` may be called from
any thread (``close()``), and shuts the socket down under the handshake. :class:`Connection` is
read by its own reader thread only (``read_frame``); it is written by whichever thread holds the
writer's token (:mod:`wsapi_client._writer`), which serialises ``write_some``. This module holds
no lock of its own, except the opener's, which guards only the socket it is opening.

Opening. websocket-client does the HTTP upgrade (and, through a proxy, everything). Without a
proxy the SDK opens the TCP socket itself (a non-blocking connect waited on in short slices) and
wraps TLS with websocket-client's own context rules, so that every phase can be interrupted: a
handshake that is never answered ends when the client is closed, not when its timeout runs out.

Reading. The reader parses server frames itself instead of using websocket-client's frame buffer:
that one reads a frame's whole declared payload before looking at it, and joins continuation
frames by concatenating bytes (quadratic). Here a frame whose declared length would take the
message past ``max_message_size`` is refused before its payload is read, fragments are gathered
in a list and joined once, and a whole frame that is already in the 64 KiB receive buffer (the
usual case) is sliced straight out of it.

Writing. The socket is non-blocking after the handshake: :meth:`Connection.write_some` writes what
the kernel takes now and returns, so no caller ever blocks on a server that stopped reading; the
writer keeps the rest and the supervisor finishes it when :meth:`Connection.wait_writable` says
the socket has room. Plain sockets on POSIX are written with ``os.write`` (``socket.send`` costs a
second system call, measured in docs/performance.md); TLS sockets with ``send``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit

import websocket

from wsapi_client import _framing

__all__ = ["Closed", "Connection", "HandshakeFailure", "Opener", "parse_close"]

_RECV_SIZE = 65536
_TLS_WRITE_CHUNK = 256 * 1024  # one SSL_write at most; a retry repeats the same slice
_CONNECT_SLICE = 0.05  # how often a TCP connect in progress looks for an interrupt
_DIRECT_WRITES = os.name == "posix"
_POLL = hasattr(select, "poll")
_FIN_TEXT = 0x80 | _framing.OPCODE_TEXT
_FIN_BINARY = 0x80 | _framing.OPCODE_BINARY
_CONT = 0x0
_CONTROL_MAX = 125
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class HandshakeFailure(Exception):
    """An attempt to open a connection failed; ``status`` is the HTTP answer when there was one,
    ``interrupted`` is true when the client stopped the attempt."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        cause: Optional[BaseException] = None,
        interrupted: bool = False,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.cause = cause
        self.interrupted = interrupted
        self.fatal = fatal  # no point retrying at once (signing failed, ...)


class Closed(Exception):
    """The connection ended; ``code``/``reason`` come from the close frame (1006: none came).
    ``too_large`` is set when the server sent a message over the inbound cap (code 1009)."""

    def __init__(self, code: int = 1006, reason: str = "", *, too_large: bool = False) -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason
        self.too_large = too_large


class Connection:
    """An open WebSocket connection and the state the client keeps about it.

    Fields written by the reader thread: ``last_received``, ``busy``, ``close_code``,
    ``close_reason``; by the supervisor: ``last_ping``, ``retiring``, ``opened_at``; ``close_sent``
    by the writer's token holder; ``ended`` under the client's state lock. Reads elsewhere are of
    single attributes (atomic under the GIL) and only decide when to look again.
    """

    def __init__(
        self,
        ws: websocket.WebSocket,
        number: int,
        opened_at: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_message_size: Optional[int] = None,
    ) -> None:
        self.ws = ws
        sock = ws.sock
        assert sock is not None
        self.sock: socket.socket = sock
        self.number = number
        self.opened_at = opened_at
        self.last_received = opened_at  # when the last read from the socket returned data
        self.busy = False  # the reader is in a listener right now
        self._clock = clock
        self.max_message_size = max_message_size
        self.last_ping: Optional[float] = None
        # Set by the client: this connection is being replaced or closed on purpose, so its end
        # is not a loss to recover from.
        self.retiring = False
        self.close_sent = False
        self.ended = False
        self.failed = False  # a write found it broken (its reader may be busy in a listener)
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.stopping = False
        self._buffer = b""
        self._pos = 0
        self._drained = False  # the last read took less than asked: the socket is likely empty
        self._fragments: Optional[list[bytes]] = None  # a fragmented message being gathered
        self._fragment_opcode = 0
        self._fragment_size = 0
        self._fd = sock.fileno() if _DIRECT_WRITES and type(sock) is socket.socket else -1
        self._tls = isinstance(sock, ssl.SSLSocket)
        self._read_poll: Any = None  # made on first use: most reads never wait
        self._write_poll: Any = None
        # Called (on the reader thread) before the reader waits on the socket, and with each
        # chunk read from it before any frame in it is parsed; set by the client.
        self.idle: Optional[Callable[[], None]] = None
        self.arrived: Optional[Callable[[bytes], None]] = None

    def __repr__(self) -> str:
        return f"<Connection #{self.number}>"

    # -- reading (the reader thread only) ------------------------------------------------

    def _fill(self) -> bytes:
        """Read the next chunk (up to 64 KiB) from the socket into the buffer and return it.

        ``idle`` runs before the reader waits: the client's writes that were left for later go
        out then.
        """
        sock = self.sock
        # After a short read the socket is most likely empty: wait first instead of paying for
        # a read that fails with EAGAIN (a system call and an exception on the latency path).
        # TLS may hold decrypted bytes the socket no longer shows: then read at once.
        wait = self._drained and not (self._tls and sock.pending())  # type: ignore[attr-defined]
        while True:
            if wait:
                if self.stopping:
                    raise Closed(1006, "connection aborted")
                idle = self.idle
                if idle is not None:
                    idle()
                self._wait(readable=True, timeout=None)
            try:
                buffer = sock.recv(_RECV_SIZE)
            except _WOULD_BLOCK:
                wait = True
                continue
            except OSError as exc:
                raise Closed(1006, f"connection lost: {exc}") from exc
            break
        self._drained = len(buffer) < _RECV_SIZE
        if not buffer:
            raise Closed(1006, "connection closed without a close frame")
        self.last_received = self._clock()
        self._buffer = buffer
        self._pos = 0
        arrived = self.arrived
        if arrived is not None:
            arrived(buffer)
        return buffer

    def _take(self, size: int) -> bytes:
        """The next ``size`` bytes of the stream, read from the socket as needed."""
        buffer = self._buffer
        pos = self._pos
        end = pos + size
        if end <= len(buffer):
            self._pos = end
            return buffer[pos:end]
        parts = [buffer[pos:]]
        need = end - len(buffer)
        while need:
            chunk = self._fill()
            if len(chunk) >= need:
                parts.append(chunk[:need])
                self._pos = need
                break
            parts.append(chunk)
            self._pos = len(chunk)
            need -= len(chunk)
        return b"".join(parts)

    def read_frame(self) -> tuple[int, bytes]:
        """The next frame as ``(opcode, payload)``; raises :class:`Closed` at the end.

        Data frames are reassembled here: a data opcode is returned only for the final frame of
        a message, with the whole message; control frames come back as they arrive.
        """
        buffer = self._buffer
        pos = self._pos
        if pos >= len(buffer):
            buffer = self._fill()
            pos = 0
        if len(buffer) - pos >= 4 and self._fragments is None:
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
                limit = self.max_message_size
                if start >= 0 and end <= len(buffer) and (limit is None or length <= limit):
                    self._pos = end
                    return first & 0x0F, buffer[start:end]
        return self._read_frame_parsed()

    def _read_frame_parsed(self) -> tuple[int, bytes]:
        """:meth:`read_frame` for every other case: header by header, size checked first."""
        while True:
            head = self._take(2)
            first, second = head[0], head[1]
            fin = bool(first & 0x80)
            opcode = first & 0x0F
            if first & 0x70:
                raise Closed(1002, "protocol error: reserved bits set")
            if second & 0x80:
                raise Closed(1002, "protocol error: masked frame from the server")
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._take(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._take(8))[0]
            if opcode >= 0x8:  # control frame
                if not fin or length > _CONTROL_MAX:
                    raise Closed(1002, "protocol error: fragmented or oversized control frame")
                if opcode not in (_framing.OPCODE_CLOSE, _framing.OPCODE_PING, 0xA):
                    raise Closed(1002, f"protocol error: unknown opcode {opcode:#x}")
                return opcode, self._take(length)
            if opcode not in (_CONT, _framing.OPCODE_TEXT, _framing.OPCODE_BINARY):
                raise Closed(1002, f"protocol error: unknown opcode {opcode:#x}")
            if (opcode == _CONT) != (self._fragments is not None):
                raise Closed(1002, "protocol error: unexpected continuation frame state")
            total = self._fragment_size + length
            limit = self.max_message_size
            if limit is not None and total > limit:
                raise Closed(
                    1009,
                    f"message too big: at least {total} bytes, over max_inbound_message_size "
                    f"({limit})",
                    too_large=True,
                )
            payload = self._take(length)
            if opcode != _CONT:
                if fin:
                    return opcode, payload
                self._fragments, self._fragment_opcode = [payload], opcode
                self._fragment_size = length
                continue
            fragments = self._fragments
            assert fragments is not None
            fragments.append(payload)
            self._fragment_size = total
            if fin:
                self._fragments, self._fragment_size = None, 0
                return self._fragment_opcode, b"".join(fragments)

    # -- writing (the writer's token holder only) -------------------------------------------

    def write_some(self, data: Union[bytes, memoryview]) -> int:
        """Write what the socket takes of ``data`` now, without waiting; returns the count
        (0 when the socket is full). Raises ``OSError`` when the connection is broken."""
        if self._fd >= 0:
            try:
                return os.write(self._fd, data)
            except _WOULD_BLOCK:
                return 0
        try:
            if self._tls:
                return self.sock.send(memoryview(data)[:_TLS_WRITE_CHUNK])
            return self.sock.send(data)
        except _WOULD_BLOCK:
            return 0

    def wait_writable(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for room in the socket's send buffer."""
        return self._wait(readable=False, timeout=timeout)

    def _wait(self, *, readable: bool, timeout: Optional[float]) -> bool:
        """Wait until the socket is readable (or writable), or ``timeout`` passes."""
        try:
            if _POLL:
                poller = self._read_poll if readable else self._write_poll
                if poller is None:
                    poller = select.poll()
                    poller.register(
                        self.sock.fileno(), select.POLLIN if readable else select.POLLOUT
                    )
                    if readable:
                        self._read_poll = poller
                    else:
                        self._write_poll = poller
                return bool(poller.poll(None if timeout is None else max(0, timeout * 1000)))
            rlist, wlist = ([self.sock], []) if readable else ([], [self.sock])
            ready = select.select(rlist, wlist, [self.sock], timeout)
            return any(ready)
        except (OSError, ValueError):  # closed under us: the next read or write says so
            return True

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


def set_user_timeout(sock: socket.socket, seconds: float) -> None:
    """Let the kernel fail the connection when written data stays unacknowledged this long
    (Linux ``TCP_USER_TIMEOUT``): a write into a dead link then errors instead of succeeding."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    if option is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, max(1, int(seconds * 1000)))


class Opener:
    """One attempt to open a connection, which :meth:`interrupt` can end from another thread."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: float,
        user_timeout: Optional[float],
        number: int,
        sslopt: Optional[Mapping[str, Any]] = None,
        clock: Callable[[], float] = time.monotonic,
        max_message_size: Optional[int] = None,
    ) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.user_timeout = user_timeout
        self.number = number
        self.sslopt = dict(sslopt) if sslopt else {}
        self.clock = clock
        self.max_message_size = max_message_size
        self._lock = threading.Lock()  # guards _handle, _ws and _interrupted
        self._handle: Optional[socket.socket] = None  # a duplicate, to shut the socket down
        self._ws: Optional[websocket.WebSocket] = None
        self._interrupted = False

    def interrupt(self) -> None:
        """End the attempt now: shut down the socket under it (thread-safe, idempotent)."""
        with self._lock:
            self._interrupted = True
            handle = self._handle
            ws_sock = self._ws.sock if self._ws is not None else None
        for sock in (handle, ws_sock):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def open(self) -> Connection:
        """Connect, upgrade and return the connection, or raise :class:`HandshakeFailure`."""
        deadline = self.clock() + self.timeout
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        ws = websocket.WebSocket(
            skip_utf8_validation=True, enable_multithread=False, sslopt=self.sslopt or None
        )
        header = [f"{name}: {value}" for name, value in self.headers.items()]
        with self._lock:
            self._ws = ws
        try:
            if _uses_proxy(host, secure):
                # websocket-client goes through the proxy itself; until it has a socket (TCP,
                # proxy and TLS done) only the timeout ends the attempt.
                ws.connect(  # type: ignore[no-untyped-call]
                    self.url, header=header, timeout=self.timeout, suppress_origin=True
                )
            else:
                sock = self._tcp_connect(host, port, deadline)
                try:
                    sock.settimeout(max(0.05, deadline - self.clock()))
                    if secure:
                        sock = self._wrap_tls(sock, host)
                    ws.connect(  # type: ignore[no-untyped-call]
                        self.url,
                        header=header,
                        timeout=max(0.05, deadline - self.clock()),
                        suppress_origin=True,
                        socket=sock,
                    )
                except BaseException:
                    if not ws.connected:
                        with contextlib.suppress(OSError):
                            sock.close()
                    raise
        except HandshakeFailure:
            raise
        except BaseException as exc:
            if not ws.connected:
                ws.shutdown()  # type: ignore[no-untyped-call]
            if self._interrupted and isinstance(exc, Exception):
                raise HandshakeFailure(
                    "interrupted: the client stopped", interrupted=True
                ) from None
            if isinstance(exc, Exception):
                raise _describe(exc, self.timeout, host) from None
            raise
        finally:
            with self._lock:
                handle, self._handle, self._ws = self._handle, None, None
            if handle is not None:
                handle.close()
        if self._interrupted:
            ws.shutdown()  # type: ignore[no-untyped-call]
            raise HandshakeFailure("interrupted: the client stopped", interrupted=True)
        assert ws.sock is not None
        if self.user_timeout is not None:
            set_user_timeout(ws.sock, self.user_timeout)
        ws.sock.setblocking(False)
        return Connection(
            ws, self.number, self.clock(), self.clock, max_message_size=self.max_message_size
        )

    def _tcp_connect(self, host: str, port: int, deadline: float) -> socket.socket:
        """A non-blocking TCP connect, waited on in short slices so an interrupt ends it."""
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        last: Optional[BaseException] = None
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                code = sock.connect_ex(address)
                while code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
                    if self._interrupted:
                        raise HandshakeFailure("interrupted: the client stopped", interrupted=True)
                    remaining = deadline - self.clock()
                    if remaining <= 0:
                        raise socket.timeout("timed out")
                    _, writable, _ = select.select([], [sock], [], min(remaining, _CONNECT_SLICE))
                    if writable:
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
            except HandshakeFailure:
                sock.close()
                raise
            except OSError as exc:
                sock.close()
                last = exc
                if isinstance(exc, socket.timeout):
                    break
                continue
            sock.setblocking(True)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._handle = socket.socket(fileno=os.dup(sock.fileno()))
                interrupted = self._interrupted
            if interrupted:
                sock.close()
                raise HandshakeFailure("interrupted: the client stopped", interrupted=True)
            return sock
        if last is None:
            raise OSError(f"no address found for {host}")
        raise last

    def _wrap_tls(self, sock: socket.socket, host: str) -> socket.socket:
        """TLS with websocket-client's own context rules (``sslopt``: ca_certs, cert_reqs,
        check_hostname, certfile, context, ...)."""
        from websocket import _http

        wrapped: socket.socket = _http._ssl_socket(sock, self.sslopt, host)
        return wrapped


def _uses_proxy(host: str, secure: bool) -> bool:
    """Whether websocket-client would connect to ``host`` through a proxy (environment)."""
    from websocket import _url

    try:
        proxy_host = _url.get_proxy_info(host, secure)[0]
    except Exception:  # pragma: no cover - a malformed proxy variable: let it connect directly
        return False
    return bool(proxy_host)


def _describe(exc: Exception, timeout: float, host: str) -> HandshakeFailure:
    """A failed attempt, in words that say which step failed."""
    if isinstance(exc, websocket.WebSocketBadStatusException):
        status = getattr(exc, "status_code", None)
        return HandshakeFailure(f"handshake refused with HTTP {status}", status=status, cause=exc)
    if isinstance(exc, (websocket.WebSocketTimeoutException, socket.timeout, TimeoutError)):
        return HandshakeFailure(f"handshake timed out after {timeout:g} s", cause=exc)
    if isinstance(exc, ConnectionRefusedError):
        return HandshakeFailure("connection refused", cause=exc)
    if isinstance(exc, socket.gaierror):
        return HandshakeFailure(
            f"DNS lookup of {host!r} failed: {exc.strerror or exc} (check the host in the URL)",
            cause=exc,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return HandshakeFailure(
            f"TLS certificate verification failed: {exc.verify_message or exc} (a private CA "
            "goes in sslopt={'ca_certs': path})",
            cause=exc,
        )
    if isinstance(exc, ssl.SSLError):
        return HandshakeFailure(f"TLS handshake failed: {exc.reason or exc}", cause=exc)
    if isinstance(exc, websocket.WebSocketException):
        return HandshakeFailure(f"handshake failed: {exc}", cause=exc)
    if isinstance(exc, OSError):
        return HandshakeFailure(f"connection failed: {exc.strerror or exc}", cause=exc)
    return HandshakeFailure(f"connection failed: {type(exc).__name__}: {exc}", cause=exc)
