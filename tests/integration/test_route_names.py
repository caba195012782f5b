"""Which route names a dynamic client with a model accepts for `send`, `on` and `expect`: the
route key, the TypeScript client's name and the operationId, so that code ported from the
TypeScript client works; anything else, and listening for a route the server never sends, is
refused with a ValidationError that names the routes it could have been. Over the emulator."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from wsapi_client import ValidationError, WebSocketClient
from wsapi_client.emulator import LocalGateway

ClientFactory = Callable[..., WebSocketClient]

INBOUND = "SendGreeting, SendNotification"


@pytest.mark.parametrize("name", ["SendGreeting", "sendGreeting"])
def test_a_listener_by_route_key_or_typescript_name_gets_the_message(
    gateway: LocalGateway, make_client: ClientFactory, name: str
) -> None:
    client = make_client(gateway.url)
    got: list[Any] = []
    arrived = threading.Event()
    client.on(name, lambda payload: (got.append(payload), arrived.set()))
    client.send("sayHello", {"name": "ts"})  # the TypeScript client's name for SayHello
    assert arrived.wait(5)
    assert got == [{"greeting": "Hello, ts!"}]
    assert [m.route for m in gateway.wait_for_messages(1)] == ["SayHello"]


def test_on_is_a_decorator_that_returns_the_function(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    arrived = threading.Event()

    @client.on("SendGreeting")
    def greeted(payload: Any) -> None:
        arrived.set()

    assert callable(greeted)
    assert greeted.__name__ == "greeted"
    client.send("SayHello", {"name": "decorated"})
    assert arrived.wait(5)


@pytest.mark.parametrize(
    ("route", "what"),
    [("NoSuchRoute", "unknown route"), ("SayHello", "client_to_server")],
)
def test_listening_for_a_route_the_server_never_sends_is_refused(
    gateway: LocalGateway, make_client: ClientFactory, route: str, what: str
) -> None:
    client = make_client(gateway.url)
    for attempt in (
        lambda: client.on(route, print),
        lambda: client.on(route),
        lambda: client.expect(route),
        lambda: client.wait_for(route, timeout=0.1),
    ):
        with pytest.raises(ValidationError, match=what) as info:
            attempt()
        assert INBOUND in str(info.value)


def test_sending_an_unknown_route_is_refused(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url)
    with pytest.raises(ValidationError, match="unknown route 'NoSuchRoute'"):
        client.send("NoSuchRoute", {})
    client.send("SayHello", {"name": "after"})  # had the refused one gone out, it came first
    assert [m.route for m in gateway.wait_for_messages(1)] == ["SayHello"]
    assert gateway.rejected == []  # nor was it answered Forbidden before it


def test_without_a_model_any_route_is_taken_as_given(
    gateway: LocalGateway, make_client: ClientFactory
) -> None:
    client = make_client(gateway.url, spec=None)
    arrived = threading.Event()
    client.on("SendGreeting", lambda payload: arrived.set())
    client.on("AnythingAtAll", print)  # nothing to check it against
    client.send("SayHello", {"name": "raw"})
    assert arrived.wait(5)
