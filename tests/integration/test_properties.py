"""Property tests over real sockets (hypothesis): the reader against arbitrary splits of an
inbound stream, the model loader against structurally mutated models, and a stateful model of
the client against the emulator under sends from several threads, drops, refusals and close.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from wsapi_client import (
    ClientClosedError,
    ConnectionState,
    ErrorEvent,
    Keepalive,
    ReconnectPolicy,
    SpecError,
    ValidationError,
    WebSocketClient,
)
from wsapi_client._validation import compile_validator
from wsapi_client.emulator import SAMPLE_API, LocalGateway
from wsapi_client.spec import ApiSpec, load_spec

ROOT = Path(__file__).resolve().parents[2]
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NO_RECONNECT = ReconnectPolicy(max_attempts=0)
KEEPALIVE = Keepalive(interval=30.0, timeout=5.0)
WAIT = 5.0  # seconds any single wait in these tests may take before it is a failure

# ---------------------------------------------------------------------------------------------
# (a) Arbitrary splits of an inbound byte stream
# ---------------------------------------------------------------------------------------------


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server frame (unmasked), with the shortest length encoding."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 65536:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def _read_client_frame(conn: socket.socket, buffer: bytearray) -> tuple[int, bytes]:
    """One masked client frame; raises ConnectionError at EOF."""

    def need(n: int) -> bytes:
        while len(buffer) < n:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("client closed the TCP connection")
            buffer.extend(chunk)
        data = bytes(buffer[:n])
        del buffer[:n]
        return data

    first, second = need(2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", need(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", need(8))
    mask = need(4) if second & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(need(size)))
    return first & 0x0F, payload


class RawServer:
    """A listening socket on loopback serving one scripted connection at a time: the handshake,
    then the script's chunks written one ``sendall`` each (TCP_NODELAY), then it answers the
    client's close frame. One server serves every example of a test."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT)
        self.port = self.listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/stage"

    def serve(self, chunks: list[bytes]) -> tuple[threading.Thread, list[BaseException]]:
        """Serve the next connection with ``chunks`` in a thread; failures are collected."""
        failures: list[BaseException] = []

        def run() -> None:
            try:
                conn, _ = self.listener.accept()
            except BaseException as exc:
                failures.append(exc)
                return
            with conn:
                try:
                    self._session(conn, chunks)
                except BaseException as exc:
                    failures.append(exc)

        thread = threading.Thread(target=run, name="props-raw-server", daemon=True)
        thread.start()
        return thread, failures

    @staticmethod
    def _session(conn: socket.socket, chunks: list[bytes]) -> None:
        conn.settimeout(WAIT)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b""
        while b"\r\n\r\n" not in request:
            data = conn.recv(4096)
            if not data:
                raise ConnectionError("client left during the handshake")
            request += data
        head, _, rest = request.partition(b"\r\n\r\n")
        assert not rest, "a client sends nothing before the handshake answer"
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        for chunk in chunks:
            conn.sendall(chunk)
        buffer = bytearray()
        while True:  # until the client's close frame (pongs are read and dropped)
            opcode, payload = _read_client_frame(conn, buffer)
            if opcode == 0x8:
                conn.sendall(_server_frame(0x8, payload[:2]))
                return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12)
payloads = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
routed = st.builds(
    lambda route, payload: (
        "routed",
        json.dumps({"route": route, "payload": payload}, ensure_ascii=False),
    ),
    st.sampled_from(["a", "Some_Route", "ünï"]),
    payloads,
)
junk = st.one_of(
    st.text(max_size=20).map(lambda t: "~" + t),  # not JSON
    st.lists(_scalars, max_size=3).map(json.dumps),  # JSON, not an object
    st.dictionaries(st.sampled_from(["x", "payload", "routes"]), _scalars, max_size=2).map(
        json.dumps
    ),  # an object without a route
    st.builds(lambda m: json.dumps({"message": m, "connectionId": "c"}), st.text(max_size=8)),
).map(lambda text: ("junk", text))
# Frames the client drops without a word (binary, empty text), counted in stats.ignored_frames.
ignored = st.one_of(
    st.binary(max_size=40).map(lambda b: ("binary", b.hex())),
    st.just(("ignored", "")),
)
messages = st.lists(st.one_of(routed, junk, ignored), max_size=8)


@st.composite
def framed(draw: st.DrawFn, kind: str, text: str) -> bytes:
    """A message as frames: whole, or fragmented into continuation frames, with pings in
    between (control frames may come inside a fragmented message)."""
    data = bytes.fromhex(text) if kind == "binary" else text.encode()
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=3))))
    cuts = [c for c in cuts if 0 < c < len(data)]
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    frames = []
    for index, part in enumerate(parts):
        opcode = (0x2 if kind == "binary" else 0x1) if index == 0 else 0x0
        frames.append(_server_frame(opcode, part, fin=index == len(parts) - 1))
        if index < len(parts) - 1 and draw(st.booleans()):
            frames.append(_server_frame(0x9, b"ping"))  # a control frame inside a message
    return b"".join(frames)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), script=messages)
