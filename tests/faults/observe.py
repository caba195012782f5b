"""Watching a client from the outside: its state changes, error events, threads, and calls
run on a thread of their own so a test can see whether (and how) they end.

Everything here uses the public API only (``on_state_change``, ``on_error``, ``name``, the
thread names DESIGN section 3 promises: ``wsapi-<client name>-...``).
"""

from __future__ import annotations

import glob
import os
import subprocess
import threading
import time
from typing import Any, Callable, Optional

from wsapi_client import ConnectionState, ErrorEvent, WebSocketClient
from wsapi_client.emulator import LocalGateway

__all__ = ["Background", "ErrorLog", "StateLog", "client_threads", "end_process", "threads_left"]


class Background:
    """Run ``fn()`` on a daemon thread named ``test-<label>``; keep its result or exception."""

    def __init__(self, fn: Callable[[], Any], label: str = "call") -> None:
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.ended_at: Optional[float] = None
        self._fn = fn
        self._thread = threading.Thread(target=self._run, name=f"test-{label}", daemon=True)
        self.started_at = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._fn()
        except BaseException as exc:  # kept for the test to look at
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s; True if the call has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def elapsed(self) -> Optional[float]:
        return None if self.ended_at is None else self.ended_at - self.started_at


class StateLog:
    """Every state a client reports through ``on_state_change``, in order, waitable."""

    def __init__(self, client: WebSocketClient) -> None:
        self.states: list[ConnectionState] = []
        self.times: list[float] = []
        self._cond = threading.Condition()
        self.unlisten = client.on_state_change(self._record)

    def _record(self, state: ConnectionState) -> None:
        with self._cond:
            self.states.append(state)
            self.times.append(time.monotonic())
            self._cond.notify_all()

    def wait_for(self, state: ConnectionState, timeout: float = 5.0, count: int = 1) -> bool:
        """Wait until ``state`` has been reported ``count`` times."""
        with self._cond:
            return self._cond.wait_for(lambda: self.states.count(state) >= count, timeout)

    def snapshot(self) -> list[ConnectionState]:
        with self._cond:
            return list(self.states)


class ErrorLog:
    """Every error event a client reports through ``on_error``, in order, waitable."""

    def __init__(self, client: WebSocketClient) -> None:
        self.events: list[ErrorEvent] = []
        self._cond = threading.Condition()
        self.unlisten = client.on_error(self._record)

    def _record(self, event: ErrorEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, kind: str, timeout: float = 5.0, count: int = 1) -> bool:
        """Wait until ``count`` events of ``kind`` have been reported."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count(kind) >= count, timeout)

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)

    def kinds(self) -> list[str]:
        with self._cond:
            return [e.kind for e in self.events]

    def messages(self) -> list[str]:
        with self._cond:
            return [e.message for e in self.events]


def client_threads(client: WebSocketClient) -> list[threading.Thread]:
    """The SDK threads of ``client`` still alive (named ``wsapi-<name>-...``)."""
    prefix = f"wsapi-{client.name}-"
    return [t for t in threading.enumerate() if t.is_alive() and t.name.startswith(prefix)]


def threads_left(client: WebSocketClient, grace: float = 1.0) -> list[str]:
    """Names of ``client``'s threads still alive after joining them for up to ``grace`` s."""
    deadline = time.monotonic() + grace
    for thread in client_threads(client):
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in client_threads(client)]


def end_process(proc: subprocess.Popen[str]) -> None:
    """Kill a child process a test started if it still runs, reap it, and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def signal_masks(pid: int) -> str:
    """Each thread of process ``pid`` with its signal masks (Linux ``/proc``; else empty):
    what a failure message needs when a signal sent to a child seems to have done nothing."""
    lines = []
    for task in sorted(glob.glob(f"/proc/{pid}/task/*")):
        try:
            with open(f"{task}/comm") as comm, open(f"{task}/status") as status:
                name = comm.read().strip()
                masks = [line.split()[0] + line.split()[1] for line in status if line[:3] == "Sig"]
        except OSError:  # the thread ended meanwhile
            continue
        lines.append(f"{os.path.basename(task)} {name}: {' '.join(masks)}")
    return "\n".join(lines)


def hold_second_handshake(gateway: LocalGateway) -> tuple[threading.Event, threading.Event]:
    """Make the gateway's second handshake (a rotation's) wait in its ``$connect`` hook.

    Returns ``(in_handshake, release)``: the first is set once the handshake waits, setting the
    second lets it go on (it goes on by itself after 5 s)."""
    in_handshake, release = threading.Event(), threading.Event()
    handshakes = iter(range(1, 1000))

    def hold(_request: Any) -> None:
        if next(handshakes) == 2:
            in_handshake.set()
            release.wait(5)

    gateway.on_connect(hold)
    return in_handshake, release
