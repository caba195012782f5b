"""The benchmarks: each runs one contender once against the server and returns its figures.

Every function takes ``(contender, env)`` and returns a dict of metric name -> value, or ``None``
when the contender cannot do that benchmark (for example batching in a library without it).
Throughput ends are taken from the server's own clock when it is the harness's clock (see
servers.clock_shared), so "sent" means "counted by the server", not "handed to the kernel".
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from contenders import Contender, Resilient
from servers import BenchServer, Control, ServerError, clock_shared

HERE = Path(__file__).resolve().parent

SMALL_ROUTE, SMALL_PAYLOAD = "SayHello", {"name": "bench"}
ECHO_ROUTE, ECHO_REPLY = "SayHello", "SendGreeting"
ECHO_PAYLOAD = {"name": "ping"}
ECHO_RENAME = {"name": "greeting"}  # the server replies SendGreeting {"greeting": "ping"}
NOTIFY_ROUTE = "SendNotification"
LARGE_SIZE = 100 * 1024
LARGE_FRAGMENT = 32 * 1024  # API Gateway's frame size: the server fragments large replies like it


@dataclass
class Config:
    send_n: int
    recv_n: int
    echo_n: int
    large_n: int
    reconnect_trials: int
    outage_n: int
    footprint_counts: tuple[int, ...]
    repeat: int
    batch_size: int = 100
    burst_size: int = 10
    burst_trials: int = 50
    send_threads: int = 4
    reconnect_delay: float = 0.1
    outage_delay: float = 0.02
    capacity_n: int = 0


PROFILES: dict[str, Config] = {
    "full": Config(100_000, 100_000, 10_000, 500, 5, 1000, (1, 50, 200), 3, capacity_n=200_000),
    "quick": Config(30_000, 30_000, 2_000, 150, 3, 1000, (1, 50, 200), 3, capacity_n=100_000),
    "smoke": Config(300, 300, 30, 4, 1, 50, (1, 3), 1, capacity_n=2_000, burst_trials=3),
}


@dataclass
class Env:
    server: BenchServer
    control: Control
    config: Config
    shared_clock: bool = field(default_factory=clock_shared)

    def session(self, label: str) -> str:
        return f"{label}-{uuid.uuid4().hex[:10]}"

    def server_time(self, answer: dict[str, Any], key: str) -> float:
        """A server timestamp on the harness's clock (or the harness's own clock if not shared)."""
        return float(answer[key]) if self.shared_clock else time.monotonic()


class Counter:
    """A listener that counts payloads and notes the time of the ``target``-th one."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.reached_at = 0.0
        self.done = threading.Event()

    def arm(self, target: int) -> None:
        self.count, self.target, self.reached_at = 0, target, 0.0
        self.done.clear()

    def __call__(self, payload: Any) -> None:
        self.count += 1
        if self.count == self.target:
            self.reached_at = time.monotonic()
            self.done.set()


def _with_client(
    contender: Contender,
    env: Env,
    label: str,
    body: Callable[[Any, str], Optional[dict[str, Any]]],
    **server_config: Any,
) -> Optional[dict[str, Any]]:
    session = env.session(label)
    if server_config:
        env.control.call("config", session=session, **server_config)
    client = contender.connect(env.server.session_url(session))
    try:
        return body(client, session)
    finally:
        client.close()
        env.control.call("forget", session=session)