def test_any_split_of_the_inbound_stream_loses_no_message(
    raw_server: RawServer, data: st.DataObject, script: list[tuple[str, str]]
) -> None:
    final = json.dumps({"route": "final", "payload": {"n": len(script)}})
    stream = b"".join(data.draw(framed(*item)) for item in [*script, ("routed", final)])
    cuts = data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=12).map(sorted))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)]) if b > a]
    server, failures = raw_server.serve(chunks)

    delivered: list[tuple[str, Any]] = []
    errors: list[ErrorEvent] = []
    done = threading.Event()

    def on_message(route: str, payload: Any) -> None:
        delivered.append((route, payload))
        if route == "final":
            done.set()

    client = WebSocketClient(raw_server.url, reconnect=NO_RECONNECT, keepalive=KEEPALIVE)
    client.on_any_message(on_message)
    client.on_error(errors.append)
    try:
        client.start(timeout=WAIT)
        assert done.wait(WAIT), f"the final message never came: {delivered}, {errors}"
        assert client.state is ConnectionState.CONNECTED
    finally:
        client.close(timeout=WAIT)
        server.join(WAIT)
    assert not server.is_alive()
    assert not failures, failures
    expected = [
        (message["route"], message["payload"])
        for message in (json.loads(text) for kind, text in script if kind == "routed")
    ]
    assert delivered == [*expected, ("final", {"n": len(script)})]
    assert [event.raw for event in errors] == [text for kind, text in script if kind == "junk"]
    dropped = sum(kind in ("binary", "ignored") for kind, _ in script)
    assert client.stats.ignored_frames == dropped


# ---------------------------------------------------------------------------------------------
# (b) Structurally mutated models only ever raise SpecError
# ---------------------------------------------------------------------------------------------
#
# tests/unit/test_spec_loader.py already feeds random documents and damages five fixed places of
# a minimal model. This goes further: the project's own models (the emulator's sample and the
# code generator's test models), with random nodes anywhere deleted, replaced or retyped, several
# at once; a model that still loads must then compile every request validator and check a
# payload with no error but SpecError or ValidationError.


def _project_models() -> list[dict[str, Any]]:
    import yaml

    models = [json.loads((ROOT / "wsapi_client" / "emulator" / "sample_api.json").read_text())]
    for path in sorted((ROOT / "tests" / "codegen" / "models").glob("*.yaml")):
        models.append(yaml.safe_load(path.read_text()))
    return models


MODELS = _project_models()


