"""How fast the benchmark server itself counts and sends, measured with a minimal raw-socket client.

The client side here does almost nothing per message (pre-built frames written in 1 MiB chunks;
received bytes counted, not parsed), so the rates are the server's ceiling. They are printed with
the results to show that the server is not what limits the contenders.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from typing import Any

from servers import BenchServer, Control


def _small(route: str, i: int) -> bytes:
    return (
        f'{{"route":"{route}","payload":{{"topic":"bench","title":"t","message":"m{i}"}}}}'.encode()
    )


def _frame(payload: bytes, masked: bool) -> bytes:
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    head = (
        bytes([0x81, mask_bit | n])
        if n < 126
        else bytes([0x81, mask_bit | 126]) + n.to_bytes(2, "big")
    )
    # A zero masking key leaves the payload as it is: valid framing, no XOR needed here.
    return head + (b"\0\0\0\0" if masked else b"") + payload


def _open(server: BenchServer, session: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /bench/{session} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed during the handshake")
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"handshake refused: {response[:40]!r}")
    return sock


def count_rate(server: BenchServer, control: Control, n: int) -> float:
    """Messages per second that the server receives and counts."""
    session = f"cap-count-{os.getpid()}"
    sock = _open(server, session)
    frames = b"".join(_frame(_small("SayHello", i), masked=True) for i in range(n))
    waiter = control.start("wait_count", session=session, n=n)
    start = time.monotonic()
    view = memoryview(frames)
    for at in range(0, len(frames), 1 << 20):
        sock.sendall(view[at : at + (1 << 20)])
    reached = control.result(waiter)["t_reached"]
    sock.close()
    control.call("forget", session=session)
    return n / (reached - start)


def send_floor_rate(server: BenchServer, control: Control, n: int) -> float:
    """One pre-built masked frame per ``send()`` call: the ceiling of any plain send loop that
    writes each message as it is sent (no Python work per message but the call itself)."""
    session = f"cap-floor-{os.getpid()}"
    sock = _open(server, session)
    frame = _frame(_small("SayHello", 0), masked=True)
    send = sock.send
    waiter = control.start("wait_count", session=session, n=n)
    start = time.monotonic()
    for _ in range(n):
        send(frame)
    reached = control.result(waiter)["t_reached"]
    sock.close()
    control.call("forget", session=session)
    return n / (reached - start)


def blast_rate(server: BenchServer, control: Control, n: int) -> float:
    """Messages per second that the server writes to one connection."""
    session = f"cap-blast-{os.getpid()}"
    sock = _open(server, session)
    expected = sum(len(_frame(_small("SendNotification", i), masked=False)) for i in range(n))
    start = time.monotonic()
    control.start("blast", session=session, n=n)
    got = 0
    buf = bytearray(1 << 20)
    while got < expected:
        got += sock.recv_into(buf)
    elapsed = time.monotonic() - start
    sock.close()
    control.call("forget", session=session)
    return n / elapsed


def measure(server: BenchServer, control: Control, n: int) -> dict[str, Any]:
    return {
        "count_msg_s": count_rate(server, control, n),
        "blast_msg_s": blast_rate(server, control, n),
        "send_floor_msg_s": send_floor_rate(server, control, max(1, n // 4)),
    }


if __name__ == "__main__":
    import sys

    kind = sys.argv[1] if len(sys.argv) > 1 else "auto"
    with BenchServer(kind) as srv:
        ctl = Control(srv)
        for _ in range(3):
            print(srv.description, {k: round(v) for k, v in measure(srv, ctl, 200_000).items()})
        ctl.close()
