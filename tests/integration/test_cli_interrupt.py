"""Ctrl-C ends ``listen`` and ``send`` with exit code 130 (the shell's convention), cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.faults.observe import signal_masks
from wsapi_client.emulator import LocalGateway

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "wsapi_client" / "emulator" / "sample_api.json")


@pytest.mark.parametrize("command", ["listen", "send"])
def test_ctrl_c_exits_130(gateway: LocalGateway, command: str) -> None:
    argv = [
        sys.executable, "-m", "wsapi_client", command, gateway.url, "--spec", SAMPLE,
        *(
            ["--subscribe", "SubscribeToNotifications", '{"topic": "t"}']
            if command == "listen"
            else ["SubscribeToNotifications", '{"topic": "t"}', "--wait-for", "SendGreeting"]
        ),
        "--timeout", "60",
    ]  # fmt: skip
    closed = threading.Event()
    gateway.on_disconnect(lambda connection_id: closed.set())
    # PYTHONFAULTHANDLER: a child that hangs is aborted and shows every thread's stack.
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        # Both have connected and sent when the gateway holds the message: interrupt then.
        gateway.wait_for_messages(1, route="SubscribeToNotifications", timeout=15)
        process.send_signal(signal.SIGINT)
        try:
            _out, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            masks = signal_masks(process.pid)
            process.send_signal(signal.SIGABRT)
            _out, err = process.communicate(timeout=10)
            pytest.fail(f"{command} still running 15 s after Ctrl-C; its threads:\n{masks}\n{err}")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert closed.wait(5), "the client did not close its connection"
    [record] = gateway.disconnect_log
    assert (record.code, record.initiated_by) == (1000, "client")  # closed, not dropped
