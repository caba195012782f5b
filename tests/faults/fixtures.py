"""Fixtures over the fault servers; test modules outside this folder import them by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.servers import FaultServers, make_self_signed_cert


def _fault_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("faultserver-")]


@pytest.fixture
def faults() -> Iterator[FaultServers]:
    """Start fault servers (``faults.hanging()``, ``.stalling()``, ``.raw(...)``, ``.status(n)``);
    all are stopped at teardown and their ``faultserver-...`` threads joined."""
    before = set(_fault_threads())
    with FaultServers() as servers:
        yield servers
    left = [name for name in _fault_threads() if name not in before]
    assert not left, f"fault server threads left running: {left}"


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (made once per session); skips
    the test when neither ``cryptography`` nor ``openssl`` can make one."""
    try:
        return make_self_signed_cert(tmp_path_factory.mktemp("tls"))
    except FileNotFoundError as exc:
        pytest.skip(f"no certificate for the TLS tests: {exc}")
