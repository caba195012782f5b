"""Running Lambda handlers: one thread per invocation, a deadline per invocation, one watchdog.

API Gateway gives an integration 29 seconds; past that the client gets ``Endpoint request timed
out`` while the function may run on.  Each invocation runs on its own thread
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
    """Starts invocations, times them out, and joins their threads when the gateway stops."""

    def __init__(self, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError(f"integration_timeout must be positive seconds, not {timeout!r}")
        self.timeout = float(timeout)
        self._cond = threading.Condition()
        self._deadlines: list[tuple[float, int, Invocation]] = []
        self._order = itertools.count()
        self._threads: set[threading.Thread] = set()
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
        """Run ``run()`` on a new thread under the deadline; returns at once."""
        invocation = Invocation(info, on_done, on_timeout)
        thread = threading.Thread(
            target=self._run,
            args=(invocation, run),
            name=f"wsapi-emulator-lambda-{next(self._numbers)}",
            daemon=True,
        )
        with self._cond:
            if self._stopping:
                raise RuntimeError("the gateway is stopping")
            if self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._watch, name="wsapi-emulator-timeouts", daemon=True
                )
                self._watchdog.start()
            heapq.heappush(
                self._deadlines,
                (time.monotonic() + self.timeout, next(self._order), invocation),
            )
            self._threads.add(thread)
            self._cond.notify_all()
        thread.start()
        return invocation

    def _run(self, invocation: Invocation, run: Callable[[], Any]) -> None:
        _local.info = invocation.info
        try:
            try:
                result = run()
            except Exception as exc:
                invocation.finish(None, exc)
            else:
                invocation.finish(result, None)
        finally:
            _local.info = None
            with self._cond:
                self._threads.discard(threading.current_thread())
                self._cond.notify_all()

    def _watch(self) -> None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                due: list[Invocation] = []
                while self._deadlines and self._deadlines[0][0] <= now:
                    due.append(heapq.heappop(self._deadlines)[2])
                if due:
                    self._cond.release()
                    try:
                        for invocation in due:
                            invocation.expire()
                    finally:
                        self._cond.acquire()
                    continue
                # Settled invocations leave their entries; drop them so the heap stays small.
                self._deadlines = [d for d in self._deadlines if not d[2].wait(0)]
                heapq.heapify(self._deadlines)
                wait = self._deadlines[0][0] - now if self._deadlines else None
                self._cond.wait(wait)

    def stop(self, grace: float) -> list[str]:
        """Stop the watchdog and join handler threads for up to ``grace`` seconds.

        Returns the names of handler threads still running (a handler that never returns).
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            watchdog = self._watchdog
        if watchdog is not None:
            watchdog.join()
        deadline = time.monotonic() + grace
        with self._cond:
            while self._threads and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            left = sorted(t.name for t in self._threads)
        if left:
            _log.warning("handlers still running after the gateway stopped: %s", ", ".join(left))
        return left
