"""REQUEST authorizers on $connect: identity sources, policy verdicts, the context downstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest
import websocket

from tests.emulator.helpers import Connector
from tests.emulator.lambda_app import auth
from wsapi_client import AuthError, CustomAuth, WebSocketClient
from wsapi_client.emulator import SAMPLE_API, LocalGateway, lambda_gateway
from wsapi_client.emulator._authorizer import (
    AuthorizerResultError,
    RequestAuthorizer,
    evaluate_policy,
)
from wsapi_client.spec import ApiSpec

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/default/$connect"
TOKEN = "route.request.querystring.token"
GatewayMaker = Callable[..., LocalGateway]


@pytest.fixture
def make(sample_spec: ApiSpec) -> Iterator[GatewayMaker]:
    started: list[LocalGateway] = []

    def start(**options: Any) -> LocalGateway:
        gateway = lambda_gateway(sample_spec, export_env=False, **options).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def counting(fn: Callable[..., Any]) -> tuple[Callable[..., Any], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def wrapper(event: dict[str, Any], context: Any) -> Any:
        calls.append(event)
        return fn(event, context)

    return wrapper, calls


def test_allowed_token_connects_and_its_context_reaches_every_event(make: GatewayMaker) -> None:
    events: list[dict[str, Any]] = []
    authorizer, calls = counting(auth.handler)
    gw = make(
        handlers={
            "SayHello": lambda event, context: events.append(event),
            "$disconnect": lambda event, context: events.append(event),
        },
        authorizer=authorizer,
        identity_sources=[TOKEN],
    )
    client = WebSocketClient.connect(
        gw.url, spec=SAMPLE_API, auth=CustomAuth(lambda url: url + "?token=good")
    )
    with client:
        client.send("SayHello", {"name": "x"})
        gw.wait_for_messages(1)
    gw.wait_until(lambda: len(events) == 2)
    # The context's number and boolean arrive as strings, as in REST proxy events.
    expected = {"principalId": "user-good", "tenant": "acme", "level": "3", "admin": "false"}
    assert [e["requestContext"]["authorizer"] for e in events] == [expected, expected]
    [call] = calls
    assert call["type"] == "REQUEST"
    assert (
        call["methodArn"]
        == f"arn:aws:execute-api:us-east-1:123456789012:{gw.api_id}/default/$connect"
    )
    assert call["queryStringParameters"] == {"token": "good"}
    assert call["requestContext"]["routeKey"] == "$connect"


def test_denied_token_is_refused_with_403(make: GatewayMaker) -> None:
    gw = make(authorizer=auth.handler, identity_sources=[TOKEN])
    with pytest.raises(AuthError):
        WebSocketClient.connect(
            gw.url, spec=SAMPLE_API, auth=CustomAuth(lambda url: url + "?token=abc"), timeout=5
        )
    assert {record.status for record in gw.handshake_log} == {403}
    assert gw.connections == []


def test_missing_identity_source_is_401_without_calling(
    make: GatewayMaker, connect: Connector
) -> None:
    authorizer, calls = counting(auth.handler)
    gw = make(
        authorizer=authorizer,
        identity_sources=["route.request.header.Authorization", TOKEN],
    )
    for url, header in [
        (f"{gw.url}?token=good", []),
        (gw.url, ["Authorization: Bearer x"]),
        (f"{gw.url}?token=", ["Authorization: Bearer x"]),
    ]:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(url, header=header)
        assert refused.value.status_code == 401
    assert calls == []
    connect(f"{gw.url}?token=good", header=["Authorization: Bearer x"])
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ("not a policy", 500),
        ({"principalId": "u"}, 500),
        ({"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Maybe"}]}}, 500),
        (
            {
                "principalId": "u",
                "policyDocument": {
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
                },
                "context": {"nested": {"no": "objects"}},
            },
            500,
        ),
        (RuntimeError("boom"), 403),
        (Exception("Unauthorized"), 401),
    ],
)
def test_bad_results_and_errors(
    make: GatewayMaker, connect: Connector, result: Any, status: int
) -> None:
    def authorizer(event: dict[str, Any], context: Any) -> Any:
        if isinstance(result, BaseException):
            raise result
        return result

    gw = make(authorizer=authorizer)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(gw.url)
    assert refused.value.status_code == status


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "principalId": "me",
        "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
    }


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}], True),
        ([{"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"}], True),
        ([{"Effect": "Allow", "Action": ["s3:Get*", "EXECUTE-API:invoke"], "Resource": ARN}], True),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": ARN.replace("us-east-1", "us-east-?"),
                }
            ],
            True,
        ),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": ARN.replace("default", "prod"),
                }
            ],
            False,
        ),
        ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN.upper()}], False),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": ARN.replace("1:", "??:"),
                }
            ],
            False,
        ),
        ([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], False),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:aws:execute-api:*",
                },
            ],
            False,
        ),
        ([], False),
    ],
)
def test_policy_evaluation(statements: list[dict[str, Any]], allowed: bool) -> None:
    assert evaluate_policy(_policy(*statements), ARN) == (allowed, {"principalId": "me"})


def test_policy_errors_name_the_problem() -> None:
    with pytest.raises(AuthorizerResultError, match="principalId"):
        evaluate_policy({"policyDocument": {}}, ARN)
    with pytest.raises(AuthorizerResultError, match="Statement"):
        evaluate_policy({"principalId": "me", "policyDocument": {}}, ARN)
    with pytest.raises(ValueError, match=r"route\.request\.header\.NAME"):
        RequestAuthorizer(auth.handler, ["header.Authorization"])


def test_authorizer_and_iam_are_exclusive(sample_spec: ApiSpec) -> None:
    gw = LocalGateway(sample_spec, iam_keys={"AKID": "secret"})
    with pytest.raises(ValueError, match="one authorization type"):
        gw.set_authorizer(auth.handler)
