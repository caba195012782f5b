"""Soak: many clients, many minutes, random faults; counts loss, duplicates and reorders.

    python benchmarks/soak.py [--clients 20] [--minutes 10] [--rate 20] [--seed 1]
                              [--rotate 15] [--json out.json]

N clients connect to a local emulator (``LocalGateway``); each sends numbered messages
(``SayHello`` with ``name = "<client>:<thread>:<seq>"``) from 2 threads at ``--rate`` messages
per second per thread, while a chaos thread makes random faults: TCP drops, server closes
(1001, 1011), management deletes, handshake refusals (503) before a close, and the clients
rotate their connections every ``--rotate`` seconds (a scaled-down ``max_connection_age``).

At the end every client is flushed and closed, and each message is classified from what the
gateway's handler saw:

- *acknowledged*: its future succeeded (the message was written to a connection);
- *lost*: acknowledged but never received; *in the window* when it was acknowledged at most
  ``--window`` seconds before that client lost a connection (the at-most-once window of
  docs/reliability.md), *silent* otherwise;
- *duplicate*: received more than once; *reorder*: received after a later message of the same
  thread;
- *failed*: its future failed (counted by exception type; none is expected before the close).

The bookkeeping takes a few bytes per message, so the RSS reported is the SDK's and the
emulator's, not the soak's own.

Every minute it prints messages, reconnects, RSS and thread count (psutil). Exits 1 on any
loss of an acknowledged message (``--allow-window-loss``: only on a silent one), any duplicate
or any reorder; not run in CI.
"""

from __future__ import annotations

import argparse
import array
import collections
import json
import random
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
try:
    import wsapi_client  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(HERE.parent))

import psutil  # noqa: E402 - after the path set-up

from wsapi_client import (  # noqa: E402
    ConnectionState,
    ErrorEvent,
    Keepalive,
    QueuePolicy,
    ReconnectPolicy,
    WebSocketClient,
)
from wsapi_client.emulator import SAMPLE_API, GoneError, LocalGateway  # noqa: E402

THREADS_PER_CLIENT = 2


class Track:
    """One sender thread's messages, one byte (or float) per sequence number, so that the
    soak's own bookkeeping does not grow the RSS it reports (a few bytes per message)."""

    def __init__(self) -> None:
        self.sent = 0
        self.acked = bytearray()
        self.acked_at = array.array("f")  # seconds since the start, for the window test
        self.received = bytearray()  # times received, capped at 255
        self.highest = -1
        self.duplicates = 0
        self.reorders = 0

    def _ensure(self, seq: int) -> None:
        if seq >= len(self.acked):
            grow = max(seq + 1 - len(self.acked), 4096)
            self.acked.extend(bytes(grow))
            self.acked_at.extend([0.0] * grow)
            self.received.extend(bytes(grow))

    def ack(self, seq: int, at: float) -> None:
        self._ensure(seq)
        self.acked[seq] = 1
        self.acked_at[seq] = at

    def receive(self, seq: int) -> Optional[str]:
        """Record one arrival; a description of the reorder if it was one."""
        self._ensure(seq)
        if self.received[seq]:
            self.duplicates += 1
        self.received[seq] = min(255, self.received[seq] + 1)
        reorder = None
        if seq < self.highest:
            self.reorders += 1
            reorder = f"{seq} after {self.highest}"
        self.highest = max(self.highest, seq)
        return reorder


class Ledger:
    """Every sender thread's track, what failed, and what the server saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.began = time.monotonic()
        self.tracks: dict[tuple[str, int], Track] = collections.defaultdict(Track)
        self.failed: collections.Counter[str] = collections.Counter()
        self.received_total = 0
        self.acked_total = 0
        self.reorder_examples: list[str] = []

    def on_server(self, name: str) -> None:
        client, thread, seq = name.split(":")
        with self.lock:
            reorder = self.tracks[(client, int(thread))].receive(int(seq))
            self.received_total += 1
            if reorder and len(self.reorder_examples) < 5:
                self.reorder_examples.append(f"{client}:{thread}: {reorder}")

    def on_sent(self, key: tuple[str, int]) -> None:
        with self.lock:
            self.tracks[key].sent += 1

    def on_done(self, key: tuple[str, int], seq: int, future: Future[None]) -> None:
        error = future.exception()
        with self.lock:
            if error is None:
                self.tracks[key].ack(seq, time.monotonic() - self.began)
                self.acked_total += 1
            else:
                self.failed[type(error).__name__] += 1

    @property
    def sent_total(self) -> int:
        return sum(t.sent for t in self.tracks.values())


def sender(
    client: WebSocketClient,
    thread: int,
    rate: float,
    stop: threading.Event,
    ledger: Ledger,
    rng: random.Random,
) -> None:
    """Send numbered messages until ``stop``; record each future's outcome."""
    key = (client.name, thread)
    seq = 0
    interval = 1.0 / rate
    while not stop.wait(interval * (0.5 + rng.random())):
        try:
            future = client.send("SayHello", {"name": f"{client.name}:{thread}:{seq}"})
        except Exception as exc:  # counted: the queue refused it, or the client closed
            with ledger.lock:
                ledger.failed["send:" + type(exc).__name__] += 1
            continue
        ledger.on_sent(key)
        future.add_done_callback(lambda f, s=seq: ledger.on_done(key, s, f))
        seq += 1


