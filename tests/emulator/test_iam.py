"""IAM mode: $connect and the management API checked with SigV4 (signed here by botocore)."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest
import websocket
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.emulator.helpers import Connector, GatewayFactory
from wsapi_client.emulator import ConnectRequest, LocalGateway

KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


@pytest.fixture
def iam_gateway(gateway_factory: GatewayFactory) -> LocalGateway:
    return gateway_factory(iam_keys=KEYS)


def _https(gateway: LocalGateway) -> str:
    return gateway.url.replace("ws://", "https://", 1)


def signed_headers(gateway: LocalGateway, secret: str = KEYS["AKIDEXAMPLE"]) -> list[str]:
    request = AWSRequest(method="GET", url=_https(gateway))
    SigV4Auth(Credentials("AKIDEXAMPLE", secret), "execute-api", "us-east-1").add_auth(request)
    return [f"{name}: {value}" for name, value in request.headers.items()]


def presigned_url(gateway: LocalGateway, secret: str = KEYS["AKIDEXAMPLE"]) -> str:
    request = AWSRequest(method="GET", url=_https(gateway))
    auth = SigV4QueryAuth(Credentials("AKIDEXAMPLE", secret), "execute-api", "us-east-1", 60)
    auth.add_auth(request)
    return str(request.url).replace("https://", "ws://", 1)


def test_header_signed_handshake_is_accepted(iam_gateway: LocalGateway, connect: Connector) -> None:
    seen: list[ConnectRequest] = []
    iam_gateway.on_connect(seen.append)
    connect(iam_gateway.url, header=signed_headers(iam_gateway))
    iam_gateway.wait_for_connections(1)
    identity = seen[0].identity
    assert identity is not None
    assert (identity.access_key, identity.region, identity.form) == (
        "AKIDEXAMPLE",
        "us-east-1",
        "header",
    )


def test_presigned_handshake_is_accepted(iam_gateway: LocalGateway, connect: Connector) -> None:
    connect(presigned_url(iam_gateway))
    iam_gateway.wait_for_connections(1)


@pytest.mark.parametrize(
    "how",
    ["unsigned", "wrong secret in header", "wrong secret in query", "unknown key"],
)
def test_bad_signatures_get_403(iam_gateway: LocalGateway, connect: Connector, how: str) -> None:
    options: dict[str, Any] = {}
    url = iam_gateway.url
    if how == "wrong secret in header":
        options["header"] = signed_headers(iam_gateway, secret="not-the-secret")
    elif how == "wrong secret in query":
        url = presigned_url(iam_gateway, secret="not-the-secret")
    elif how == "unknown key":
        headers = signed_headers(iam_gateway)
        options["header"] = [h.replace("AKIDEXAMPLE", "AKIDOTHER") for h in headers]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(url, **options)
    assert refused.value.status_code == 403
    [record] = iam_gateway.handshake_log
    assert record.status == 403
    assert record.reason.startswith("SigV4")
    assert KEYS["AKIDEXAMPLE"] not in record.reason
    assert iam_gateway.connections == []


def test_signature_is_not_in_the_handshake_record_repr(
    iam_gateway: LocalGateway, connect: Connector
) -> None:
    connect(presigned_url(iam_gateway))
    connect(iam_gateway.url, header=signed_headers(iam_gateway))
    iam_gateway.wait_for_connections(2)
    for record in iam_gateway.handshake_log:
        text = repr(record)
        signature = record.query.get("X-Amz-Signature") or record.headers["Authorization"]
        assert signature.rsplit("=", 1)[-1] not in text
        assert "***" in text


def _management(gateway: LocalGateway, secret: str) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gateway.callback_url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=secret,
    )


def test_management_api_checks_signatures(iam_gateway: LocalGateway, connect: Connector) -> None:
    ws = connect(iam_gateway.url, header=signed_headers(iam_gateway))
    [cid] = iam_gateway.wait_for_connections(1)
    _management(iam_gateway, KEYS["AKIDEXAMPLE"]).post_to_connection(
        ConnectionId=cid, Data=b'{"route":"SendGreeting"}'
    )
    assert ws.recv() == '{"route":"SendGreeting"}'
    assert _management(iam_gateway, KEYS["AKIDEXAMPLE"]).get_connection(ConnectionId=cid)
    forged = _management(iam_gateway, "wrong")
    with pytest.raises(forged.exceptions.ForbiddenException):
        forged.post_to_connection(ConnectionId=cid, Data=b"{}")


def test_protocol_trace_hides_signatures(
    iam_gateway: LocalGateway, connect: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wsapi_client.emulator.protocol")
    headers = signed_headers(iam_gateway)
    url = presigned_url(iam_gateway)
    connect(iam_gateway.url, header=headers)
    connect(url)
    iam_gateway.wait_for_connections(2)
    trace = "\n".join(r.getMessage() for r in caplog.records)
    assert "Authorization: AWS4-HMAC-SHA256 ***" in trace  # masked as the client masks
    assert "X-Amz-Signature=***" in trace
    header_signature = next(h for h in headers if h.startswith("Authorization")).rsplit("=", 1)[1]
    query_signature = url.split("X-Amz-Signature=")[1].split("&")[0]
    assert header_signature not in trace
    assert query_signature not in trace
