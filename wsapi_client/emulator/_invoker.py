"""Running Lambda handlers: pooled threads, a deadline per invocation, one watchdog.

API Gateway gives an integration 29 seconds; past that the client gets ``Endpoint request timed
out`` while the function may run on.  Each invocation runs on a worker thread
(``wsapi-emulator-lambda-N``) so that the connection's thread can stop waiting for it at the
deadline, or not wait at all (concurrent mode, as the service invokes once per message, with no
ordering).  A single watchdog thread (``wsapi-emulator-timeouts``, started on first use) fires
the timeout callbacks.  :func:`current_invocation` tells log formatting which connection and
request a line belongs to.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from typing import Any, Callable, Optional

import attrs

__all__ = ["Invocation", "InvocationInfo", "Invoker", "current_invocation"]

_log = logging.getLogger("wsapi_client.emulator.lambda")
_local = threading.local()


@attrs.frozen
class InvocationInfo:
    """Which connection, request and function a handler thread is running for."""

    connection_id: str
    request_id: str
    function_name: str


def current_invocation() -> Optional[InvocationInfo]:
    """The invocation the calling thread runs, or None outside a handler."""
    info: Optional[InvocationInfo] = getattr(_local, "info", None)
    return info


Outcome = Callable[[Any, Optional[BaseException]], None]
"""Called once with ``(result, None)`` or ``(None, exception)`` when the handler ends in time."""


class Invocation:
    """One handler run: settles once, by finishing or by timing out, whichever comes first."""

    def __init__(self, info: InvocationInfo, on_done: Outcome, on_timeout: Callable[[], None]):
        self.info = info
        self._on_done = on_done
        self._on_timeout = on_timeout
        self._lock = threading.Lock()
        self._claimed = False
        self._settled = threading.Event()
        self.timed_out = False

    def _settle(self, how: Callable[[], None], *, timeout: bool) -> None:
        """The first of finish/expire wins; waiters wake once its callback has run."""
        with self._lock:
            if self._claimed:
                return
            self._claimed = True
            self.timed_out = timeout
        try:
            how()
        except Exception:
            _log.exception("(%s) settling the invocation failed", self.info.request_id)
        finally:
            self._settled.set()

    def finish(self, result: Any, error: Optional[BaseException]) -> None:
        """The handler returned or raised (ignored once the deadline settled it)."""
        self._settle(lambda: self._on_done(result, error), timeout=False)

    def expire(self) -> None:
        """The deadline passed first."""
        self._settle(self._on_timeout, timeout=True)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until settled; True when it was."""
        return self._settled.wait(timeout)


class Invoker:
    """Runs invocations on pooled threads, times them out, and joins the threads on stop.

    The pool grows when every worker is busy (a stuck handler keeps its worker, as a stuck
    Lambda keeps its instance) and its threads stay until :meth:`stop`: reusing them saves a
    thread start per message.  The watchdog is woken only when a new deadline is the earliest.
    """

    def __init__(self, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError(f"integration_timeout must be positive seconds, not {timeout!r}")
        self.timeout = float(timeout)
        self._cond = threading.Condition()
        """Guards the deadlines, the worker list and ``_stopping``; wakes the watchdog."""
        self._pool_lock = threading.Lock()
        """Guards ``_idle`` (never notified: finishing work wakes nobody)."""
        self._deadlines: list[tuple[float, int, Invocation]] = []
        self._order = itertools.count()
        self._tasks: queue.SimpleQueue[Optional[tuple[Invocation, Callable[[], Any]]]] = (
            queue.SimpleQueue()
        )
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._numbers = itertools.count(1)
        self._watchdog: Optional[threading.Thread] = None
        self._stopping = False

    def start(
        self,
        info: InvocationInfo,
        run: Callable[[], Any],
        *,
        on_done: Outcome,
        on_timeout: Callable[[], None],
    ) -> Invocation:
        """Run ``run()`` on a worker under the deadline; returns at once."""
        invocation = Invocation(info, on_done, on_timeout)
        entry = (time.monotonic() + self.timeout, next(self._order), invocation)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the gateway is stopping")
            if self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._watch, name="wsapi-emulator-timeouts", daemon=True
                )
                self._watchdog.start()
            heapq.heappush(self._deadlines, entry)
            if self._deadlines[0] is entry:
                self._cond.notify_all()
            with self._pool_lock:
                reuse = self._idle > 0
                if reuse:
                    self._idle -= 1
            worker = None
            if not reuse:
                worker = threading.Thread(
                    target=self._work,
                    name=f"wsapi-emulator-lambda-{next(self._numbers)}",
                    daemon=True,
                )
                self._workers.append(worker)
        self._tasks.put((invocation, run))
        if worker is not None:
            worker.start()
        return invocation

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            invocation, run = task
            _local.info = invocation.info
            try:
                result = run()
            except Exception as exc:
                invocation.finish(None, exc)
            else:
                invocation.finish(result, None)
            finally:
                _local.info = None
                with self._pool_lock:
                    self._idle += 1

    def _watch(self) -> None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                due: list[Invocation] = []
                while self._deadlines and (
                    self._deadlines[0][0] <= now or self._deadlines[0][2].wait(0)
                ):
                    invocation = heapq.heappop(self._deadlines)[2]
                    if not invocation.wait(0):
                        due.append(invocation)
                if due:
                    self._cond.release()
                    try:
                        for invocation in due:
                            invocation.expire()
                    finally:
                        self._cond.acquire()
                    continue
                wait = self._deadlines[0][0] - now if self._deadlines else None
                self._cond.wait(wait)

    def stop(self, grace: float) -> list[str]:
        """Stop the watchdog and the workers, waiting up to ``grace`` seconds for busy ones.

        Returns the names of handler threads still running (a handler that never returns).
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            watchdog = self._watchdog
            workers = list(self._workers)
        if watchdog is not None:
            watchdog.join()
        for _ in workers:
            self._tasks.put(None)
        deadline = time.monotonic() + grace
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        left = sorted(w.name for w in workers if w.is_alive())
        if left:
            _log.warning("handlers still running after the gateway stopped: %s", ", ".join(left))
        return left
