"""Start the benchmark server as a subprocess and talk to its control channel.

The Node ``ws`` server (``node/server.js``) is preferred: it counts and sends several times faster
than a Python server could on the same two cores, so it is never the bottleneck. When ``node`` or
its ``node_modules`` are missing, ``npm ci`` is tried once; if that fails the Python server
(``pyserver.py``, the same control protocol) is used instead and the reason is reported.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import websocket

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"


class ServerError(RuntimeError):
    """The benchmark server could not be started or answered a control request with an error."""


def _node_ready(log: list[str]) -> Optional[str]:
    """Return the node executable when the Node server can run, installing ``ws`` if needed."""
    node = shutil.which("node")
    if node is None:
        log.append("node not found on PATH")
        return None
    if (NODE_DIR / "node_modules" / "ws" / "package.json").exists():
        return node
    npm = shutil.which("npm")
    if npm is None:
        log.append("node_modules absent and npm not found")
        return None
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.append(f"npm ci failed: {exc}")
        return None
    if done.returncode != 0:
        log.append(f"npm ci failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        return None
    return node


class BenchServer:
    """A running benchmark server: its port, what it is, and a stop() that ends the process."""

    def __init__(self, kind: str = "auto") -> None:
        self.notes: list[str] = []
        command: Optional[list[str]] = None
        if kind in ("auto", "node"):
            node = _node_ready(self.notes)
            if node is not None:
                command = [node, str(NODE_DIR / "server.js")]
            elif kind == "node":
                raise ServerError("Node server requested but unavailable: " + "; ".join(self.notes))
            else:
                self.notes.append(
                    "falling back to the Python server (slower; figures not comparable)"
                )
        if command is None:
            command = [sys.executable, str(HERE / "pyserver.py")]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            ready = json.loads(line)
        except json.JSONDecodeError:
            self.stop()
            raise ServerError(f"benchmark server did not start ({command[0]}): {line!r}") from None
        self.port: int = ready["port"]
        self.description: str = ready["server"]
        self.url = f"ws://127.0.0.1:{self.port}"

    def session_url(self, session: str) -> str:
        return f"{self.url}/bench/{session}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Control:
    """The control channel: requests with ids, answers collected by a reader thread.

    ``start()`` sends a request and returns its id at once; ``result(id)`` waits for its answer,
    so a long wait (``wait_count``) can be outstanding while the harness drives a contender.
    """

    def __init__(self, server: BenchServer) -> None:
        self._ws = websocket.create_connection(f"{server.url}/control", timeout=10)
        self._ids = itertools.count(1)
        self._answers: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="bench-control", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        self._ws.settimeout(None)
        while True:
            try:
                text = self._ws.recv()
            except Exception:
                break
            if not text:
                break
            answer = json.loads(text)
            with self._cond:
                self._answers[answer.get("id", 0)] = answer
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def start(self, op: str, **fields: Any) -> int:
        request_id = next(self._ids)
        self._ws.send(json.dumps({"id": request_id, "op": op, **fields}))
        return request_id

    def result(self, request_id: int, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self._answers:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    why = "closed" if self._closed else f"no answer in {timeout:g}s"
                    raise ServerError(f"control request {request_id}: {why}")
                self._cond.wait(left)
            answer = self._answers.pop(request_id)
        if "error" in answer:
            raise ServerError(f"control request {request_id}: {answer['error']}")
        return answer

    def call(self, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        return self.result(self.start(op, **fields), timeout)

    def close(self) -> None:
        self._ws.close()
        self._reader.join(5)


def clock_shared() -> bool:
    """True where the server's clock (CLOCK_MONOTONIC) is Python's ``time.monotonic``."""
    return sys.platform.startswith("linux") or os.environ.get("WSAPI_BENCH_SHARED_CLOCK") == "1"
