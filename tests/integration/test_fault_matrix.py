"""Issue 12's fault matrix: one real fault per row, walked by one parametrised test.

Each row says how the fault is made, which states the client reports (``on_state_change``),
which error event it raises, whether and how it retries, and what becomes of queued and
in-flight messages; its scenario makes the fault against a real server on 127.0.0.1 (the
emulator or a fault server from ``tests/faults``) and asserts all of that. Afterwards every
client the row made must ``close()`` on time and leave no thread.

``docs/reliability.md`` publishes this table; ``test_reliability_doc_matches_the_matrix``
fails when the two differ. Regenerate the doc's table with::

    python -m tests.integration.test_fault_matrix
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from tests.faults.fixtures import faults, self_signed_cert
from tests.faults.observe import (
    Background,
    ErrorLog,
    StateLog,
    end_process,
    hold_second_handshake,
    threads_left,
)
from tests.faults.servers import (
    OP_BINARY,
    FaultServers,
    endless_continuation,
    frame,
    text_frame,
    tls_context,
)
from wsapi_client import (
    AuthError,
    ClientClosedError,
    ConnectError,
    ConnectionState,
    CustomAuth,
    IamAuth,
    Keepalive,
    ReconnectPolicy,
    WebSocketClient,
)
from wsapi_client.emulator import LocalGateway
from wsapi_client.spec import ApiSpec

__all__ = ["faults", "self_signed_cert"]  # fixtures, imported for the test below

S = ConnectionState
SLACK = 1.5
FAST = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, jitter=False)
QUIET = Keepalive(interval=30.0, timeout=10.0)
BIG = "x" * (100 * 1024 - 64)
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
AFTER = json.dumps({"route": "SendGreeting", "payload": {"greeting": "after"}})


class Harness:
    """What a row's scenario works with: servers, and clients that are watched and closed."""

    def __init__(
        self,
        gateway: LocalGateway,
        faults: FaultServers,
        spec: ApiSpec,
        cert: Callable[[], tuple[Path, Path]],
    ) -> None:
        self.gateway = gateway
        self.faults = faults
        self.spec = spec
        self._cert = cert
        self.clients: list[WebSocketClient] = []
        self.states: dict[int, StateLog] = {}
        self.errors: dict[int, ErrorLog] = {}
        self.after_close: list[Callable[[], None]] = []
        self.released: list[threading.Event] = []

    def client(self, url: str, *, start: bool = True, **options: Any) -> WebSocketClient:
        options.setdefault("spec", self.spec)
        options.setdefault("reconnect", FAST)
        options.setdefault("keepalive", QUIET)
        client = WebSocketClient(url, **options)
        self.clients.append(client)
        self.states[id(client)] = StateLog(client)
        self.errors[id(client)] = ErrorLog(client)
        if start:
            client.start(timeout=5)
        return client

    @property
    def cert(self) -> tuple[Path, Path]:
        """The self-signed certificate and key (only the TLS rows need one)."""
        return self._cert()

    @property
    def main(self) -> WebSocketClient:
        return self.clients[0]

    def state_log(self, client: Optional[WebSocketClient] = None) -> StateLog:
        return self.states[id(client or self.main)]

    def error_log(self, client: Optional[WebSocketClient] = None) -> ErrorLog:
        return self.errors[id(client or self.main)]

    def wait_state(self, state: ConnectionState, timeout: float = 5.0, count: int = 1) -> None:
        log = self.state_log()
        assert log.wait_for(state, timeout, count), f"never {state}: {log.snapshot()}"

    def greetings(self, client: WebSocketClient) -> tuple[list[Any], threading.Condition]:
        got: list[Any] = []
        cond = threading.Condition()

        def record(payload: Any) -> None:
            with cond:
                got.append(payload)
                cond.notify_all()

        client.on("SendGreeting", record)
        return got, cond


def wait_list(items: list[Any], cond: threading.Condition, n: int, timeout: float = 5.0) -> None:
    with cond:
        assert cond.wait_for(lambda: len(items) >= n, timeout), f"{len(items)} of {n}: {items}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------------ the scenarios


