"""Lambda handlers written for the service, hosted by the emulator and driven by real clients."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import websocket

from tests.emulator.helpers import Connector, recv_json
from tests.emulator.lambda_app import chat
from wsapi_client import AuthError, ErrorEvent, WebSocketClient
from wsapi_client.emulator import SAMPLE_API, LambdaContext, LocalGateway, lambda_gateway
from wsapi_client.spec import ApiSpec

GatewayMaker = Callable[..., LocalGateway]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials a Lambda runtime provides (any value: the emulator has no IAM keys)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLAMBDA")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def make(sample_spec: ApiSpec, aws_env: None) -> Iterator[GatewayMaker]:
    """Start gateways hosting Lambda code; each is stopped and the chat state reset after."""
    started: list[LocalGateway] = []
    chat.reset()

    def start(**options: Any) -> LocalGateway:
        gateway = lambda_gateway(sample_spec, **options).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()
    chat.reset()


def test_chat_handlers_answer_through_boto3(make: GatewayMaker) -> None:
    gw = make(handlers="tests.emulator.lambda_app.chat")
    assert gw.lambda_routes == ["$connect", "$disconnect", "SayHello", "SubscribeToNotifications"]
    errors: list[ErrorEvent] = []
    with (
        WebSocketClient.connect(gw.url, spec=SAMPLE_API) as alice,
        WebSocketClient.connect(gw.url, spec=SAMPLE_API) as bob,
    ):
        alice.on_error(errors.append)
        seen: list[str] = []
        alice.on_any_message(lambda route, payload: seen.append(route))
        for client in (alice, bob):
            client.send("SubscribeToNotifications", {"topic": "greetings"})
        gw.wait_for_messages(2, route="SubscribeToNotifications")
        with (
            alice.expect("SendGreeting") as greeting,
            alice.expect("SendNotification") as mine,
            bob.expect("SendNotification") as theirs,
        ):
            alice.send("SayHello", {"name": "Jack"})
        assert greeting.result(timeout=5) == {"greeting": "Hello Jack from 127.0.0.1!"}
        assert theirs.result(timeout=5)["message"] == "Jack"
        assert mine.result(timeout=5)["message"] == "Jack"
        gw.wait_for_messages(1, route="SayHello")
    assert errors == []
    # The route's return value ("not for the client") never reached the client.
    assert sorted(seen) == ["SendGreeting", "SendNotification"]


def test_events_have_the_service_shape(make: GatewayMaker, connect: Connector) -> None:
    gw = make(handlers="tests.emulator.lambda_app.chat")
    ws = connect(f"{gw.url}?a=1&a=2&b=x", header=["X-Trace: one", "User-Agent: test-agent/1"])
    [cid] = gw.wait_for_connections(1)
    frame = '{"route":"SubscribeToNotifications","payload":{"topic":"t"}}'
    ws.send(frame)
    gw.wait_for_messages(1)
    ws.close(status=4000, reason=b"done")
    gw.wait_for_connections(0)
    gw.wait_until(lambda: len(chat.EVENTS) == 3)
    connect_event, message_event, disconnect_event = chat.EVENTS

    context = connect_event["requestContext"]
    assert {k: context[k] for k in ("routeKey", "eventType", "messageDirection", "stage")} == {
        "routeKey": "$connect",
        "eventType": "CONNECT",
        "messageDirection": "IN",
        "stage": "default",
    }
    assert context["connectionId"] == cid
    assert context["apiId"] == gw.api_id
    assert context["domainName"] == gw.callback_url.split("/")[2]
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "test-agent/1"}
    assert isinstance(context["connectedAt"], int)
    assert context["requestTimeEpoch"] >= context["connectedAt"]
    assert "authorizer" not in context
    assert connect_event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert connect_event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert connect_event["headers"]["X-Trace"] == "one"
    assert connect_event["multiValueHeaders"]["X-Trace"] == ["one"]
    assert connect_event["isBase64Encoded"] is False

    context = message_event["requestContext"]
    assert (context["routeKey"], context["eventType"]) == ("SubscribeToNotifications", "MESSAGE")
    assert message_event["body"] == frame
    assert message_event["isBase64Encoded"] is False
    assert context["messageId"]
    assert context["requestId"] != context["extendedRequestId"]
    assert context["connectedAt"] == connect_event["requestContext"]["connectedAt"]
    assert "headers" not in message_event

    context = disconnect_event["requestContext"]
    assert (context["routeKey"], context["eventType"]) == ("$disconnect", "DISCONNECT")
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (4000, "done")


def test_handler_can_delete_its_caller(make: GatewayMaker, connect: Connector) -> None:
    gw = make(handlers="tests.emulator.lambda_app.chat")
    ws = connect(gw.url)
    gw.wait_for_connections(1)
    ws.send('{"route":"SayHello","payload":{"name":"bye"}}')
    opcode, _ = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    gw.wait_for_connections(0)


def test_connect_handler_refusing_with_401_is_an_auth_error(make: GatewayMaker) -> None:
    gw = make(handlers={"$connect": lambda event, context: {"statusCode": 401}})
    with pytest.raises(AuthError):
        WebSocketClient.connect(gw.url, spec=SAMPLE_API, timeout=5)
    # The client gives a refused handshake a few tries before it gives up.
    assert {record.status for record in gw.handshake_log} == {401}
    assert gw.connections == []


def test_raising_handler_answers_internal_server_error(make: GatewayMaker) -> None:
    def say_hello(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("boom")

    gw = make(handlers={"SayHello": say_hello})
    errors: list[ErrorEvent] = []
    got_error = threading.Event()
    with WebSocketClient.connect(gw.url, spec=SAMPLE_API) as client:
        client.on_error(lambda e: (errors.append(e), got_error.set()))
        client.send("SayHello", {"name": "x"})
        assert got_error.wait(5)
        [message] = gw.wait_for_messages(1)
        assert client.state.value == "CONNECTED"
    [error] = errors
    assert (error.kind, error.message) == ("gateway", "Internal server error")
    assert error.connection_id == message.connection_id
    assert error.request_id == message.request_id
    assert message.error == "Internal server error"


def test_integration_timeout_answers_endpoint_request_timed_out(
    make: GatewayMaker, connect: Connector
) -> None:
    release = threading.Event()
    remaining: list[int] = []

    def slow(event: dict[str, Any], context: LambdaContext) -> None:
        remaining.append(context.get_remaining_time_in_millis())
        release.wait(5)

    gw = make(handlers={"SayHello": slow}, integration_timeout=0.3)
    ws = connect(gw.url)
    [cid] = gw.wait_for_connections(1)
    ws.send('{"route":"SayHello","payload":{"name":"x"}}')
    error = recv_json(ws)
    assert error["message"] == "Endpoint request timed out"
    assert error["connectionId"] == cid
    assert 0 < remaining[0] <= 300
    release.set()


def test_concurrent_handlers_run_side_by_side(make: GatewayMaker, connect: Connector) -> None:
    second_started = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        name = json.loads(event["body"])["payload"]["name"]
        if name == "first":
            assert second_started.wait(5), "the second message waited for the first"
        else:
            second_started.set()

    gw = make(handlers={"SayHello": handler}, concurrent_handlers=True)
    ws = connect(gw.url)
    gw.wait_for_connections(1)
    ws.send('{"route":"SayHello","payload":{"name":"first"}}')
    ws.send('{"route":"SayHello","payload":{"name":"second"}}')
    messages = gw.wait_for_messages(2)
    assert [m.error for m in messages] == [None, None]
    assert [m.payload["name"] for m in messages] == ["second", "first"]


def test_context_has_what_handlers_read(make: GatewayMaker, connect: Connector) -> None:
    contexts: list[LambdaContext] = []
    gw = make(handlers={"SayHello": lambda event, context: contexts.append(context)})
    ws = connect(gw.url)
    ws.send('{"route":"SayHello","payload":{"name":"x"}}')
    gw.wait_for_messages(1)
    [context] = contexts
    assert len(context.aws_request_id) == 36
    assert context.function_version == "$LATEST"
    arn = "arn:aws:lambda:us-east-1:123456789012:function:"
    assert context.invoked_function_arn == arn + context.function_name
    assert context.log_group_name == f"/aws/lambda/{context.function_name}"
    assert context.memory_limit_in_mb == "128"
    assert 0 <= context.get_remaining_time_in_millis() <= 29_000


def test_connect_result_negotiates_a_subprotocol(make: GatewayMaker, connect: Connector) -> None:
    def on_connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
        offered = event["headers"]["Sec-WebSocket-Protocol"].split(",")
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": offered[-1].strip()}}

    gw = make(handlers={"$connect": on_connect})
    ws = connect(gw.url, subprotocols=["v1", "chat"])
    assert ws.getsubprotocol() == "chat"


def test_default_route_gets_the_raw_body(make: GatewayMaker, connect: Connector) -> None:
    bodies: list[tuple[str, bool]] = []
    gw = make(handlers={"$default": lambda e, c: bodies.append((e["body"], e["isBase64Encoded"]))})
    ws = connect(gw.url)
    ws.send("not json")
    ws.send_binary(b"\x00\xff")
    gw.wait_for_messages(2)
    assert bodies == [("not json", False), ("AP8=", True)]


def test_mock_integrations_answer_status_200_frames(sample_spec: ApiSpec) -> None:
    errors: list[ErrorEvent] = []
    got = threading.Event()
    with (
        LocalGateway(sample_spec, mock_integrations=True) as gw,
        WebSocketClient.connect(gw.url, spec=SAMPLE_API) as client,
    ):
        client.on_error(lambda e: (errors.append(e), got.set()))
        client.send("SayHello", {"name": "x"})
        assert got.wait(5)
        assert client.state.value == "CONNECTED"
    [error] = errors
    assert error.kind == "unexpected"
    assert error.message.startswith("Unexpected data received")
    assert error.raw == '{"statusCode":200}'


def test_bad_handler_names_are_refused(sample_spec: ApiSpec) -> None:
    gw = LocalGateway(sample_spec)
    with pytest.raises(ValueError, match="no route 'Nope'"):
        gw.lambda_route("Nope", lambda e, c: None)
    with pytest.raises(ValueError, match="binds no route"):
        lambda_gateway(sample_spec, handlers="tests.emulator.lambda_app.auth")
    with pytest.raises(ValueError, match="cannot import"):
        lambda_gateway(sample_spec, handlers="tests.emulator.no_such_module")


def test_stop_returns_while_a_handler_is_stuck(
    sample_spec: ApiSpec, connect: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    gw = LocalGateway(sample_spec, integration_timeout=0.2, close_timeout=0.2)
    gw.lambda_route("SayHello", lambda event, context: release.wait(10))
    gw.start()
    try:
        ws = connect(gw.url)
        ws.send('{"route":"SayHello","payload":{"name":"x"}}')
        assert recv_json(ws)["message"] == "Endpoint request timed out"
        started = time.monotonic()
        gw.stop()
        assert time.monotonic() - started < 3
        assert "handlers still running after the gateway stopped" in caplog.text
    finally:
        release.set()
        gw.stop()


def test_route_and_lambda_route_replace_each_other(sample_spec: ApiSpec) -> None:
    gw = LocalGateway(sample_spec)
    gw.lambda_route("SayHello", lambda event, context: None)
    assert gw.lambda_routes == ["SayHello"]
    gw.route("SayHello", lambda connection_id, payload: None)
    assert gw.lambda_routes == []
    gw.lambda_route("$connect")(lambda event, context: None)
    assert gw.lambda_routes == ["$connect"]
