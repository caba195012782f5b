"""The library logs under ``wsapi_client`` and prints nothing unless the application asks."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger("wsapi_client").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_an_unconfigured_application_sees_no_records() -> None:
    """Without the NullHandler, Python's last-resort handler would print this to stderr."""
    script = (
        "import logging, wsapi_client\n"
        "logging.getLogger('wsapi_client._client').warning('should stay quiet')\n"
        "logging.getLogger('elsewhere').warning('the application still hears this')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=True,
    )
    assert result.stderr == "the application still hears this\n"