def refused_handshake(status: int, fatal: bool) -> Callable[[Harness], None]:
    def run(h: Harness) -> None:
        gw = h.gateway
        gw.refuse_next(10 if fatal else 5, status=status)
        client = h.client(gw.url, start=False)
        queued = client.send("SayHello", {"name": "queued"})
        if fatal:
            expected = AuthError if status in (401, 403) else ConnectError
            with pytest.raises(expected) as info:
                client.start(timeout=5)
            assert info.value.status == status
            if status not in (401, 403):
                assert not isinstance(info.value, AuthError)
            assert gw.connect_count == 3, "fatal after three in a row"
            assert isinstance(queued.exception(timeout=1), ClientClosedError)
        else:
            client.start(timeout=5)
            assert gw.connect_count == 6, "five refusals retried, the sixth attempt connects"
            queued.result(timeout=5)
            assert [m.payload for m in gw.wait_for_messages(1)] == [{"name": "queued"}]

    return run


def _failing_first_connect(h: Harness, url: str, match: str, **options: Any) -> None:
    client = h.client(url, start=False, **options)
    queued = client.send("SayHello", {"name": "queued"})
    with pytest.raises(ConnectError, match=match) as info:
        client.start(timeout=1.5)
    assert not isinstance(info.value, AuthError)
    assert h.error_log().count("connection") >= 2, "retried within connect()'s timeout"
    assert isinstance(queued.exception(timeout=1), ClientClosedError)


def connection_refused(h: Harness) -> None:
    _failing_first_connect(h, f"ws://127.0.0.1:{free_port()}/default", "(?i)refused")


def _resolves_quickly_to_nothing(name: str) -> bool:
    probe = Background(lambda: socket.getaddrinfo(name, 80), "resolve")
    return probe.join(3.0) and isinstance(probe.error, socket.gaierror)


def dns_failure(h: Harness) -> None:
    if not _resolves_quickly_to_nothing("nonexistent.invalid"):
        pytest.skip("the resolver here does not fail .invalid names at once")
    _failing_first_connect(h, "ws://nonexistent.invalid/x", r"(?i)dns|resolv|look ?up")


def tls_unverified(h: Harness) -> None:
    cert, key = h.cert
    server = h.faults.raw(ssl_context=tls_context(cert, key))
    _failing_first_connect(h, server.url, r"(?i)tls|ssl|certificate")
    assert server.counts["upgraded"] == 0


def tls_with_ca_bundle(h: Harness) -> None:
    cert, key = h.cert
    server = h.faults.raw(ssl_context=tls_context(cert, key))
    client = h.client(server.url, sslopt={"ca_certs": str(cert)})
    client.send("SayHello", {"name": "secure"}).result(timeout=5)
    assert server.wait_until(lambda: len(server.texts()) == 1, timeout=5)
    assert json.loads(server.texts()[0]) == {"route": "SayHello", "payload": {"name": "secure"}}


def never_answered(h: Harness) -> None:
    server = h.faults.hanging()
    _failing_first_connect(h, server.url, "(?i)timed out", connect_timeout=0.3)
    assert server.wait_count("accepted", 2, timeout=5)


def half_open_muted(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url, keepalive=Keepalive(interval=0.1, timeout=0.3))
    gw.answer_pings = False
    h.wait_state(S.RECONNECTING)
    queued = client.send("SayHello", {"name": "queued"})
    gw.answer_pings = True
    h.wait_state(S.CONNECTED, count=2)
    queued.result(timeout=5)
    assert any("unresponsive" in m for m in h.error_log().messages())
    assert client.stats.reconnects >= 1


def half_open_stalled(h: Harness) -> None:
    server = h.faults.stalling()
    client = h.client(server.url, spec=None, keepalive=Keepalive(interval=0.2, timeout=0.5))
    h.wait_state(S.RECONNECTING)
    h.wait_state(S.CONNECTED, count=2)
    # The client may see the 101 before the server thread that sent it has counted it.
    assert server.wait_count("upgraded", 2, timeout=5)
    assert client.stats.reconnects >= 1


OUTAGE = ReconnectPolicy(initial_delay=0.5, max_delay=0.5, jitter=False)
"""A backoff long enough to queue a message during the outage."""


def queue_in_outage(h: Harness, client: WebSocketClient) -> Future[None]:
    """Once the client reports RECONNECTING, send a message: it must wait in the queue."""
    h.wait_state(S.RECONNECTING)
    queued = client.send("SayHello", {"name": "queued"})
    assert client.stats.queued == 1
    return queued


def server_close(code: Optional[int]) -> Callable[[Harness], None]:
    """The gateway closes with ``code`` (None: drops TCP without a close frame, 1006)."""

    def run(h: Harness) -> None:
        gw = h.gateway
        client = h.client(gw.url, reconnect=OUTAGE)
        (cid,) = gw.connections
        if code is None:
            gw.drop_all()
        else:
            gw.close_connection(cid, code, "test")
        queued = queue_in_outage(h, client)
        h.wait_state(S.CONNECTED, count=2)
        assert client.stats.reconnects == 1
        assert client.stats.last_close_code == (1006 if code is None else code)
        client.send("SayHello", {"name": "later"})
        queued.result(timeout=5)
        assert [m.payload["name"] for m in gw.wait_for_messages(2)] == ["queued", "later"]

    return run


