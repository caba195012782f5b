"""Profile a contender's send or receive hot path with cProfile, against the benchmark server.

    python benchmarks/profile_hot.py send|receive|echo [--contender sdk] [-n 50000] [--top 25]

Send and echo are profiled on the calling thread. Receive is profiled on the client's reader
thread: the profiler is switched on by the listener at the first timed message and off at the
last, so the figures cover the reader loop, decoding and dispatch only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import accel  # noqa: E402, F401 - first: may hide the optional accelerators
import suite  # noqa: E402
from contenders import by_key  # noqa: E402
from servers import BenchServer, Control  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("send", "receive", "echo"))
    parser.add_argument("--contender", default="sdk")
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()

    contender = by_key()[args.contender]
    why = contender.available()
    if why:
        raise SystemExit(why)
    profiler = cProfile.Profile()
    with BenchServer() as server:
        control = Control(server)
        session = f"profile-{args.what}"
        if args.what == "echo":
            control.call(
                "config",
                session=session,
                echo=True,
                echo_route=suite.ECHO_REPLY,
                echo_rename=suite.ECHO_RENAME,
            )
        client = contender.connect(server.session_url(session))
        try:
            if args.what == "send":
                fire = client.sender(suite.SMALL_ROUTE, suite.SMALL_PAYLOAD)
                waiter = control.start("wait_count", session=session, n=args.n)
                profiler.enable()
                for _ in range(args.n):
                    fire()
                profiler.disable()
                control.result(waiter)
            elif args.what == "echo":
                call = client.roundtrip(suite.ECHO_ROUTE, suite.ECHO_PAYLOAD, suite.ECHO_REPLY)
                profiler.enable()
                for _ in range(args.n):
                    call()
                profiler.disable()
            else:
                done = threading.Event()
                seen = [0]

                def listener(payload: object) -> None:
                    seen[0] += 1
                    if seen[0] == 1:
                        profiler.enable()
                    elif seen[0] == args.n:
                        profiler.disable()
                        done.set()

                client.listen(suite.NOTIFY_ROUTE, listener)
                control.call("blast", session=session, n=args.n)
                if not done.wait(120):
                    raise SystemExit(f"only {seen[0]} of {args.n} messages received")
        finally:
            client.close()
            control.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
