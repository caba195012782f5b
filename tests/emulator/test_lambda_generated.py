"""The whole local stack as a team runs it: its Lambda code, its generated client, the emulator."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.emulator.lambda_app import chat
from wsapi_client import AuthError, CustomAuth, ErrorEvent
from wsapi_client.codegen import generate
from wsapi_client.emulator import SAMPLE_API, LocalGateway, lambda_gateway
from wsapi_client.spec import ApiSpec

PACKAGE = "gen_emulator_sample"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The sample model's generated client package, importable for this module's tests."""
    folder: Path = tmp_path_factory.mktemp("generated")
    generate(SAMPLE_API, folder, package=PACKAGE)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def stack(sample_spec: ApiSpec, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalGateway]:
    """The chat handlers and the token authorizer behind a started gateway."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLAMBDA")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    chat.reset()
    gateway = lambda_gateway(
        sample_spec,
        handlers="tests.emulator.lambda_app.chat",
        authorizer="tests.emulator.lambda_app.auth:handler",
        identity_sources=["route.request.querystring.token"],
    ).start()
    try:
        yield gateway
    finally:
        gateway.stop()
        chat.reset()


def test_generated_client_against_the_teams_lambda_code(
    generated: ModuleType, stack: LocalGateway
) -> None:
    client_class: Any = generated.DefaultApiWebSocketClient
    token = CustomAuth(lambda url: url + "?token=good")
    notes: list[Any] = []
    noted = threading.Event()
    with client_class.connect(stack.url, auth=token) as client:
        client.on_send_notification(lambda note: (notes.append(note), noted.set()))
        client.subscribe_to_notifications(topic="greetings")
        stack.wait_for_messages(1, route="SubscribeToNotifications")
        with client.expect_send_greeting() as greeting:
            client.say_hello(name="Jack")
        assert greeting.result(timeout=5).greeting == "Hello Jack from 127.0.0.1!"
        assert noted.wait(5)
    [note] = notes
    assert (note.topic, note.title, note.message) == ("greetings", "hello", "Jack")
    say_hello = next(e for e in chat.EVENTS if e["requestContext"]["routeKey"] == "SayHello")
    assert say_hello["requestContext"]["authorizer"]["principalId"] == "user-good"


def test_generated_client_refused_by_the_authorizer(
    generated: ModuleType, stack: LocalGateway
) -> None:
    client_class: Any = generated.DefaultApiWebSocketClient
    with pytest.raises(AuthError):
        client_class.connect(stack.url, auth=CustomAuth(lambda url: url + "?token=abc"), timeout=5)
    assert {record.status for record in stack.handshake_log} == {403}


def test_generated_client_sees_a_raising_handler(
    generated: ModuleType, stack: LocalGateway
) -> None:
    client_class: Any = generated.DefaultApiWebSocketClient
    errors: list[ErrorEvent] = []
    failed = threading.Event()
    with client_class.connect(stack.url, auth=CustomAuth(lambda url: url + "?token=good")) as c:
        c.on_error(lambda error: (errors.append(error), failed.set()))
        c.say_hello(name="boom")
        assert failed.wait(5)
        with c.expect_send_greeting() as greeting:  # the connection is still usable
            c.say_hello(name="again")
        assert greeting.result(timeout=5).greeting.startswith("Hello again")
    [error] = errors
    assert (error.kind, error.message) == ("gateway", "Internal server error")
