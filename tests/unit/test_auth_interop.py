"""IamAuth's output, as websocket-client puts it on the wire, checked by the emulator's verifier.

The handshake lines come from websocket-client's own builder (the one ``WebSocket.connect`` uses),
so the Host header, path and query are exactly those a real connection sends; the verifier shares no
code with either signer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from botocore.credentials import RefreshableCredentials
from websocket._handshake import _get_handshake_headers
from websocket._url import parse_url

from wsapi_client import IamAuth
from wsapi_client._auth import PreparedRequest
from wsapi_client.emulator._sigv4 import Identity, SignatureError, verify_sigv4_target

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
SECRETS = {
    "AKIAINTEROP000000001": "first/secret+key0000000000000000000000001",
    "AKIAINTEROP000000002": "second/secret+key000000000000000000000002",
}
STATIC = {"access_key": "AKIAINTEROP000000001", "secret_key": SECRETS["AKIAINTEROP000000001"]}


def wire_request(prepared: PreparedRequest) -> tuple[str, list[tuple[str, str]]]:
    """The request target and header lines websocket-client writes for ``prepared``, with the
    options the client's connection module passes (headers as lines, no Origin)."""
    hostname, port, resource, _secure = parse_url(prepared.url)
    lines, _key = _get_handshake_headers(
        resource,
        prepared.url,
        hostname,
        port,
        {"header": [f"{k}: {v}" for k, v in prepared.headers.items()], "suppress_origin": True},
    )
    method, target, _version = lines[0].split(" ")
    assert method == "GET"
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(": ")
            headers.append((name, value))
    return target, headers


def verify(
    prepared: PreparedRequest,
    *,
    now: datetime = NOW,
    keys: dict[str, str] = SECRETS,
    region: str = "us-east-1",
) -> Identity:
    target, headers = wire_request(prepared)
    return verify_sigv4_target("GET", target, headers, keys=keys, now=now, region=region)


URLS = [
    "ws://127.0.0.1:8765/default",
    "ws://127.0.0.1:80/default",
    "ws://localhost:8765/default?client=py&x=a%20b",
    "ws://[::1]:8765/default",
    "wss://abc123.execute-api.us-east-1.amazonaws.com/prod",
    "wss://abc123.execute-api.us-east-1.amazonaws.com:443/prod?token=a%2Fb",
    "wss://abc123.execute-api.us-east-1.amazonaws.com:8443/$default",
    "wss://Example.COM:9443/Stage/sub path/ሴ?q=x y&empty=",
    "wss://example.com",
]


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////token=="], ids=["keys", "token"])
def test_every_form_verifies(url: str, presign: bool, token: str) -> None:
    auth = IamAuth("us-east-1", dict(STATIC, token=token), presign=presign, clock=lambda: NOW)
    identity = verify(auth.prepare(url))
    assert identity.access_key == STATIC["access_key"]
    assert identity.form == ("query" if presign else "header")
    assert identity.has_session_token is (token is not None)
    assert identity.service == "execute-api"
    assert identity.signed_at == NOW
    if presign:
        assert identity.signed_headers == ("host",)
        assert identity.expires_at == NOW + timedelta(hours=1)
    else:
        expected = ("host", "x-amz-date") + (("x-amz-security-token",) if token else ())
        assert identity.signed_headers == expected


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_wrong_secret_and_wrong_region_are_refused(presign: bool) -> None:
    prepared = IamAuth("us-east-1", STATIC, presign=presign, clock=lambda: NOW).prepare(
        "ws://127.0.0.1:8765/default"
    )
    wrong = {STATIC["access_key"]: "not-the-secret"}
    with pytest.raises(SignatureError) as caught:
        verify(prepared, keys=wrong)
    assert caught.value.reason == "bad-signature"
    with pytest.raises(SignatureError) as caught:
        verify(prepared, region="eu-west-1")
    assert caught.value.reason == "scope-mismatch"


def test_header_signature_ages_out_after_five_minutes_presigned_after_an_hour() -> None:
    url = "ws://127.0.0.1:8765/default"
    header = IamAuth("us-east-1", STATIC, clock=lambda: NOW).prepare(url)
    presigned = IamAuth("us-east-1", STATIC, presign=True, clock=lambda: NOW).prepare(url)
    later = NOW + timedelta(minutes=6)
    with pytest.raises(SignatureError, match="clock-skew"):
        verify(header, now=later)
    assert verify(presigned, now=later).access_key == STATIC["access_key"]
    with pytest.raises(SignatureError, match="expired"):
        verify(presigned, now=NOW + timedelta(hours=1, seconds=1))


def test_a_signature_is_bound_to_its_port() -> None:
    prepared = IamAuth("us-east-1", STATIC, clock=lambda: NOW).prepare("ws://127.0.0.1:8765/s")
    moved = PreparedRequest("ws://127.0.0.1:8766/s", prepared.headers)
    with pytest.raises(SignatureError, match="bad-signature"):
        verify(moved)


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_rotating_provider_signs_each_attempt_with_the_new_keys(presign: bool) -> None:
    rotation = iter(sorted(SECRETS.items()) * 2)

    def provider() -> dict[str, str]:
        access_key, secret = next(rotation)
        return {"access_key": access_key, "secret_key": secret, "token": f"token-{access_key}"}

    ticks = iter(NOW + timedelta(seconds=30 * n) for n in range(10))
    auth = IamAuth("us-east-1", provider, presign=presign, clock=lambda: next(ticks))
    signed_by = []
    for _attempt in range(4):
        prepared = auth.prepare("ws://127.0.0.1:8765/default")
        identity = verify(prepared, now=NOW + timedelta(minutes=1))
        signed_by.append(identity.access_key)
        # Only the newly issued key verifies it: the previous one would not.
        only_new = {identity.access_key: SECRETS[identity.access_key]}
        assert verify(prepared, keys=only_new, now=NOW + timedelta(minutes=1)) == identity
        others = {k: v for k, v in SECRETS.items() if k != identity.access_key}
        with pytest.raises(SignatureError, match="unknown-access-key"):
            verify(prepared, keys=others, now=NOW + timedelta(minutes=1))
    assert signed_by == sorted(SECRETS) * 2


def _refreshable(issue: Callable[[], dict[str, str]]) -> RefreshableCredentials:
    return RefreshableCredentials.create_from_metadata(
        metadata=issue(), refresh_using=issue, method="test-rotation"
    )


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_botocore_refreshable_credentials_rotate(presign: bool) -> None:
    """botocore refreshes credentials that are about to expire; each snapshot signs one attempt."""
    issued: list[str] = []

    def issue() -> dict[str, str]:
        access_key = sorted(SECRETS)[len(issued) % 2]
        issued.append(access_key)
        expiry = datetime.now(timezone.utc) + timedelta(minutes=5)  # inside botocore's 15 min
        return {
            "access_key": access_key,
            "secret_key": SECRETS[access_key],
            "token": "refreshed-token",
            "expiry_time": expiry.isoformat(),
        }

    auth = IamAuth("us-east-1", _refreshable(issue), presign=presign, clock=lambda: NOW)
    used = [verify(auth.prepare("ws://127.0.0.1:8765/s")).access_key for _ in range(3)]
    assert used == issued[1:4]
    assert len(set(used)) == 2
