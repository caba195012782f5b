"""Behaviours checked against the service's documentation: ids, idle time, throttles, IAM."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
import websocket
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator.helpers import Connector, GatewayFactory, recv_close, recv_json
from wsapi_client.emulator import ConnectRequest, LocalGateway


def management(gateway: LocalGateway, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "endpoint_url": gateway.callback_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "x",
        "aws_secret_access_key": "y",
        "config": Config(retries={"total_max_attempts": 1}),
    }
    options.update(overrides)
    return boto3.client("apigatewaymanagementapi", **options)


@pytest.mark.parametrize("connection_id", ["not-an-id", "L0SM9cOFvHcCIhw", "L0SM9cOFvHcCIhw=x"])
def test_malformed_connection_id_is_a_bad_request(
    gateway: LocalGateway, connection_id: str
) -> None:
    # botocore's model of the API lists no BadRequestException: it is a plain ClientError.
    with pytest.raises(ClientError) as bad:
        management(gateway).get_connection(ConnectionId=connection_id)
    assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert bad.value.response["Error"]["Code"] == "BadRequestException"
    assert connection_id in bad.value.response["Error"]["Message"]


def test_posts_to_the_client_count_as_activity(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gw = gateway_factory(idle_timeout=0.5)
    ws = connect(gw.url)
    [cid] = gw.wait_for_connections(1)
    started = time.monotonic()
    while time.monotonic() - started < 1.2:  # more than twice the idle timeout
        gw.post_to_connection(cid, "SendGreeting", {"greeting": "keep"})
        assert recv_json(ws)["route"] == "SendGreeting"
    assert gw.connections == [cid]
    assert recv_close(ws) == (1001, "Going away")


def test_repeated_query_parameters_are_kept(gateway: LocalGateway, connect: Connector) -> None:
    seen: list[ConnectRequest] = []
    gateway.on_connect(seen.append)
    connect(f"{gateway.url}?tag=a&tag=b&x=1")
    gateway.wait_for_connections(1)
    [request] = seen
    assert request.query_items == (("tag", "a"), ("tag", "b"), ("x", "1"))
    assert request.query["tag"] == "b"


def test_connection_rate_throttle_answers_429(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gw = gateway_factory(connection_rate=0.01)
    connect(gw.url)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(gw.url)
    assert refused.value.status_code == 429
    assert len(gw.connections) == 1


def test_message_rate_throttle(gateway_factory: GatewayFactory, connect: Connector) -> None:
    gw = gateway_factory(message_rate=0.01)
    ws = connect(gw.url)
    [cid] = gw.wait_for_connections(1)
    ws.send('{"route":"SayHello","payload":{"name":"a"}}')
    ws.send('{"route":"SayHello","payload":{"name":"b"}}')
    assert recv_json(ws)["message"] == "Too Many Requests"
    assert len(gw.wait_for_messages(1)) == 1
    client = management(gw)
    with pytest.raises(client.exceptions.LimitExceededException) as limited:
        client.post_to_connection(ConnectionId=cid, Data=b"{}")
    assert limited.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_iam_checks_region_and_session_token(
    gateway_factory: GatewayFactory, connect: Connector
) -> None:
    gw = gateway_factory(
        iam_keys={"AKIDTEMP": "secret", "AKIDLONG": "secret2"},
        iam_session_tokens={"AKIDTEMP": "the-token"},
        region="eu-west-1",
    )
    ws = connect(_signed_url(gw, "AKIDTEMP", "secret", "eu-west-1", "the-token"))
    [cid] = gw.wait_for_connections(1)

    def call(key: str, secret: str, region: str, token: Any) -> Any:
        client = management(
            gw,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )
        return client.get_connection(ConnectionId=cid)

    assert call("AKIDTEMP", "secret", "eu-west-1", "the-token")["Identity"]["SourceIp"]
    assert call("AKIDLONG", "secret2", "eu-west-1", None)
    for key, secret, region, token in [
        ("AKIDTEMP", "secret", "eu-west-1", "other-token"),
        ("AKIDTEMP", "secret", "eu-west-1", None),
        ("AKIDLONG", "secret2", "eu-west-1", "unexpected-token"),
        ("AKIDTEMP", "secret", "us-east-1", "the-token"),
    ]:
        with pytest.raises(ClientError) as refused:
            call(key, secret, region, token)
        assert refused.value.response["Error"]["Code"] == "ForbiddenException"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused_ws:
        connect(_signed_url(gw, "AKIDTEMP", "secret", "us-east-1", "the-token"))
    assert refused_ws.value.status_code == 403
    assert "region" in gw.handshake_log[-1].reason
    ws.close()


def _signed_url(gw: LocalGateway, key: str, secret: str, region: str, token: str) -> str:
    """A presigned handshake URL, signed the way the client's IamAuth(presign=True) signs."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=gw.url.replace("ws://", "http://"))
    SigV4QueryAuth(Credentials(key, secret, token), "execute-api", region, expires=60).add_auth(
        request
    )
    return str(request.url).replace("http://", "ws://")
