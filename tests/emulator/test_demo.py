"""``wsapi-client demo`` runs end to end and tells the reconnect story."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_exits_0_with_a_transcript() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsapi_client", "demo", "--topic", "weather", "--name", "Ann"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for expected in (
        "subscribed to 'weather' through with_reconnect",
        "notification: Update 1: weather item 1",
        "greeting: Hello Ann!",
        "connection lost: reconnecting",
        "after handshakes answered [503, 503, 101]",
        "in order: SayHello, SayHello, SayHello, SubscribeToNotifications",
        "greeting: Hello Ann #3!",
        "notification: Update 3: weather item 3, after the reconnect",
        "1 reconnect(s), 0 still queued",
    ):
        assert expected in out, out
