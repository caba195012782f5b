"""Expectation: one registration, settled once by a match or a cancel, read any number of times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest

from wsapi_client import Keepalive, WebSocketClient
from wsapi_client.emulator import LocalGateway
from wsapi_client.spec import load_spec

SAMPLE = Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json"


@pytest.fixture
def setup() -> Iterator[tuple[LocalGateway, WebSocketClient]]:
    spec = load_spec(SAMPLE)
    with LocalGateway(spec) as gw:

        @gw.route("SayHello")
        def hello(connection_id: str, payload: Any) -> None:
            gw.post_to_connection(connection_id, "SendGreeting", {"greeting": payload["name"]})

        client = WebSocketClient.connect(
            gw.url, spec=spec, keepalive=Keepalive(interval=30.0, timeout=10.0), timeout=5
        )
        try:
            yield gw, client
        finally:
            client.disconnect()


def listeners(client: WebSocketClient, route: str) -> int:
    return client._registry.count(route)


def test_a_match_is_read_any_number_of_times_and_unregisters(
    setup: tuple[LocalGateway, WebSocketClient],
) -> None:
    _gw, client = setup
    with client.expect("SendGreeting") as reply:
        assert not reply.done()
        client.send("SayHello", {"name": "a"})
    assert reply.result(5) == {"greeting": "a"}
    assert reply.done()
    assert reply.result(0) == {"greeting": "a"}
    assert listeners(client, "SendGreeting") == 0
    reply.cancel()  # too late: still the match
    assert reply.result() == {"greeting": "a"}


def test_cancel_then_result_raises_cancelled(setup: tuple[LocalGateway, WebSocketClient]) -> None:
    _gw, client = setup
    reply = client.expect("SendGreeting")
    reply.cancel()
    assert reply.done()
    assert listeners(client, "SendGreeting") == 0
    client.send("SayHello", {"name": "late"}).result(5)
    with pytest.raises(CancelledError):
        reply.result(5)


def test_timeout_is_the_builtin_error_and_unregisters(
    setup: tuple[LocalGateway, WebSocketClient],
) -> None:
    _gw, client = setup
    reply = client.expect("SendGreeting", where=lambda p: p["greeting"] == "never")
    client.send("SayHello", {"name": "other"})
    with pytest.raises(TimeoutError, match=r"no SendGreeting message within 0\.05 s"):
        reply.result(0.05)
    assert listeners(client, "SendGreeting") == 0


def test_a_match_racing_a_cancel_has_one_outcome(
    setup: tuple[LocalGateway, WebSocketClient],
) -> None:
    _gw, client = setup
    for i in range(50):
        reply = client.expect("SendGreeting", where=lambda p, i=i: p["greeting"] == str(i))
        start = threading.Barrier(2)

        def cancel(reply: Any = reply, start: threading.Barrier = start) -> None:
            start.wait()
            reply.cancel()

        thread = threading.Thread(target=cancel)
        thread.start()
        start.wait()
        client.send("SayHello", {"name": str(i)})
        thread.join()
        try:
            outcome: Any = reply.result(5)
        except CancelledError:
            outcome = "cancelled"
        assert outcome in ({"greeting": str(i)}, "cancelled")
        assert reply.done()
        assert listeners(client, "SendGreeting") == 0
