"""Misbehaving servers on 127.0.0.1, each doing one wrong thing on purpose, for fault tests.

The emulator (``LocalGateway``) makes the faults a real gateway can make (refusals, hangs,
drops, closes, muted connections). These make the ones it cannot: a listener that never
answers, a peer whose TCP window is full, raw frames no gateway would send (a 2**40-byte
length, endless continuation frames, invalid close frames), arbitrary HTTP statuses and TLS
with a self-signed certificate.

Every server listens on 127.0.0.1 port 0 and runs one accepting thread plus one per
connection, all named ``faultserver-...``; :meth:`FaultServer.stop` closes every socket and
joins them (and says which one did not end). Every loop is bounded by the stop event and a
deadline, so a forgotten server cannot keep a test process alive.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Callable, Optional, Union

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "ClientFrame",
    "FaultServer",
    "FaultServers",
    "HangingServer",
    "RawServer",
    "ServerConnection",
    "StallingServer",
    "StatusServer",
    "close_frame",
    "endless_continuation",
    "frame",
    "make_self_signed_cert",
    "text_frame",
    "tls_context",
]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_POLL = 0.05  # seconds: how often a blocked server thread looks at its stop event
_MAX_LIFE = 120.0  # seconds: no server thread outlives this, whatever the test does
_MAX_REQUEST = 64 * 1024

# ----------------------------------------------------------------------------- frames


def frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, declared_length: Optional[int] = None
) -> bytes:
    """One unmasked (server-to-client) frame; ``declared_length`` lies about the payload size."""
    length = len(payload) if declared_length is None else declared_length
    head = bytes([(0x80 if fin else 0) | opcode])
    if length < 126:
        head += bytes([length])
    elif length < 2**16:
        head += bytes([126]) + struct.pack("!H", length)
    else:
        head += bytes([127]) + struct.pack("!Q", length)
    return head + payload


def text_frame(data: Union[str, bytes], *, fin: bool = True) -> bytes:
    """A text frame; ``bytes`` are sent as given (so invalid UTF-8 can be sent)."""
    return frame(OP_TEXT, data.encode("utf-8") if isinstance(data, str) else data, fin=fin)


def close_frame(code: Optional[int] = None, reason: Union[str, bytes] = b"") -> bytes:
    """A close frame; ``code=None`` gives an empty one. ``bytes`` reasons are sent as given."""
    if code is None:
        return frame(OP_CLOSE)
    raw = reason.encode("utf-8") if isinstance(reason, str) else reason
    return frame(OP_CLOSE, struct.pack("!H", code) + raw)


def endless_continuation(chunk: int = 16 * 1024, limit: int = 512 * 2**20) -> Iterator[bytes]:
    """A text message that never ends: a first frame, then continuation frames without FIN.

    Stops after ``limit`` bytes (a bound, not an end: no FIN is ever sent).
    """
    block = b"a" * chunk
    yield frame(OP_TEXT, block, fin=False)
    for _ in range(limit // chunk):
        yield frame(OP_CONT, block, fin=False)


class ClientFrame:
    """One frame the client sent (unmasked), as a server recorded it."""

    def __init__(self, opcode: int, payload: bytes, fin: bool) -> None:
        self.opcode = opcode
        self.payload = payload
        self.fin = fin

    @property
    def close_code(self) -> Optional[int]:
        """The code of a close frame (None for an empty one or another opcode)."""
        if self.opcode != OP_CLOSE or len(self.payload) < 2:
            return None
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code

    def __repr__(self) -> str:
        return f"ClientFrame(opcode={self.opcode}, fin={self.fin}, {len(self.payload)} bytes)"


def _parse_client_frames(buffer: bytearray) -> list[ClientFrame]:
    """Take every complete masked frame off the front of ``buffer``."""
    frames: list[ClientFrame] = []
    while len(buffer) >= 2:
        fin = bool(buffer[0] & 0x80)
        opcode = buffer[0] & 0x0F
        masked = bool(buffer[1] & 0x80)
        length = buffer[1] & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                break
            length = struct.unpack("!H", bytes(buffer[2:4]))[0]
            offset = 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length = struct.unpack("!Q", bytes(buffer[2:10]))[0]
            offset = 10
        mask = b""
        if masked:
            if len(buffer) < offset + 4:
                break
            mask = bytes(buffer[offset : offset + 4])
            offset += 4
        if len(buffer) < offset + length:
            break
        payload = bytes(buffer[offset : offset + length])
        if masked:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        del buffer[: offset + length]
        frames.append(ClientFrame(opcode, payload, fin))
    return frames


# ----------------------------------------------------------------------------- TLS


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1/localhost and its key; their paths.

    Uses the ``cryptography`` package when it is installed, else the ``openssl`` command line
    (an EC key either way: fast to make). The certificate is its own CA, so a client passing
    it as ``ca_certs`` verifies the server. FileNotFoundError when neither is available.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _cert_with_cryptography(cert, key)
    except ImportError:
        if shutil.which("openssl") is None:
            raise FileNotFoundError(
                "neither the cryptography package nor openssl is available"
            ) from None
        subprocess.run(
            [
                "openssl", "req", "-x509", "-nodes", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", str(key), "-out", str(cert), "-days", "2",
                "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
    return cert, key


def _cert_with_cryptography(cert: Path, key: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context for a certificate made by :func:`make_self_signed_cert`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context


# ----------------------------------------------------------------------------- servers


class ServerConnection:
    """One accepted connection, with the few things a misbehaving server does with it."""

    def __init__(self, server: FaultServer, sock: socket.socket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.number = number
        self.request = b""
        self.frames: list[ClientFrame] = []
        self.peer_closed = False
        self._inbox = bytearray()

    @property
    def stopping(self) -> bool:
        return self.server.stopping

    def read_request(self) -> bool:
        """Read the client's HTTP upgrade request; False if it went away or we stop."""
        data = bytearray()
        deadline = time.monotonic() + 30.0
        while b"\r\n\r\n" not in data:
            chunk = self._recv(deadline)
            if chunk is None:
                return False
            data += chunk
            if len(data) > _MAX_REQUEST:
                return False
        head, _, rest = bytes(data).partition(b"\r\n\r\n")
        self.request = head
        self._inbox += rest
        self.server._note("requests")
        return True

    def header(self, name: str) -> Optional[str]:
        """A header of the request read by :meth:`read_request`."""
        for line in self.request.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def accept_websocket(self) -> None:
        """Answer the request with 101 Switching Protocols."""
        key = self.header("Sec-WebSocket-Key") or ""
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        self.send_all(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        self.server._note("upgraded")

    def send_all(self, data: bytes) -> bool:
        """Write ``data`` whole unless the peer is gone or we stop; False then."""
        view = memoryview(data)
        deadline = time.monotonic() + _MAX_LIFE
        while view:
            if self.stopping or time.monotonic() > deadline:
                return False
            try:
                sent = self.sock.send(view)
            except (socket.timeout, ssl.SSLWantWriteError):
                continue
            except OSError:
                return False
            view = view[sent:]
        return True

    def _recv(self, deadline: float) -> Optional[bytes]:
        """Some bytes; None at EOF (noted as the peer closing), on error, stop or deadline."""
        while not self.stopping and time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            except OSError:
                self._closed_by_peer()
                return None
            if not chunk:
                self._closed_by_peer()
                return None
            return chunk
        return None

    def _closed_by_peer(self) -> None:
        if not self.peer_closed:
            self.peer_closed = True
            self.server._note("peer_closed")

    def wait_for_eof(self) -> None:
        """Read and discard until the client closes the socket (or we stop)."""
        while self._recv(time.monotonic() + _MAX_LIFE) is not None:
            pass

    def serve(self, outgoing: Iterable[bytes] = (), *, answer_pings: bool = True) -> None:
        """Write ``outgoing`` while reading the client's frames, until the close handshake.

        Pings are answered (unless told not to); a close frame is answered with the same code
        and then the socket is shut. Whatever the client sends is kept in :attr:`frames`.
        """
        pending = iter(outgoing)
        exhausted = False
        out = b""
        close_sent = False
        deadline = time.monotonic() + _MAX_LIFE
        while not self.stopping and time.monotonic() < deadline:
            while not exhausted and len(out) < 65536:
                chunk = next(pending, None)
                if chunk is None:
                    exhausted = True
                    break
                close_sent = close_sent or chunk[:1] == bytes([0x80 | OP_CLOSE])
                out += chunk
            if out:
                try:
                    sent = self.sock.send(out[:65536])
                    out = out[sent:]
                except (socket.timeout, ssl.SSLWantWriteError):
                    pass
                except OSError:
                    self._closed_by_peer()
                    return
            for client_frame in self._read_frames(block=exhausted and not out):
                if client_frame is None:
                    return
                if client_frame.opcode == OP_PING and answer_pings:
                    out += frame(OP_PONG, client_frame.payload)
                elif client_frame.opcode == OP_CLOSE:
                    if not close_sent:
                        self.send_all(frame(OP_CLOSE, client_frame.payload[:2]))
                    with contextlib.suppress(OSError):
                        self.sock.shutdown(socket.SHUT_RDWR)
                    return

    def _read_frames(self, *, block: bool) -> list[Optional[ClientFrame]]:
        """Frames read now (waiting up to a poll interval if ``block``); [None] at EOF."""
        if self._inbox:
            parsed: list[Optional[ClientFrame]] = list(_parse_client_frames(self._inbox))
            if parsed:
                self._record(parsed)
                return parsed
        self.sock.settimeout(_POLL if block else 0.001)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return []
        except OSError:
            self._closed_by_peer()
            return [None]
        finally:
            self.sock.settimeout(_POLL)
        if not chunk:
            self._closed_by_peer()
            return [None]
        self._inbox += chunk
        parsed = list(_parse_client_frames(self._inbox))
        self._record(parsed)
        return parsed

    def _record(self, frames: list[Optional[ClientFrame]]) -> None:
        with self.server._cond:
            for f in frames:
                if f is not None:
                    self.frames.append(f)
                    self.server.frames.append(f)
            self.server._cond.notify_all()


class FaultServer:
    """A TCP server on 127.0.0.1 port 0 that hands each connection to :meth:`handle`.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``counts`` says how
    many connections were ``accepted``, sent a ``requests``, got ``upgraded``, and were
    ``peer_closed`` (the client closed its socket); wait for them with :meth:`wait_count`.
    """

    kind = "server"
    _numbers = itertools.count(1)

    def __init__(
        self, *, ssl_context: Optional[ssl.SSLContext] = None, rcvbuf: Optional[int] = None
    ) -> None:
        self.ssl_context = ssl_context
        self.rcvbuf = rcvbuf
        self.name = f"faultserver-{self.kind}-{next(FaultServer._numbers)}"
        self.frames: list[ClientFrame] = []
        self.connections: list[ServerConnection] = []
        self.counts = {"accepted": 0, "requests": 0, "upgraded": 0, "peer_closed": 0}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: Optional[socket.socket] = None
        self._port = 0

    # --- lifecycle

    def start(self) -> FaultServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rcvbuf is not None:  # inherited by accepted sockets; sets the TCP window
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(_POLL)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._spawn(self._accept_loop, f"{self.name}-accept")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every socket and join every thread; AssertionError naming any that lives on."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.sock.close()
        if self._listener is not None:
            self._listener.close()
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"fault server threads did not end: {alive}"

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://127.0.0.1:{self._port}/default"

    # --- observation

    def wait_count(self, what: str, n: int = 1, timeout: float = 10.0) -> bool:
        """Wait until ``counts[what] >= n``; False if the timeout passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self.counts[what] >= n, timeout)

    def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0) -> bool:
        """Wait until ``predicate()`` holds, re-checked on every event of this server."""
        with self._cond:
            return bool(self._cond.wait_for(predicate, timeout))

    def close_codes(self) -> list[Optional[int]]:
        """Codes of the close frames the client sent, over all connections, in order."""
        with self._cond:
            return [f.close_code for f in self.frames if f.opcode == OP_CLOSE]

    def texts(self) -> list[bytes]:
        """Payloads of the client's text frames (whole frames, not joined messages)."""
        with self._cond:
            return [f.payload for f in self.frames if f.opcode == OP_TEXT]

    def _note(self, what: str) -> None:
        with self._cond:
            self.counts[what] += 1
            self._cond.notify_all()

    # --- threads

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        deadline = time.monotonic() + _MAX_LIFE
        while not self.stopping and time.monotonic() < deadline:
            try:
                sock, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            conn = ServerConnection(self, sock, len(self.connections) + 1)
            self.connections.append(conn)
            self._note("accepted")
            self._spawn(lambda c=conn: self._run(c), f"{self.name}-conn-{conn.number}")

    def _run(self, conn: ServerConnection) -> None:
        try:
            conn.sock.settimeout(_POLL)
            if self.ssl_context is not None:
                conn.sock.settimeout(10.0)
                try:
                    conn.sock = self.ssl_context.wrap_socket(conn.sock, server_side=True)
                except (ssl.SSLError, OSError):
                    conn._closed_by_peer()  # the client refused our certificate
                    return
                conn.sock.settimeout(_POLL)
            self.handle(conn)
        finally:
            with contextlib.suppress(OSError):
                conn.sock.close()

    def handle(self, conn: ServerConnection) -> None:
        """What this server does with one connection."""
        raise NotImplementedError


class HangingServer(FaultServer):
    """(a) Accepts TCP and reads the upgrade request, but never answers it."""

    kind = "hanging"

    def handle(self, conn: ServerConnection) -> None:
        if conn.read_request():
            conn.wait_for_eof()


class StallingServer(FaultServer):
    """(b) Completes the handshake, then never reads again: the client's writes fill the
    (tiny) TCP window and then its socket buffer. Pings go unanswered as well."""

    kind = "stalling"

    def __init__(self, *, rcvbuf: int = 4096, **options: object) -> None:
        super().__init__(rcvbuf=rcvbuf, **options)  # type: ignore[arg-type]

    def handle(self, conn: ServerConnection) -> None:
        if not conn.read_request():
            return
        conn.accept_websocket()
        self._stop.wait(_MAX_LIFE)


class SinkServer(FaultServer):
    """(e) Completes the handshake, then reads and discards everything as fast as it comes,
    counting the bytes in :attr:`bytes_read`: a peer that always keeps up. Run it in another
    process (``python -c``) when the client under test must not share its interpreter lock."""

    kind = "sink"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.bytes_read = 0

    def handle(self, conn: ServerConnection) -> None:
        if not conn.read_request():
            return
        conn.accept_websocket()
        deadline = time.monotonic() + _MAX_LIFE
        while (chunk := conn._recv(deadline)) is not None:
            with self._cond:
                self.bytes_read += len(chunk)


Script = Union[bytes, Iterable[bytes], Callable[[ServerConnection], None]]


class RawServer(FaultServer):
    """(c) Completes the handshake, then sends raw bytes, frames no sane server would send.

    ``scripts[i]`` is what connection ``i`` (from 0) gets: bytes, an iterable of byte chunks
    (written as the client takes them, so an endless stream stops when the client stops
    reading), or a callable that does what it likes with the connection. Connections past
    the list get ``then`` (default: nothing). Either way the server then keeps reading the
    client's frames (recorded in :attr:`frames`), answers pings, and ends the close handshake.
    """

    kind = "raw"

    def __init__(
        self,
        *scripts: Script,
        then: Script = b"",
        answer_pings: bool = True,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        super().__init__(ssl_context=ssl_context)
        self.scripts = list(scripts)
        self.then = then
        self.answer_pings = answer_pings

    def handle(self, conn: ServerConnection) -> None:
        if not conn.read_request():
            return
        conn.accept_websocket()
        index = conn.number - 1
        script = self.scripts[index] if index < len(self.scripts) else self.then
        if callable(script):
            script(conn)
            return
        outgoing = [script] if isinstance(script, bytes) else script
        conn.serve(outgoing, answer_pings=self.answer_pings)


class StatusServer(FaultServer):
    """(d) Answers every upgrade request with HTTP ``status`` and ``body``, then closes."""

    kind = "status"

    def __init__(self, status: int, body: str = "", **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.status = status
        self.body = body

    def handle(self, conn: ServerConnection) -> None:
        if not conn.read_request():
            return
        body = self.body.encode()
        conn.send_all(
            (
                f"HTTP/1.1 {self.status} Fault\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body
        )
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
        conn.wait_for_eof()


class FaultServers:
    """Starts fault servers for one test and stops (and joins) all of them at its end."""

    def __init__(self) -> None:
        self._servers: list[FaultServer] = []

    def add(self, server: FaultServer) -> FaultServer:
        self._servers.append(server.start())
        return server

    def hanging(self) -> HangingServer:
        server = HangingServer()
        self.add(server)
        return server

    def stalling(self, rcvbuf: int = 4096) -> StallingServer:
        server = StallingServer(rcvbuf=rcvbuf)
        self.add(server)
        return server

    def raw(
        self,
        *scripts: Script,
        then: Script = b"",
        answer_pings: bool = True,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> RawServer:
        server = RawServer(*scripts, then=then, answer_pings=answer_pings, ssl_context=ssl_context)
        self.add(server)
        return server

    def status(self, status: int, body: str = "") -> StatusServer:
        server = StatusServer(status, body)
        self.add(server)
        return server

    def stop_all(self) -> None:
        errors = []
        for server in self._servers:
            try:
                server.stop()
            except AssertionError as exc:
                errors.append(str(exc))
        self._servers.clear()
        assert not errors, "; ".join(errors)

    def __enter__(self) -> FaultServers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()
