"""``Interrupts``: a Ctrl-C inside ``deferred()`` is held until the block ends, then raised."""

from __future__ import annotations

import signal

import pytest

from wsapi_client._cli._interrupt import Interrupts


def _interrupted_inside(interrupts: Interrupts, steps: list[str]) -> None:
    with interrupts.deferred():
        signal.raise_signal(signal.SIGINT)
        steps.append("after the signal")
        with interrupts.deferred():  # nested blocks hold it until the outermost ends
            steps.append("nested")
        steps.append("end of the block")
    steps.append("after the block")  # never reached: raised as the block ends


def test_ctrl_c_is_held_inside_deferred_and_raised_after() -> None:
    before = signal.getsignal(signal.SIGINT)
    interrupts = Interrupts()
    restore = interrupts.install()
    steps: list[str] = []
    try:
        with pytest.raises(KeyboardInterrupt):
            _interrupted_inside(interrupts, steps)
        assert steps == ["after the signal", "nested", "end of the block"]
        with pytest.raises(KeyboardInterrupt):  # outside a block: at once
            signal.raise_signal(signal.SIGINT)
        with interrupts.deferred():  # nothing pending any more
            steps.append("clean")
    finally:
        restore()
    assert steps[-1] == "clean"
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_sigint_stays_ignored() -> None:
    """A command started with SIGINT ignored (a background job, ``nohup``) leaves it so."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        restore = Interrupts().install()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)  # ignored: nothing raised
        restore()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
