"""The Python fallback of the benchmark server (``node/server.js`` is preferred: see servers.py).

Same paths, same control protocol, same stdout handshake, built on websockets' asyncio server.
It is slower than the Node server, so figures measured against it are marked as such.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from http import HTTPStatus
from typing import Any, Callable, Optional

import websockets
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

PAYLOAD_MARK = ',"payload":'
_tasks: set[asyncio.Future[Any]] = set()


def spawn(awaitable: Any) -> None:
    """Run in the background, keeping a reference until done (asyncio holds only weak ones)."""
    task = asyncio.ensure_future(awaitable)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


Reply = Callable[[dict[str, Any]], None]


class Session:
    def __init__(self) -> None:
        self.conns: list[ServerConnection] = []
        self.count = 0
        self.bytes = 0
        self.echo = False
        self.echo_route = "SendGreeting"
        self.echo_rename: Optional[dict[str, str]] = None
        self.fragment = 0
        self.greet = False
        self.refuse = False
        self.count_waiters: list[tuple[int, Reply]] = []
        self.accept_waiters: list[Reply] = []
        self.t_first: Optional[float] = None
        self.t_last: Optional[float] = None
        self.accepted = 0


sessions: dict[str, Session] = {}


def session(name: str) -> Session:
    return sessions.setdefault(name, Session())


def small_message(route: str, i: int) -> str:
    return f'{{"route":"{route}","payload":{{"topic":"bench","title":"t","message":"m{i}"}}}}'


def large_message(route: str, size: int, i: int) -> str:
    head = f'{{"route":"{route}","payload":{{"greeting":"g{i}","name":"'
    tail = '"}}'
    return head + "x" * max(0, size - len(head) - len(tail)) + tail


async def send(ws: ServerConnection, text: str, fragment: int) -> None:
    if not fragment or len(text) <= fragment:
        await ws.send(text)
        return
    # The benchmark's messages are ASCII, so characters and bytes line up.
    await ws.send(text[i : i + fragment] for i in range(0, len(text), fragment))


def echo_text(text: str, route: str, rename: Optional[dict[str, str]]) -> str:
    if rename:
        payload = json.loads(text).get("payload") or {}
        renamed = {rename.get(key, key): value for key, value in payload.items()}
        return json.dumps({"route": route, "payload": renamed}, separators=(",", ":"))
    at = text.find(PAYLOAD_MARK)
    return f'{{"route":"{route}"}}' if at < 0 else f'{{"route":"{route}"{text[at:]}'


async def bench(ws: ServerConnection, s: Session) -> None:
    t = time.monotonic()
    s.conns.append(ws)
    s.accepted += 1
    waiters, s.accept_waiters = s.accept_waiters, []
    for reply in waiters:
        reply({"t_accept": t, "accepted": s.accepted})
    if s.greet:
        await ws.send(small_message("SendNotification", -s.accepted))
    try:
        async for message in ws:
            now = time.monotonic()
            s.count += 1
            s.bytes += len(message)
            if s.t_first is None:
                s.t_first = now
            s.t_last = now
            if s.count_waiters:
                keep = []
                for n, reply in s.count_waiters:
                    if s.count >= n:
                        reply(
                            {
                                "count": s.count,
                                "bytes": s.bytes,
                                "t_reached": now,
                                "t_first": s.t_first,
                            }
                        )
                    else:
                        keep.append((n, reply))
                s.count_waiters = keep
            if s.echo and isinstance(message, str):
                await send(ws, echo_text(message, s.echo_route, s.echo_rename), s.fragment)
    except websockets.ConnectionClosed:
        pass
    finally:
        if ws in s.conns:
            s.conns.remove(ws)


async def blast(ws: ServerConnection, req: dict[str, Any], reply: Reply) -> None:
    n, route = req["n"], req.get("route", "SendNotification")
    size, fragment = req.get("size", 0), req.get("fragment", 0)
    t_start = time.monotonic()
    for i in range(n):
        text = large_message(route, size, i) if size else small_message(route, i)
        try:
            await send(ws, text, fragment)
        except websockets.ConnectionClosed:
            reply({"error": "connection closed during blast", "sent": i})
            return
    reply({"sent": n, "t_start": t_start, "t_done": time.monotonic()})


def handle(req: dict[str, Any], reply: Reply) -> None:
    op = req.get("op")
    s = session(req["session"]) if "session" in req else None
    if op == "config" and s:
        for key, attr in (
            ("echo", "echo"),
            ("echo_route", "echo_route"),
            ("echo_rename", "echo_rename"),
            ("fragment", "fragment"),
            ("greet", "greet"),
        ):
            if key in req:
                setattr(s, attr, req[key])
        reply({})
    elif op == "reset" and s:
        s.count, s.bytes, s.t_first, s.t_last = 0, 0, None, None
        reply({})
    elif op == "count" and s:
        reply(
            {
                "count": s.count,
                "bytes": s.bytes,
                "t_first": s.t_first,
                "t_last": s.t_last,
                "conns": len(s.conns),
            }
        )
    elif op == "wait_count" and s:
        if s.count >= req["n"]:
            reply({"count": s.count, "bytes": s.bytes, "t_reached": s.t_last, "t_first": s.t_first})
        else:
            s.count_waiters.append((req["n"], reply))
    elif op == "wait_accept" and s:
        s.accept_waiters.append(reply)
    elif op == "blast" and s:
        if not s.conns:
            reply({"error": f"no connection for session {req['session']}"})
        else:
            spawn(blast(s.conns[-1], req, reply))
    elif op == "drop" and s:
        t = time.monotonic()
        dropped = len(s.conns)
        for ws in list(s.conns):
            ws.transport.abort()
        reply({"t_drop": t, "dropped": dropped})
    elif op == "outage" and s:
        s.refuse = bool(req.get("on"))
        reply({"t": time.monotonic()})
    elif op == "conns":
        reply({"total": sum(len(x.conns) for x in sessions.values())})
    elif op == "forget" and s:
        for ws in list(s.conns):
            ws.transport.abort()
        sessions.pop(req["session"], None)
        reply({})
    elif op == "now":
        reply({"t": time.monotonic()})
    else:
        reply({"error": f"unknown op {op!r}"})


def _replier(ws: ServerConnection, req_id: Any) -> Reply:
    def reply(body: dict[str, Any]) -> None:
        spawn(ws.send(json.dumps({"id": req_id, **body})))

    return reply


async def control(ws: ServerConnection) -> None:
    async for text in ws:
        req = json.loads(text)
        handle(req, _replier(ws, req.get("id")))


def route_request(ws: ServerConnection, request: Request) -> Optional[Response]:
    path = request.path.split("?")[0]
    if path == "/control":
        return None
    if not path.startswith("/bench/"):
        return ws.respond(HTTPStatus.NOT_FOUND, "")
    if session(path[len("/bench/") :]).refuse:
        return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, "")
    return None


async def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    path = ws.request.path.split("?")[0]
    if path == "/control":
        await control(ws)
    else:
        await bench(ws, session(path[len("/bench/") :]))


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_stdin() -> None:
        while await reader.read(4096):
            pass
        if not stop.done():
            stop.set_result(None)

    async with serve(
        handler,
        "127.0.0.1",
        0,
        process_request=route_request,
        compression=None,
        max_size=64 * 2**20,
        ping_interval=None,
        max_queue=None,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        info = {
            "ready": True,
            "port": port,
            "server": f"python websockets {websockets.__version__}",
        }
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        watcher = asyncio.ensure_future(watch_stdin())
        await stop
        watcher.cancel()


if __name__ == "__main__":
    asyncio.run(main())
