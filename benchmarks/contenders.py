"""The clients under test, each doing the same JSON work in its own idiomatic way.

A contender is a factory of :class:`Client` objects. The benchmarks only use this interface, so a
new contender (or a new way of sending, such as batching) is one class here:

- ``sender(route, payload)`` returns a zero-argument callable that sends one message the way a user
  of that library would write it (the benchmark loop calls it N times);
- ``batch_sender(route, payload, size)`` returns a callable sending ``size`` messages in one batch,
  or ``None`` when the library has no batching;
- ``listen(route, callback)`` delivers every decoded payload of ``route`` to ``callback`` on the
  client's reader thread (route dispatch included);
- ``roundtrip(route, payload, reply_route)`` returns a callable that sends one request and blocks
  for its reply;
- ``resilient(url, delay, hello)`` is a connection that reconnects after ``delay`` seconds, queues
  what is sent while it is down, and on every reconnect flushes that queue and then calls
  ``hello(connection)``: the SDK does this itself; for the raw libraries it is the code that a
  user would write.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SPEC = REPO / "wsapi_client" / "emulator" / "sample_api.json"

Send = Callable[[], Any]
Listener = Callable[[Any], None]


def _envelope(route: str, payload: Any) -> str:
    """The wire format, compact, keys in order: what hand-written code would send."""
    return json.dumps({"route": route, "payload": payload}, separators=(",", ":"))


class Client:
    """One connected client of a contender (see the module docstring)."""

    def sender(self, route: str, payload: Any) -> Send:
        raise NotImplementedError

    def batch_sender(self, route: str, payload: Any, size: int) -> Optional[Send]:
        return None

    def listen(self, route: str, callback: Listener) -> None:
        raise NotImplementedError

    def roundtrip(self, route: str, payload: Any, reply_route: str) -> Send:
        raise NotImplementedError

    def threaded_roundtrip(self, route: str, payload: Any, reply_route: str) -> Optional[Send]:
        """The reply read by a reader thread and handed over, as the SDK does (raw libraries only).

        Called after ``roundtrip`` has been measured: it starts the reader thread for good.
        """
        return None

    def close(self) -> None:
        raise NotImplementedError


def _handed_over(client: Client, route: str, payload: Any, reply_route: str) -> Send:
    """Send on the caller's thread; the reader thread dispatches the reply into a queue."""
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    client.listen(reply_route, replies.put)
    fire = client.sender(route, payload)

    def call() -> Any:
        fire()
        return replies.get(timeout=5)

    return call


class Resilient:
    """A reconnecting connection: ``send`` writes or queues; ``wait_down`` waits for a loss."""

    def send(self, route: str, payload: Any) -> None:
        raise NotImplementedError

    def wait_down(self, timeout: float) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Contender:
    key = ""
    label = ""
    note = ""

    def available(self) -> Optional[str]:
        """None when usable, else why not (the contender is then left out and the reason shown)."""
        return None

    def connect(self, url: str) -> Client:
        raise NotImplementedError

    def resilient(self, url: str, delay: float, hello: Callable[[Resilient], None]) -> Resilient:
        raise NotImplementedError


# ---------------------------------------------------------------- raw websocket-client