def invalid_close_frame(h: Harness) -> None:
    server = h.faults.raw(frame(0x8, b"\x03"))  # a close frame with a 1-byte payload
    client = h.client(server.url, reconnect=OUTAGE)
    queued = queue_in_outage(h, client)
    h.wait_state(S.CONNECTED, count=2)
    queued.result(timeout=5)
    assert server.wait_until(lambda: len(server.connections[1].frames) >= 1, timeout=5)
    assert json.loads(server.connections[1].frames[0].payload)["payload"] == {"name": "queued"}
    assert client.stats.reconnects == 1


def management_delete(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url, reconnect=OUTAGE)
    (cid,) = gw.connections
    host, _, rest = gw.callback_url.removeprefix("http://").partition("/")
    address, _, port = host.rpartition(":")
    api = http.client.HTTPConnection(address, int(port), timeout=5)
    try:
        api.request("DELETE", f"/{rest}/@connections/{cid}")
        assert api.getresponse().status == 204
    finally:
        api.close()
    queued = queue_in_outage(h, client)
    h.wait_state(S.CONNECTED, count=2)
    assert gw.wait_until(lambda: gw.connections and cid not in gw.connections)
    assert client.stats.reconnects == 1
    queued.result(timeout=5)
    assert [m.payload for m in gw.wait_for_messages(1)] == [{"name": "queued"}]


def reset_while_replaced(h: Harness) -> None:
    gw = h.gateway
    # The rotation's handshake waits until the old connection is reset.
    in_handshake, release = hold_second_handshake(gw)
    h.released.append(release)
    client = h.client(gw.url, max_connection_age=0.3)
    (old,) = gw.connections
    assert in_handshake.wait(5), "the rotation never began"
    gw.drop_connection(old)  # what the client writes until it notices is in the window
    release.set()
    assert h.error_log().wait_for("connection")
    assert any("while being replaced" in m for m in h.error_log().messages())
    client.send("SayHello", {"name": "after the reset"}).result(timeout=5)
    assert [m.payload for m in gw.wait_for_messages(1)] == [{"name": "after the reset"}]
    assert S.RECONNECTING not in h.state_log().snapshot()
    assert client.stats.reconnects == 1  # the rotation


def inbound_garbage(data: bytes, *, ignored: bool = False) -> Callable[[Harness], None]:
    """The server sends ``data`` (one raw frame) and then a well-formed SendGreeting."""

    def run(h: Harness) -> None:
        server = h.faults.raw([data, text_frame(AFTER)])
        client = h.client(server.url, start=False)
        got, cond = h.greetings(client)  # before start: the server sends at once
        client.start(timeout=5)
        wait_list(got, cond, 1)
        assert got == [{"greeting": "after"}], "the reader went on to the next message"
        assert client.stats.reconnects == 0
        assert server.counts["accepted"] == 1
        if ignored:
            assert client.stats.ignored_frames == 1

    return run


def gateway_error_frame(h: Harness) -> None:
    error = {"message": "Internal server error", "connectionId": "c-1", "requestId": "r-1"}
    server = h.faults.raw([text_frame(json.dumps(error)), text_frame(AFTER)])
    client = h.client(server.url, start=False)
    got, cond = h.greetings(client)
    client.start(timeout=5)
    wait_list(got, cond, 1)
    (event,) = h.error_log().events
    assert (event.connection_id, event.request_id) == ("c-1", "r-1")
    assert client.stats.reconnects == 0


def inbound_too_large(make_script: Callable[[], Any]) -> Callable[[Harness], None]:
    """The first connection gets ``make_script()``; the client must close 1009 and reconnect."""

    def run(h: Harness) -> None:
        server = h.faults.raw(make_script(), then=text_frame(AFTER))
        client = h.client(server.url, start=False, max_inbound_message_size=64 * 1024)
        got, cond = h.greetings(client)
        client.start(timeout=5)
        wait_list(got, cond, 1, timeout=10)  # from the second connection
        assert server.wait_until(lambda: 1009 in server.close_codes(), timeout=5)
        assert server.counts["upgraded"] == 2
        assert client.stats.reconnects == 1

    return run


