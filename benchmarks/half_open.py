"""How long the client takes to notice a dead link with its default keepalive, and what the
sends in that window report. Not part of CI (it takes about a minute).

    sudo python benchmarks/half_open.py [--idle]   # Linux, root: its own network namespace

A dead link (a cable pulled, a NAT entry gone) cannot be made on a shared loopback without
disturbing everything else, so the script re-runs itself inside a new network namespace
(``unshare --net``), brings that namespace's loopback up, runs the emulator and a client with
the default ``Keepalive()`` there, and then drops every packet on that loopback (``tc netem
loss 100%``, or the device taken down where the kernel has no netem): both ends stay up,
nothing gets through, no FIN or RST is ever seen, exactly the half-open case. It reports when
the client declared the connection dead and by which mechanism, and how many sends made during
the outage reported success although nothing got through (the at-most-once window; see
docs/reliability.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "wsapi_client" / "emulator" / "sample_api.json"


def _cut_link() -> None:
    """Drop every packet on this namespace's loopback: netem when the kernel has it, else take
    the device down (routes to 127.0.0.1 go away; still no FIN or RST reaches either end)."""
    netem = ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "100%"]
    if subprocess.run(netem, check=False, capture_output=True).returncode != 0:
        subprocess.run(["ip", "link", "set", "lo", "down"], check=True)


def _restore_link() -> None:
    subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=False, capture_output=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=False)


def _inside(args: argparse.Namespace) -> dict[str, object]:
    from wsapi_client import ConnectionState, Keepalive, ReconnectPolicy, WebSocketClient
    from wsapi_client.emulator import LocalGateway

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    events: list[tuple[float, str]] = []
    lost = threading.Event()
    with LocalGateway(str(SPEC), port=0) as gw:
        keepalive = (
            Keepalive()
            if args.interval is None
            else Keepalive(interval=args.interval, timeout=args.timeout)
        )
        client = WebSocketClient.connect(
            gw.url,
            spec=str(SPEC),
            keepalive=keepalive,
            reconnect=ReconnectPolicy(initial_delay=60.0, jitter=False),
        )

        def on_state(state: ConnectionState) -> None:
            events.append((time.monotonic(), f"state {state.value}"))
            if state is ConnectionState.RECONNECTING:
                lost.set()

        client.on_state_change(on_state)
        client.on_error(lambda e: events.append((time.monotonic(), f"error {e.message}")))
        client.send("SayHello", {"name": "before"}).result(5)
        gw.wait_until(lambda: len(gw.received) >= 1, timeout=5)
        time.sleep(args.settle)  # let the last ACKs arrive: nothing unacknowledged at the cut
        _cut_link()
        cut = time.monotonic()
        futures = []
        while not lost.wait(1.0) and time.monotonic() - cut < args.limit:
            if not args.idle:
                futures.append(client.send("SayHello", {"name": "during"}))
        detected = time.monotonic() - cut if lost.is_set() else None
        succeeded = sum(1 for f in futures if f.done() and f.exception() is None)
        _restore_link()
        client.disconnect()
    return {
        "mode": "idle" if args.idle else "one send a second",
        "keepalive": {"interval": keepalive.interval, "timeout": keepalive.timeout},
        "detected_after_s": None if detected is None else round(detected, 1),
        "sends_during_outage": len(futures),
        "reported_written_but_lost": succeeded,
        "events": [(round(t - cut, 1), what) for t, what in events if t >= cut],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, help="keepalive interval (default: Keepalive())")
    parser.add_argument("--timeout", type=float, default=20.0, help="keepalive timeout")
    parser.add_argument("--limit", type=float, default=180.0, help="give up after this long")
    parser.add_argument(
        "--idle", action="store_true", help="send nothing during the outage (keepalive alone)"
    )
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds between the last send and the cut"
    )
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(_inside(args), indent=2))
        return 0
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("tc"):
        print("needs Linux, root, unshare and tc (iproute2)", file=sys.stderr)
        return 2
    command = ["unshare", "--net", sys.executable, __file__, "--inside", *sys.argv[1:]]
    env = dict(os.environ, no_proxy="127.0.0.1,localhost,::1")
    return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