def _nodes(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a node below the root."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield (*path, key)
        yield from _nodes(child, (*path, key))


def _retyped(value: Any) -> Any:
    """The same content in another JSON type."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return {"$ref": value} if value.startswith("#") else [value]
    return {}


_replacements = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.sampled_from(["", "#/components/schemas/", "#/nope", "object", "string", "^(", "post"])
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(
            st.sampled_from(["type", "$ref", "properties", "items", "x-async", "direction", "a"]),
            inner,
            max_size=2,
        )
    ),
    max_leaves=5,
)


@st.composite
def mutated_models(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(MODELS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_nodes(document))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "retype", "rename"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(_replacements)
        elif action == "retype":
            parent[key] = _retyped(parent[key])
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["$ref", "type", "x-async", key.upper(), ""]))] = (
                parent.pop(key)
            )
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_models(), _replacements)
def test_structurally_mutated_models_only_raise_spec_error(
    document: dict[str, Any], payload: Any
) -> None:
    try:
        spec = load_spec(document, name="mutated.json")
    except SpecError:
        return
    assert isinstance(spec, ApiSpec)
    for op in spec.operations:
        if op.request_schema is None:
            continue
        try:
            validate = compile_validator(op.request_schema, spec.schemas)
        except SpecError:
            continue
        with contextlib.suppress(ValidationError, SpecError):
            validate(payload)


def test_a_non_string_format_is_a_spec_error() -> None:
    """Found by the property above (shrunk): a schema whose ``format`` is not a string loads,
    then compiling its validator (at the first send of that route) raises TypeError
    ("unhashable type: 'list'", wsapi_client/_validation.py, _string_check) instead of
    SpecError."""
    document = {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/Hello": {
                "post": {
                    "operationId": "Hello",
                    "x-async": {"direction": "client_to_server"},
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"type": "string", "format": ["date"]}}
                        }
                    },
                }
            }
        },
    }
    spec = load_spec(document)
    [op] = spec.operations
    assert op.request_schema is not None
    with pytest.raises(SpecError, match="format"):
        compile_validator(op.request_schema, spec.schemas)


def test_the_mutation_base_models_load() -> None:
    """The mutations start from valid models (else every example would be a SpecError)."""
    assert len(MODELS) >= 3
    for document in MODELS:
        assert load_spec(document).operations


# ---------------------------------------------------------------------------------------------
# (c) A stateful model of the client against the emulator
# ---------------------------------------------------------------------------------------------

SENDERS = 3
STATE_POLICY = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, jitter=False)
SLACK = 2.0  # seconds a bounded call may overrun its timeout on a loaded 2-core machine


class _Sent:
    """One message the client accepted (send returned a future)."""

    def __init__(
        self, sender: int, seq: int, future: Future[None], drops: int, reconnects: int
    ) -> None:
        self.sender = sender
        self.seq = seq
        self.future = future
        self.drops = drops  # drops before send() was called
        self.reconnects = reconnects  # the client's reconnect count when send() was called

    @property
    def name(self) -> str:
        return f"s{self.sender}-{self.seq}"


def _open_fds() -> Optional[set[int]]:
    """This process's open descriptors (None where /proc/self/fd does not exist)."""
    try:
        return {int(name) for name in os.listdir("/proc/self/fd")}
    except OSError:
        return None


def _outcome(future: Future[None]) -> str:
    """ "pending", "ok" or "failed", without blocking."""
    if not future.done():
        return "pending"
    return "ok" if future.exception(timeout=0) is None else "failed"


class ClientMachine(RuleBasedStateMachine):
    """Rules: sends from several threads, drops, a refused reconnect, flush, close.

    Invariants: each message is received at most once, in per-sender order; one whose future
    failed was never received; one whose future succeeded and that no drop could lose (sent
    once the client had reconnected after the last drop) was received; every future is done
    after close(); every bounded call returns within its timeout; no ``wsapi-`` thread and no
    file descriptor remains.
    """

    def __init__(self) -> None:
        super().__init__()
        self.threads_before = {t for t in threading.enumerate() if t.name.startswith("wsapi-")}
        self.fds_before = _open_fds()
        self.gateway = LocalGateway(SAMPLE_API).start()
        self.client = WebSocketClient.connect(
            self.gateway.url,
            spec=SAMPLE_API,
            timeout=WAIT,
            reconnect=STATE_POLICY,
            keepalive=KEEPALIVE,
        )
        self.sent: list[_Sent] = []
        self.refused = 0  # sends refused at the call with ClientClosedError
        self.seq = [0] * SENDERS
        self.drops = 0
        self.reconnects_at_drop = -1  # the client's reconnect count read after the last drop
        self.closed = False
        self.steps = 0  # close() waits for a few steps, so most examples close late
        self.lock = threading.Lock()

    def _bounded(self, label: str, timeout: float, fn: Any) -> Any:
        started = time.monotonic()
        try:
            return fn()
        finally:
            elapsed = time.monotonic() - started
            assert elapsed <= timeout + SLACK, f"{label} took {elapsed:.2f} s (timeout {timeout})"

    def _start_senders(
        self, count: int, senders: int
    ) -> tuple[list[threading.Thread], list[BaseException]]:
        """``senders`` threads at once, each sending ``count`` messages in order."""
        failures: list[BaseException] = []

        def run(sender: int) -> None:
            try:
                for _ in range(count):
                    reconnects = self.client.stats.reconnects
                    with self.lock:
                        seq = self.seq[sender]
                        self.seq[sender] += 1
                        drops = self.drops
                    try:
                        future = self.client.send("SayHello", {"name": f"s{sender}-{seq}"})
                    except ClientClosedError:
                        with self.lock:
                            self.refused += 1
                        continue
                    with self.lock:
                        self.sent.append(_Sent(sender, seq, future, drops, reconnects))
            except BaseException as exc:
                failures.append(exc)

        threads = [
            threading.Thread(target=run, args=(sender,), name=f"props-sender-{sender}")
            for sender in range(senders)
        ]
        for thread in threads:
            thread.start()
        return threads, failures

    @staticmethod
    def _join_senders(threads: list[threading.Thread], failures: list[BaseException]) -> None:
        for thread in threads:
            thread.join(WAIT)
        assert not any(thread.is_alive() for thread in threads), "a send() blocked"
        assert not failures, failures

    @rule(count=st.integers(1, 4), senders=st.integers(1, SENDERS))
    def send_from_threads(self, count: int, senders: int) -> None:
        refused = self.refused
        self._join_senders(*self._start_senders(count, senders))
        if self.closed:
            assert self.refused - refused == count * senders, "a send after close() was accepted"

    @precondition(lambda self: not self.closed)
    @rule()
    def drop(self) -> None:
        with self.lock:
            self.drops += 1
        self.gateway.drop_all()
        self.reconnects_at_drop = self.client.stats.reconnects

    @precondition(lambda self: not self.closed)
    @rule()
    def refuse_next_reconnect(self) -> None:
        self.gateway.refuse_next(1, 503)

    @precondition(lambda self: not self.closed)
    @rule()
    def flush(self) -> None:
        with contextlib.suppress(TimeoutError):  # the bound is what is checked here
            self._bounded("flush(2)", 2.0, lambda: self.client.flush(timeout=2.0))

    @precondition(lambda self: not self.closed)
    @rule()
    def wait_for_what_never_comes(self) -> None:
        """A wait for a message that never arrives ends at its timeout, drops or not."""
        expectation = self.client.expect("SendNotification")
        with pytest.raises(TimeoutError):
            self._bounded("result(0.05)", 0.05, lambda: expectation.result(timeout=0.05))

    @precondition(lambda self: not self.closed and self.steps >= 8)
    @rule(while_sending=st.booleans())
    def close(self, while_sending: bool) -> None:
        """close(), alone or while three threads are still sending."""
        senders = self._start_senders(10, SENDERS) if while_sending else ([], [])
        self._bounded("close(5)", 5.0, lambda: self.client.close(timeout=5.0))
        self.closed = True
        self._join_senders(*senders)
        pending = [s.name for s in self.sent if not s.future.done()]
        assert not pending, f"futures still pending after close(): {pending}"

    @invariant()
    def received_at_most_once_in_order(self) -> None:
        self.steps += 1
        self._check_received(final=False)

    def _check_received(self, *, final: bool) -> None:
        names = [m.payload["name"] for m in self.gateway.received if m.route == "SayHello"]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        assert not duplicates, f"received more than once: {duplicates}"
        for sender in range(SENDERS):
            seqs = [int(n.split("-")[1]) for n in names if n.startswith(f"s{sender}-")]
            assert seqs == sorted(seqs), f"sender {sender} received out of order: {seqs}"
        if not final:
            return
        received = set(names)
        with self.lock:
            sent = list(self.sent)
        for message in sent:
            outcome = _outcome(message.future)
            assert outcome != "pending", f"{message.name} still pending"
            if outcome == "failed":
                assert message.name not in received, f"{message.name} failed yet was received"
            elif self._safe(message):
                assert message.name in received, f"{message.name} succeeded, no drop, lost"

    def _must_arrive(self) -> set[str]:
        """Messages written (future succeeded) that no drop could lose."""
        with self.lock:
            sent = list(self.sent)
        return {m.name for m in sent if self._safe(m) and _outcome(m.future) == "ok"}

    def _safe(self, message: _Sent) -> bool:
        """No drop can have lost it: none came after its send(), and by then the client had
        reconnected since the last one. One sent earlier may be written to the dropped
        connection before the client sees the reset, succeed and be lost: the at-most-once
        window (bytes already handed to the kernel)."""
        if message.drops != self.drops:
            return False
        return self.drops == 0 or message.reconnects > self.reconnects_at_drop

    def _received(self) -> set[str]:
        return {r.payload["name"] for r in self.gateway.received if r.route == "SayHello"}

    def teardown(self) -> None:
        try:
            if not self.closed:
                # Everything accepted completes: written (then received unless a drop came
                # after it) or failed. Each future gets the time a reconnect needs.
                for message in list(self.sent):
                    with contextlib.suppress(Exception):
                        self._bounded("result(5)", WAIT, lambda m=message: m.future.result(WAIT))
                self._bounded("close(5)", 5.0, lambda: self.client.close(timeout=5.0))
            # What was written reaches the gateway's integration a moment later.
            with contextlib.suppress(TimeoutError, AssertionError):
                self.gateway.wait_until(lambda: self._must_arrive() <= self._received(), WAIT)
            self._check_received(final=True)
        finally:
            self.client.close(timeout=5.0)
            self.gateway.stop()
        deadline = time.monotonic() + WAIT
        for thread in threading.enumerate():
            if thread.name.startswith("wsapi-") and thread not in self.threads_before:
                thread.join(max(0.0, deadline - time.monotonic()))
        left = [
            t.name
            for t in threading.enumerate()
            if t.name.startswith("wsapi-") and t not in self.threads_before and t.is_alive()
        ]
        assert not left, f"threads left after close(): {left}"
        if self.fds_before is not None:
            fds = _open_fds()
            assert fds is not None
            assert fds <= self.fds_before, f"descriptors left open: {sorted(fds - self.fds_before)}"


TestClientMachine = ClientMachine.TestCase
TestClientMachine.settings = settings(
    max_examples=15,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
