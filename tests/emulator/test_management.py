"""The @connections management API through boto3's apigatewaymanagementapi client."""

from __future__ import annotations

import datetime
from typing import Any

import boto3
import pytest
import websocket
from botocore.exceptions import ClientError

from tests.emulator.helpers import Connector, recv_close, recv_json
from wsapi_client.emulator import LocalGateway


def management(gateway: LocalGateway, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "endpoint_url": gateway.callback_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "x",
        "aws_secret_access_key": "y",
    }
    options.update(overrides)
    return boto3.client("apigatewaymanagementapi", **options)


def test_post_to_connection_reaches_the_client(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    client = management(gateway)
    client.post_to_connection(ConnectionId=cid, Data=b'{"route":"SendGreeting","payload":{}}')
    assert recv_json(ws) == {"route": "SendGreeting", "payload": {}}
    client.post_to_connection(ConnectionId=cid, Data=b"\xff\x00")
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"\xff\x00")
    client.post_to_connection(ConnectionId=cid, Data="é".encode())
    assert ws.recv() == "é"


def test_get_connection_describes_it(gateway: LocalGateway, connect: Connector) -> None:
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    connect(gateway.url, header=["User-Agent: emulator-test/1.0"])
    [cid] = gateway.wait_for_connections(1)
    description = management(gateway).get_connection(ConnectionId=cid)
    assert description["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "emulator-test/1.0"}
    assert before <= description["ConnectedAt"] <= description["LastActiveAt"]


def test_last_active_moves_with_client_messages(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    client = management(gateway)
    first = client.get_connection(ConnectionId=cid)["LastActiveAt"]
    ws.send('{"route":"SayHello","payload":{"name":"x"}}')
    gateway.wait_for_messages(1)
    later = client.get_connection(ConnectionId=cid)["LastActiveAt"]
    assert later >= first


def test_delete_connection_closes_it(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    management(gateway).delete_connection(ConnectionId=cid)
    assert recv_close(ws)[0] == 1000
    gateway.wait_for_connections(0)


@pytest.mark.parametrize("operation", ["post_to_connection", "get_connection", "delete_connection"])
def test_unknown_connection_is_gone(gateway: LocalGateway, operation: str) -> None:
    client = management(gateway)
    arguments: dict[str, Any] = {"ConnectionId": "L0SM9cOFvHcCIhw="}
    if operation == "post_to_connection":
        arguments["Data"] = b"{}"
    with pytest.raises(client.exceptions.GoneException) as gone:
        getattr(client, operation)(**arguments)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    assert gone.value.response["Error"]["Code"] == "GoneException"


def test_closed_connection_is_gone(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    ws.close()
    gateway.wait_for_connections(0)
    client = management(gateway)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"{}")


def test_payload_over_128_kib_is_too_large(gateway: LocalGateway, connect: Connector) -> None:
    connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    client = management(gateway)
    with pytest.raises(client.exceptions.PayloadTooLargeException):
        client.post_to_connection(ConnectionId=cid, Data=b"x" * (128 * 1024 + 1))


def test_wrong_stage_is_forbidden(gateway: LocalGateway) -> None:
    client = management(gateway, endpoint_url=gateway.callback_url.replace("/default", "/prod"))
    with pytest.raises(ClientError) as refused:
        client.get_connection(ConnectionId="L0SM9cOFvHcCIhw=")
    assert refused.value.response["Error"]["Code"] == "ForbiddenException"


def test_one_client_can_make_many_calls(gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(gateway.url)
    [cid] = gateway.wait_for_connections(1)
    client = management(gateway)
    for i in range(50):
        client.post_to_connection(ConnectionId=cid, Data=f'{{"route":"N","payload":{i}}}'.encode())
    assert [recv_json(ws)["payload"] for _ in range(50)] == list(range(50))
