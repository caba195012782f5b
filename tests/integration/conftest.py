"""Fixtures for runtime tests: a local gateway on loopback and clients that always get closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from wsapi_client import Keepalive, ReconnectPolicy, WebSocketClient
from wsapi_client.emulator import LocalGateway
from wsapi_client.spec import ApiSpec, load_spec

SAMPLE = Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json"

FAST_RECONNECT = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, jitter=False)


@pytest.fixture(scope="session")
def sample_spec() -> ApiSpec:
    return load_spec(SAMPLE)


@pytest.fixture
def gateway(sample_spec: ApiSpec) -> Iterator[LocalGateway]:
    """A started emulator with the sample model; SayHello answers with SendGreeting."""
    with LocalGateway(sample_spec) as gw:

        @gw.route("SayHello")
        def hello(connection_id: str, payload: Any) -> None:
            gw.post_to_connection(
                connection_id, "SendGreeting", {"greeting": f"Hello, {payload['name']}!"}
            )

        yield gw


ClientFactory = Callable[..., WebSocketClient]


@pytest.fixture
def make_client(sample_spec: ApiSpec) -> Iterator[ClientFactory]:
    """``make_client(url, **options)``: a connected client, closed at teardown."""
    clients: list[WebSocketClient] = []

    def make(url: str, *, start: bool = True, **options: Any) -> WebSocketClient:
        options.setdefault("spec", sample_spec)
        options.setdefault("reconnect", FAST_RECONNECT)
        options.setdefault("keepalive", Keepalive(interval=30.0, timeout=10.0))
        client = WebSocketClient(url, **options)
        clients.append(client)
        if start:
            client.start(timeout=5.0)
        return client

    yield make
    for client in clients:
        client.disconnect()