def _timed_sends(
    env: Env,
    session: str,
    fire: Callable[[], Any],
    calls: int,
    per_call: int,
    burst: Optional[Callable[[int], None]] = None,
) -> dict[str, Any]:
    """Warm up, then time ``calls`` calls of ``fire`` until the server has counted them all.

    ``burst(calls)``, when given, replaces the plain loop (each call then sends ``per_call``).
    """
    run = burst or (lambda count: _loop(fire, count))
    warm = max(1, calls // 10)
    waiter = env.control.start("wait_count", session=session, n=warm * per_call)
    run(warm)
    env.control.result(waiter)
    env.control.call("reset", session=session)
    total = calls * per_call
    waiter = env.control.start("wait_count", session=session, n=total)
    start = time.monotonic()
    run(calls)
    returned = time.monotonic()
    answer = env.control.result(waiter)
    end = env.server_time(answer, "t_reached")
    return {
        "msg_s": total / (end - start),
        "loop_msg_s": total / (returned - start),
        "count": answer["count"],
    }


def _loop(fire: Callable[[], Any], calls: int) -> None:
    for _ in range(calls):
        fire()


def send_plain(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    def body(client: Any, session: str) -> dict[str, Any]:
        return _timed_sends(
            env, session, client.sender(SMALL_ROUTE, SMALL_PAYLOAD), env.config.send_n, 1
        )

    return _with_client(contender, env, "send", body)


def send_threads(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    """Several threads sending at once: where a backlog can be written several frames per call."""
    threads = env.config.send_threads

    def body(client: Any, session: str) -> dict[str, Any]:
        fire = client.sender(SMALL_ROUTE, SMALL_PAYLOAD)
        per_thread = max(1, env.config.send_n // threads)

        def burst(calls: int) -> None:
            gate = threading.Barrier(threads + 1)

            def loop() -> None:
                gate.wait()
                for _ in range(calls):
                    fire()

            workers = [
                threading.Thread(target=loop, name=f"bench-sender-{i}") for i in range(threads)
            ]
            for worker in workers:
                worker.start()
            gate.wait()
            for worker in workers:
                worker.join()

        # Each of `threads` threads makes `calls` sends: per_call counts the threads.
        return _timed_sends(env, session, fire, per_thread, threads, burst=burst)

    return _with_client(contender, env, "threads", body)


def send_batch(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    size = env.config.batch_size

    def body(client: Any, session: str) -> Optional[dict[str, Any]]:
        fire = client.batch_sender(SMALL_ROUTE, SMALL_PAYLOAD, size)
        if fire is None:
            return None
        return _timed_sends(env, session, fire, max(1, env.config.send_n // size), size)

    return _with_client(contender, env, "batch", body)


def send_burst_latency(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    """How long the last message of a short burst waits before the server reads it.

    The SDK writes the first message of a burst at once and may hold the next ones back to
    write them together; what is left when the burst ends is written by the supervisor. Each
    trial sends ``burst_size`` messages from a plain loop, notes the time the last ``send`` was
    called, and takes the server's clock when it counted that message. "idle": the sending
    thread then waits (on the server's answer, as a thread usually waits for something);
    "busy": it then computes in pure Python for 20 ms without releasing the interpreter lock,
    the worst case (the supervisor must wait for the interpreter's switch interval).
    """
    size = env.config.burst_size

    def body(client: Any, session: str) -> dict[str, Any]:
        fire = client.sender(SMALL_ROUTE, SMALL_PAYLOAD)
        result: dict[str, Any] = {}
        for mode in ("idle", "busy"):
            samples = []
            for trial in range(env.config.burst_trials + 3):
                env.control.call("reset", session=session)
                waiter = env.control.start("wait_count", session=session, n=size)
                for _ in range(size - 1):
                    fire()
                last = time.monotonic()
                fire()
                if mode == "busy":
                    _spin(0.02)
                answer = env.control.result(waiter)
                if trial >= 3:  # warm-up
                    samples.append(env.server_time(answer, "t_reached") - last)
            samples.sort()
            result[f"{mode}_p50_us"] = 1e6 * statistics.median(samples)
            result[f"{mode}_max_us"] = 1e6 * samples[-1]
        return result

    return _with_client(contender, env, "burst", body)


def _spin(seconds: float) -> None:
    """Busy pure-Python work that never releases the interpreter lock by itself."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _timed_blast(env: Env, session: str, counter: Counter, n: int, **blast: Any) -> dict[str, Any]:
    warm = max(1, n // 10)
    counter.arm(warm)
    env.control.call("blast", session=session, n=warm, **blast)
    if not counter.done.wait(60):
        raise TimeoutError(f"warm-up: {counter.count} of {warm} messages received")
    counter.arm(n)
    start = time.monotonic()
    waiter = env.control.start("blast", session=session, n=n, **blast)
    if not counter.done.wait(120):
        raise TimeoutError(f"{counter.count} of {n} messages received")
    env.control.result(waiter)
    return {"msg_s": n / (counter.reached_at - start)}


def receive(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    def body(client: Any, session: str) -> dict[str, Any]:
        counter = Counter()
        client.listen(NOTIFY_ROUTE, counter)
        return _timed_blast(env, session, counter, env.config.recv_n)

    return _with_client(contender, env, "recv", body)


def echo(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    def body(client: Any, session: str) -> dict[str, Any]:
        result = _latencies(
            client.roundtrip(ECHO_ROUTE, ECHO_PAYLOAD, ECHO_REPLY), env.config.echo_n
        )
        threaded = client.threaded_roundtrip(ECHO_ROUTE, ECHO_PAYLOAD, ECHO_REPLY)
        if threaded is not None:
            more = _latencies(threaded, env.config.echo_n)
            result.update(threaded_p50_us=more["p50_us"], threaded_p99_us=more["p99_us"])
        return result

    return _with_client(
        contender, env, "echo", body, echo=True, echo_route=ECHO_REPLY, echo_rename=ECHO_RENAME
    )


def _latencies(call: Callable[[], Any], n: int) -> dict[str, float]:
    for _ in range(max(1, n // 10)):
        call()
    clock = time.perf_counter
    times = []
    for _ in range(n):
        start = clock()
        call()
        times.append(clock() - start)
    times.sort()
    return {
        "p50_us": 1e6 * statistics.median(times),
        "p99_us": 1e6 * times[int(0.99 * (len(times) - 1))],
    }


def _large_payload() -> dict[str, str]:
    fixed = len(json.dumps({"route": SMALL_ROUTE, "payload": {"name": ""}}, separators=(",", ":")))
    return {"name": "x" * (LARGE_SIZE - fixed)}


def large_send(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    def body(client: Any, session: str) -> dict[str, Any]:
        result = _timed_sends(
            env, session, client.sender(SMALL_ROUTE, _large_payload()), env.config.large_n, 1
        )
        result["mib_s"] = result["msg_s"] * LARGE_SIZE / 2**20
        return result

    return _with_client(contender, env, "large-send", body)


def large_receive(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    def body(client: Any, session: str) -> dict[str, Any]:
        counter = Counter()
        client.listen(ECHO_REPLY, counter)
        result = _timed_blast(
            env,
            session,
            counter,
            env.config.large_n,
            route=ECHO_REPLY,
            size=LARGE_SIZE,
            fragment=LARGE_FRAGMENT,
        )
        result["mib_s"] = result["msg_s"] * LARGE_SIZE / 2**20
        return result

    return _with_client(contender, env, "large-recv", body)


def _settle(env: Env, session: str, conn: Resilient) -> None:
    """Wait until a message sent now has been counted, then zero the count."""
    before = env.control.call("count", session=session)["count"]
    waiter = env.control.start("wait_count", session=session, n=before + 1)
    conn.send(SMALL_ROUTE, {"name": "settle"})
    env.control.result(waiter, timeout=10)
    env.control.call("reset", session=session)


def reconnect_first(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    """Server drop -> the first message sent on the new connection, as counted by the server."""
    session = env.session("reconnect")
    delay = env.config.reconnect_delay
    conn = contender.resilient(
        env.server.session_url(session), delay, lambda c: c.send(SMALL_ROUTE, {"name": "hello"})
    )
    try:
        _settle(env, session, conn)
        samples = []
        for _ in range(env.config.reconnect_trials):
            env.control.call("reset", session=session)
            waiter = env.control.start("wait_count", session=session, n=1)
            dropped = env.control.call("drop", session=session)
            answer = env.control.result(waiter, timeout=10)
            samples.append(float(answer["t_reached"]) - float(dropped["t_drop"]))
            _settle(env, session, conn)
        ms = 1e3 * statistics.median(samples)
        return {"ms": ms, "over_backoff_ms": ms - 1e3 * delay, "backoff_ms": 1e3 * delay}
    finally:
        conn.close()
        env.control.call("forget", session=session)


def outage_flush(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    """Messages sent during an outage: new connection accepted -> the last of them counted."""
    session = env.session("outage")
    n = env.config.outage_n
    conn = contender.resilient(
        env.server.session_url(session), env.config.outage_delay, lambda c: None
    )
    try:
        _settle(env, session, conn)
        env.control.call("outage", session=session, on=True)
        env.control.call("drop", session=session)
        if not conn.wait_down(10):
            raise TimeoutError("the client did not notice the drop within 10 s")
        for i in range(n):
            conn.send(SMALL_ROUTE, {"name": f"queued-{i}"})
        env.control.call("reset", session=session)
        accepted = env.control.start("wait_accept", session=session)
        counted = env.control.start("wait_count", session=session, n=n)
        env.control.call("outage", session=session, on=False)
        t_accept = float(env.control.result(accepted, timeout=10)["t_accept"])
        answer = env.control.result(counted, timeout=30)
        return {"ms": 1e3 * (float(answer["t_reached"]) - t_accept), "count": answer["count"]}
    finally:
        conn.close()
        env.control.call("forget", session=session)


def footprint(contender: Contender, env: Env) -> Optional[dict[str, Any]]:
    """Threads, RSS and fds per idle connected client, each count in a fresh interpreter."""
    result: dict[str, Any] = {}
    for count in env.config.footprint_counts:
        session = env.session("idle")
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(HERE.parent), child_env.get("PYTHONPATH")])
        )
        done = subprocess.run(
            [
                sys.executable,
                str(HERE / "footprint_child.py"),
                contender.key,
                str(count),
                env.server.session_url(session),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            env=child_env,
            check=False,
        )
        env.control.call("forget", session=session)
        if done.returncode != 0:
            raise RuntimeError(
                f"footprint child ({count} clients) failed: {done.stderr.strip()[-500:]}"
            )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        for key, value in figures.items():
            result[f"{key}@{count}"] = value
    return result


BENCHMARKS: dict[str, Callable[[Contender, Env], Optional[dict[str, Any]]]] = {
    "send": send_plain,
    "send_batch": send_batch,
    "send_threads": send_threads,
    "receive": receive,
    "echo": echo,
    "reconnect_first": reconnect_first,
    "outage_flush": outage_flush,
    "footprint": footprint,
    "large_send": large_send,
    "large_receive": large_receive,
}

OPTIONAL: dict[str, Callable[[Contender, Env], Optional[dict[str, Any]]]] = {
    "send_burst": send_burst_latency,
}
"""Run only when named with ``--only`` (they measure a trade-off rather than a target)."""

ALL = {**BENCHMARKS, **OPTIONAL}

REPEATED_ONCE = {"footprint"}
"""Deterministic enough to measure once per run (and each count costs a fresh interpreter)."""

__all__ = [
    "ALL",
    "BENCHMARKS",
    "OPTIONAL",
    "PROFILES",
    "REPEATED_ONCE",
    "Config",
    "Env",
    "ServerError",
]
