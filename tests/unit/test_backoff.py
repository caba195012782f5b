"""The reconnect schedule, checked exactly with a fixed random source and explicit times."""

from __future__ import annotations

import pytest

from wsapi_client._backoff import GiveUp, ReconnectSchedule, Retry, is_fatal_status
from wsapi_client._policies import ReconnectPolicy


def delays(schedule: ReconnectSchedule, n: int) -> list[float]:
    out = []
    for _ in range(n):
        decision = schedule.failed(None)
        assert isinstance(decision, Retry)
        out.append(round(decision.delay, 9))
    return out


def test_exponential_without_jitter_is_capped() -> None:
    policy = ReconnectPolicy(initial_delay=0.1, multiplier=2.0, max_delay=1.0, jitter=False)
    assert delays(ReconnectSchedule(policy), 7) == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_full_jitter_scales_the_ceiling_by_the_random_draw() -> None:
    draws = iter([0.5, 0.25, 1.0, 0.0, 0.75])
    policy = ReconnectPolicy(initial_delay=0.2, multiplier=3.0, max_delay=2.0, jitter=True)
    schedule = ReconnectSchedule(policy, random=lambda: next(draws))
    assert delays(schedule, 5) == [0.1, 0.15, 1.8, 0.0, 1.5]


def test_attempt_numbers_count_up_and_max_attempts_gives_up() -> None:
    policy = ReconnectPolicy(initial_delay=0.1, jitter=False, max_attempts=3)
    schedule = ReconnectSchedule(policy)
    assert [schedule.failed(503) for _ in range(3)] == [
        Retry(0.1, 0),
        Retry(0.2, 1),
        Retry(0.4, 2),
    ]
    decision = schedule.failed(503)
    assert isinstance(decision, GiveUp)
    assert "3 reconnect attempts" in decision.reason


def test_never_policy_does_not_reconnect() -> None:
    schedule = ReconnectSchedule(ReconnectPolicy.never())
    schedule.connected(0.0)
    assert isinstance(schedule.disconnected(100.0), GiveUp)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_fatal_statuses_give_up_after_three_in_a_row(status: int) -> None:
    schedule = ReconnectSchedule(ReconnectPolicy(jitter=False))
    assert isinstance(schedule.failed(status), Retry)
    assert isinstance(schedule.failed(status), Retry)
    decision = schedule.failed(status, "Forbidden")
    assert isinstance(decision, GiveUp)
    assert decision.status == status
    assert f"HTTP {status} 3 times in a row" in decision.reason


@pytest.mark.parametrize("other", [None, 429, 500, 503])
def test_a_retryable_failure_breaks_the_fatal_run(other: int | None) -> None:
    schedule = ReconnectSchedule(ReconnectPolicy(jitter=False))
    for status in (403, 403, other, 403, 403):
        assert isinstance(schedule.failed(status), Retry)
    assert isinstance(schedule.failed(403), GiveUp)


@pytest.mark.parametrize("status", [429, 500, 502, 503, None])
def test_retryable_statuses_are_retried_forever_by_default(status: int | None) -> None:
    schedule = ReconnectSchedule(ReconnectPolicy(jitter=False, max_delay=0.5))
    for _ in range(50):
        assert isinstance(schedule.failed(status), Retry)
    assert not is_fatal_status(status)


def test_a_stable_connection_resets_the_attempt_count() -> None:
    policy = ReconnectPolicy(initial_delay=1.0, jitter=False, reset_after=10.0, max_delay=100)
    schedule = ReconnectSchedule(policy)
    assert delays(schedule, 3) == [1.0, 2.0, 4.0]
    schedule.connected(100.0)
    # Up for 5 s only: the schedule continues where it was.
    assert schedule.disconnected(105.0) == Retry(8.0, 3)
    schedule.connected(200.0)
    # Up for 10 s: back to the initial delay.
    assert schedule.disconnected(210.0) == Retry(1.0, 0)


def test_connected_clears_the_fatal_run() -> None:
    schedule = ReconnectSchedule(ReconnectPolicy(jitter=False))
    schedule.failed(401)
    schedule.failed(401)
    schedule.connected(0.0)
    schedule.disconnected(1.0)
    assert isinstance(schedule.failed(401), Retry)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    schedule = ReconnectSchedule(ReconnectPolicy(jitter=False, max_delay=30.0))
    assert schedule.delay_for(10_000) == 30.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_delay": -1}, "initial_delay"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"max_attempts": 1.5}, "max_attempts"),
    ],
)
def test_policy_rejects_bad_values_naming_the_field(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]


def test_failures_marked_fatal_without_a_status_give_up_with_their_own_words() -> None:
    schedule = ReconnectSchedule(ReconnectPolicy(jitter=False))
    for _ in range(2):
        assert isinstance(schedule.failed(None, "auth failed: no credentials", fatal=True), Retry)
    decision = schedule.failed(None, "auth failed: no credentials", fatal=True)
    assert isinstance(decision, GiveUp)
    assert decision.reason == "attempt failed 3 times in a row: auth failed: no credentials"
    assert "HTTP" not in decision.reason
