"""The client's lifecycle as a pure state machine: a table of transitions, no threads, no clock.

Like h11's ``_state.py``, every event is a method that moves the machine along one row of
:data:`TRANSITIONS` and returns what the caller must do about it (a :class:`Step`); an event the
table has no row for raises :class:`IllegalTransition` naming the phase, because it means a bug in
the caller, never a user error. The machine owns everything that decides the lifecycle, in one
place: the phase (and so the public :class:`ConnectionState`), how the client is being stopped,
whether sends are accepted, the outcome of the first connection and why the client closed.

It is not thread-safe by itself: the client keeps one instance under its state condition
(``WebSocketClient._cond``) and takes that lock around every call.
"""

from __future__ import annotations

import enum
from typing import Literal, Optional

import attrs

from wsapi_client._errors import ClientClosedError, WsApiError
from wsapi_client._events import ConnectionState

__all__ = ["TRANSITIONS", "Event", "IllegalTransition", "Lifecycle", "Phase", "Step", "StopMode"]

StopMode = Literal["close", "disconnect"]


class Phase(enum.Enum):
    """Where the client is; ``NEW`` is not started yet (shown as CONNECTING)."""

    NEW = "NEW"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"
    FAILED = "FAILED"

    @property
    def public(self) -> ConnectionState:
        """The :class:`ConnectionState` users see for this phase."""
        return ConnectionState.CONNECTING if self is Phase.NEW else ConnectionState(self.value)

    @property
    def final(self) -> bool:
        """CLOSED or FAILED: nothing runs any more and nothing will be sent."""
        return self in (Phase.CLOSED, Phase.FAILED)


class Event(enum.Enum):
    """What happened to the client."""

    START = "start"  # start() called: the supervisor is about to run
    CONNECTED = "connected"  # a connection is up (first, reconnect or, while closing, a flush)
    ROTATED = "rotated"  # a new connection replaced a live one before its age limit
    LOST = "lost"  # the active connection ended; the supervisor will reconnect
    STOP = "stop"  # close() or disconnect() called
    GIVE_UP = "give_up"  # the reconnect policy gave up, or the first connection timed out
    FINISHED = "finished"  # the supervisor has stopped everything it ran


_P = Phase
_E = Event

TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    (_P.NEW, _E.START): _P.CONNECTING,
    (_P.NEW, _E.STOP): _P.CLOSED,
    (_P.CONNECTING, _E.CONNECTED): _P.CONNECTED,
    (_P.CONNECTING, _E.GIVE_UP): _P.FAILED,
    (_P.CONNECTING, _E.STOP): _P.CLOSING,
    (_P.CONNECTED, _E.ROTATED): _P.CONNECTED,
    (_P.CONNECTED, _E.LOST): _P.RECONNECTING,
    (_P.CONNECTED, _E.GIVE_UP): _P.FAILED,
    (_P.CONNECTED, _E.STOP): _P.CLOSING,
    (_P.RECONNECTING, _E.CONNECTED): _P.CONNECTED,
    (_P.RECONNECTING, _E.GIVE_UP): _P.FAILED,
    (_P.RECONNECTING, _E.STOP): _P.CLOSING,
    # While closing, the supervisor goes on (re)connecting so that the queue can be flushed.
    (_P.CLOSING, _E.CONNECTED): _P.CLOSING,
    (_P.CLOSING, _E.ROTATED): _P.CLOSING,
    (_P.CLOSING, _E.LOST): _P.CLOSING,
    (_P.CLOSING, _E.STOP): _P.CLOSING,
    (_P.CLOSING, _E.GIVE_UP): _P.FAILED,
    (_P.CLOSING, _E.FINISHED): _P.CLOSED,
    # A supervisor that was never started has nothing to finish; stopping again is a no-op.
    (_P.CLOSED, _E.STOP): _P.CLOSED,
    (_P.CLOSED, _E.FINISHED): _P.CLOSED,
    (_P.FAILED, _E.STOP): _P.FAILED,
    (_P.FAILED, _E.FINISHED): _P.FAILED,
    (_P.FAILED, _E.LOST): _P.FAILED,
}
"""Every legal ``(phase, event) -> phase``; anything else is an :class:`IllegalTransition`."""


class IllegalTransition(WsApiError, RuntimeError):
    """An event that cannot happen in the current phase: a bug in the SDK, not a user error."""

    def __init__(self, phase: Phase, event: Event) -> None:
        self.phase = phase
        self.event = event
        super().__init__(f"illegal lifecycle event {event.value!r} in phase {phase.value}")


