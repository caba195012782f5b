"""Shared test fixtures: loopback without proxies, and a check that no SDK thread leaks."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

for _var in ("no_proxy", "NO_PROXY"):
    _existing = os.environ.get(_var, "")
    os.environ[_var] = ",".join(filter(None, ["127.0.0.1", "localhost", "::1", _existing]))

# A non-interactive shell starts a background job with SIGINT ignored, and a child process
# inherits that: Python then installs no Ctrl-C handler in it, and the tests that interrupt a
# child (as a user's terminal would) wait in vain. Give the children a terminal's default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

DATA = Path(__file__).resolve().parent / "data"
"""The project's own test data: models (``specs``) and the published SigV4 vectors."""

SPECS = DATA / "specs"
SIGV4_SUITE = DATA / "sigv4-test-suite"

SDK_THREAD_PREFIXES = ("wsapi-", "wsapi_client")


def _sdk_threads() -> set[threading.Thread]:
    return {
        t for t in threading.enumerate() if t.is_alive() and t.name.startswith(SDK_THREAD_PREFIXES)
    }


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves an SDK or emulator thread (named ``wsapi-...``) running."""
    before = _sdk_threads()
    yield
    leaked = _sdk_threads() - before
    deadline = 5.0
    for thread in leaked:
        thread.join(deadline)
        deadline = 0.5
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads leaked by this test: {still}"


@pytest.fixture
def specs_dir() -> Path:
    """The folder of the project's own test models (``tests/data/specs``)."""
    return SPECS
