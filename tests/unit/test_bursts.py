"""BurstGate: which sends are held back for a combined write, with explicit times."""

from __future__ import annotations

from wsapi_client._bursts import BURST_GAP, HOLD_AGE, HOLD_BYTES, HOLD_MESSAGES, BurstGate

T = 1000.0  # an arbitrary start on the performance counter
EPS = 1e-9  # past a limit (a limit itself is not representable exactly at T's magnitude)


def test_the_first_send_ever_is_never_held() -> None:
    assert not BurstGate().may_hold(T, 0, 0, 10)


def test_a_send_right_after_another_starts_a_burst() -> None:
    gate = BurstGate()
    gate.sent(T)
    assert gate.may_hold(T + BURST_GAP / 2, 0, 0, 10)


def test_an_isolated_send_is_written_at_once() -> None:
    gate = BurstGate()
    gate.sent(T)
    assert not gate.may_hold(T + BURST_GAP + EPS, 0, 0, 10)
    assert not gate.may_hold(T + 1.0, 0, 0, 10)


def burst_holding(held_at: float, last: float) -> BurstGate:
    gate = BurstGate()
    gate.started(held_at)
    gate.sent(last)
    return gate


def test_a_burst_grows_within_its_limits() -> None:
    gate = burst_holding(T, T + 1e-6)
    assert gate.may_hold(T + 2e-6, HOLD_MESSAGES - 1, HOLD_BYTES - 10, 10)


def test_a_burst_is_let_go_at_its_message_limit() -> None:
    gate = burst_holding(T, T + 1e-6)
    assert not gate.may_hold(T + 2e-6, HOLD_MESSAGES, 100, 10)


def test_a_burst_is_let_go_at_its_byte_limit() -> None:
    gate = burst_holding(T, T + 1e-6)
    assert not gate.may_hold(T + 2e-6, 1, HOLD_BYTES - 9, 10)


def test_a_burst_is_let_go_at_its_age_limit() -> None:
    """Sends keep coming within the gap, but the first held one has waited long enough."""
    gate = burst_holding(T, T + HOLD_AGE - 1e-6)
    assert gate.may_hold(T + HOLD_AGE - 2e-6, 3, 300, 10)
    assert not gate.may_hold(T + HOLD_AGE + EPS, 3, 300, 10)


def test_a_gap_ends_the_burst_whatever_it_holds() -> None:
    gate = burst_holding(T, T)
    assert not gate.may_hold(T + BURST_GAP + EPS, 1, 10, 10)