class _Dispatcher:
    """Route dispatch as hand-written code does it: a dict from route to callbacks."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Listener]] = {}

    def add(self, route: str, callback: Listener) -> None:
        self.routes.setdefault(route, []).append(callback)

    def dispatch(self, text: Any) -> None:
        message = json.loads(text)
        for callback in self.routes.get(message.get("route"), ()):
            callback(message.get("payload"))


class _BlockingSocketClient(Client):
    """What the two hand-written contenders share: a blocking ``send``/``recv`` socket object
    (websocket-client's or websockets' sync one) and an optional reader thread."""

    ws: Any
    reader: Optional[threading.Thread]

    def roundtrip(self, route: str, payload: Any, reply_route: str) -> Send:
        # Synchronous request/response on one thread: the simplest (and fastest) raw form.
        ws = self.ws

        def call() -> Any:
            ws.send(_envelope(route, payload))
            while True:
                message = json.loads(ws.recv())
                if message.get("route") == reply_route:
                    return message.get("payload")

        return call

    def threaded_roundtrip(self, route: str, payload: Any, reply_route: str) -> Optional[Send]:
        return _handed_over(self, route, payload, reply_route)

    def close(self) -> None:
        self.ws.close()
        if self.reader is not None:
            self.reader.join(5)


class RawClient(_BlockingSocketClient):
    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30)
        self.dispatcher = _Dispatcher()
        self.reader: Optional[threading.Thread] = None

    def sender(self, route: str, payload: Any) -> Send:
        ws_send = self.ws.send
        dumps = json.dumps

        def send() -> None:
            ws_send(dumps({"route": route, "payload": payload}, separators=(",", ":")))

        return send

    def listen(self, route: str, callback: Listener) -> None:
        self.dispatcher.add(route, callback)
        if self.reader is None:
            self.reader = threading.Thread(target=self._read, name="bench-raw-reader", daemon=True)
            self.reader.start()

    def _read(self) -> None:
        recv, dispatch = self.ws.recv, self.dispatcher.dispatch
        self.ws.settimeout(None)
        while True:
            try:
                text = recv()
            except Exception:
                return
            if not text:
                return
            dispatch(text)


class _HandRolled(Resilient):
    """Reconnect-and-queue code a user writes around a library that has none of it."""

    def __init__(
        self,
        open_ws: Callable[[], Any],
        write: Callable[[Any, str], None],
        read: Callable[[Any], Any],
        delay: float,
        hello: Callable[[Resilient], None],
    ) -> None:
        self._open, self._write, self._read_one = open_ws, write, read
        self._delay, self._hello = delay, hello
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()
        self._down = threading.Event()
        self._stopping = threading.Event()
        self._ws: Any = open_ws()
        self._thread = threading.Thread(target=self._run, name="bench-handrolled", daemon=True)
        self._thread.start()

    def send(self, route: str, payload: Any) -> None:
        text = _envelope(route, payload)
        with self._lock:
            if self._ws is not None and not self._queue:
                try:
                    self._write(self._ws, text)
                    return
                except Exception:
                    pass
            self._queue.append(text)

    def wait_down(self, timeout: float) -> bool:
        return self._down.wait(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._read_one(self._ws) in (None, ""):
                    raise ConnectionError("closed")
                continue
            except Exception:
                if self._stopping.is_set():
                    return
            with self._lock:
                self._ws = None
            self._down.set()
            while not self._stopping.wait(self._delay):
                try:
                    ws = self._open()
                except Exception:
                    continue
                with self._lock:
                    while self._queue:
                        self._write(ws, self._queue[0])
                        self._queue.popleft()
                    self._ws = ws
                self._down.clear()
                self._hello(self)
                break

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            ws.close()
        self._thread.join(5)


class RawWebsocketClient(Contender):
    key = "raw"
    label = "raw websocket-client"
    note = "json.dumps + ws.send; recv + json.loads + route dict; reader thread to receive"

    def connect(self, url: str) -> Client:
        return RawClient(url)

    def resilient(self, url: str, delay: float, hello: Callable[[Resilient], None]) -> Resilient:
        import websocket

        def open_ws() -> Any:
            ws = websocket.create_connection(url, timeout=5)
            ws.settimeout(None)
            return ws

        return _HandRolled(
            open_ws, lambda ws, text: ws.send(text), lambda ws: ws.recv(), delay, hello
        )


# ---------------------------------------------------------------- websockets (sync client)


class WebsocketsClient(_BlockingSocketClient):
    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, open_timeout=30, max_size=2**24)
        self.dispatcher = _Dispatcher()
        self.reader: Optional[threading.Thread] = None

    def sender(self, route: str, payload: Any) -> Send:
        ws_send = self.ws.send
        dumps = json.dumps

        def send() -> None:
            ws_send(dumps({"route": route, "payload": payload}, separators=(",", ":")))

        return send

    def listen(self, route: str, callback: Listener) -> None:
        self.dispatcher.add(route, callback)
        if self.reader is None:
            self.reader = threading.Thread(
                target=self._read, name="bench-websockets-reader", daemon=True
            )
            self.reader.start()

    def _read(self) -> None:
        dispatch = self.dispatcher.dispatch
        try:
            for text in self.ws:
                dispatch(text)
        except Exception:
            pass


class Websockets(Contender):
    key = "websockets"
    label = "websockets sync"
    note = "websockets.sync.client.connect; same JSON work as raw"

    def available(self) -> Optional[str]:
        try:
            import websockets.sync.client  # noqa: F401
        except ImportError as exc:
            return f"websockets not installed ({exc})"
        return None

    def connect(self, url: str) -> Client:
        return WebsocketsClient(url)

    def resilient(self, url: str, delay: float, hello: Callable[[Resilient], None]) -> Resilient:
        from websockets.sync.client import connect

        return _HandRolled(
            lambda: connect(url, open_timeout=5),
            lambda ws, text: ws.send(text),
            lambda ws: ws.recv(),
            delay,
            hello,
        )


# ---------------------------------------------------------------- this SDK


class SdkClient(Client):
    def __init__(self, client: Any) -> None:
        self.client = client

    def sender(self, route: str, payload: Any) -> Send:
        send = self.client.send
        return lambda: send(route, payload)

    def batch_sender(self, route: str, payload: Any, size: int) -> Optional[Send]:
        send_many = getattr(self.client, "send_many", None)
        if send_many is None:
            return None
        messages = [(route, payload)] * size
        return lambda: send_many(messages)

    def listen(self, route: str, callback: Listener) -> None:
        self.client.on(route, callback)

    def roundtrip(self, route: str, payload: Any, reply_route: str) -> Send:
        client = self.client

        def call() -> Any:
            with client.expect(reply_route) as reply:
                client.send(route, payload)
            return reply.result(5)

        return call

    def close(self) -> None:
        self.client.close()


class _SdkResilient(Resilient):
    def __init__(self, client: Any) -> None:
        from wsapi_client import ConnectionState

        self.client = client
        self._down = threading.Event()

        def on_state(state: Any) -> None:
            if state == ConnectionState.RECONNECTING:
                self._down.set()
            elif state == ConnectionState.CONNECTED:
                self._down.clear()

        client.on_state_change(on_state)

    def send(self, route: str, payload: Any) -> None:
        self.client.send(route, payload)

    def wait_down(self, timeout: float) -> bool:
        return self._down.wait(timeout)

    def close(self) -> None:
        self.client.close()


class Sdk(Contender):
    key = "sdk"
    label = "wsapi-client (dynamic)"
    note = "WebSocketClient with the sample spec: validation, listeners, futures"

    def available(self) -> Optional[str]:
        try:
            from wsapi_client import WebSocketClient  # noqa: F401
        except Exception as exc:
            return f"wsapi_client runtime not importable ({exc})"
        return None

    def _client(self, url: str, **options: Any) -> Any:
        from wsapi_client import WebSocketClient

        return WebSocketClient.connect(url, spec=str(SAMPLE_SPEC), timeout=10, **options)

    def connect(self, url: str) -> Client:
        return SdkClient(self._client(url))

    def resilient(self, url: str, delay: float, hello: Callable[[Resilient], None]) -> Resilient:
        from wsapi_client import ReconnectPolicy, WebSocketClient

        policy = ReconnectPolicy(initial_delay=delay, max_delay=delay, multiplier=1.0, jitter=False)
        client = WebSocketClient(url, spec=str(SAMPLE_SPEC), reconnect=policy)
        wrapped = _SdkResilient(client)
        client.start(timeout=10)
        client.with_reconnect(lambda: hello(wrapped))
        return wrapped


# ---------------------------------------------------------------- a generated client

GENERATED_PACKAGE = "wsapi_bench_sample_client"
GENERATED_ENV = "WSAPI_BENCH_GENERATED"
"""Folder holding the generated package; set by the harness so the footprint children find it."""

_TYPED = {
    # route -> (send method, request model); inbound route -> (on_ method, expect_ method)
    "SayHello": ("say_hello", "SayHelloRequestContent"),
    "SendGreeting": ("on_send_greeting", "expect_send_greeting"),
    "SendNotification": ("on_send_notification", "expect_send_notification"),
}


def generate_client(folder: Path) -> None:
    """Run ``wsapi-client generate`` on the sample spec into ``folder``; raise with its output."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wsapi_client",
            "generate",
            str(SAMPLE_SPEC),
            "-o",
            str(folder),
            "--package",
            GENERATED_PACKAGE,
            "--force",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        },
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"wsapi-client generate failed: {(done.stderr or done.stdout).strip()[-400:]}"
        )


