"""Auth end to end: WebSocketClient against LocalGateway's ``$connect`` SigV4 check, on loopback.

The gateway verifies with its own SigV4 implementation (``wsapi_client.emulator._sigv4``), the
client signs with requests-aws4auth (headers) or botocore (presigned URL).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from typing import Any, Optional

import pytest

from wsapi_client import (
    AuthError,
    CustomAuth,
    ErrorEvent,
    IamAuth,
    Keepalive,
    ReconnectPolicy,
    WebSocketClient,
)
from wsapi_client.emulator import SAMPLE_API, ConnectRequest, Deny, LocalGateway
from wsapi_client.emulator._sigv4 import Identity

KEYS = {
    "AKIAENDTOEND00000001": "first+secret/0000000000000000000000000001",
    "AKIAENDTOEND00000002": "second+secret/000000000000000000000000002",
    "AKIAENDTOEND00000003": "third+secret/0000000000000000000000000003",
}
FIRST = sorted(KEYS)[0]
TOKEN = "FQoGZXIvYXdzEndToEndSessionToken/+=="
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, jitter=False, max_attempts=5)


@pytest.fixture
def gateway() -> Iterator[LocalGateway]:
    with LocalGateway(SAMPLE_API, iam_keys=KEYS) as gw:
        yield gw


class Identities:
    """Records who signed each accepted handshake, and lets a test wait for the n-th."""

    def __init__(self, gateway: LocalGateway) -> None:
        self.gateway = gateway
        self.seen: list[Optional[Identity]] = []
        gateway.on_connect(self._record)

    def _record(self, request: ConnectRequest) -> None:
        self.seen.append(request.identity)

    def wait(self, n: int) -> list[Identity]:
        self.gateway.wait_until(lambda: len(self.seen) >= n)
        assert all(identity is not None for identity in self.seen)
        return [identity for identity in self.seen if identity is not None]


def _client(gateway: LocalGateway, auth: Any, **options: Any) -> WebSocketClient:
    options.setdefault("reconnect", FAST)
    options.setdefault("keepalive", Keepalive(interval=30.0, timeout=5.0))
    return WebSocketClient.connect(gateway.url, spec=SAMPLE_API, auth=auth, timeout=5, **options)


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
@pytest.mark.parametrize("token", [None, TOKEN], ids=["keys", "session-token"])
def test_right_keys_connect(gateway: LocalGateway, presign: bool, token: Optional[str]) -> None:
    identities = Identities(gateway)
    credentials = {"access_key": FIRST, "secret_key": KEYS[FIRST], "token": token}
    with _client(gateway, IamAuth("us-east-1", credentials, presign=presign)):
        [identity] = identities.wait(1)
    assert identity.access_key == FIRST
    assert identity.form == ("query" if presign else "header")
    assert identity.has_session_token is (token is not None)


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_wrong_secret_gives_auth_error(gateway: LocalGateway, presign: bool) -> None:
    credentials = {"access_key": FIRST, "secret_key": "not-the-secret"}
    with pytest.raises(AuthError) as caught:
        _client(gateway, IamAuth("us-east-1", credentials, presign=presign))
    assert caught.value.status == 403
    assert gateway.connections == []
    refused = [record for record in gateway.handshake_log if record.status == 403]
    assert refused
    assert all((record.reason or "").startswith("SigV4") for record in refused)


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_rotated_keys_sign_each_reconnect(gateway: LocalGateway, presign: bool) -> None:
    """A provider issuing new keys each time; each old key is revoked once replaced, so only
    signing with the new keys can reconnect."""
    issued: list[str] = []
    lock = threading.Lock()

    def provider() -> dict[str, str]:
        with lock:
            access_key = sorted(KEYS)[len(issued) % len(KEYS)]
            issued.append(access_key)
        return {"access_key": access_key, "secret_key": KEYS[access_key], "token": TOKEN}

    identities = Identities(gateway)
    with _client(gateway, IamAuth("us-east-1", provider, presign=presign)) as client:
        for n in range(1, 4):
            identity = identities.wait(n)[n - 1]
            assert identity.access_key == issued[n - 1]
            if n < 3:
                gateway.iam_keys.pop(identity.access_key)  # revoked: the next one needs new keys
                gateway.drop_all()
        client.disconnect()
    assert [identity.access_key for identity in identities.wait(3)] == sorted(KEYS)


def test_custom_auth_hook_runs_on_every_attempt_and_a_failure_is_reported(
    gateway: LocalGateway,
) -> None:
    gateway.iam_keys.clear()  # no SigV4: a custom authorizer instead
    tokens = iter(["t1", "fail", "t2"])
    requests: list[ConnectRequest] = []

    @gateway.on_connect
    def authorizer(request: ConnectRequest) -> None:
        if (
            request.query.get("token") not in ("t1", "t2")
            or request.headers.get("X-Client") != "py"
        ):
            raise Deny(403, "Forbidden")
        requests.append(request)

    def hook(url: str) -> tuple[str, dict[str, str]]:
        token = next(tokens)
        if token == "fail":
            raise RuntimeError("token endpoint down")
        return f"{url}?token={token}", {"X-Client": "py"}

    errors: list[ErrorEvent] = []
    with _client(gateway, CustomAuth(hook)) as client:
        client.on_error(errors.append)
        gateway.wait_until(lambda: len(requests) == 1)
        gateway.drop_all()
        gateway.wait_until(lambda: len(requests) == 2)
    assert [r.query["token"] for r in requests] == ["t1", "t2"]
    auth_errors = [e for e in errors if e.kind == "auth"]
    assert len(auth_errors) == 1
    assert "CustomAuth hook" in auth_errors[0].message
    assert "RuntimeError" in auth_errors[0].message
    assert isinstance(auth_errors[0].exception, AuthError)


# The emulator's wire-level DEBUG logger (websockets' protocol trace) prints every handshake
# header verbatim, Authorization and X-Amz-Security-Token included. It is the server's trace, not
# the SDK's; it is checked on its own below so that the client side is held to the rule strictly.
EMULATOR_WIRE_LOGGER = "wsapi_client.emulator.protocol"


def _signed_session(gateway: LocalGateway) -> tuple[set[str], AuthError]:
    """Connect and reconnect with both forms and a session token, then fail once; return every
    secret involved (keys, token, the signatures sent) and the failure."""
    secrets = {KEYS[FIRST], TOKEN, "wrong-secret-value"}
    credentials = {"access_key": FIRST, "secret_key": KEYS[FIRST], "token": TOKEN}
    identities = Identities(gateway)
    for presign in (False, True):
        before = len(identities.seen)
        with _client(gateway, IamAuth("us-east-1", credentials, presign=presign)):
            identities.wait(before + 1)
            gateway.drop_all()  # the reconnect is signed and logged too
            identities.wait(before + 2)
    with pytest.raises(AuthError) as refused:
        _client(gateway, IamAuth("us-east-1", dict(credentials, secret_key="wrong-secret-value")))
    for record in gateway.handshake_log:
        authorization = record.headers.get("Authorization", "")
        secrets.update(re.findall(r"Signature=([0-9a-f]{64})", authorization))
        if "X-Amz-Signature" in record.query:
            secrets.add(record.query["X-Amz-Signature"])
    # At least one signature per form and one refused (a reconnect in the same second as its
    # connect carries the same signature: SigV4 is deterministic).
    assert len(secrets) >= 6
    return secrets, refused.value


def _leaks(secrets: set[str], texts: list[str]) -> list[str]:
    joined = "\n".join(texts)
    return [f"{len(secret)}-char secret" for secret in secrets if secret in joined]


def test_no_secret_in_any_sdk_log_record_of_a_signed_session(
    gateway: LocalGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets, refused = _signed_session(gateway)
    records = [r for r in caplog.records if r.name != EMULATOR_WIRE_LOGGER]
    assert any(r.name == "wsapi_client.auth" for r in records)
    assert any(r.name == "wsapi_client" and "connected" in r.getMessage() for r in records)
    texts = [r.getMessage() for r in records]
    texts += [str(refused), repr(refused), str(refused.url)]
    texts += [repr(record) for record in gateway.handshake_log]
    assert _leaks(secrets, texts) == []


def test_no_secret_in_the_emulator_wire_trace(
    gateway: LocalGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets, _refused = _signed_session(gateway)
    wire = [r.getMessage() for r in caplog.records if r.name == EMULATOR_WIRE_LOGGER]
    assert wire
    assert _leaks(secrets, wire) == []


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """botocore's chain with nothing to find and no network (instance metadata off)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _connect_without_credentials(gateway: LocalGateway) -> tuple[AuthError, list[ErrorEvent]]:
    errors: list[ErrorEvent] = []
    client = WebSocketClient(
        gateway.url, spec=SAMPLE_API, auth=IamAuth("us-east-1"), reconnect=FAST
    )
    client.on_error(errors.append)
    try:
        with pytest.raises(AuthError) as caught:
            client.start(timeout=5)
    finally:
        client.close(timeout=5)
    return caught.value, errors


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_is_reported_as_such_and_sends_nothing(gateway: LocalGateway) -> None:
    error, errors = _connect_without_credentials(gateway)
    assert gateway.handshake_log == []  # no handshake was sent
    assert "IamAuth could not get AWS credentials" in error.message
    assert "botocore's default chain" in error.message
    cause = error.__cause__
    assert isinstance(cause, AuthError)
    assert cause.status is None
    assert str(cause).startswith("IamAuth could not get AWS credentials: none were passed")
    assert errors
    assert all("could not get AWS credentials" in event.message for event in errors)


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_claims_no_http_status(gateway: LocalGateway) -> None:
    error, errors = _connect_without_credentials(gateway)
    assert error.status is None
    assert "401" not in error.message
    assert "handshake refused" not in error.message
    assert all("401" not in event.message for event in errors)
