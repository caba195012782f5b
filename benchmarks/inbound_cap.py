"""The client's memory under a hostile server, with and without the inbound cap. Not part of CI.

    python benchmarks/inbound_cap.py [--seconds 10]

A server on 127.0.0.1 answers the handshake and then, on every connection, either declares one
frame of 2**40 bytes and streams its payload at full speed (``huge-frame``), or sends 16 KiB
continuation frames without end (``endless-fragments``). The client reconnects each time the
cap closes the connection with 1009. Reported per scenario: the client process's RSS growth
(peak minus before), how many connections the server served, and the ``too_large`` events. With
``max_inbound_message_size=None`` the same streams are cut off by the script at 256 MiB, to
show what the cap prevents.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import socket
import threading
import time

import psutil

from wsapi_client import ConnectionState, ReconnectPolicy, WebSocketClient

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HostileServer:
    """Accepts WebSocket handshakes and floods each connection (bounded in bytes and time)."""

    def __init__(self, scenario: str, limit: int) -> None:
        self.scenario = scenario
        self.limit = limit
        self.served = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = f"ws://127.0.0.1:{self._sock.getsockname()[1]}/hostile"

    def start(self) -> HostileServer:
        thread = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.served += 1
            thread = threading.Thread(target=self._flood, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _flood(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                part = conn.recv(4096)
                if not part:
                    return
                request += part
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            chunk = b"x" * 16384
            if self.scenario == "huge-frame":
                head = bytes([0x81, 127]) + (2**40).to_bytes(8, "big")
                unit = chunk
            else:
                head = bytes([0x01, 126]) + len(chunk).to_bytes(2, "big") + chunk
                unit = bytes([0x00, 126]) + len(chunk).to_bytes(2, "big") + chunk
            sent = 0
            try:
                conn.sendall(head)
                while sent < self.limit and not self._stop.is_set():
                    conn.sendall(unit)
                    sent += len(unit)
            except OSError:
                return


def measure(scenario: str, cap: int | None, seconds: float) -> dict[str, object]:
    process = psutil.Process()
    server = HostileServer(scenario, limit=256 * 2**20).start()
    events: list[str] = []
    client = WebSocketClient(
        server.url,
        max_inbound_message_size=cap,
        reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.05, jitter=False),
        keepalive=None,
    )
    client.on_error(lambda e: events.append(e.kind))
    before = process.memory_info().rss
    peak = before
    try:
        client.start(timeout=10)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)  # sampling interval of a measurement, not synchronisation
    finally:
        client.disconnect()
        server.stop()
    return {
        "scenario": scenario,
        "max_inbound_message_size": cap,
        "rss_growth_mib": round((peak - before) / 2**20, 1),
        "connections": server.served,
        "too_large_events": events.count("too_large"),
        "final_state": client.state.value if client.state else ConnectionState.CLOSED.value,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    results = [
        measure(scenario, cap, args.seconds)
        for scenario in ("huge-frame", "endless-fragments")
        for cap in (128 * 1024, None)
    ]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