class GeneratedClient(SdkClient):
    """The typed surface: models in, models out, one method per operation."""

    def __init__(self, client: Any, models: Any) -> None:
        super().__init__(client)
        self.models = models

    def _request(self, route: str, payload: Any) -> tuple[Callable[[Any], Any], Any]:
        method, model = _TYPED[route]
        return getattr(self.client, method), getattr(self.models, model)(**payload)

    def sender(self, route: str, payload: Any) -> Send:
        method, model = self._request(route, payload)
        return lambda: method(model)

    def batch_sender(self, route: str, payload: Any, size: int) -> Optional[Send]:
        batch = getattr(self.client, "batch", None)
        if batch is None:
            return None
        method, model = self._request(route, payload)

        def send() -> None:
            with batch():
                for _ in range(size):
                    method(model)

        return send

    def listen(self, route: str, callback: Listener) -> None:
        getattr(self.client, _TYPED[route][0])(callback)

    def roundtrip(self, route: str, payload: Any, reply_route: str) -> Send:
        method, model = self._request(route, payload)
        expect = getattr(self.client, _TYPED[reply_route][1])

        def call() -> Any:
            with expect() as reply:
                method(model)
            return reply.result(5)

        return call


class Generated(Sdk):
    key = "generated"
    label = "wsapi-client (generated)"
    note = "`wsapi-client generate` of the sample spec: attrs models, typed methods"

    def __init__(self) -> None:
        self._loaded: Optional[tuple[Any, Any]] = None
        self._problem: Optional[str] = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            folder = os.environ.get(GENERATED_ENV)
            if folder is None:
                folder = tempfile.mkdtemp(prefix="wsapi-bench-gen-")
                atexit.register(shutil.rmtree, folder, True)
                generate_client(Path(folder))
                os.environ[GENERATED_ENV] = folder
            if folder not in sys.path:
                sys.path.insert(0, folder)
            package = importlib.import_module(GENERATED_PACKAGE)
            models = importlib.import_module(f"{GENERATED_PACKAGE}.models")
            classes = [
                v
                for k, v in vars(package).items()
                if k.endswith("WebSocketClient") and isinstance(v, type)
            ]
            if not classes:
                raise RuntimeError(f"{GENERATED_PACKAGE} exports no *WebSocketClient class")
            self._loaded = (classes[0], models)
        return self._loaded

    def available(self) -> Optional[str]:
        why = super().available()
        if why is not None:
            return why
        if self._problem is None:
            try:
                self._load()
            except Exception as exc:  # any failure leaves it out, with the reason
                self._problem = f"generated client unavailable ({type(exc).__name__}: {exc})"
                return self._problem
            return None
        return self._problem

    def connect(self, url: str) -> Client:
        cls, models = self._load()
        return GeneratedClient(cls.connect(url, timeout=10), models)

    def resilient(self, url: str, delay: float, hello: Callable[[Resilient], None]) -> Resilient:
        from wsapi_client import ReconnectPolicy

        cls, _models = self._load()
        policy = ReconnectPolicy(initial_delay=delay, max_delay=delay, multiplier=1.0, jitter=False)
        client = cls(url, reconnect=policy)
        wrapped = _SdkResilient(client)
        client.start(timeout=10)
        client.with_reconnect(lambda: hello(wrapped))
        return wrapped


CONTENDERS: list[Contender] = [RawWebsocketClient(), Websockets(), Sdk(), Generated()]


def by_key() -> dict[str, Contender]:
    return {c.key: c for c in CONTENDERS}
