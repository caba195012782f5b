"""No secret key, session token or signature in any log record, repr, str or error text of auth.

Every auth path runs with every logger at DEBUG (botocore's and requests' included); everything a
user or a log could show is collected, and the secrets are searched for in it.
"""

from __future__ import annotations

import logging
import re
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from botocore.credentials import RefreshableCredentials

from wsapi_client import AuthError, CustomAuth, IamAuth, NoAuth
from wsapi_client._auth import PreparedRequest, SigningKeys, redact_headers
from wsapi_client.emulator._sigv4 import SignatureError, verify_sigv4_target

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
ACCESS = "AKIASECRETSTEST00001"
SECRET = "TopSecretKeyValue/+0123456789abcdefghijklmn"
TOKEN = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQ+SessionTokenValue/xyz=="
ENV_SECRET = "EnvironmentSecretKey/0123456789abcdefghijkl"
ENV_TOKEN = "EnvironmentSessionToken0123456789abcdefghijklmnop"
HOOK_TOKEN = "eyJhbGciOiJIUzI1NiJ9.hook-jwt-payload.hook-jwt-signature"
URL = "wss://abc123.execute-api.us-east-1.amazonaws.com/prod"
LOCAL = "ws://127.0.0.1:8765/default"


class Exposure:
    """Everything shown during the flow, and every secret that must not be in it."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.secrets = {SECRET, TOKEN, ENV_SECRET, ENV_TOKEN, HOOK_TOKEN}

    def show(self, *objects: object) -> None:
        for obj in objects:
            self.shown.extend([repr(obj), str(obj)])

    def error(self, error: BaseException) -> None:
        self.show(error, *error.args)
        self.shown.extend(traceback.format_exception_only(type(error), error))
        for attribute in ("message", "url", "detail", "reason"):
            if hasattr(error, attribute):
                self.show(getattr(error, attribute))

    def prepared(self, prepared: PreparedRequest) -> None:
        """Show it as the runtime would, and learn the signature it carries."""
        self.show(prepared, prepared.display_url, redact_headers(prepared.headers))
        authorization = prepared.headers.get("Authorization", "")
        self.secrets.update(re.findall(r"Signature=([0-9a-f]{64})", authorization))
        query = dict(parse_qsl(urlsplit(prepared.url).query))
        if "X-Amz-Signature" in query:
            self.secrets.add(query["X-Amz-Signature"])
        assert self.secrets & {authorization.rpartition("=")[2], query.get("X-Amz-Signature")}


def _expect_error(exposure: Exposure, error_type: type[BaseException], fn: Any) -> None:
    with pytest.raises(error_type) as caught:
        fn()
    exposure.error(caught.value)


def _wire(prepared: PreparedRequest) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(prepared.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target, [("Host", parts.netloc), *prepared.headers.items()]


def test_no_secret_is_ever_shown(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    exposure = Exposure()
    static = {"access_key": ACCESS, "secret_key": SECRET, "token": TOKEN}

    # Static credentials, both forms, with a session token.
    for presign in (False, True):
        auth = IamAuth("us-east-1", static, presign=presign, clock=lambda: NOW)
        exposure.show(auth)
        for url in (URL, LOCAL):
            prepared = auth.prepare(url)
            exposure.prepared(prepared)
            logging.getLogger("wsapi_client").debug("connecting to %s", prepared.display_url)

    # botocore's default chain, from the environment (no network: metadata disabled).
    for name in ("AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", ENV_TOKEN)
    for presign in (False, True):
        chain = IamAuth("us-east-1", presign=presign, clock=lambda: NOW)
        exposure.prepared(chain.prepare(URL))
        exposure.show(chain)

    # Refreshable credentials and a rotating provider.
    def issue() -> dict[str, str]:
        expiry = datetime.now(timezone.utc) + timedelta(minutes=5)
        return dict(static, expiry_time=expiry.isoformat())

    refreshable = RefreshableCredentials.create_from_metadata(issue(), issue, "test")
    rotations = iter(range(100))

    def rotating() -> dict[str, str]:
        return dict(static, access_key=f"AKIAROTATING{next(rotations):08d}")

    for source in (refreshable, rotating):
        auth = IamAuth("us-east-1", source, presign=True, clock=lambda: NOW)
        exposure.prepared(auth.prepare(URL))
        exposure.show(auth)

    # The verifier, accepting and refusing.
    for presign in (False, True):
        prepared = IamAuth("us-east-1", static, presign=presign, clock=lambda: NOW).prepare(LOCAL)
        target, headers = _wire(prepared)
        exposure.show(verify_sigv4_target("GET", target, headers, keys={ACCESS: SECRET}, now=NOW))
        for keys, now in (
            ({ACCESS: "wrong"}, NOW),
            ({}, NOW),
            ({ACCESS: SECRET}, NOW.replace(year=2025)),
        ):
            with pytest.raises(SignatureError) as caught:
                verify_sigv4_target("GET", target, headers, keys=keys, now=now)
            exposure.error(caught.value)

    # Failures: hooks and providers whose own errors mention secrets, bad inputs.
    def leaky_hook(url: str) -> str:
        raise RuntimeError(f"could not refresh {HOOK_TOKEN}")

    def leaky_provider() -> dict[str, str]:
        raise RuntimeError(f"vault returned {SECRET} and {TOKEN}")

    class LeakyRefreshable:
        def get_frozen_credentials(self) -> object:
            raise RuntimeError(f"refresh failed for {SECRET}")

    custom = CustomAuth(lambda url: (f"{url}?token={HOOK_TOKEN}", {"Authorization": HOOK_TOKEN}))
    exposure.prepared(custom.prepare(URL))
    exposure.show(custom, NoAuth(), NoAuth().prepare(f"{URL}?access_token={HOOK_TOKEN}"))
    failing = [
        CustomAuth(leaky_hook),
        CustomAuth(lambda url: (url, {"X-Token": f"{HOOK_TOKEN}\r\nX-Evil: 1"})),
        CustomAuth(lambda url: f"https://h/?token={HOOK_TOKEN}"),
        IamAuth("us-east-1", leaky_provider, clock=lambda: NOW),
        IamAuth("us-east-1", LeakyRefreshable(), clock=lambda: NOW),
        IamAuth("us-east-1", {"access_key": ACCESS, "secret_key": SECRET, "token": 7}),
        IamAuth("us-east-1", lambda: SECRET, clock=lambda: NOW),  # type: ignore[arg-type,return-value]
        IamAuth(credentials=static, clock=lambda: NOW),  # region not in host
        IamAuth("us-east-1", static, presign=True, clock=lambda: NOW),  # repeated parameters
        IamAuth("us-east-1", static, clock=lambda: NOW),  # ws:// to a public host
    ]
    urls = [URL] * 8 + [f"{URL}?token={HOOK_TOKEN}&token=2", f"ws://example.com/?jwt={HOOK_TOKEN}"]
    urls[7] = f"wss://ws.example.com/prod?token={HOOK_TOKEN}"
    for provider, url in zip(failing, urls):
        exposure.show(provider)
        _expect_error(exposure, AuthError, lambda p=provider, u=url: p.prepare(u))
    exposure.show(SigningKeys(ACCESS, SECRET, TOKEN))

    records = caplog.records
    assert any("signing" in r.getMessage() for r in records)  # the flow did log
    assert any(r.name.startswith("botocore") for r in records)  # botocore logged at DEBUG too
    for record in records:
        exposure.shown.append(record.getMessage())
        if record.exc_info:
            exposure.shown.append("".join(traceback.format_exception(*record.exc_info)))
    assert len(exposure.secrets) > 8  # the signatures were learnt
    text = "\n".join(exposure.shown)
    for secret in exposure.secrets:
        for form in {secret, unquote(secret), secret.replace("/", "%2F").replace("+", "%2B")}:
            assert form not in text, f"a secret ({len(secret)} chars) was shown"