def backpressure(h: Harness) -> None:
    server = h.faults.stalling()
    client = h.client(server.url, spec=None, keepalive=Keepalive(interval=30, timeout=25))
    futures: list[Future[None]] = []
    for i in range(50):  # 5 MiB: about 3 MB fit in the kernel, the rest must stay queued
        began = time.monotonic()
        futures.append(client.send(f"Big{i}", {"data": BIG}))
        assert time.monotonic() - began < 0.5, f"send() #{i} blocked on the socket"
    assert client.stats.queued > 0
    assert client.state is S.CONNECTED

    def after() -> None:
        failed = [f.exception(timeout=0) for f in futures if f.exception(timeout=0)]
        assert failed
        assert all(isinstance(e, ClientClosedError) for e in failed)

    h.after_close.append(after)


def listener_raises(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url)
    got, cond = h.greetings(client)

    def boom(payload: Any) -> None:
        if payload["greeting"] == "boom":
            raise RuntimeError("listener failed")

    client.on("SendGreeting", boom)

    (cid,) = gw.connections
    for text in ("boom", "fine"):
        gw.post_to_connection(cid, "SendGreeting", {"greeting": text})
    wait_list(got, cond, 2)
    assert [g["greeting"] for g in got] == ["boom", "fine"]
    assert h.error_log().wait_for("listener")
    assert client.stats.reconnects == 0


def listener_blocks(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url, keepalive=Keepalive(interval=0.2, timeout=0.5))
    got, cond = h.greetings(client)
    hold = threading.Event()
    h.released.append(hold)
    client.on("SendGreeting", lambda p: hold.wait(1.5) if p["greeting"] == "0" else None)
    (cid,) = gw.connections
    for i in range(11):
        gw.post_to_connection(cid, "SendGreeting", {"greeting": str(i)})
    wait_list(got, cond, 11, timeout=10)
    assert [g["greeting"] for g in got] == [str(i) for i in range(11)]
    assert client.stats.reconnects == 0
    assert gw.connect_count == 1


def auth_raises(make_auth: Callable[[Callable[..., Any]], Any]) -> Callable[[Harness], None]:
    def run(h: Harness) -> None:
        calls: list[int] = []

        def raising(*_args: Any) -> Any:
            calls.append(1)
            raise RuntimeError("credentials unavailable")

        client = h.client(h.gateway.url, start=False, auth=make_auth(raising))
        queued = client.send("SayHello", {"name": "queued"})
        with pytest.raises(AuthError):
            client.start(timeout=5)
        assert len(calls) == 3, "counted like a 401: three in a row give up"
        assert h.gateway.connect_count == 0
        assert isinstance(queued.exception(timeout=1), ClientClosedError)

    return run


def _timed_stop(client: WebSocketClient, method: str) -> None:
    began = time.monotonic()
    if method == "close":
        client.close(timeout=1)
    else:
        client.disconnect()
    assert time.monotonic() - began < 1 + SLACK, f"{method}() took too long"


def close_during_connect(h: Harness) -> None:
    server = h.faults.hanging()
    client = h.client(server.url, start=False, connect_timeout=20)
    starter = Background(lambda: client.start(timeout=30), "start")
    assert server.wait_count("requests", 1, timeout=10)
    _timed_stop(client, "close")
    assert starter.join(2)
    assert isinstance(starter.error, ClientClosedError), repr(starter.error)
    assert server.wait_count("peer_closed", 1, timeout=3)


def close_during_backoff(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url, reconnect=ReconnectPolicy(initial_delay=30, jitter=False))
    gw.drop_all()
    h.wait_state(S.RECONNECTING)
    queued = client.send("SayHello", {"name": "queued"})
    _timed_stop(client, "close")
    assert isinstance(queued.exception(timeout=0), ClientClosedError)
    assert gw.connect_count == 1


def close_during_flush(h: Harness) -> None:
    server = h.faults.stalling()
    client = h.client(server.url, spec=None, keepalive=Keepalive(interval=30, timeout=25))
    futures = [client.send(f"Big{i}", {"data": BIG}) for i in range(60)]
    flusher = Background(client.flush, "flush")
    assert not flusher.join(0.3)
    _timed_stop(client, "close")
    assert flusher.join(1)
    assert isinstance(flusher.error, ClientClosedError), repr(flusher.error)
    assert all(f.done() for f in futures)


def close_from_listener(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url)
    took: list[float] = []

    def listener(_payload: Any) -> None:
        began = time.monotonic()
        client.close()
        took.append(time.monotonic() - began)

    client.on("SendGreeting", listener)
    (cid,) = gw.connections
    gw.post_to_connection(cid, "SendGreeting", {"greeting": "stop"})
    h.wait_state(S.CLOSED, timeout=1 + SLACK)
    assert took
    assert took[0] < 0.5


