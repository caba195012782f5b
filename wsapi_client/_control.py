"""The lifecycle under one condition, and the operations that move it: start, stop, join, wait.

Shared by the facade (:mod:`wsapi_client._client`), the supervisor and the readers. ``cond``
guards the lifecycle, ``wind_down``, ``deadline``, the opener in progress, the reader table and
every connection's ``ended`` flag; the supervisor sleeps on it and everyone who has news for it
(a stop, a reader ending, a parked write, a queued message with a ttl, a burst to finish)
notifies it. Lock order: ``cond`` is never taken while holding the writer's lock (the writer
calls ``wake`` after releasing it); user callbacks never run under ``cond``.

Threads: :meth:`Control.start` and :meth:`Control.stop` run on the caller's thread (``stop`` also
from a listener, where it only starts the stop); the others on any thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Callable, Optional

from wsapi_client._connection import Connection, Opener
from wsapi_client._dispatcher import Dispatcher
from wsapi_client._errors import ClientClosedError, ConnectError, WaitTimeout
from wsapi_client._lifecycle import Lifecycle, Phase, Step, StopMode
from wsapi_client._signal_waits import join_in_slices, signal_slice, wait_in_slices
from wsapi_client._writer import Writer

__all__ = ["Control"]


class Control:
    """The lifecycle under its condition, and what every step of it must cause."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        writer: Writer,
        logger: logging.Logger,
        name: str,
        clock: Callable[[], float],
    ) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.lifecycle = Lifecycle()
        self.dispatcher = dispatcher
        self.writer = writer
        self.log = logger
        self.name = name
        self.clock = clock
        self.thread: Optional[threading.Thread] = None  # the supervisor
        self.wind_down = False  # the supervisor must stop now (after a close's flush)
        self.deadline: Optional[float] = None  # of the stop in progress (clock seconds)
        self.opener: Optional[Opener] = None
        self.readers: dict[int, tuple[threading.Thread, Connection]] = {}
        self.sdk_threads: set[int] = set()
        self.resubscribed = False  # with_reconnect callbacks ran for the current connection
        self.last_close: tuple[Optional[int], Optional[str]] = (None, None)
        self.reconnects = 0

    def apply(self, step: Step) -> None:
        """Do what a lifecycle step asks, outside ``cond``: tell state listeners, wake the
        thread waiting in ``start()``, end every wait once the client is closed or failed."""
        if step.first_settled:
            with self.cond:
                self.cond.notify_all()
        if step.announce is not None:
            self.log.debug("%s: state %s", self.name, step.announce.value)
            self.dispatcher.emit_state(step.announce)
        if step.phase.final:
            error = self.lifecycle.closed_error()
            self.writer.stop_accepting(error)
            self.dispatcher.close_waiters(error)

    def move(self, event: Callable[[Lifecycle], Step]) -> Step:
        """Run one lifecycle event under ``cond`` and apply its step."""
        with self.cond:
            step = event(self.lifecycle)
            self.cond.notify_all()
        self.apply(step)
        return step

    def wake(self) -> None:
        """Tell the supervisor something changed (any thread; takes ``cond`` briefly)."""
        with self.cond:
            self.cond.notify_all()

    def request_wind_down(self, deadline: float) -> None:
        """Make the supervisor stop now, interrupting a handshake in progress."""
        with self.cond:
            self.wind_down = True
            if self.deadline is None or deadline < self.deadline:
                self.deadline = deadline
            opener = self.opener
            self.cond.notify_all()
        if opener is not None:
            opener.interrupt()

    def on_sdk_thread(self) -> bool:
        return threading.get_ident() in self.sdk_threads

    # -- operations (the facade's start, close, disconnect, wait_until_connected) -----------

    def start(
        self, run: Callable[[Optional[float]], None], timeout: Optional[float], display_url: str
    ) -> None:
        """Start the supervisor (``run``) and wait for the first connection's outcome; an
        interrupt (Ctrl-C) or any exception while waiting stops everything before it goes on."""
        self.move(lambda lc: lc.start())
        deadline = None if timeout is None else self.clock() + timeout
        thread = threading.Thread(
            target=run, args=(deadline,), name=f"wsapi-{self.name}-supervisor", daemon=True
        )
        self.thread = thread
        try:
            thread.start()
            with self.cond:
                # A second past the supervisor's own deadline (it settles the outcome first);
                # in slices, so that a Ctrl-C is seen (``_signal_waits``).
                wait_in_slices(
                    lambda seconds: self.cond.wait_for(lambda: self.lifecycle.first_done, seconds),
                    None if timeout is None else timeout + 1.0,
                )
                done, error = self.lifecycle.first_done, self.lifecycle.first_error
        except BaseException:  # KeyboardInterrupt or anything else: leave nothing running
            with contextlib.suppress(Exception):
                self.stop("disconnect", 2.0)
            raise
        if not done:
            self.stop("disconnect", 2.0)
            raise ConnectError(
                f"could not connect to {display_url} within {timeout:g} s", url=display_url
            )
        if error is not None:
            self.join(self.clock() + 5.0)
            raise error

    def stop(self, mode: StopMode, timeout: Optional[float]) -> None:
        """``close()`` (flush first) or ``disconnect()``; returns within ``timeout``."""
        writer = self.writer
        seconds = 10.0 if timeout is None else max(0.0, timeout)
        deadline = self.clock() + seconds
        margin = min(0.5, seconds / 4)
        on_sdk_thread = self.on_sdk_thread()
        writer.write_pending()  # what a burst held back was sent while connected: it goes out
        with self.cond:
            lifecycle = self.lifecycle
            started = lifecycle.started
            first = lifecycle.stop_mode is None and not lifecycle.phase.final
            step = lifecycle.stop(mode)
            error = lifecycle.closed_error()
        if first:
            self.log.debug("%s: %s requested", self.name, mode)
        writer.stop_accepting(error)
        self.apply(step)
        self._finish_unsupervised()
        if not started:
            writer.fail_all(error)
            return
        if mode == "close" and first and not on_sdk_thread and step.phase is Phase.CLOSING:
            # The supervisor goes on reconnecting meanwhile, so an outage does not lose what
            # was queued, as long as the connection returns within the timeout.
            with contextlib.suppress(WaitTimeout, ClientClosedError):
                writer.flush(max(0.0, deadline - margin - self.clock()), self.final_error)
        self.request_wind_down(deadline - margin / 2)
        if not on_sdk_thread:
            self.join(deadline)

    def _finish_unsupervised(self) -> None:
        """End the lifecycle here when no supervisor runs to end it.

        A ``start()`` interrupted (Ctrl-C) after the lifecycle moved but before its thread ran
        leaves nobody to take CLOSING to CLOSED. A supervisor thread that starts after all finds
        the phase final and ends at once (its first look at ``cond`` checks it).
        """
        with self.cond:
            thread = self.thread
            if self.lifecycle.phase.final or (thread is not None and thread.is_alive()):
                return
            step = self.lifecycle.finished()
        self.apply(step)

    def join(self, deadline: float) -> None:
        """Wait for the supervisor (it closes or aborts every connection before it ends), then
        briefly for the readers: one still in a user's listener ends when the listener returns."""
        me = threading.current_thread()
        thread = self.thread
        if thread is not None and thread is not me:
            join_in_slices(thread, deadline - self.clock())
        with self.cond:
            readers = list(self.readers.values())
        for reader, conn in readers:
            if reader is not me:
                grace = self.clock() + 0.1 if conn.busy else deadline
                join_in_slices(reader, min(deadline, grace) - self.clock())

    def wait_connected(self, timeout: Optional[float]) -> None:
        """Block until CONNECTED; :class:`WaitTimeout`, or the closed error once stopping."""
        deadline = None if timeout is None else self.clock() + timeout
        with self.cond:
            while self.lifecycle.phase is not Phase.CONNECTED:
                lifecycle = self.lifecycle
                if lifecycle.phase.final or lifecycle.stop_mode is not None:
                    raise lifecycle.closed_error()
                remaining = None if deadline is None else deadline - self.clock()
                if remaining is not None and remaining <= 0:
                    raise WaitTimeout(f"not connected after {timeout:g} s ({lifecycle.state})")
                self.cond.wait(signal_slice(remaining))

    def final_error(self) -> Optional[ClientClosedError]:
        """The closed error once the client is CLOSED or FAILED, else None."""
        lifecycle = self.lifecycle
        return lifecycle.closed_error() if lifecycle.phase.final else None
