"""Concurrency and resource tests: many senders under repeated drops, connect/close cycles,
fork, and interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest

from wsapi_client import (
    ClientClosedError,
    ConnectionState,
    QueuePolicy,
    ReconnectPolicy,
    WebSocketClient,
)
from wsapi_client.emulator import LocalGateway

ClientFactory = Callable[..., WebSocketClient]
SAMPLE = Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json"

THREADS = 8
PER_THREAD = 2000


def test_eight_threads_under_repeated_drops(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    """No duplicate, no per-thread reordering, every message queued during an outage delivered.

    Senders work in rounds; the server drops every connection once per round, mid-stream, and the
    next round starts while the client is reconnecting, so sends pile up in the queue. A message
    whose future completed before a drop was handed to the kernel and may be lost with the
    connection (at-most-once, as on any WebSocket); one queued during an outage must arrive,
    exactly once.
    """
    rounds = 5
    per_round = PER_THREAD // rounds
    client = make_client(
        gateway.url,
        reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.05, jitter=False),
        queue=QueuePolicy(max_messages=None, max_bytes=None),
    )
    queued_during_outage: set[tuple[int, int]] = set()
    futures: dict[tuple[int, int], Future[None]] = {}
    lock = threading.Lock()
    losses = threading.Semaphore(0)  # one release per RECONNECTING the client reports
    client.on_state_change(
        lambda state: losses.release() if state is ConnectionState.RECONNECTING else None
    )
    round_start = threading.Barrier(THREADS + 1)
    round_end = threading.Barrier(THREADS + 1)

    def sender(t: int) -> None:
        for r in range(rounds):
            round_start.wait()
            for i in range(r * per_round, (r + 1) * per_round):
                # The state is read before the send: once the client reports the loss, the dead
                # connection takes no more writes, so a message still pending then waits for the
                # next one. (Read after the send, a message written into the dying connection just
                # before the loss was reported would pass for one queued during the outage.)
                outage = client.state is not ConnectionState.CONNECTED
                future = client.send("SubscribeToNotifications", {"topic": f"{t}:{i}"})
                queued = not future.done()
                with lock:
                    futures[(t, i)] = future
                    if queued and outage:
                        queued_during_outage.add((t, i))
            round_end.wait()

    def outage_messages() -> set[tuple[int, int]]:
        with lock:
            return set(queued_during_outage)

    def received_keys() -> set[tuple[int, int]]:
        return {
            (int(t), int(i)) for t, i in (m.payload["topic"].split(":") for m in gateway.received)
        }

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for r in range(rounds):
        round_start.wait()
        # 300 of this round's messages, not just 300 more: the gateway may still be counting
        # what it read from the connection it dropped last round.
        gateway.wait_until(
            lambda r=r: sum(i >= r * per_round for _t, i in received_keys()) >= 300, timeout=10
        )
        # Drop once the outage backlog has been flushed and read: a drop loses whatever the
        # server has not read yet, flushed or not.
        gateway.wait_until(lambda: outage_messages() <= received_keys(), timeout=10)
        gateway.drop_all()
        # The next round starts once the client has noticed the drop (it is reconnecting, so
        # sends pile up in the queue): sends before that go into the dying connection, the
        # at-most-once window, which on a starved machine can swallow a whole round.
        assert losses.acquire(timeout=10)
        round_end.wait()
    for thread in threads:
        thread.join(10)
    client.flush(timeout=30)
    for future in futures.values():
        future.result(10)
    assert len(futures) == THREADS * PER_THREAD
    gateway.wait_until(lambda: outage_messages() <= received_keys(), timeout=10)
    client.close(timeout=10)

    by_thread: dict[int, list[int]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for message in gateway.received:
        t, i = map(int, message.payload["topic"].split(":"))
        assert (t, i) not in seen, f"duplicate {(t, i)}"
        seen.add((t, i))
        by_thread[t].append(i)
    for t, indices in by_thread.items():
        assert indices == sorted(indices), f"thread {t} reordered"
    assert queued_during_outage, "no send happened during an outage: the test proved nothing"
    assert not queued_during_outage - seen
    assert client.stats.reconnects >= rounds - 1  # the last drop may meet close()


def _open_fds() -> int:
    return psutil.Process().num_fds()


def test_hundred_connect_close_cycles_leak_nothing(gateway: LocalGateway, sample_spec: Any) -> None:
    def cycle() -> None:
        client = WebSocketClient.connect(gateway.url, spec=sample_spec, timeout=5)
        client.send("SayHello", {"name": "c"})
        client.close()

    cycle()  # warm up lazily created things (mask pool, logging, ...)
    gateway.wait_until(lambda: not gateway.connections, timeout=5)
    fds_before = _open_fds()
    threads_before = threading.active_count()
    for _ in range(100):
        cycle()
    gateway.wait_until(lambda: not gateway.connections, timeout=5)
    assert threading.active_count() == threads_before
    assert _open_fds() <= fds_before
    assert not [t.name for t in threading.enumerate() if t.name.startswith("wsapi-client")]


def test_exactly_two_sdk_threads_per_connected_client(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    mine = [t for t in threading.enumerate() if t.name.startswith(f"wsapi-{client.name}-")]
    assert sorted(t.name.rsplit("-", 1)[0] if "reader" in t.name else t.name for t in mine) == [
        f"wsapi-{client.name}-reader",
        f"wsapi-{client.name}-supervisor",
    ]
    assert all(t.daemon for t in mine)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_a_clear_error_and_the_parent_is_unaffected(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            try:
                client.send("SayHello", {"name": "child"})
            except ClientClosedError as exc:
                if "os.fork()" in str(exc):
                    code = 0
            client.close()  # a no-op in the child: must not touch the parent's socket
        finally:
            os.write(write_end, bytes([code]))
            os._exit(0)
    os.close(write_end)
    status = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert status == b"\x00"
    with client.expect("SendGreeting") as reply:
        client.send("SayHello", {"name": "parent"})
    assert reply.result(5)["greeting"] == "Hello, parent!"
    assert [m.payload["name"] for m in gateway.wait_for_messages(1, timeout=5)] == ["parent"]


def test_interpreter_exit_never_hangs_and_flushes(gateway: LocalGateway, tmp_path: Path) -> None:
    script = tmp_path / "exit.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from wsapi_client import WebSocketClient
            client = WebSocketClient.connect({gateway.url!r}, spec={str(SAMPLE)!r}, timeout=5)
            for i in range(50):
                client.send("SubscribeToNotifications", {{"topic": str(i)}})
            # no close(): the interpreter exits with the client connected
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        timeout=20,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(gateway.wait_for_messages(50, timeout=5)) == 50


def test_exit_with_many_stuck_clients_is_bounded_by_one_deadline(
    gateway: LocalGateway, tmp_path: Path
) -> None:
    """Five clients with messages queued during an outage: exit gives them 2 s in all, not each."""
    script = tmp_path / "stuck.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            from wsapi_client import WebSocketClient
            clients = [
                WebSocketClient.connect({gateway.url!r}, spec={str(SAMPLE)!r}, timeout=5)
                for _ in range(5)
            ]
            print("ready", flush=True)
            sys.stdin.readline()
            for client in clients:
                client.send("SubscribeToNotifications", {{"topic": "stuck"}})
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        assert process.stdout.readline().strip() == "ready"
        gateway.refuse_next(10_000, status=503)
        gateway.drop_all()
        gateway.wait_for_connections(0, timeout=5)
        started = time.monotonic()
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - started < 6  # 5 x 2 s would be 10 s
    finally:
        process.kill()
        process.wait()
