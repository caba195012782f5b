"""One client connection of the emulator: a socket, a sans-I/O WebSocket protocol and one thread.

The thread reads the socket, feeds websockets' sans-I/O :class:`ServerProtocol`, and handles
each event inline (handshake, then messages, which the gateway routes and hands to handlers
on this same thread): no per-message hand-off between threads.  Any thread may send; a lock
keeps the protocol object and the socket's byte stream consistent.  Timers (handshake
deadline, idle timeout, maximum age, close handshake) are the poll timeout of this thread,
so there is no timer thread.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

from websockets.exceptions import PayloadTooBig
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import CLOSED, CONNECTING, OPEN, SEND_EOF
from websockets.server import ServerProtocol

from wsapi_client._auth import redact_headers, redact_url
from wsapi_client.emulator._lambda import ConnectionInfo

__all__ = ["GatewayConnection", "GatewayProtocol"]

_log = logging.getLogger("wsapi_client.emulator")

if TYPE_CHECKING:
    _AdapterBase = logging.LoggerAdapter[logging.Logger]
else:
    _AdapterBase = logging.LoggerAdapter


class _RedactingLogger(_AdapterBase):
    """websockets' protocol trace (DEBUG) without signatures, tokens or cookies.

    The sans-I/O protocol logs every handshake header (``< %s: %s``) and the request line,
    whose query may carry a presigned URL's signature or a custom authorizer's token. They are
    masked as the client masks its own logs (:func:`~wsapi_client.redact_headers`,
    :func:`~wsapi_client.redact_url`): every value but those of a short allow-list, since a
    secret can travel under any name.
    """

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if args:
            if msg in ("< %s: %s", "> %s: %s") and len(args) >= 2:
                name = str(args[0])
                args = (name, redact_headers({name: str(args[1])})[name], *args[2:])
            else:
                args = tuple(redact_url(a) if isinstance(a, str) and "?" in a else a for a in args)
        super().log(level, msg, *args, **kwargs)


_protocol_log = _RedactingLogger(logging.getLogger("wsapi_client.emulator.protocol"), {})

_READ_SIZE = 256 * 1024
_POLL_CAP = 0.5  # seconds: upper bound on a poll, so a close started elsewhere is timed out
_OPEN_TIMEOUT = 10.0  # seconds a client has to send its handshake request
_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


class GatewayProtocol(ServerProtocol):
    """websockets' server protocol plus API Gateway's per-frame limit (close 1009).

    The message limit is websockets' own ``max_size`` (checked across fragments); a data
    frame longer than ``max_frame_size`` fails the connection the same way.
    """

    def __init__(self, *, max_frame_size: int, max_message_size: int) -> None:
        super().__init__(max_size=max_message_size, logger=_protocol_log)
        self.max_frame_size = max_frame_size

    def recv_frame(self, frame: Frame) -> None:
        """Refuse an oversized data frame before the base class accepts it."""
        if frame.opcode in _DATA_OPCODES and len(frame.data) > self.max_frame_size:
            raise PayloadTooBig(len(frame.data), self.max_frame_size)
        super().recv_frame(frame)


class ConnectionHost(Protocol):
    """What a connection needs from its gateway (implemented by ``LocalGateway``)."""

    idle_timeout: float
    max_connection_age: float
    close_timeout: float

    def _handshake(self, conn: GatewayConnection, request: Request) -> None: ...

    def _handshake_hung(self, conn: GatewayConnection, request: Request) -> None: ...

    def _on_ping(self, conn: GatewayConnection) -> None: ...

    def _dispatch(self, conn: GatewayConnection, data: Union[str, bytes]) -> None: ...

    def _connection_closed(self, conn: GatewayConnection) -> None: ...


class GatewayConnection:
    """A TCP connection to the emulator, from accept to close, served by its own thread."""

    def __init__(
        self,
        host: ConnectionHost,
        sock: socket.socket,
        address: tuple[str, int],
        *,
        number: int,
        hang: bool,
        max_frame_size: int,
        max_message_size: int,
    ) -> None:
        self.host = host
        self.sock = sock
        self.source_ip = str(address[0])
        self.hang = hang
        self.protocol = GatewayProtocol(
            max_frame_size=max_frame_size, max_message_size=max_message_size
        )
        self.max_frame_size = max_frame_size
        self.lock = threading.Lock()
        """Guards ``protocol`` and writes to ``sock``; never held while calling user code."""
        self.connection_id: Optional[str] = None
        self.user_agent = ""
        self.registered = False
        """True once the handshake was accepted and the gateway lists the connection."""
        self.muted = False
        """Half-open simulation: nothing is written while True (pings go unanswered)."""
        self.aborted = False
        self.accepted_at = time.monotonic()
        self.opened_at = 0.0
        self.connected_at_wall = 0.0
        self.handshake_at_wall = 0.0
        """When the handshake request was read: ``requestContext.connectedAt`` of its events."""
        self.authorizer: Optional[dict[str, Any]] = None
        """``requestContext.authorizer`` of this connection's events (from its authorizer)."""
        self.last_active = self.accepted_at
        self.last_active_wall = time.time()
        self.close_deadline: Optional[float] = None
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self.thread = threading.Thread(
            target=self._run, name=f"wsapi-emulator-conn-{number}", daemon=True
        )

    # --- sending (any thread) ---------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while messages can be sent to the client."""
        return self.protocol.state is OPEN and not self.aborted

    def send_message(self, data: Union[str, bytes], *, fragment: bool = True) -> bool:
        """Send one message; False when the connection is no longer open.

        Text goes out as a text frame, bytes as a binary frame; with ``fragment`` a message
        longer than the frame limit is split into continuation frames, as API Gateway does.
        """
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        text = isinstance(data, str)
        size = self.max_frame_size
        with self.lock:
            if not self.is_open:
                return False
            if not fragment or len(payload) <= size:
                if text:
                    self.protocol.send_text(payload)
                else:
                    self.protocol.send_binary(payload)
            else:
                chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
                first = self.protocol.send_text if text else self.protocol.send_binary
                first(chunks[0], fin=False)
                for index in range(1, len(chunks)):
                    self.protocol.send_continuation(chunks[index], fin=index == len(chunks) - 1)
            self._flush_locked()
        return True

    def close(self, code: int, reason: str, *, force_write: bool = False) -> bool:
        """Start the closing handshake; False when it was already closing or closed."""
        with self.lock:
            if self.protocol.state is not OPEN or self.aborted:
                return False
            self.protocol.send_close(code, reason)
            self.close_deadline = time.monotonic() + self.host.close_timeout
            self._flush_locked(force=force_write)
        return True

    def abort(self) -> None:
        """Drop the TCP connection without a close frame: the client sees 1006 (a reset)."""
        self.aborted = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def shutdown(self) -> None:
        """Wake this connection's thread and end it: used when the gateway stops."""
        self.aborted = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def _flush_locked(self, *, force: bool = False) -> None:
        """Write what the protocol produced; caller holds ``lock``."""
        chunks = self.protocol.data_to_send()
        if not chunks or self.aborted or (self.muted and not force):
            return
        try:
            for chunk in chunks:
                if chunk is SEND_EOF or not chunk:
                    self.sock.shutdown(socket.SHUT_WR)
                else:
                    self.sock.sendall(chunk)
        except OSError:
            # The peer is gone; the reader sees it on its next read and cleans up.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    # --- the connection's thread ----------------------------------------------------

    def start(self) -> None:
        """Start serving this connection on its own thread."""
        self.thread.start()

    def _run(self) -> None:
        try:
            self._serve()
        except Exception:
            _log.exception("emulator connection %s failed", self.connection_id or "(handshake)")
        finally:
            self._finish()

    def _serve(self) -> None:
        poller = select.poll()
        poller.register(self.sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        while not self.aborted:
            timeout = self._poll_timeout()
            if not poller.poll(None if timeout is None else int(timeout * 1000) + 1):
                if self._on_timer():
                    return
                continue
            try:
                data = self.sock.recv(_READ_SIZE)
            except OSError:
                return
            if self.aborted:
                return
            if not data:
                with self.lock:
                    self.protocol.receive_eof()
                    self._flush_locked()
                return
            if self._receive(data):
                return

    def _poll_timeout(self) -> Optional[float]:
        """Seconds until the next timer of this connection, capped at ``_POLL_CAP``."""
        now = time.monotonic()
        state = self.protocol.state
        if self.close_deadline is not None:
            deadline = self.close_deadline
        elif state is CONNECTING:
            if self.hang:
                return _POLL_CAP
            deadline = self.accepted_at + _OPEN_TIMEOUT
        elif state is OPEN and self.registered:
            deadline = min(
                self.last_active + self.host.idle_timeout,
                self.opened_at + self.host.max_connection_age,
            )
        else:
            return _POLL_CAP
        return min(max(deadline - now, 0.0), _POLL_CAP)

    def _on_timer(self) -> bool:
        """Act on expired timers; True when the connection should end now."""
        now = time.monotonic()
        if self.close_deadline is not None:
            return now >= self.close_deadline
        state = self.protocol.state
        if state is CONNECTING:
            if not self.hang and now >= self.accepted_at + _OPEN_TIMEOUT:
                _log.info("handshake not received within %.0f s; closing", _OPEN_TIMEOUT)
                return True
            return False
        if state is OPEN and self.registered:
            if now >= self.opened_at + self.host.max_connection_age:
                _log.info("connection %s reached its maximum age", self.connection_id)
                self.close(1001, "Going away")
            elif now >= self.last_active + self.host.idle_timeout:
                _log.info("connection %s idle timeout", self.connection_id)
                self.close(1001, "Going away")
        return False

    def _receive(self, data: bytes) -> bool:
        """Feed bytes to the protocol and handle the events; True when the connection ended."""
        self.last_active = time.monotonic()
        self.last_active_wall = time.time()
        with self.lock:
            self.protocol.receive_data(data)
            events = self.protocol.events_received()
            self._flush_locked()
            if self.protocol.close_expected() and self.close_deadline is None:
                self.close_deadline = time.monotonic() + self.host.close_timeout
        for event in events:
            if isinstance(event, Request):
                if self.hang:
                    self.host._handshake_hung(self, event)
                else:
                    self.host._handshake(self, event)
            elif isinstance(event, Frame):
                self._on_frame(event)
        return self._closed_cleanly()

    def _closed_cleanly(self) -> bool:
        """True once close frames went both ways: the TCP connection can go at once."""
        protocol = self.protocol
        if protocol.state is CLOSED:
            return True
        return (
            protocol.close_sent is not None
            and protocol.close_rcvd is not None
            and protocol.eof_sent
        )

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                data = frame.data
                self._on_message(
                    data if isinstance(data, bytes) else bytes(data), opcode is Opcode.TEXT
                )
            else:
                self._fragments = [bytes(frame.data)]
                self._fragment_text = opcode is Opcode.TEXT
        elif opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._on_message(data, self._fragment_text)
        elif opcode is Opcode.PING:
            self.host._on_ping(self)

    def _on_message(self, data: bytes, text: bool) -> None:
        # Not a state check: frames that arrived in the same read as the client's close frame
        # have already moved the protocol to CLOSING, yet they came first and API Gateway
        # delivers them.
        if not self.registered:
            return
        if not text:
            self.host._dispatch(self, bytes(data))
            return
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError:
            with self.lock:
                if self.protocol.state is OPEN:
                    self.protocol.fail(1007, "invalid UTF-8 in a text frame")
                    self._flush_locked()
            return
        self.host._dispatch(self, decoded)

    def send_response(self, response: Response, *, register: bool = False) -> None:
        """Answer the handshake; with ``register`` the connection opens under the lock."""
        with self.lock:
            if self.protocol.state is not CONNECTING or self.aborted:
                return
            self.protocol.send_response(response)
            if response.status_code == 101:
                self.opened_at = self.last_active = time.monotonic()
                self.connected_at_wall = self.last_active_wall = time.time()
                self.registered = register
            self._flush_locked(force=True)
            if self.protocol.close_expected():
                self.close_deadline = time.monotonic() + self.host.close_timeout

    def lambda_info(self) -> ConnectionInfo:
        """This connection as a Lambda event's ``requestContext`` describes it (once accepted)."""
        connection_id = self.connection_id
        assert connection_id is not None
        return ConnectionInfo(
            connection_id=connection_id,
            connected_at=self.handshake_at_wall,
            source_ip=self.source_ip,
            user_agent=self.user_agent,
        )

    def close_outcome(self) -> tuple[int, str, str]:
        """``(code, reason, initiated_by)`` of a finished connection (see DisconnectRecord)."""
        received, sent = self.protocol.close_rcvd, self.protocol.close_sent
        if received is not None and (self.protocol.close_rcvd_then_sent or sent is None):
            return int(received.code), received.reason, "client"
        if sent is not None:
            return int(sent.code), sent.reason, "gateway"
        return 1006, "", "gateway" if self.aborted else "network"

    def _finish(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        self.host._connection_closed(self)
