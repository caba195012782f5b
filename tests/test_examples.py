"""The examples run: the blocking script, and the WSGI service under gunicorn with --preload.

Both run as real subprocesses against an emulator on loopback, as a user would start them.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("websockets", reason="the examples run against the emulator extra")

from wsapi_client.emulator import SAMPLE_API, LocalGateway

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPT = EXAMPLES / "blocking_script.py"
SERVICE = EXAMPLES / "wsgi_service"
WORKERS = 3


@pytest.fixture
def gateway() -> Iterator[LocalGateway]:
    """The sample model on loopback, answering SayHello with a SendGreeting."""
    with LocalGateway(SAMPLE_API) as gw:

        @gw.route("SayHello")
        def say_hello(connection_id: str, payload: Any) -> None:
            gw.post_to_connection(
                connection_id, "SendGreeting", {"greeting": f"Hello {payload['name']}!"}
            )

        yield gw


def _run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, **(env or {})},
        check=False,
    )


# --------------------------------------------------------------------------- blocking script


def test_blocking_script_against_a_url(gateway: LocalGateway) -> None:
    done = _run_script(gateway.url, "--name", "Tester", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello Tester!"
    routes = [(m.route, m.payload) for m in gateway.wait_for_messages(2)]
    assert sorted(routes, key=str) == sorted(
        [("SayHello", {"name": "Tester"}), ("SubscribeToNotifications", {"topic": "news"})],
        key=str,
    )
    # The script closed its client: a close frame with 1000, not a dropped socket.
    record = gateway.wait_until(lambda: gateway.disconnect_log)[0]
    assert (record.code, record.initiated_by) == (1000, "client")


def test_blocking_script_reads_the_url_from_the_environment(gateway: LocalGateway) -> None:
    done = _run_script("--timeout", "5", env={"WSAPI_URL": gateway.url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello Jack!"
    assert gateway.wait_for_messages(1, route="SayHello")[0].payload == {"name": "Jack"}


def test_blocking_script_starts_its_own_emulator_without_a_url() -> None:
    env = {key: value for key, value in os.environ.items() if key != "WSAPI_URL"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--name", "Solo"],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello Solo!"


def test_blocking_script_reports_an_unreachable_api() -> None:
    with LocalGateway(SAMPLE_API) as gw:
        url = gw.url  # a port that was just free, and is closed again below
    started = time.monotonic()
    done = _run_script(url, "--timeout", "1")
    assert done.returncode == 1
    assert "ConnectError" in done.stderr
    assert time.monotonic() - started < 15


# --------------------------------------------------------------------------- gunicorn service


class _Gunicorn:
    """A gunicorn master started on 127.0.0.1:0, its log lines read on a thread of our own."""

    def __init__(self, url: str) -> None:
        pytest.importorskip("gunicorn", reason="the WSGI example needs gunicorn (dev extra)")
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(SERVICE / "gunicorn.conf.py"),
                "--chdir",
                str(SERVICE),
                "--bind",
                "127.0.0.1:0",
                "--workers",
                str(WORKERS),
                "--preload",
                "app:application",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "WSAPI_URL": url, "WSAPI_SPEC": str(SAMPLE_API)},
        )
        self._pump = threading.Thread(target=self._read, name="test-gunicorn-log", daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            self.lines.put(line)

    def port(self, timeout: float) -> int:
        """The port from gunicorn's ``Listening at: http://127.0.0.1:PORT`` line."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                pytest.fail(f"gunicorn did not start listening in time:\n{''.join(self.log)}")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found[1])
            if remaining <= 0:
                pytest.fail(f"gunicorn did not start listening in time:\n{''.join(self.log)}")

    def stop(self, timeout: float) -> int:
        """SIGTERM (gunicorn's graceful shutdown), and its exit status; killed if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            pytest.fail(f"gunicorn did not stop within {timeout} s:\n{''.join(self.log)}")
        self._pump.join(timeout=5)
        return code


def _get(port: int, path: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body: dict[str, Any] = json.loads(response.read())
        assert response.status == 200, body
        return body
    finally:
        connection.close()


def test_wsgi_service_under_gunicorn_preload_has_one_client_per_worker(
    gateway: LocalGateway,
) -> None:
    server = _Gunicorn(gateway.url)
    try:
        port = server.port(timeout=15)
        # The master's client (when_ready) and one per worker (post_fork), all connected.
        gateway.wait_for_connections(1 + WORKERS, timeout=15)
        announced = gateway.wait_for_messages(1, route="SayHello")[0]
        assert announced.payload == {"name": "gunicorn master"}

        # Concurrent requests until every worker has answered at least once.
        answered: dict[int, list[str]] = {}
        deadline = time.monotonic() + 15
        with ThreadPoolExecutor(max_workers=2 * WORKERS) as pool:
            batch = 0
            while len(answered) < WORKERS and time.monotonic() < deadline:
                names = [f"r{batch}-{n}" for n in range(2 * WORKERS)]
                for body in pool.map(lambda name: _get(port, f"/hello?name={name}"), names):
                    answered.setdefault(body["pid"], []).append(body["name"])
                batch += 1
        assert len(answered) == WORKERS, f"only workers {sorted(answered)} answered"

        # Each worker's messages reached the gateway, on a connection of that worker's own.
        expected = sum(len(names) for names in answered.values())
        received = gateway.wait_for_messages(1 + expected, route="SayHello", timeout=10)
        by_name = {m.payload["name"]: m.connection_id for m in received}
        for pid, names in answered.items():
            assert set(names) <= set(by_name), f"worker {pid} lost messages"
            assert len({by_name[name] for name in names}) == 1, f"worker {pid} used two connections"
        worker_connections = {by_name[names[0]] for names in answered.values()}
        assert len(worker_connections) == WORKERS
        assert announced.connection_id not in worker_connections

        # In a worker, the copy of the master's client is inert and says why.
        probe = _get(port, "/inherited")
        assert probe["inherited"] is True
        assert probe["inert"] is True
        assert "os.fork()" in probe["error"]
        assert "from a forked copy" not in {m.payload["name"] for m in gateway.received}
    finally:
        code = server.stop(timeout=15)
    assert code == 0, "".join(server.log)

    # A clean stop: every client (three workers and the master) closed with 1000 itself.
    closes = gateway.wait_until(
        lambda: len(gateway.disconnect_log) >= 1 + WORKERS and gateway.disconnect_log
    )
    assert [(r.code, r.initiated_by) for r in closes] == [(1000, "client")] * (1 + WORKERS)
