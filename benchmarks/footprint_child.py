"""Footprint of N idle connected clients, measured in a fresh interpreter (run by suite.footprint).

Usage: footprint_child.py CONTENDER COUNT URL. One client is connected and closed first, so
imports and one-time set-up are in the baseline; then COUNT clients are connected, each with a
listener (so each can receive), and the growth in threads, RSS and open fds is divided by COUNT.
Prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import sys
import time

import accel  # noqa: F401 - first: may hide the optional accelerators
import psutil
from contenders import by_key


def snapshot(process: psutil.Process) -> tuple[int, int, int]:
    gc.collect()
    return process.num_threads(), process.memory_info().rss, process.num_fds()


def main() -> None:
    key, count, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    contender = by_key()[key]
    process = psutil.Process()

    def ignore(payload: object) -> None:
        pass

    warm = contender.connect(url)
    warm.listen("SendNotification", ignore)
    warm.close()
    threads0, rss0, fds0 = snapshot(process)

    clients = []
    for _ in range(count):
        client = contender.connect(url)
        client.listen("SendNotification", ignore)
        clients.append(client)
    # Let every reader reach its blocking read: an idle client, not one still starting up.
    time.sleep(0.3)
    threads1, rss1, fds1 = snapshot(process)
    figures = {
        "threads": (threads1 - threads0) / count,
        "rss_kib": (rss1 - rss0) / count / 1024,
        "fds": (fds1 - fds0) / count,
    }
    for client in clients:
        client.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