def disconnect_during_reconnect(h: Harness) -> None:
    gw = h.gateway
    client = h.client(gw.url)
    gw.hang_next(100)
    gw.drop_all()
    h.wait_state(S.RECONNECTING)
    gw.wait_until(lambda: gw.connect_count >= 2, timeout=5)
    queued = client.send("SayHello", {"name": "queued"})
    _timed_stop(client, "disconnect")
    assert isinstance(queued.exception(timeout=0), ClientClosedError)


def fork_while_connected(h: Harness) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    gw = h.gateway
    client = h.client(gw.url)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: we know
        pid = os.fork()
    if pid == 0:  # the child: touch nothing but the client and the pipe, then _exit
        verdict = "no error"
        try:
            client.send("SayHello", {"name": "from the child"})
        except ClientClosedError as exc:
            verdict = "ok" if "fork" in str(exc) else f"no fork in: {exc}"
        except BaseException as exc:
            verdict = f"raised {exc!r}"
        os.write(write_end, verdict.encode()[:500])
        os._exit(0)
    os.close(write_end)
    try:
        _, status = os.waitpid(pid, 0)
        verdict = os.read(read_end, 1000).decode()
    finally:
        os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert verdict == "ok"
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "parent"})
    assert reply.result(timeout=5) == {"greeting": "Hello, parent!"}
    # The reply is posted by the handler, and the gateway records a message once its handler has
    # returned: the reply can arrive first, so wait for the record rather than read it at once.
    gw.wait_for_messages(1, timeout=5)
    assert [m.payload for m in gw.received] == [{"name": "parent"}]


STUCK_AT_EXIT = r"""
import sys, time
from wsapi_client import Keepalive, WebSocketClient
client = WebSocketClient.connect(sys.argv[1], keepalive=Keepalive(interval=30, timeout=25))
for i in range(60):
    client.send("Big%d" % i, {"data": "x" * (100 * 1024 - 64)})
print("stuck", flush=True)
"""


def exit_while_stuck(h: Harness) -> None:
    server = h.faults.stalling()
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_AT_EXIT, server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        out = Background(lambda: proc.stdout.readline() if proc.stdout else "", "child")
        assert out.join(30), "the child never got stuck"
        assert out.result == "stuck\n", out.result
        began = time.monotonic()
        code = proc.wait(3 + SLACK + 10)
        assert time.monotonic() - began < 3 + SLACK, "interpreter exit waited for the stuck socket"
        assert code == 0
    finally:
        end_process(proc)


# ------------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Fault:
    """One row of the matrix.

    ``states``: what ``on_state_change`` reports, in this order (others may come between).
    ``kinds``: the error event kinds of which at least one is reported; ``()`` means none at
    all, ``None`` that the row does not check events (the scenario itself is the check).
    """

    name: str
    how: str
    states: tuple[ConnectionState, ...]
    kinds: Optional[tuple[str, ...]]
    retry: str
    messages: str
    run: Callable[[Harness], None] = field(repr=False, compare=False)
    in_process: bool = True
    settles: bool = True
    """False: the fault repeats on every connection, so the state at the end is not fixed."""


FATAL = "no: fatal after 3 refusals in a row"
RETRIED = "yes, with backoff"
QUEUED_FAIL = "queued: fail with ClientClosedError when the client fails"
QUEUED_KEPT = "queued: kept, written on the next connection"
GONE = (
    "in flight: at most once (see below); queued during the outage: written first on the "
    "new connection"
)
READER_GOES_ON = "no reconnect: the reader goes on with the next message"