def chaos(
    gateway: LocalGateway,
    stop: threading.Event,
    rng: random.Random,
    counts: collections.Counter[str],
) -> None:
    """Make a random fault every 1-4 s until ``stop``."""
    while not stop.wait(1.0 + 3.0 * rng.random()):
        connections = gateway.connections
        if not connections:
            continue
        victim = rng.choice(connections)
        fault = rng.choice(["close-1001", "close-1011", "delete", "refuse"] * 2 + ["drop-all"])
        try:
            if fault == "drop-all":  # every connection reset at once, no close frame (1006)
                gateway.drop_all()
            elif fault.startswith("close"):
                gateway.close_connection(victim, int(fault.split("-")[1]), "chaos")
            elif fault == "delete":
                gateway.delete_connection(victim)
            else:  # the next handshakes are refused, then one connection is closed
                gateway.refuse_next(rng.randint(1, 3), status=503)
                gateway.close_connection(victim, 1001, "chaos")
        except GoneError:
            continue
        counts[fault] += 1


def watch_losses(
    client: WebSocketClient, losses_at: dict[str, list[tuple[float, Optional[int]]]]
) -> None:
    """Note when ``client`` loses a connection, and the close code it saw: when it goes
    RECONNECTING, and when a connection being replaced by a rotation ends without its closing
    handshake (the client does not reconnect then: the new connection has taken over; an error
    event of kind ``connection`` reports it)."""

    def on_state(state: ConnectionState) -> None:
        if state is ConnectionState.RECONNECTING:
            losses_at[client.name].append((time.monotonic(), client.stats.last_close_code))

    def on_error(event: ErrorEvent) -> None:
        if event.kind == "connection" and "while being replaced" in event.message:
            code = 1006 if "(1006" in event.message else None
            losses_at[client.name].append((time.monotonic(), code))

    client.on_state_change(on_state)
    client.on_error(on_error)


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s per sender thread")
    parser.add_argument("--rotate", type=float, default=15.0, help="client max_connection_age")
    parser.add_argument("--window", type=float, default=2.0, help="at-most-once window, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--allow-window-loss",
        action="store_true",
        help="exit 0 when every lost message was lost in the at-most-once window",
    )
    parser.add_argument("--json", type=Path, help="write the summary here too")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    ledger = Ledger()
    losses_at: dict[str, list[tuple[float, Optional[int]]]] = collections.defaultdict(list)
    faults: collections.Counter[str] = collections.Counter()
    stop_senders, stop_chaos = threading.Event(), threading.Event()

    gateway = LocalGateway(SAMPLE_API, record_messages=False, max_connection_age=4 * args.rotate)
    gateway.route("SayHello", lambda _cid, payload: ledger.on_server(payload["name"]))
    gateway.start()
    clients: list[WebSocketClient] = []
    threads: list[threading.Thread] = []
    start_rss, start_threads = rss_mib(), threading.active_count()
    began = time.monotonic()
    try:
        for i in range(args.clients):
            client = WebSocketClient(
                gateway.url,
                spec=SAMPLE_API,
                name=f"soak{i}",
                reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=1.0),
                queue=QueuePolicy(max_messages=100_000),
                keepalive=Keepalive(interval=5.0, timeout=5.0),
                max_connection_age=args.rotate * (0.8 + 0.4 * rng.random()),
            )
            watch_losses(client, losses_at)
            client.start(timeout=10)
            clients.append(client)
        after_connect_threads = threading.active_count()
        for client in clients:
            for t in range(THREADS_PER_CLIENT):
                thread = threading.Thread(
                    target=sender,
                    args=(client, t, args.rate, stop_senders, ledger, random.Random(rng.random())),
                    name=f"soak-sender-{client.name}-{t}",
                    daemon=True,
                )
                thread.start()
                threads.append(thread)
        chaos_thread = threading.Thread(
            target=chaos, args=(gateway, stop_chaos, rng, faults), name="soak-chaos", daemon=True
        )
        chaos_thread.start()
        running_threads = threading.active_count()  # the baseline of thread growth
        minutes: list[dict[str, Any]] = []
        print(
            f"{args.clients} clients x {THREADS_PER_CLIENT} threads at {args.rate:g} msg/s each, "
            f"{args.minutes:g} min, rotation ~{args.rotate:g} s; baseline RSS "
            f"{start_rss:.1f} MiB, {after_connect_threads} threads connected, "
            f"{running_threads} with the senders"
        )
        print(" min     sent   acked  received  reconnects   RSS MiB  (+MiB)  threads  (+n)")
        deadline = began + 60 * args.minutes
        next_report = began + 60
        while time.monotonic() < deadline:
            time.sleep(max(0.0, min(next_report, deadline) - time.monotonic()))
            with ledger.lock:
                row = {
                    "minute": round((time.monotonic() - began) / 60, 2),
                    "sent": ledger.sent_total,
                    "acked": ledger.acked_total,
                    "received": ledger.received_total,
                }
            row["reconnects"] = sum(c.stats.reconnects for c in clients)
            row["rss_mib"] = round(rss_mib(), 1)
            row["threads"] = threading.active_count()
            previous = minutes[-1] if minutes else {"rss_mib": start_rss, "threads": None}
            row["rss_growth_mib"] = round(row["rss_mib"] - previous["rss_mib"], 1)
            row["thread_growth"] = row["threads"] - (previous["threads"] or running_threads)
            minutes.append(row)
            print(
                f"{row['minute']:4.1f} {row['sent']:8d} {row['acked']:7d} {row['received']:9d} "
                f"{row['reconnects']:11d} {row['rss_mib']:9.1f} {row['rss_growth_mib']:+7.1f} "
                f"{row['threads']:8d} {row['thread_growth']:+5d}",
                flush=True,
            )
            next_report += 60
        stop_chaos.set()
        chaos_thread.join(10)
        stop_senders.set()
        for thread in threads:
            thread.join(10)
        close_errors = 0
        for client in clients:
            try:
                client.flush(timeout=10)
            except Exception:
                close_errors += 1
            client.close(timeout=10)
        # The gateway handles messages on its connection threads: wait until it is quiet.
        last, quiet_since = -1, time.monotonic()
        while (
            time.monotonic() - quiet_since < 1.0
            and time.monotonic() - began < 60 * args.minutes + 60
        ):
            with ledger.lock:
                total = ledger.received_total
            if total != last:
                last, quiet_since = total, time.monotonic()
            time.sleep(0.1)
    finally:
        stop_chaos.set()
        stop_senders.set()
        for client in clients:
            client.disconnect()
        gateway.stop()

    summary = summarise(ledger, losses_at, args.window)
    summary.update(
        {
            "clients": args.clients,
            "threads_per_client": THREADS_PER_CLIENT,
            "minutes": args.minutes,
            "rate_per_thread": args.rate,
            "rotate_s": args.rotate,
            "faults": dict(faults),
            "failed_futures": dict(ledger.failed),
            "flush_errors_at_end": close_errors,
            "per_minute": minutes,
            "rss_start_mib": round(start_rss, 1),
            "threads_start": start_threads,
            "threads_end": threading.active_count(),
            "sdk_threads_left": sorted(
                t.name for t in threading.enumerate() if t.name.startswith("wsapi-")
            ),
        }
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "per_minute"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    lost = summary["lost_silently"] if args.allow_window_loss else summary["lost"]
    bad = lost or summary["duplicates"] or summary["reorders"]
    return 1 if bad else 0


def summarise(
    ledger: Ledger, losses_at: dict[str, list[tuple[float, Optional[int]]]], window: float
) -> dict[str, Any]:
    """Loss (in the window, by the close code of the connection loss that followed it, or
    silent), duplicates and reorders, summed over sender threads."""
    lost = lost_in_window = 0
    by_close: collections.Counter[str] = collections.Counter()
    for (client, _thread), track in ledger.tracks.items():
        losses = [(at - ledger.began, code) for at, code in losses_at.get(client, [])]
        for seq, acked in enumerate(track.acked):
            if not acked or track.received[seq]:
                continue
            lost += 1
            at = track.acked_at[seq]
            after = [(loss, code) for loss, code in losses if 0 <= loss - at <= window]
            if after:
                lost_in_window += 1
                by_close[str(min(after)[1])] += 1
    return {
        "sent": ledger.sent_total,
        "acked": ledger.acked_total,
        "received": ledger.received_total,
        "lost": lost,
        "lost_in_window": lost_in_window,
        "lost_silently": lost - lost_in_window,
        "lost_by_close_code": dict(by_close),
        "duplicates": sum(t.duplicates for t in ledger.tracks.values()),
        "reorders": sum(t.reorders for t in ledger.tracks.values()),
        "reorder_examples": ledger.reorder_examples,
        "connection_losses": sum(len(v) for v in losses_at.values()),
    }


if __name__ == "__main__":
    sys.exit(main())
