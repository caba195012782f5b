"""A WSGI service that forwards each request to a WebSocket API, one client per process.

A client belongs to the process that created it: after ``os.fork()`` the child's copy of a
parent's client is inert (every use raises ``ClientClosedError``), because its threads and its
socket stayed in the parent. So each worker of a pre-forking server creates its own, after the
fork: gunicorn's ``post_fork`` hook calls :func:`client` (see ``gunicorn.conf.py``), and any
process that skipped the hook (another WSGI server, ``python app.py``) creates it lazily on
its first request.

Endpoints, all answering JSON:

- ``GET /hello?name=N``: sends ``SayHello`` through this worker's client and waits until it is
  written; answers ``{"pid": ..., "name": ...}``.
- ``GET /inherited``: whether the client gunicorn's master made before the fork is inert here.

Configuration: ``WSAPI_URL`` (the stage's WebSocket URL), ``WSAPI_SPEC`` (the model; default
the sample model that ships with wsapi-client).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from typing import Any, Callable, Optional
from urllib.parse import parse_qs

from wsapi_client import ClientClosedError, WebSocketClient

SEND_TIMEOUT = 5.0
"""Seconds a request waits for its message to be written before answering 504."""

_clients: dict[int, WebSocketClient] = {}  # pid -> the client that process created
_lock = threading.Lock()

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _spec() -> str:
    from wsapi_client.emulator import SAMPLE_API

    return os.environ.get("WSAPI_SPEC") or str(SAMPLE_API)


def client() -> WebSocketClient:
    """This process's client, created on first use in this process (never inherited)."""
    pid = os.getpid()
    with _lock:
        existing = _clients.get(pid)
        if existing is None:
            existing = WebSocketClient.connect(
                os.environ["WSAPI_URL"], spec=_spec(), name=f"pid{pid}", timeout=10.0
            )
            _clients[pid] = existing
        return existing


def close_client(timeout: float = 5.0) -> None:
    """Close this process's client, if it made one: flush, close 1000, join its threads."""
    with _lock:
        mine = _clients.pop(os.getpid(), None)
    if mine is not None:
        mine.close(timeout=timeout)


def inherited_client() -> Optional[WebSocketClient]:
    """The copy of the parent's client this process inherited at the fork, if any."""
    return _clients.get(os.getppid())


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI entry point."""
    path = environ.get("PATH_INFO", "/")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/hello":
        name = query.get("name", [f"worker {os.getpid()}"])[0]
        try:
            client().send("SayHello", {"name": name}).result(timeout=SEND_TIMEOUT)
        except TimeoutError:
            return _answer(start_response, "504 Gateway Timeout", {"error": "not written yet"})
        return _answer(start_response, "200 OK", {"pid": os.getpid(), "name": name})
    if path == "/inherited":
        return _answer(start_response, "200 OK", {"pid": os.getpid(), **_probe_inherited()})
    return _answer(start_response, "404 Not Found", {"error": f"no such path: {path}"})


def _probe_inherited() -> dict[str, Any]:
    copy = inherited_client()
    if copy is None:
        return {"inherited": False}
    try:
        copy.send("SayHello", {"name": "from a forked copy"})
    except ClientClosedError as exc:
        return {"inherited": True, "inert": True, "error": str(exc)}
    return {"inherited": True, "inert": False}


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


if __name__ == "__main__":  # one process, no fork: the client is created on the first request
    from wsgiref.simple_server import make_server

    with make_server("127.0.0.1", 8000, application) as server:
        print("serving on http://127.0.0.1:8000/hello")
        try:
            server.serve_forever()
        finally:
            close_client()
