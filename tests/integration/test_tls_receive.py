"""Reading over TLS: a burst of messages far larger than one TLS record (16 KiB) and than one
socket read (64 KiB) arrives whole and in order. After a short read the reader waits on the
socket before reading again; over TLS every read is short (one record), so this checks that
the wait never stalls on bytes the TLS layer already holds."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tests.faults.fixtures import faults, self_signed_cert
from tests.faults.servers import FaultServers, text_frame, tls_context
from wsapi_client import WebSocketClient

__all__ = ["faults", "self_signed_cert"]


def test_a_large_burst_over_tls_arrives_whole_and_in_order(
    faults: FaultServers, self_signed_cert: tuple[Path, Path]
) -> None:
    cert, key = self_signed_cert
    messages = [
        json.dumps({"route": "SendGreeting", "payload": {"greeting": f"{i:03d}" + "x" * 30_000}})
        for i in range(12)
    ]
    burst = b"".join(text_frame(m) for m in messages)  # about 360 KiB in one script
    server = faults.raw(burst, ssl_context=tls_context(cert, key))
    got: list[str] = []
    done = threading.Event()

    def on_greeting(payload: dict[str, str]) -> None:
        got.append(payload["greeting"][:3])
        if len(got) == len(messages):
            done.set()

    client = WebSocketClient(server.url, sslopt={"ca_certs": str(cert)}, keepalive=None)
    client.on("SendGreeting", on_greeting)
    try:
        client.start(timeout=10)
        assert done.wait(10), got
        assert got == [f"{i:03d}" for i in range(len(messages))]
    finally:
        client.close(timeout=5)
