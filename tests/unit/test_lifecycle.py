"""The lifecycle state machine, exhaustively and without sockets, threads or clocks: every
(phase, event) pair is either a row of the table, with the documented effects, or raises
IllegalTransition naming the phase."""

from __future__ import annotations

import itertools
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsapi_client import ClientClosedError, ConnectError, ConnectionState, WsApiError
from wsapi_client._lifecycle import TRANSITIONS, Event, IllegalTransition, Lifecycle, Phase, Step

DO: dict[Event, Callable[[Lifecycle], Step]] = {
    Event.START: lambda lc: lc.start(),
    Event.CONNECTED: lambda lc: lc.connected(),
    Event.ROTATED: lambda lc: lc.rotated(),
    Event.LOST: lambda lc: lc.lost(1001, "Going away"),
    Event.STOP: lambda lc: lc.stop("close"),
    Event.GIVE_UP: lambda lc: lc.give_up("refused 3 times", ConnectError("refused")),
    Event.FINISHED: lambda lc: lc.finished(),
}

# A shortest way to reach each phase from NEW.
PATHS: dict[Phase, list[Event]] = {
    Phase.NEW: [],
    Phase.CONNECTING: [Event.START],
    Phase.CONNECTED: [Event.START, Event.CONNECTED],
    Phase.RECONNECTING: [Event.START, Event.CONNECTED, Event.LOST],
    Phase.CLOSING: [Event.START, Event.STOP],
    Phase.CLOSED: [Event.START, Event.STOP, Event.FINISHED],
    Phase.FAILED: [Event.START, Event.GIVE_UP],
}


def reach(phase: Phase) -> Lifecycle:
    lifecycle = Lifecycle()
    for event in PATHS[phase]:
        DO[event](lifecycle)
    assert lifecycle.phase is phase
    return lifecycle


@pytest.mark.parametrize(("phase", "event"), list(itertools.product(Phase, Event)))
def test_every_pair_is_a_row_or_illegal(phase: Phase, event: Event) -> None:
    lifecycle = reach(phase)
    expected = TRANSITIONS.get((phase, event))
    if expected is None:
        if event is Event.START:  # start() says what is wrong in user terms
            error = ClientClosedError if lifecycle.stopping else WsApiError
            with pytest.raises(error):
                DO[event](lifecycle)
        else:
            with pytest.raises(IllegalTransition, match=phase.value):
                DO[event](lifecycle)
        assert lifecycle.phase is phase  # an illegal event changes nothing
        return
    step = DO[event](lifecycle)
    assert step.phase is expected is lifecycle.phase
    changed = expected.public is not phase.public
    assert (step.announce is expected.public) if changed else step.announce is None


def test_every_phase_is_reachable_and_the_final_ones_stay_final() -> None:
    assert set(PATHS) == set(Phase)
    for (phase, _event), target in TRANSITIONS.items():
        if phase.final:
            assert target is phase


def test_new_shows_as_connecting_and_sends_are_accepted_until_a_stop() -> None:
    lifecycle = Lifecycle()
    assert lifecycle.state is ConnectionState.CONNECTING
    assert lifecycle.accepting
    assert not lifecycle.stopping
    assert not lifecycle.started
    lifecycle.start()
    assert lifecycle.started
    assert lifecycle.accepting
    lifecycle.stop("close")
    assert not lifecycle.accepting
    assert lifecycle.stopping


def test_start_twice_or_after_a_stop_names_the_problem() -> None:
    lifecycle = reach(Phase.CONNECTED)
    with pytest.raises(WsApiError, match="already started"):
        lifecycle.start()
    stopped = Lifecycle()
    stopped.stop("close")
    with pytest.raises(ClientClosedError, match="closed"):
        stopped.start()


def test_a_stop_before_start_closes_at_once_with_nothing_to_wind_down() -> None:
    lifecycle = Lifecycle()
    step = lifecycle.stop("disconnect")
    assert step.phase is Phase.CLOSED
    assert step.announce is ConnectionState.CLOSED
    assert not step.stop_supervisor
    assert not step.first_settled  # nobody waits in start()


def test_the_first_outcome_is_settled_once_by_whichever_comes_first() -> None:
    connected = reach(Phase.CONNECTING)
    assert connected.connected().first_settled
    assert connected.first_done
    assert connected.first_error is None
    connected.lost(1006, "")
    assert not connected.connected().first_settled

    failed = reach(Phase.CONNECTING)
    error = ConnectError("refused")
    step = failed.give_up("refused", error)
    assert step.first_settled
    assert step.stop_supervisor
    assert failed.first_error is error

    stopped = reach(Phase.CONNECTING)
    step = stopped.stop("close")
    assert step.first_settled
    assert step.stop_supervisor
    assert isinstance(stopped.first_error, ClientClosedError)  # start() raises it


def test_closing_keeps_the_mode_and_a_disconnect_hurries_a_close() -> None:
    lifecycle = reach(Phase.CONNECTED)
    lifecycle.stop("close")
    assert lifecycle.stop_mode == "close"
    assert lifecycle.closed_reason == "the client was closed"
    step = lifecycle.stop("disconnect")
    assert lifecycle.stop_mode == "disconnect"
    assert step.announce is None  # still CLOSING
    assert lifecycle.closed_reason == "the client was closed"  # the first reason stands


def test_the_closed_error_carries_the_last_close() -> None:
    lifecycle = reach(Phase.CONNECTED)
    lifecycle.lost(1008, "Policy violation")
    lifecycle.give_up("refused with HTTP 403 3 times", ConnectError("x"))
    error = lifecycle.closed_error()
    assert isinstance(error, ClientClosedError)
    assert (error.code, error.reason) == (1008, "Policy violation")
    assert "gave up" in str(error)


def test_the_public_state_sequence_of_a_life() -> None:
    lifecycle = Lifecycle()
    announced = []
    for event in [
        Event.START,
        Event.CONNECTED,
        Event.ROTATED,
        Event.LOST,
        Event.CONNECTED,
        Event.STOP,
        Event.CONNECTED,  # a flush while closing
        Event.FINISHED,
    ]:
        step = DO[event](lifecycle)
        if step.announce is not None:
            announced.append(step.announce.value)
    assert announced == ["CONNECTED", "RECONNECTING", "CONNECTED", "CLOSING", "CLOSED"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(Event)), max_size=20))
def test_any_sequence_of_events_keeps_the_invariants(events: list[Event]) -> None:
    lifecycle = Lifecycle()
    was_final = False
    for event in events:
        before = lifecycle.phase
        try:
            DO[event](lifecycle)
        except (IllegalTransition, WsApiError):
            assert lifecycle.phase is before
        if was_final:
            assert lifecycle.phase.final
        was_final = lifecycle.phase.final
        assert lifecycle.accepting == (lifecycle.stop_mode is None and not lifecycle.phase.final)
        if lifecycle.phase.final and lifecycle.started:
            assert lifecycle.first_done
