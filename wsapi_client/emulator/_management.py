"""The ``@connections`` management API, compatible with boto3's ``apigatewaymanagementapi``.

``POST /{stage}/@connections/{id}`` sends the body to the client (a text frame when it is
UTF-8, else binary), ``GET`` describes the connection, ``DELETE`` closes it; an unknown or
closed id answers 410 ``GoneException`` and a malformed one 400 ``BadRequestException``, in the
rest-json error shape botocore parses.  When the gateway has IAM keys, requests must carry a
valid SigV4 signature (403 otherwise).  The server talks to a :class:`ManagementBackend`, not to
the gateway class, so this module does not import the gateway.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import itertools
import json
import logging
import re
import selectors
import socket
import threading
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from wsapi_client._errors import MessageTooLargeError
from wsapi_client.emulator._backend import ManagementBackend
from wsapi_client.emulator._records import GoneError, ThrottledError
from wsapi_client.emulator._sigv4 import SignatureError, verify_sigv4

__all__ = ["ManagementServer", "is_connection_id"]

_log = logging.getLogger("wsapi_client.emulator.management")

_CONNECTION_ID = re.compile(r"[A-Za-z0-9+/_-]{15}=")


def is_connection_id(value: str) -> bool:
    """True for an id shaped like API Gateway's (16 base64 characters ending in ``=``)."""
    return _CONNECTION_ID.fullmatch(value) is not None


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Handler(http.server.BaseHTTPRequestHandler):
    """One management request; keep-alive (HTTP/1.1) as botocore's connection pool expects."""

    protocol_version = "HTTP/1.1"
    server_version = "wsapi-client-emulator"
    sys_version = ""
    timeout = 60.0
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        backend = self.server.backend
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path).path.split("/")
        if (
            len(parts) != 4
            or parts[1] != backend.stage
            or parts[2] != "@connections"
            or not parts[3]
        ):
            self._error(403, "ForbiddenException", "Forbidden")
            return
        if backend.iam_keys:
            problem = self._check_signature(method, body)
            if problem is not None:
                _log.info("management %s refused: %s", method, problem)
                self._error(403, "ForbiddenException", "Forbidden")
                return
        connection_id = unquote(parts[3])
        if not is_connection_id(connection_id):
            self._error(400, "BadRequestException", f"Invalid connectionId: {connection_id}")
            return
        try:
            if method == "POST":
                self._post(connection_id, body)
            elif method == "GET":
                self._get(connection_id)
            else:
                backend.delete_connection(connection_id)
                self._reply(204, b"")
        except GoneError:
            self._error(410, "GoneException", None)
        except MessageTooLargeError as exc:
            self._error(413, "PayloadTooLargeException", str(exc))
        except ThrottledError:
            self._error(429, "LimitExceededException", "Rate exceeded")

    def _post(self, connection_id: str, body: bytes) -> None:
        data: Any
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            data = body
        self.server.backend.post_data(connection_id, data)
        self._reply(200, b"")

    def _get(self, connection_id: str) -> None:
        found = self.server.backend.describe_connection(connection_id)
        description = {
            "connectedAt": _iso(found.connected_at),
            "identity": {"sourceIp": found.source_ip, "userAgent": found.user_agent},
            "lastActiveAt": _iso(found.last_active_at),
        }
        self._reply(200, json.dumps(description).encode("utf-8"), "application/json")

    def _check_signature(self, method: str, body: bytes) -> Optional[str]:
        """None when the request is validly signed, else what is wrong (no secrets)."""
        split = urlsplit(self.path)
        declared = self.headers.get("x-amz-content-sha256")
        payload_hash = (
            declared if declared == "UNSIGNED-PAYLOAD" else hashlib.sha256(body).hexdigest()
        )
        try:
            verify_sigv4(
                method,
                split.path,
                split.query,
                list(self.headers.items()),
                keys=self.server.backend.iam_keys,
                now=datetime.now(timezone.utc),
                payload_sha256=payload_hash,
                region=self.server.backend.iam_region,
                session_tokens=self.server.backend.iam_session_tokens,
            )
        except SignatureError as exc:
            return f"SigV4 {exc}"
        return None

    def _error(self, status: int, code: str, message: Optional[str]) -> None:
        body = json.dumps({"message": message}).encode("utf-8")
        self._reply(status, body, "application/json", {"x-amzn-ErrorType": code})

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: Optional[str] = None,
        extra: Optional[dict[str, str]] = None,
    ) -> None:
        self.send_response(status)
        self.send_header("x-amzn-RequestId", self.server.backend.new_request_id())
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


class _HttpServer(http.server.HTTPServer):
    """An HTTPServer whose request threads are named, tracked, and joined on stop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: ManagementBackend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._open: set[socket.socket] = set()
        self._numbers = itertools.count(1)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._process,
            args=(request, client_address),
            name=f"wsapi-emulator-http-{next(self._numbers)}",
            daemon=True,
        )
        with self._lock:
            self._threads.add(thread)
            self._open.add(request)
        thread.start()

    def _process(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            _log.debug("management request from %s failed", client_address, exc_info=True)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._open.discard(request)
                self._threads.discard(threading.current_thread())

    def close_requests(self) -> None:
        """Shut every open request connection down and join their threads."""
        with self._lock:
            sockets, threads = list(self._open), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join()


class ManagementServer:
    """The management API's HTTP server on its own port, with an accept thread of its own."""

    def __init__(self, backend: ManagementBackend, host: str, port: int) -> None:
        self._server = _HttpServer((host, port), backend)
        self.port: int = self._server.server_address[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._loop, name="wsapi-emulator-http", daemon=True)

    def start(self) -> None:
        """Start accepting management requests."""
        self._thread.start()

    def _loop(self) -> None:
        listener = self._server.socket
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        request, address = listener.accept()
                    except OSError:
                        continue
                    self._server.process_request(request, address)

    def stop(self) -> None:
        """Stop accepting, close open requests and join every thread."""
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
            self._thread.join()
        self._server.server_close()
        self._server.close_requests()
        self._wake_r.close()
        self._wake_w.close()