MATRIX: list[Fault] = [
    *(
        Fault(
            f"handshake HTTP {status}",
            f"emulator `refuse_next(10, status={status})`",
            (S.FAILED,),
            ("auth",) if status in (401, 403) else ("connection",),
            FATAL,
            QUEUED_FAIL
            + "; connect() raises "
            + ("AuthError" if status in (401, 403) else "ConnectError")
            + " with .status",
            refused_handshake(status, fatal=True),
        )
        for status in (400, 401, 403, 404)
    ),
    *(
        Fault(
            f"handshake HTTP {status}",
            f"emulator `refuse_next(5, status={status})`",
            (S.CONNECTED,),
            ("connection",),
            RETRIED + " (5 refusals, the 6th attempt connects)",
            QUEUED_KEPT,
            refused_handshake(status, fatal=False),
        )
        for status in (429, 500, 503)
    ),
    Fault(
        "connection refused",
        "a free port nobody listens on",
        (S.FAILED,),
        ("connection",),
        RETRIED + " until connect()'s timeout, then ConnectError naming 'refused'",
        QUEUED_FAIL,
        connection_refused,
    ),
    Fault(
        "DNS failure",
        "`ws://nonexistent.invalid/x` (RFC 6761: never resolves)",
        (S.FAILED,),
        ("connection",),
        RETRIED + " until connect()'s timeout, then ConnectError naming the lookup",
        QUEUED_FAIL,
        dns_failure,
    ),
    Fault(
        "TLS: self-signed certificate, verification on",
        "fault server with a self-signed certificate, default `sslopt`",
        (S.FAILED,),
        ("connection",),
        RETRIED + " until connect()'s timeout, then ConnectError naming TLS/certificate",
        QUEUED_FAIL,
        tls_unverified,
    ),
    Fault(
        "TLS: self-signed certificate with its CA bundle",
        '`sslopt={"ca_certs": cert}`',
        (S.CONNECTED,),
        (),
        "not needed: connects",
        "written over TLS",
        tls_with_ca_bundle,
    ),
    Fault(
        "handshake never answered",
        "fault server accepting TCP, never answering; `connect_timeout=0.3`",
        (S.FAILED,),
        ("connection",),
        RETRIED + " (each attempt times out), then ConnectError naming the timeout",
        QUEUED_FAIL,
        never_answered,
    ),
    Fault(
        "half-open: pings unanswered, nothing written",
        "emulator `answer_pings = False`; `Keepalive(0.1, 0.3)`",
        (S.CONNECTED, S.RECONNECTING, S.CONNECTED),
        ("connection",),
        "yes: keepalive declares it unresponsive and reconnects",
        QUEUED_KEPT,
        half_open_muted,
    ),
    Fault(
        "half-open: server stops reading and answering pings",
        "fault server that never reads after the handshake; `Keepalive(0.2, 0.5)`",
        (S.CONNECTED, S.RECONNECTING, S.CONNECTED),
        ("connection",),
        "yes: keepalive declares it unresponsive and reconnects",
        "in flight: at most once (see below)",
        half_open_stalled,
        settles=False,
    ),
    *(
        Fault(
            f"server closes {label}",
            how,
            (S.CONNECTED, S.RECONNECTING, S.CONNECTED),
            ("connection",),
            RETRIED + "; `stats.last_close_code` = " + label.split()[0],
            GONE,
            server_close(code),
        )
        for code, label, how in (
            (1000, "1000", "emulator `close_connection(id, 1000)`"),
            (1001, "1001", "emulator `close_connection(id, 1001)`"),
            (None, "1006 (no close frame)", "emulator `drop_all()` (TCP reset)"),
            (1009, "1009", "emulator `close_connection(id, 1009)`"),
            (1011, "1011", "emulator `close_connection(id, 1011)`"),
        )
    ),
    Fault(
        "invalid close frame",
        "fault server sends a close frame with a 1-byte payload",
        (S.CONNECTED, S.RECONNECTING, S.CONNECTED),
        ("connection",),
        RETRIED,
        GONE,
        invalid_close_frame,
    ),
    Fault(
        "management API deletes the connection",
        "HTTP `DELETE @connections/{id}` on the emulator's callback URL",
        (S.CONNECTED, S.RECONNECTING, S.CONNECTED),
        ("connection",),
        RETRIED,
        GONE,
        management_delete,
    ),
    Fault(
        "connection reset while a rotation replaces it",
        "emulator `drop_connection(id)` while the rotation's handshake waits in a `$connect` hook",
        (S.CONNECTED,),
        ("connection",),
        "no reconnect: the new connection takes over; the event says the old one ended "
        "without its closing handshake",
        "written to the old connection in its last moments: at most once (see below), and "
        "the event reports it; sent afterwards: written on the new connection",
        reset_while_replaced,
    ),
    *(
        Fault(
            f"inbound: {label}",
            f"fault server sends {how}, then a valid message",
            (S.CONNECTED,),
            kinds,
            READER_GOES_ON,
            "nothing lost: the next message is delivered" + extra,
            inbound_garbage(data, ignored=not kinds),
        )
        for label, how, data, kinds, extra in (
            ("invalid UTF-8", "a text frame of `ff fe`", text_frame(b"\xff\xfe{}"), ("parse",), ""),
            (
                "binary frame",
                "a binary frame",
                frame(OP_BINARY, b"\x00\x01"),
                (),
                "; counted in `stats.ignored_frames`",
            ),
            (
                "empty frame",
                "an empty text frame",
                text_frame(b""),
                (),
                "; counted in `stats.ignored_frames`",
            ),
            ("not JSON", "`hello {`", text_frame("hello {"), ("parse",), ""),
            (
                "JSON that is not an object",
                "`[1, 2, 3]`",
                text_frame("[1, 2, 3]"),
                ("parse", "unexpected"),
                "",
            ),
            (
                "object without a route",
                '`{"hello": "world"}`',
                text_frame('{"hello": "world"}'),
                ("unexpected",),
                "",
            ),
            (
                "huge number",
                "a 100,000-digit integer as the greeting",
                text_frame('{"route":"SendGreeting","payload":{"greeting":' + "9" * 100_000 + "}}"),
                ("parse", "decode"),
                "",
            ),
            (
                "deep nesting",
                "a payload nested 50,000 arrays deep",
                text_frame(
                    '{"route":"SendGreeting","payload":' + "[" * 50_000 + "]" * 50_000 + "}"
                ),
                ("parse", "decode"),
                "",
            ),
            (
                "wrong types",
                "a greeting that is a number",
                text_frame('{"route":"SendGreeting","payload":{"greeting":5}}'),
                ("decode",),
                "",
            ),
        )
    ),
    Fault(
        "inbound: gateway error frame",
        '`{"message": "Internal server error", ...}`',
        (S.CONNECTED,),
        ("gateway",),
        READER_GOES_ON,
        "nothing lost; the event keeps connection_id and request_id",
        gateway_error_frame,
    ),
    *(
        Fault(
            f"inbound size cap: {label}",
            f"fault server sends {how}; `max_inbound_message_size=64 KiB`",
            (S.CONNECTED, S.RECONNECTING, S.CONNECTED),
            ("too_large",),
            "yes: the client closes 1009 and reconnects",
            "the oversized message is dropped; the next connection's messages are delivered",
            inbound_too_large(script),
        )
        for label, how, script in (
            (
                "a bigger message",
                "one 100 KiB text frame",
                lambda: text_frame('"' + "x" * 100 * 1024 + '"'),
            ),
            (
                "a declared 2**40-byte frame",
                "a frame header claiming 2**40 bytes",
                lambda: frame(0x1, b"", declared_length=2**40),
            ),
            (
                "endless continuation frames",
                "continuation frames without FIN, without end",
                endless_continuation,
            ),
        )
    ),
    Fault(
        "server stops reading (backpressure)",
        "fault server with a 4 KiB receive buffer that never reads; 5 MiB sent",
        (S.CONNECTED,),
        (),
        "not a failure: the connection stays",
        "send() returns at once; what the socket cannot take stays queued; "
        "unwritten futures fail with ClientClosedError at close()",
        backpressure,
    ),
    Fault(
        "a listener raises",
        "a SendGreeting listener raising RuntimeError",
        (S.CONNECTED,),
        ("listener",),
        READER_GOES_ON,
        "nothing lost: other listeners and later messages still run",
        listener_raises,
    ),
    Fault(
        "a listener blocks",
        "a listener blocking 1.5 s; `Keepalive(0.2, 0.5)`",
        (S.CONNECTED,),
        (),
        "no: keepalive counts a busy reader as alive",
        "nothing lost: messages received meanwhile are delivered in order",
        listener_blocks,
    ),
    Fault(
        "the credential provider raises",
        "`IamAuth(credentials=callable_raising)`",
        (S.FAILED,),
        ("auth",),
        "no: counted like a 401, fatal after 3 in a row; connect() raises AuthError",
        QUEUED_FAIL,
        auth_raises(lambda fn: IamAuth(region="us-east-1", credentials=fn)),
    ),
    Fault(
        "the custom auth hook raises",
        "`CustomAuth(hook_raising)`",
        (S.FAILED,),
        ("auth",),
        "no: counted like a 401, fatal after 3 in a row; connect() raises AuthError",
        QUEUED_FAIL,
        auth_raises(CustomAuth),
    ),
    Fault(
        "close() during connect",
        "fault server never answering the handshake; close(timeout=1)",
        (S.CLOSED,),
        None,
        "no: the handshake socket is closed under it",
        "start()/connect() raise ClientClosedError",
        close_during_connect,
    ),
    Fault(
        "close() during backoff",
        "emulator `drop_all()` with a 30 s backoff; close(timeout=1)",
        (S.RECONNECTING, S.CLOSED),
        None,
        "no: the backoff is cancelled",
        "queued: fail with ClientClosedError",
        close_during_backoff,
    ),
    Fault(
        "close() during flush",
        "6 MiB queued to a server that stopped reading, flush() blocked; close(timeout=1)",
        (S.CLOSED,),
        None,
        "no",
        "flush() raises ClientClosedError; unwritten futures fail with it",
        close_during_flush,
    ),
    Fault(
        "close() from a listener",
        "a listener calling client.close()",
        (S.CLOSED,),
        None,
        "no",
        "close() returns at once there; the client then reaches CLOSED",
        close_from_listener,
    ),
    Fault(
        "disconnect() during a reconnect",
        "emulator `hang_next(100)` then `drop_all()`; disconnect()",
        (S.RECONNECTING, S.CLOSED),
        None,
        "no: the hung handshake is abandoned",
        "queued: fail with ClientClosedError",
        disconnect_during_reconnect,
    ),
    Fault(
        "os.fork() while connected",
        "os.fork(); the child sends",
        (S.CONNECTED,),
        (),
        "no: the child's copy is inert",
        "the child's send raises ClientClosedError naming fork; the parent works on",
        fork_while_connected,
    ),
    Fault(
        "interpreter exit with a client stuck",
        "a child process queues 6 MiB to a server that stopped reading, then exits",
        (),
        None,
        "no",
        "the process exits within ~3 s (exit gives the flush 2 s); unwritten messages die with it",
        exit_while_stuck,
        in_process=False,
    ),
]


