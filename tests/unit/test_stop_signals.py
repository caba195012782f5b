"""``StopSignals``: a stop signal ends the wait wherever in the wait the main thread takes it.

Each case runs in a child process: it installs SIGTERM/SIGINT handlers and may deadlock, and
neither may happen to the test runner. The race that hung ``wsapi-client serve`` (the handler
running while the main thread held the lock of the event it waited on) is made to happen by a
trace function that raises the signal at the n-th line the main thread runs inside the wait,
for every n over the wait's first passes; a watchdog turns a hang into exit code 3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_HARNESS = textwrap.dedent(
    """
    import os, signal, sys, threading

    def hang_guard(label):
        timer = threading.Timer(3.0, lambda: (print("hang", label, flush=True), os._exit(3)))
        timer.daemon = True
        timer.start()
        return timer

    def raise_at_line(n, signum):
        '''A trace function raising ``signum`` once, as the n-th traced line is about to run.'''
        count = 0
        def trace(frame, event, arg):
            nonlocal count
            if event == "line":
                count += 1
                if count == n:
                    signal.raise_signal(signum)
            return trace
        return trace
    """
)


def _run(body: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", _HARNESS + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_a_signal_taken_at_any_line_of_the_wait_ends_it() -> None:
    run = _run(
        """
        import linecache
        from wsapi_client._cli._signals import StopSignals

        # The lines the main thread runs in a wait up to its first sleep in select (which a
        # signal raised before it does not reach: the wake-up byte is already there).
        lines = []
        def record(frame, event, arg):
            if event == "line":
                lines.append(linecache.getline(frame.f_code.co_filename, frame.f_lineno))
            return record
        with StopSignals() as signals:
            sys.settrace(record)
            signals.wait(timeout=0.001)
            sys.settrace(None)
        before_sleep = next(i for i, line in enumerate(lines, 1) if "select.select(" in line)
        assert before_sleep >= 5, lines

        for signum in (signal.SIGTERM, signal.SIGINT):
            for n in range(1, before_sleep + 1):
                guard = hang_guard(n)
                with StopSignals() as signals:
                    sys.settrace(raise_at_line(n, signum))
                    try:
                        got = signals.wait(timeout=10)
                    finally:
                        sys.settrace(None)
                guard.cancel()
                assert got == signum, (n, got)
        print("ok", before_sleep, flush=True)
        """
    )
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert run.stdout.startswith("ok"), run.stdout


def test_the_harness_catches_a_handler_that_takes_a_lock() -> None:
    """The old serve loop (``Event.set()`` in the handler, ``Event.wait`` in a loop) hangs here."""
    run = _run(
        """
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        for n in range(1, 40):
            guard = hang_guard(n)
            sys.settrace(raise_at_line(n, signal.SIGTERM))
            try:
                while not stop.wait(0.5):
                    pass
            finally:
                sys.settrace(None)
            guard.cancel()
            stop.clear()
        print("ok", flush=True)
        """
    )
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert run.stdout.startswith("hang"), run.stdout


def test_a_signal_landing_on_another_thread_ends_the_wait() -> None:
    run = _run(
        """
        from wsapi_client._cli._signals import StopSignals

        guard = hang_guard("other thread")
        with StopSignals() as signals:
            other = threading.Thread(
                target=lambda: signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
            )
            other.start()
            got = signals.wait()
            other.join()
        guard.cancel()
        assert got == signal.SIGTERM, got
        print("ok", flush=True)
        """
    )
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr


def test_handlers_and_wakeup_fd_are_restored_and_the_timeout_ends_the_wait() -> None:
    run = _run(
        """
        from wsapi_client._cli._signals import StopSignals

        def mine(signum, frame):
            pass

        signal.signal(signal.SIGTERM, mine)
        before_int = signal.getsignal(signal.SIGINT)
        with StopSignals() as signals:
            assert signal.getsignal(signal.SIGTERM) is not mine
            assert signals.wait(timeout=0.05) is None
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is before_int
        assert signal.set_wakeup_fd(-1) == -1  # none left installed
        print("ok", flush=True)
        """
    )
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr


def test_outside_the_main_thread_it_installs_nothing_and_waits_for_its_timeout() -> None:
    run = _run(
        """
        from wsapi_client._cli._signals import StopSignals

        results = []
        def elsewhere():
            with StopSignals() as signals:
                results.append((signal.getsignal(signal.SIGTERM), signals.wait(timeout=0.05)))
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert results == [(signal.SIG_DFL, None)], results
        print("ok", flush=True)
        """
    )
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr


def test_a_signal_ignored_before_stays_ignored() -> None:
    """SIGINT ignored at the start (a background job, ``nohup``) is left so; SIGTERM still stops."""
    run = _run(
        """
        from wsapi_client._cli._signals import StopSignals

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        guard = hang_guard("ignored")
        with StopSignals() as signals:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            assert signals.wait(timeout=0.05) is None
            signal.raise_signal(signal.SIGTERM)
            got = signals.wait()
        guard.cancel()
        assert got == signal.SIGTERM, got
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        print("ok", flush=True)
        """
    )
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr
