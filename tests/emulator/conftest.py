"""Fixtures for the emulator's tests: gateways that always stop, raw websocket-client sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from tests.emulator.helpers import Connector, GatewayFactory
from wsapi_client.emulator import SAMPLE_API, LocalGateway
from wsapi_client.spec import ApiSpec, load_spec


@pytest.fixture(scope="session")
def sample_spec() -> ApiSpec:
    """The bundled sample model (SayHello, SendGreeting and the PDK notification operations)."""
    return load_spec(SAMPLE_API)


@pytest.fixture
def gateway_factory(sample_spec: ApiSpec) -> Iterator[GatewayFactory]:
    """Start a LocalGateway (the sample model unless told otherwise); every one is stopped."""
    started: list[LocalGateway] = []

    def make(spec: Any = None, **options: Any) -> LocalGateway:
        gateway = LocalGateway(sample_spec if spec is None else spec, **options)
        gateway.start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(gateway_factory: GatewayFactory) -> LocalGateway:
    """A started gateway serving the sample model with default settings."""
    return gateway_factory()


@pytest.fixture
def connect() -> Iterator[Connector]:
    """Open raw websocket-client connections (5 s timeout); all are closed after the test."""
    opened: list[websocket.WebSocket] = []

    def open_connection(url: str, **options: Any) -> websocket.WebSocket:
        options.setdefault("timeout", 5)
        ws = websocket.create_connection(url, **options)
        opened.append(ws)
        return ws

    yield open_connection
    for ws in opened:
        ws.shutdown()