# ------------------------------------------------------------------------ the test


def _is_subsequence(expected: tuple[ConnectionState, ...], seen: list[ConnectionState]) -> bool:
    it = iter(seen)
    return all(any(s is e for s in it) for e in expected)


@pytest.fixture
def harness(
    gateway: LocalGateway,
    faults: FaultServers,
    sample_spec: ApiSpec,
    request: pytest.FixtureRequest,
) -> Iterator[Harness]:
    h = Harness(gateway, faults, sample_spec, lambda: request.getfixturevalue("self_signed_cert"))
    try:
        yield h
    finally:
        for event in h.released:
            event.set()
        for client in h.clients:
            client.disconnect()


@pytest.mark.parametrize("row", MATRIX, ids=[row.name for row in MATRIX])
def test_fault(harness: Harness, row: Fault) -> None:
    row.run(harness)
    if not row.in_process:
        return
    client = harness.main
    seen = harness.state_log().snapshot()
    assert _is_subsequence(row.states, seen), f"states {seen}, expected {row.states} in order"
    if row.states and row.settles:
        assert client.state is row.states[-1], f"ended {client.state}, not {row.states[-1]}"
    kinds = harness.error_log().kinds()
    if row.kinds == ():
        assert kinds == [], f"unexpected error events: {harness.error_log().messages()}"
    elif row.kinds is not None:
        assert any(k in row.kinds for k in kinds), f"events {kinds}, expected one of {row.kinds}"
    for other in harness.clients:
        was_failed = other.state is S.FAILED
        began = time.monotonic()
        other.close(timeout=1)
        assert time.monotonic() - began < 1 + SLACK, "close() afterwards took too long"
        assert other.state is S.CLOSED or (was_failed and other.state is S.FAILED)
        for event in harness.released:
            event.set()
        assert threads_left(other, grace=1.5) == [], "threads alive after close()"
    for check in harness.after_close:
        check()


# ------------------------------------------------------------------------ the doc


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_matrix() -> str:
    """The matrix as the Markdown table docs/reliability.md publishes."""
    lines = [
        "| # | Fault | How it is made | States reported | Error event | Retried | "
        "Queued and in-flight messages |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, row in enumerate(MATRIX, 1):
        states = " → ".join(s.value for s in row.states) if row.states else "(another process)"
        if row.kinds is None:
            kinds = "(not checked)"
        elif not row.kinds:
            kinds = "none"
        else:
            kinds = " or ".join(f"`{k}`" for k in row.kinds)
        cells = [str(number), row.name, row.how, states, kinds, row.retry, row.messages]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _doc_table(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def test_reliability_doc_matches_the_matrix() -> None:
    assert DOC.exists(), "docs/reliability.md is missing"
    assert _doc_table(DOC.read_text(encoding="utf-8")) == render_matrix(), (
        "docs/reliability.md's fault table differs from MATRIX; regenerate it with "
        "`python -m tests.integration.test_fault_matrix`"
    )


def write_doc() -> None:
    """Replace the table between the markers in docs/reliability.md with the rendering."""
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + render_matrix() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    write_doc()
