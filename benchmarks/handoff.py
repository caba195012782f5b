"""What handing a reply from one thread to another costs on this machine.

    python benchmarks/handoff.py [--rounds 4000] [--repeat 3]

The SDK's echo round trip differs from raw websocket-client's by one hand-off: the reader
thread reads the reply and wakes the caller, where raw websocket-client's caller reads it
itself. This measures that hand-off without any WebSocket code, against an echo process on
the other end of a socket pair:

- ``same thread``: send, then block in ``recv`` (what raw websocket-client does);
- ``reader thread``: send, then block on a lock that a reader thread releases when the reply
  arrives (what the SDK does);
- ``wake``: in the second case, from the reader's release to the caller running again.

On virtual machines whose idle CPUs halt (Linux ``cpuidle`` with ``guest_halt_poll_ns`` 0),
waking a thread on the other CPU is an inter-processor interrupt through the hypervisor, and
the wake alone takes 20-25 us; on the same CPU it takes 4-5 us. Which one a run gets is the
scheduler's choice, so the repeats differ. Printed with the machine's idle settings.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import threading
import time
from pathlib import Path

_IDLE_FILES = (
    "/sys/devices/system/cpu/cpuidle/current_driver",
    "/sys/module/haltpoll/parameters/guest_halt_poll_ns",
)


def _echo_process(sock: socket.socket, other_end: socket.socket) -> int:
    """Fork a process that echoes everything it reads on ``sock``; returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: echo until the parent closes its end
        other_end.close()  # or the pair would stay open after the parent closes it
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                sock.sendall(data)
        finally:
            os._exit(0)
    return pid


def same_thread(sock: socket.socket, rounds: int) -> float:
    """Median round trip (us) when the sending thread reads the reply itself."""
    clock = time.perf_counter_ns
    times = []
    for _ in range(rounds):
        start = clock()
        sock.send(b"x")
        sock.recv(4096)
        times.append(clock() - start)
    return statistics.median(times) / 1000


def reader_thread(sock: socket.socket, rounds: int) -> tuple[float, float]:
    """Median round trip and median wake (us) when a reader thread hands the reply over."""
    clock = time.perf_counter_ns
    ready = threading.Lock()
    ready.acquire()
    released = [0]

    def read() -> None:
        for _ in range(rounds):
            sock.recv(4096)
            released[0] = clock()
            ready.release()

    reader = threading.Thread(target=read, name="handoff-reader", daemon=True)
    reader.start()
    times, wakes = [], []
    for _ in range(rounds):
        start = clock()
        sock.send(b"x")
        if not ready.acquire(timeout=30):
            raise RuntimeError("the reader thread did not hand a reply over within 30 s")
        end = clock()
        times.append(end - start)
        wakes.append(end - released[0])
    reader.join(5)
    return statistics.median(times) / 1000, statistics.median(wakes) / 1000


def machine() -> str:
    settings = []
    for name in _IDLE_FILES:
        path = Path(name)
        value = path.read_text().strip() if path.exists() else "n/a"
        settings.append(f"{path.name}={value}")
    return f"{os.cpu_count()} CPUs; " + ", ".join(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4000, help="round trips per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of each measurement")
    args = parser.parse_args()
    if not hasattr(os, "fork"):
        raise SystemExit("handoff.py needs os.fork (POSIX)")
    ours, theirs = socket.socketpair()
    pid = _echo_process(theirs, ours)
    theirs.close()
    ours.settimeout(30)  # as the SDK and websocket-client leave their sockets
    print(machine())
    print(f"{'repeat':>6} {'same thread':>12} {'reader thread':>14} {'wake':>8}   (us, medians)")
    try:
        for n in range(1, args.repeat + 1):
            alone = same_thread(ours, args.rounds)
            handed, wake = reader_thread(ours, args.rounds)
            print(f"{n:>6} {alone:>12.1f} {handed:>14.1f} {wake:>8.1f}")
    finally:
        ours.close()
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