@attrs.frozen
class Step:
    """The result of one event: what the caller must do now.

    ``announce`` is the new public state to tell state listeners about (None: unchanged);
    ``first_settled`` is true when the event decided the outcome of the first connection (the
    thread blocked in ``start()`` must be woken); ``stop_supervisor`` is true when the supervisor
    must wind down now.
    """

    phase: Phase
    announce: Optional[ConnectionState] = None
    first_settled: bool = False
    stop_supervisor: bool = False


class Lifecycle:
    """The lifecycle of one client; see the module docstring."""

    def __init__(self) -> None:
        self.phase = Phase.NEW
        self.stop_mode: Optional[StopMode] = None
        self.first_done = False
        self.first_error: Optional[BaseException] = None
        self.closed_reason = "the client is closed"
        self.close_code: Optional[int] = None  # of the close that made the client stop
        self.close_reason: Optional[str] = None
        self.started = False  # start() was called (the supervisor runs, or ran)

    def __repr__(self) -> str:
        return f"<Lifecycle {self.phase.value} stop_mode={self.stop_mode}>"

    # -- queries ---------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self.phase.public

    @property
    def accepting(self) -> bool:
        """Whether ``send`` may queue messages: until a stop is asked for or the client fails."""
        return self.stop_mode is None and not self.phase.final

    @property
    def stopping(self) -> bool:
        """A stop was asked for, or the client failed: the supervisor must wind down."""
        return self.stop_mode is not None or self.phase.final

    def closed_error(self) -> ClientClosedError:
        """The error for an operation refused or ended because the client stopped."""
        return ClientClosedError(self.closed_reason, code=self.close_code, reason=self.close_reason)

    # -- events ------------------------------------------------------------------------------

    def _move(self, event: Event) -> tuple[Phase, Optional[ConnectionState]]:
        old = self.phase
        new = TRANSITIONS.get((old, event))
        if new is None:
            raise IllegalTransition(old, event)
        self.phase = new
        announce = new.public if new.public is not old.public else None
        return new, announce

    def start(self) -> Step:
        """``start()`` was called. Raises :class:`ClientClosedError` after a stop, and
        :class:`WsApiError` when the client was started already."""
        if self.phase is not Phase.NEW:
            if self.stopping:
                raise self.closed_error()
            raise WsApiError("the client was already started")
        phase, announce = self._move(Event.START)
        self.started = True
        return Step(phase, announce)

    def connected(self) -> Step:
        """A connection is up and is now the active one."""
        phase, announce = self._move(Event.CONNECTED)
        first = not self.first_done
        self.first_done = True
        return Step(phase, announce, first_settled=first)

    def rotated(self) -> Step:
        """A new connection took over from a live one (make-before-break)."""
        phase, announce = self._move(Event.ROTATED)
        return Step(phase, announce)

    def lost(self, code: Optional[int], reason: Optional[str]) -> Step:
        """The active connection ended (``code``/``reason`` of its close, 1006 for a drop)."""
        phase, announce = self._move(Event.LOST)
        self.close_code, self.close_reason = code, reason
        return Step(phase, announce)

    def stop(self, mode: StopMode) -> Step:
        """``close()`` or ``disconnect()``. The first call decides the mode; a disconnect after a
        close turns the rest of the close into a disconnect (no more flushing)."""
        before = self.phase
        phase, announce = self._move(Event.STOP)
        if self.stop_mode is None or (mode == "disconnect" and not phase.final):
            if self.stop_mode is None:
                self.closed_reason = (
                    "the client was closed" if mode == "close" else "the client was disconnected"
                )
            self.stop_mode = mode
        first = not self.first_done and before is not Phase.NEW and not before.final
        if first:
            self.first_done = True
            self.first_error = self.closed_error()
        return Step(phase, announce, first_settled=first, stop_supervisor=not phase.final)

    def give_up(self, reason: str, error: BaseException) -> Step:
        """The reconnect policy gave up (``reason``), or the first connection failed with
        ``error`` (raised from ``start()``)."""
        phase, announce = self._move(Event.GIVE_UP)
        self.closed_reason = f"the client gave up connecting: {reason}"
        first = not self.first_done
        if first:
            self.first_done = True
            self.first_error = error
        return Step(phase, announce, first_settled=first, stop_supervisor=True)

    def finished(self) -> Step:
        """The supervisor has closed every connection and is about to end."""
        phase, announce = self._move(Event.FINISHED)
        first = not self.first_done
        if first:  # stopped before any outcome (cannot normally happen: stop() settles it)
            self.first_done = True
            self.first_error = self.closed_error()
        return Step(phase, announce, first_settled=first)
