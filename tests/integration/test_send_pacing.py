"""A plain send loop on a healthy connection, and one on a connection that cannot keep up.

`send()` never blocks on the socket, so what the socket cannot take yet is queued. Two reasons a
queue fills on a live connection, and what each must do:

- the thread writing the queue is starved of the interpreter lock by the sending thread (the
  peer keeps up): the sender lets it catch up, and a loop of many times the queue's size goes
  through with the default policy;
- the peer reads more slowly than messages are sent: the queue policy applies, and the error
  says that the connection is up and how to wait for room instead.

And the race at the end of the catch-up wait: a close while a sender waits refuses that send.
"""

from __future__ import annotations

import linecache
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.faults.fixtures import faults
from tests.faults.observe import end_process
from tests.faults.servers import FaultServers
from wsapi_client import (
    ClientClosedError,
    ConnectionState,
    Keepalive,
    QueueFullError,
    QueuePolicy,
    WebSocketClient,
)

__all__ = ["faults"]  # the fixture, imported for the tests below

# A peer in another process that answers the upgrade and then reads and discards as fast as the
# kernel hands it bytes: it never holds the client's interpreter lock and always keeps up.
SINK = """
from tests.faults.servers import SinkServer
with SinkServer() as server:
    print(server.port, flush=True)
    server.wait_count("peer_closed", 1, timeout=100)
    print(server.bytes_read, flush=True)
"""
ROOT = Path(__file__).resolve().parents[2]

QUIET = Keepalive(interval=60.0, timeout=30.0)  # the sink never answers a ping


@pytest.fixture
def sink() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"ws://127.0.0.1:{port}/sink", proc
    finally:
        end_process(proc)


def test_a_plain_send_loop_goes_through_on_a_healthy_connection(
    sink: tuple[str, subprocess.Popen[str]],
) -> None:
    """Ten times the default queue's size from one `for` loop, with the default policy."""
    url, proc = sink
    count = 10 * QueuePolicy().max_messages  # type: ignore[operator]
    client = WebSocketClient.connect(url, keepalive=QUIET, timeout=10)
    try:
        for i in range(count):
            client.send("SayHello", {"name": f"n{i}"})
        client.flush(timeout=30)
        assert client.stats.messages_out == count
    finally:
        client.disconnect()
    assert proc.stdout is not None
    assert int(proc.stdout.readline()) >= count * 30  # every frame reached the peer


def test_four_threads_sending_at_once_go_through_on_a_healthy_connection(
    sink: tuple[str, subprocess.Popen[str]],
) -> None:
    """Several senders: whichever holds the write token is starved by the others."""
    url, proc = sink
    threads, per_thread = 4, 3 * QueuePolicy().max_messages  # type: ignore[operator]
    client = WebSocketClient.connect(url, keepalive=QUIET, timeout=10)
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def sender(t: int) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                client.send("SayHello", {"name": f"{t}:{i}"})
        except BaseException as exc:  # reported below, by the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=sender, args=(t,)) for t in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert errors == []
        client.flush(timeout=30)
        assert client.stats.messages_out == threads * per_thread
    finally:
        client.disconnect()
    assert proc.stdout is not None
    assert int(proc.stdout.readline()) >= threads * per_thread * 30


def test_a_full_queue_on_a_live_connection_says_how_to_wait_for_room(
    faults: FaultServers,
) -> None:
    server = faults.stalling()
    client = WebSocketClient(
        server.url, keepalive=QUIET, queue=QueuePolicy(max_messages=50), name="pacing"
    )
    client.start(timeout=5)

    def fill() -> None:
        for _ in range(100_000):
            client.send("SayHello", {"name": "x" * 1000})

    try:
        with pytest.raises(QueueFullError) as info:
            fill()
        text = str(info.value)
        assert "max_messages=50" in text
        assert "connection is up" in text
        assert 'overflow="block"' in text
    finally:
        client.disconnect(timeout=2)


def test_a_close_during_the_catch_up_wait_refuses_the_waiting_send(
    sink: tuple[str, subprocess.Popen[str]],
) -> None:
    """The race behind the catch-up wait's close check, made to happen: another thread holds
    the write token in the middle of a write (paused there by a trace function), the main
    thread has queued 1,024 messages behind it and waits for it to catch up, and the client is
    closed. The waiting send raises ClientClosedError (queueing it then would leave a future
    nothing ever settles); everything queued before it is written by the close's flush."""
    url, _proc = sink
    client = WebSocketClient(url, keepalive=QUIET)
    client.start(timeout=5)
    writing, release = threading.Event(), threading.Event()

    def pause_in_write(frame: Any, event: str, arg: Any) -> Any:
        code = frame.f_code
        if event == "call":
            return pause_in_write if code.co_filename.endswith("_writer.py") else None
        line = linecache.getline(code.co_filename, frame.f_lineno)
        if event == "line" and "write_some(" in line and not writing.is_set():
            writing.set()
            release.wait(10)
        return pause_in_write

    def hold_the_token() -> None:
        sys.settrace(pause_in_write)
        try:
            client.send("Held", {"n": -1}).result(10)
        finally:
            sys.settrace(None)

    holder = threading.Thread(target=hold_the_token)
    holder.start()
    closer: Optional[threading.Thread] = None
    try:
        assert writing.wait(5), "the holder never reached the write"
        queued = [client.send("Queued", {"n": n}) for n in range(1024)]
        main = threading.get_ident()

        def close_once_waiting() -> None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # polling the main thread's frame
                frame = sys._current_frames().get(main)
                if frame is not None and frame.f_code.co_name == "wait":
                    caller = frame.f_back
                    if caller is not None and caller.f_code.co_name == "_wait_for_writer_locked":
                        break
                time.sleep(0.01)
            client.close(timeout=10)

        closer = threading.Thread(target=close_once_waiting)
        closer.start()
        with pytest.raises(ClientClosedError):
            client.send("Late", {"n": 1024})
    finally:
        release.set()
        holder.join(10)
        if closer is not None:
            closer.join(15)
    assert client.state is ConnectionState.CLOSED
    assert all(future.done() for future in queued)
    assert [f.exception(0) for f in queued] == [None] * len(queued)  # flushed by the close
