"""``wsapi-client serve`` in a subprocess: prints its URLs, serves, logs, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Callable

import boto3
import pytest
import websocket

from wsapi_client.emulator import SAMPLE_API

ROOT = Path(__file__).resolve().parents[2]


class Served:
    """A running ``serve`` process with its output lines collected by two reader threads."""

    def __init__(self, *args: str) -> None:
        # PYTHONFAULTHANDLER: a process that hangs is sent SIGABRT by exit_code() and prints
        # every thread's stack, which the failure message then shows.
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wsapi_client", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout)),
            threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    def wait_for(self, lines: queue.Queue[str], text: str, timeout: float = 15.0) -> str:
        seen = []
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{text!r} not printed; got {seen}") from None
            seen.append(line)
            if text in line:
                return line

    def exit_code(self, timeout: float = 10.0) -> int:
        """The exit code; a process still running after ``timeout`` fails with its stacks."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(10)
            for reader in self._readers:
                reader.join(10)
            stacks = "\n".join(self.stderr.queue)
            message = f"still running after {timeout} s; its threads:\n{stacks}"
            raise AssertionError(message) from None

    def finish(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for reader in self._readers:
            reader.join(10)


@pytest.fixture
def served() -> Iterator[Callable[..., Served]]:
    """Start ``serve`` processes; each is killed (if still running) and reaped afterwards."""
    runs: list[Served] = []

    def start(*args: str) -> Served:
        run = Served(*args)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.finish()


def test_serve_prints_urls_logs_and_stops_on_ctrl_c(served: Callable[..., Served]) -> None:
    run = served(str(SAMPLE_API), "--idle-timeout", "30")
    url = run.wait_for(run.stdout, "WebSocket URL:").split()[-1]
    callback = run.wait_for(run.stdout, "Callback URL:").split()[-1]
    assert url.startswith("ws://127.0.0.1:")
    assert url.endswith("/default")
    ws = websocket.create_connection(url, timeout=5)
    try:
        connected = run.wait_for(run.stderr, "connected from 127.0.0.1")
        connection_id = re.search(r"Connection Id: (\S+)\]", connected).group(1)  # type: ignore[union-attr]
        ws.send(json.dumps({"route": "SayHello", "payload": {"name": "cli"}}))
        run.wait_for(run.stderr, "WebSocket Request Route: [SayHello]")
        run.wait_for(run.stderr, "Method completed with status: 200")
        ws.send("nonsense")
        assert json.loads(ws.recv())["message"] == "Forbidden"
        management = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=callback,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        management.post_to_connection(ConnectionId=connection_id, Data=b'{"route":"SendGreeting"}')
        assert ws.recv() == '{"route":"SendGreeting"}'
    finally:
        ws.shutdown()
    run.process.send_signal(signal.SIGINT)
    assert run.exit_code() == 130  # the shell's code for Ctrl-C, as every command
    run.wait_for(run.stdout, "Stopped.")


def test_bad_model_exits_2(served: Callable[..., Served], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"openapi": "3.0.3"}')
    run = served(str(broken))
    assert run.exit_code(15) == 2
    run.wait_for(run.stderr, "cannot load")


def test_bad_iam_key_is_a_usage_error(served: Callable[..., Served]) -> None:
    run = served(str(SAMPLE_API), "--iam-key", "no-secret")
    assert run.exit_code(15) == 2
    run.wait_for(run.stderr, "ACCESS_KEY:SECRET_KEY")


def test_sigterm_is_a_clean_stop(served: Callable[..., Served]) -> None:
    run = served(str(SAMPLE_API))
    run.wait_for(run.stdout, "Press Ctrl-C to stop.")
    run.process.send_signal(signal.SIGTERM)
    assert run.exit_code() == 0
    run.wait_for(run.stdout, "Stopped.")


def test_serve_hosts_lambda_handlers_and_an_authorizer(
    served: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLAMBDA")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    run = served(
        str(SAMPLE_API),
        "--quiet",
        "--handlers",
        "tests.emulator.lambda_app.chat",
        "--authorizer",
        "tests.emulator.lambda_app.auth:handler",
        "--identity-source",
        "route.request.querystring.token",
    )
    url = run.wait_for(run.stdout, "WebSocket URL:").split()[-1]
    run.wait_for(run.stdout, "Lambda handlers: $connect, $disconnect, SayHello")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{url}?token=bad", timeout=5)
    assert refused.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 401
    ws = websocket.create_connection(f"{url}?token=good", timeout=5)
    try:
        # What the $connect handler printed, labelled with its connection and request id.
        printed = run.wait_for(run.stdout, "connected from 127.0.0.1")
        assert re.match(r"\[\S{16} \S{16}\] connected from", printed)
        ws.send(json.dumps({"route": "SayHello", "payload": {"name": "cli"}}))
        assert json.loads(ws.recv()) == {
            "route": "SendGreeting",
            "payload": {"greeting": "Hello cli from 127.0.0.1!"},
        }
        ws.send(json.dumps({"route": "SayHello", "payload": {"name": "boom"}}))
        assert json.loads(ws.recv())["message"] == "Internal server error"
        failed = run.wait_for(run.stderr, "raised ValueError: the handler failed on purpose")
        assert re.search(r"\[\S{16} \S{16}\]", failed)
    finally:
        ws.shutdown()
    run.process.send_signal(signal.SIGTERM)
    assert run.exit_code() == 0


def test_serve_refuses_a_bad_handler_module(served: Callable[..., Served]) -> None:
    run = served(str(SAMPLE_API), "--handlers", "tests.emulator.no_such_module")
    assert run.exit_code(15) == 2
    run.wait_for(run.stderr, "cannot import the handler module")
