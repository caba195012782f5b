"""NoAuth, CustomAuth, PreparedRequest and redaction, and IamAuth's configuration and failures."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from websocket._handshake import _get_handshake_headers
from websocket._url import parse_url

from wsapi_client import AuthError, AuthProvider, ConnectError, CustomAuth, IamAuth, NoAuth
from wsapi_client._auth import (
    REDACTED,
    PreparedRequest,
    SigningKeys,
    redact_headers,
    redact_http_text,
    redact_url,
    wire_host,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
KEYS = {
    "access_key": "AKIAEXAMPLEKEY000001",
    "secret_key": "s3cr3t/Key+Value0000000000000000000000",
}
API = "wss://abc123.execute-api.eu-west-2.amazonaws.com/prod"


def clock() -> datetime:
    return NOW


# ---------------------------------------------------------------------------------------------
# Redaction and PreparedRequest
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("wss://h/stage", "wss://h/stage"),
        ("wss://h:8443/a/b", "wss://h:8443/a/b"),
        # Every value is masked unless its name is on the allow-list, whatever the name.
        ("wss://h/s?a=1&b=two", "wss://h/s?a=***&b=***"),
        (
            "wss://h/s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F2024&"
            "X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&"
            "X-Amz-Security-Token=tok&X-Amz-Signature=abc",
            "wss://h/s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&"
            "X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&"
            "X-Amz-Security-Token=***&X-Amz-Signature=***",
        ),
        ("wss://h/s?x-amz-date=20240501T120000Z", "wss://h/s?x-amz-date=20240501T120000Z"),
        ("wss://h/s?x-amz-signature=abc", "wss://h/s?x-amz-signature=***"),
        # The names a deny-list by name let through.
        (
            "wss://h/s?sig=1&code=2&jwt=3&access_token=4&id_token=5&auth=6&key=7&s=8",
            "wss://h/s?sig=***&code=***&jwt=***&access_token=***&id_token=***&auth=***&key=***"
            "&s=***",
        ),
        ("wss://h/s?token=eyJ.a.b&page=2", "wss://h/s?token=***&page=***"),
        # An allow-listed name is matched exactly, not by prefix or substring.
        ("wss://h/s?X-Amz-Date-Token=x", "wss://h/s?X-Amz-Date-Token=***"),
        ("wss://h/s?X-Amz-Date%20=x", "wss://h/s?X-Amz-Date%20=***"),
        ("wss://h/s?X%2DAmz%2DDate=1", "wss://h/s?X%2DAmz%2DDate=1"),
        ("wss://user:pw@h:8/s", "wss://***@h:8/s"),
        ("wss://tokenonly@h/s", "wss://***@h/s"),
        ("wss://h/s#access_token=abc&x=1", "wss://h/s#***"),
        ("wss://h/s#section", "wss://h/s#***"),
        # A piece without "=" may be a bare token; an empty value shows nothing.
        ("wss://h/s?eyJhbGciOi.x.y", "wss://h/s?***"),
        ("wss://h/s?token=&a=1", "wss://h/s?token=&a=***"),
        ("wss://h/s?a=1&&b=2", "wss://h/s?a=***&&b=***"),
        ("wss://h:notaport/s?token=1", "wss://h:notaport/s?token=***"),
        ("wss://[::1/s?token=1", REDACTED),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_headers_masks_all_but_the_allow_list() -> None:
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=ab",
        "X-Amz-Security-Token": "tok",
        "X-Amz-Date": "20240501T120000Z",
        "x-amz-date": "20240501T120000Z",
        "Host": "abc.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "wsapi-client/0.1",
        "Content-Type": "application/json",
        "Origin": "https://example.com",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Extensions": "permessage-deflate",
        "Sec-WebSocket-Protocol": "base64url.bearer.authorization.k8s.io.dG9rZW4",
        "X-Api-Key": "k",
        "X-Sig": "s",
        "X-Trace": "1",
        "Cookie": "session=1",
        "Proxy-Authorization": "rawtoken",
    }
    assert redact_headers(headers) == {
        "Authorization": "AWS4-HMAC-SHA256 ***",
        "X-Amz-Security-Token": REDACTED,
        "X-Amz-Date": "20240501T120000Z",
        "x-amz-date": "20240501T120000Z",
        "Host": "abc.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "wsapi-client/0.1",
        "Content-Type": "application/json",
        "Origin": "https://example.com",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Extensions": "permessage-deflate",
        "Sec-WebSocket-Protocol": REDACTED,
        "X-Api-Key": REDACTED,
        "X-Sig": REDACTED,
        "X-Trace": REDACTED,
        "Cookie": REDACTED,
        "Proxy-Authorization": REDACTED,
    }
    assert redact_headers({"Authorization": "Bearer eyJhbGciOi.x.y"}) == {
        "Authorization": "Bearer ***"
    }
    assert redact_headers({"Authorization": "eyJhbGciOi.x.y"}) == {"Authorization": REDACTED}


def test_redact_http_text_masks_a_logged_handshake() -> None:
    request = (
        "GET /prod?X-Amz-Date=20240501T120000Z&X-Amz-Signature=abc&token=t HTTP/1.1\r\n"
        "Upgrade: websocket\r\nHost: h:8\r\nSec-WebSocket-Version: 13\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature=ab\r\n"
        "X-Amz-Security-Token: tok\r\nx-token:t2\r\n\r\n"
    )
    assert redact_http_text(request) == (
        "GET /prod?X-Amz-Date=20240501T120000Z&X-Amz-Signature=***&token=*** HTTP/1.1\r\n"
        "Upgrade: websocket\r\nHost: h:8\r\nSec-WebSocket-Version: 13\r\n"
        "Authorization: AWS4-HMAC-SHA256 ***\r\n"
        "X-Amz-Security-Token: ***\r\nx-token: ***\r\n\r\n"
    )
    assert redact_http_text("CONNECT h:443 HTTP/1.0") == "CONNECT h:443 HTTP/1.0"
    for kept in ("++Sent raw: b'abc'", "close status: 1000", "Sending ping", "--- x ---"):
        assert redact_http_text(kept) == kept


def test_websocket_client_trace_is_redacted_before_any_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import websocket

    caplog.set_level(logging.DEBUG, logger="websocket")
    websocket.enableTrace(True, handler=logging.NullHandler())
    try:
        websocket._logging.dump("request header", "GET /s?sig=abc HTTP/1.1\r\nX-Key: k1")
        logging.getLogger("websocket").debug("Authorization: %s", "Bearer tok")
    finally:
        websocket.enableTrace(False)
    shown = [record.getMessage() for record in caplog.records if record.name == "websocket"]
    assert "GET /s?sig=*** HTTP/1.1\r\nX-Key: ***" in shown
    assert "Authorization: Bearer ***" in shown
    assert not [text for text in shown if "abc" in text or "k1" in text or "tok" in text]


def test_prepared_request_is_an_immutable_value_with_a_safe_repr() -> None:
    prepared = PreparedRequest(
        "wss://h/s?X-Amz-Signature=abc", {"Authorization": "Bearer tok", "X-Trace": "1"}
    )
    assert prepared.display_url == "wss://h/s?X-Amz-Signature=***"
    assert repr(prepared) == (
        "PreparedRequest(url='wss://h/s?X-Amz-Signature=***', "
        "headers={'Authorization': 'Bearer ***', 'X-Trace': '***'})"
    )
    assert prepared == PreparedRequest(
        "wss://h/s?X-Amz-Signature=abc", {"Authorization": "Bearer tok", "X-Trace": "1"}
    )
    assert hash(prepared) == hash(PreparedRequest("wss://h/s?X-Amz-Signature=abc"))
    with pytest.raises(TypeError):
        prepared.headers["X-Trace"] = "2"  # type: ignore[index]
    source = {"A": "1"}
    copy = PreparedRequest("wss://h/", source)
    source["A"] = "2"
    assert copy.headers == {"A": "1"}


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "1\r\nX-Injected: 1"}, {"X-A\n": "1"}, {"": "1"}, {"X A": "1"}, {"X-A": "a\0"}],
)
def test_prepared_request_refuses_unsendable_headers(headers: Mapping[str, str]) -> None:
    with pytest.raises(ValueError, match="cannot be sent"):
        PreparedRequest("wss://h/", headers)


def test_prepared_request_refuses_non_string_headers() -> None:
    with pytest.raises(TypeError, match="must be str"):
        PreparedRequest("wss://h/", {"X-A": 1})  # type: ignore[dict-item]


# ---------------------------------------------------------------------------------------------
# NoAuth and CustomAuth
# ---------------------------------------------------------------------------------------------


def test_providers_satisfy_the_protocol() -> None:
    for provider in (NoAuth(), CustomAuth(lambda url: url), IamAuth("us-east-1", KEYS)):
        assert isinstance(provider, AuthProvider)
    assert not isinstance(object(), AuthProvider)


def test_no_auth_opens_the_url_as_given() -> None:
    assert NoAuth().prepare("ws://127.0.0.1:1/x?y=1") == PreparedRequest("ws://127.0.0.1:1/x?y=1")
    assert repr(NoAuth()) == "NoAuth()"
    assert NoAuth() == NoAuth()


def test_custom_auth_rewrites_the_url_on_every_attempt() -> None:
    calls: list[str] = []

    def add_token(url: str) -> str:
        calls.append(url)
        return f"{url}?token=t{len(calls)}"

    auth = CustomAuth(add_token)
    assert auth.prepare("wss://h/s").url == "wss://h/s?token=t1"
    assert auth.prepare("wss://h/s").url == "wss://h/s?token=t2"
    assert calls == ["wss://h/s", "wss://h/s"]
    assert (
        repr(auth)
        == "CustomAuth(test_custom_auth_rewrites_the_url_on_every_attempt.<locals>.add_token)"
    )


def test_custom_auth_may_add_headers() -> None:
    auth = CustomAuth(lambda url: (url, {"Authorization": "Bearer abc"}))
    prepared = auth.prepare("wss://h/s")
    assert prepared == PreparedRequest("wss://h/s", {"Authorization": "Bearer abc"})


def test_custom_auth_wraps_a_raising_hook_without_its_text() -> None:
    failure = RuntimeError("token service said: secret-token-123 is revoked")

    def hook(url: str) -> str:
        raise failure

    with pytest.raises(AuthError) as caught:
        CustomAuth(hook).prepare("wss://h/s?token=old")
    error = caught.value
    assert isinstance(error, ConnectError)
    assert (
        str(error)
        == "CustomAuth hook test_custom_auth_wraps_a_raising_hook_without_its_text.<locals>.hook "
        "raised RuntimeError"
    )
    assert error.__cause__ is failure
    assert error.cause is failure
    assert error.url == "wss://h/s?token=***"
    assert error.status is None


def test_custom_auth_passes_the_hooks_own_auth_error_through() -> None:
    def hook(url: str) -> str:
        raise AuthError("sign in again: the refresh token expired")

    with pytest.raises(AuthError, match=r"^sign in again: the refresh token expired$"):
        CustomAuth(hook).prepare("wss://h/s")


class _Callable:
    def __call__(self, url: str) -> str:
        return 42  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        (lambda url: 42, "returned int; expected a URL string or a (url, headers) pair"),
        (lambda url: None, "returned NoneType; expected a URL string"),
        (lambda url: (url, ["Authorization: x"]), "returned headers of type list"),
        (lambda url: (url, {"X": 1}), "must be str, got str: int"),
        (lambda url: (url, {"X": "a\r\nB: c"}), "cannot be sent in HTTP"),
        (lambda url: (url, {"Host": "other"}), "returned a Host header"),
        (lambda url: "https://h/s", "scheme 'https'"),
        (lambda url: "/just/a/path", "scheme '(none)'"),
        (lambda url: "wss://h:99999/s", "malformed URL"),
        (_Callable(), "_Callable returned int"),
    ],
)
def test_custom_auth_names_what_came_back(hook: Any, message: str) -> None:
    with pytest.raises(AuthError, match="CustomAuth hook") as caught:
        CustomAuth(hook).prepare("wss://h/s")
    assert message in str(caught.value)


def test_custom_auth_needs_a_callable() -> None:
    with pytest.raises(TypeError, match="needs a callable, got str"):
        CustomAuth("wss://h/s")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# IamAuth: where, how and with what it signs
# ---------------------------------------------------------------------------------------------


def test_region_comes_from_execute_api_hosts() -> None:
    auth = IamAuth(credentials=KEYS, clock=clock)
    prepared = auth.prepare(API)
    assert "/eu-west-2/execute-api/aws4_request" in prepared.headers["Authorization"]
    for host, region in [
        ("x.execute-api.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("x.execute-api.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("x-vpce-1.execute-api.ap-southeast-2.vpce.amazonaws.com", "ap-southeast-2"),
        ("X.EXECUTE-API.US-EAST-1.AMAZONAWS.COM", "us-east-1"),
    ]:
        header = auth.prepare(f"wss://{host}/s").headers["Authorization"]
        assert f"/{region}/execute-api/aws4_request" in header


def test_explicit_region_wins_and_unknown_hosts_need_one() -> None:
    signed = IamAuth("ap-south-1", KEYS, clock=clock).prepare(API)
    assert "/ap-south-1/execute-api/" in signed.headers["Authorization"]
    with pytest.raises(AuthError, match=r"cannot infer the region from host 'ws\.example\.com'"):
        IamAuth(credentials=KEYS, clock=clock).prepare("wss://ws.example.com/prod")


def test_service_is_configurable() -> None:
    auth = IamAuth("us-east-1", KEYS, service="execute-api-custom", clock=clock)
    assert (
        "/us-east-1/execute-api-custom/aws4_request" in auth.prepare(API).headers["Authorization"]
    )


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:8080/s",
        "ws://127.8.9.10/s",
        "ws://localhost:1/s",
        "ws://LOCALHOST./s",
        "ws://[::1]:9/s",
        "ws://[::ffff:127.0.0.1]:9/s",
    ],
)
def test_plain_ws_is_allowed_to_loopback(url: str) -> None:
    assert IamAuth("us-east-1", KEYS, clock=clock).prepare(url).url == url


@pytest.mark.parametrize(
    "url", ["ws://10.0.0.1/s", "ws://example.com/s", "ws://localhost.evil.com/s", "ws://[::2]/s"]
)
def test_plain_ws_is_refused_elsewhere(url: str) -> None:
    for presign in (False, True):
        with pytest.raises(AuthError, match="replayed") as caught:
            IamAuth("us-east-1", KEYS, presign=presign, clock=clock).prepare(url)
        assert "loopback" in str(caught.value)


@pytest.mark.parametrize("url", ["https://h/s", "h/s", "wss:///nohost", "wss://h:x/s"])
def test_only_ws_urls_are_signed(url: str) -> None:
    with pytest.raises(AuthError, match="IamAuth"):
        IamAuth("us-east-1", KEYS, clock=clock).prepare(url)


URLS = [
    "wss://abc.execute-api.us-west-2.amazonaws.com/default",
    "wss://abc.execute-api.us-west-2.amazonaws.com:443/default",
    "wss://abc.execute-api.us-west-2.amazonaws.com:8443/default",
    "wss://Mixed.Case.Example.com:80/Stage",
    "ws://127.0.0.1:80/s",
    "ws://127.0.0.1:443/s",
    "ws://127.0.0.1:5000/s?x=1",
    "ws://localhost/s",
    "ws://[::1]:9000/s",
    "ws://[::1]/s",
    "wss://h",
]


@pytest.mark.parametrize("url", URLS)
def test_signed_host_is_the_host_websocket_client_sends(url: str) -> None:
    hostname, port, resource, _secure = parse_url(url)
    lines, _key = _get_handshake_headers(resource, url, hostname, port, {"suppress_origin": True})
    sent = next(line.split(": ", 1)[1] for line in lines if line.startswith("Host: "))
    assert wire_host(hostname, port) == sent
    prepared = IamAuth("us-east-1", KEYS, clock=clock).prepare(url)
    # The canonical request is not exposed by requests-aws4auth; the interop tests check the
    # signature against the Host line websocket-client writes. Here: nothing overrides Host.
    assert "host" not in {name.lower() for name in prepared.headers}


def test_header_form_output() -> None:
    prepared = IamAuth("us-east-1", dict(KEYS, token="T0K"), clock=clock).prepare(API + "?a=1")
    assert prepared.url == API + "?a=1"
    assert set(prepared.headers) == {"X-Amz-Date", "Authorization", "X-Amz-Security-Token"}
    assert prepared.headers["X-Amz-Date"] == "20240501T120000Z"
    assert prepared.headers["X-Amz-Security-Token"] == "T0K"
    assert prepared.headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY000001/20240501/us-east-1/execute-api/"
        "aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
    )


def test_presign_output_is_the_typescript_clients_form() -> None:
    auth = IamAuth("us-east-1", dict(KEYS, token="T0K"), presign=True, clock=clock)
    prepared = auth.prepare(API + "?a=1")
    assert prepared.headers == {}
    base, _, query = prepared.url.partition("?")
    assert base == API
    params = [p.split("=", 1) for p in query.split("&")]
    assert [name for name, _ in params] == [
        "a",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ]
    values = dict(params)
    assert (
        values["X-Amz-Credential"]
        == "AKIAEXAMPLEKEY000001%2F20240501%2Fus-east-1%2Fexecute-api%2Faws4_request"
    )
    assert values["X-Amz-Expires"] == "3600"
    assert values["X-Amz-SignedHeaders"] == "host"
    assert values["X-Amz-Security-Token"] == "T0K"
    assert auth.presign
    assert auth.expires == 3600


def test_presign_expiry_is_configurable_and_bounded() -> None:
    prepared = IamAuth("us-east-1", KEYS, presign=True, expires=60, clock=clock).prepare(API)
    assert "X-Amz-Expires=60&" in prepared.url
    for bad in (0, 604801, 1.5, True, "60"):
        with pytest.raises(ValueError, match="expires must be an int"):
            IamAuth("us-east-1", KEYS, presign=True, expires=bad)  # type: ignore[arg-type]


def test_presign_replaces_an_earlier_signature_instead_of_stacking_one() -> None:
    auth = IamAuth("us-east-1", KEYS, presign=True, clock=clock)
    first = auth.prepare(API + "?a=1").url
    later = IamAuth(
        "us-east-1", KEYS, presign=True, clock=lambda: NOW + timedelta(minutes=1)
    ).prepare(first)
    assert later.url.count("X-Amz-Signature=") == 1
    assert later.url.count("X-Amz-Date=20240501T120100Z") == 1
    assert later.url.startswith(API + "?a=1&X-Amz-Algorithm=")


def test_presign_refuses_repeated_query_parameters() -> None:
    auth = IamAuth("us-east-1", KEYS, presign=True, clock=clock)
    with pytest.raises(AuthError, match=r"repeated query parameters \['a'\]"):
        auth.prepare(API + "?a=1&a=2")


def test_unquoted_characters_are_quoted_before_signing_in_both_forms() -> None:
    for presign in (False, True):
        auth = IamAuth("us-east-1", KEYS, presign=presign, clock=clock)
        prepared = auth.prepare(API + "/a b/ሴ?q=x y")
        assert prepared.url.startswith(API + "/a%20b/%E1%88%B4?q=x%20y")


def test_fragment_is_neither_signed_nor_sent() -> None:
    for presign in (False, True):
        url = IamAuth("us-east-1", KEYS, presign=presign, clock=clock).prepare(API + "#f").url
        resource = parse_url(url)[2]
        assert resource.startswith("/prod")
        assert "#" not in resource


def test_clock_must_be_aware_and_other_zones_are_converted() -> None:
    naive = IamAuth("us-east-1", KEYS, clock=lambda: datetime(2024, 5, 1))
    with pytest.raises(AuthError, match="timezone-aware"):
        naive.prepare(API)
    tokyo = timezone(timedelta(hours=9))
    shifted = IamAuth("us-east-1", KEYS, clock=lambda: NOW.astimezone(tokyo)).prepare(API)
    assert shifted.headers["X-Amz-Date"] == "20240501T120000Z"


def test_default_clock_is_now() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = IamAuth("us-east-1", KEYS).prepare(API).headers["X-Amz-Date"]
    signed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert before <= signed <= datetime.now(timezone.utc)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"region": ""}, ValueError, "region must be"),
        ({"region": 3}, ValueError, "region must be"),
        ({"service": ""}, ValueError, "service must be"),
        ({"credentials": 42}, TypeError, "credentials must be a botocore-shaped object"),
        ({"credentials": "AKIA:secret"}, TypeError, "got str"),
    ],
)
def test_configuration_errors(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    options: dict[str, Any] = {"region": "us-east-1", "credentials": KEYS, **kwargs}
    with pytest.raises(error, match=message):
        IamAuth(**options)


# ---------------------------------------------------------------------------------------------
# Credentials sources
# ---------------------------------------------------------------------------------------------


class _Plain:
    def __init__(self, access_key: object, secret_key: object, token: object = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token


def _credential(auth: IamAuth) -> str:
    header = auth.prepare(API).headers["Authorization"]
    return header.split("Credential=", 1)[1].split("/", 1)[0]


def test_credentials_shapes() -> None:
    from botocore.credentials import Credentials, ReadOnlyCredentials

    shapes: list[object] = [
        Credentials("AKIDBOTO", "s"),
        ReadOnlyCredentials("AKIDRO", "s", None),
        _Plain("AKIDPLAIN", "s"),
        {"AccessKeyId": "AKIDSTS", "SecretAccessKey": "s", "SessionToken": "t"},
        {"aws_access_key_id": "AKIDINI", "aws_secret_access_key": "s"},
        {"access_key": "AKIDMAP", "secret_key": "s", "token": None},
    ]
    names = [_credential(IamAuth("us-east-1", shape, clock=clock)) for shape in shapes]
    assert names == ["AKIDBOTO", "AKIDRO", "AKIDPLAIN", "AKIDSTS", "AKIDINI", "AKIDMAP"]


def test_empty_session_token_is_no_token() -> None:
    auth = IamAuth("us-east-1", dict(KEYS, token=""), presign=True, clock=clock)
    assert "X-Amz-Security-Token" not in auth.prepare(API).url


def test_a_provider_is_called_for_every_attempt() -> None:
    issued: list[str] = []

    def provider() -> dict[str, str]:
        issued.append(f"AKIDROTATION{len(issued):04d}")
        return {"access_key": issued[-1], "secret_key": f"secret-{len(issued)}"}

    auth = IamAuth("us-east-1", provider, clock=clock)
    assert [_credential(auth) for _ in range(3)] == issued
    assert len(set(issued)) == 3


def test_refreshable_credentials_are_snapshotted_each_time() -> None:
    snapshots: list[str] = []

    class Refreshable:
        def get_frozen_credentials(self) -> _Plain:
            snapshots.append(f"AKIDREFRESH{len(snapshots)}")
            return _Plain(snapshots[-1], "secret", "token")

    auth = IamAuth("us-east-1", Refreshable(), clock=clock)
    assert [_credential(auth) for _ in range(2)] == ["AKIDREFRESH0", "AKIDREFRESH1"]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (_Plain(None, "s"), "no usable access key and secret key"),
        (_Plain("AKID", ""), "no usable access key and secret key"),
        (_Plain("AKID", "s", 5), "session token of type int"),
        ({"user": "x"}, r"the dict from dict has no access_key/secret_key"),
        ({"Credentials": {}, "ResponseMetadata": {}}, r"pass response\['Credentials'\]"),
        ({"access_key": "AKID"}, "no usable access key"),
        (lambda: None, "returned NoneType"),
        (lambda: "AKID:secret", "returned str"),
    ],
)
def test_unusable_credentials_are_named(credentials: object, message: str) -> None:
    auth = IamAuth("us-east-1", credentials, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match=message) as caught:
        auth.prepare(API)
    assert str(caught.value).startswith("IamAuth could not get AWS credentials: ")
    assert caught.value.status is None  # no handshake was sent: no HTTP status is claimed


def test_unusable_credentials_are_named_by_type_never_by_content() -> None:
    secret = "UnusableSecretContent/0123456789"
    for produced in (secret, {secret: secret}, [secret], {"access_key": secret, "token": 5}):
        auth = IamAuth("us-east-1", lambda p=produced: p, clock=clock)  # type: ignore[misc]
        with pytest.raises(AuthError) as caught:
            auth.prepare(API)
        assert type(produced).__name__ in str(caught.value)
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
        assert caught.value.status is None


def test_failing_providers_are_wrapped_with_the_cause() -> None:
    failure = OSError("vault unreachable")

    def provider() -> dict[str, str]:
        raise failure

    with pytest.raises(
        AuthError,
        match=r"^IamAuth could not get AWS credentials: credentials provider .*provider raised "
        r"OSError$",
    ) as caught:
        IamAuth("us-east-1", provider, clock=clock).prepare(API)
    assert caught.value.__cause__ is failure
    assert caught.value.status is None
    assert "vault unreachable" not in str(caught.value)

    class Broken:
        def get_frozen_credentials(self) -> object:
            raise failure

    with pytest.raises(AuthError, match="refreshing credentials from Broken failed with OSError"):
        IamAuth("us-east-1", Broken(), clock=clock).prepare(API)

    def raises_auth_error() -> dict[str, str]:
        raise AuthError("SSO session expired: run aws sso login")

    with pytest.raises(AuthError, match=r"^SSO session expired"):
        IamAuth("us-east-1", raises_auth_error, clock=clock).prepare(API)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """An environment where botocore's chain can only find environment variables (no network)."""
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
        "AWS_CREDENTIAL_PROCESS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def test_default_chain_is_used_when_no_credentials_are_given(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    aws_env.setenv("AWS_SESSION_TOKEN", "env-token")
    auth = IamAuth("us-east-1", clock=clock)
    prepared = auth.prepare(API)
    assert "Credential=AKIDFROMENV/" in prepared.headers["Authorization"]
    assert prepared.headers["X-Amz-Security-Token"] == "env-token"
    assert repr(auth) == (
        "IamAuth(region='us-east-1', service='execute-api', presign=False, "
        "credentials=<default chain>)"
    )


def test_default_chain_without_credentials_is_a_clear_error(aws_env: pytest.MonkeyPatch) -> None:
    auth = IamAuth("us-east-1", clock=clock)
    with pytest.raises(AuthError) as caught:
        auth.prepare(API)
    message = str(caught.value)
    assert message.startswith("IamAuth could not get AWS credentials: none were passed and ")
    assert "botocore's default chain (environment variables, shared credentials" in message
    assert "found none" in message
    assert "IamAuth(credentials=...)" in message
    assert caught.value.status is None  # not a 401: no handshake was sent
    assert "401" not in message
    assert "handshake" not in message
    aws_env.setenv("AWS_ACCESS_KEY_ID", "AKIDLATER")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "later-secret")
    assert _credential(auth) == "AKIDLATER"  # not cached while missing


def test_missing_botocore_is_reported_with_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore", None)
    with pytest.raises(ImportError, match=r"pip install 'wsapi-client\[iam\]'"):
        IamAuth("us-east-1", KEYS, presign=True)
    with pytest.raises(ImportError, match=r"default chain.*pip install 'wsapi-client\[iam\]'"):
        IamAuth("us-east-1")
    header_only = IamAuth("us-east-1", KEYS, clock=clock)  # requests-aws4auth is enough
    assert "Authorization" in header_only.prepare(API).headers


def test_default_chain_without_botocore_names_the_extra(aws_env: pytest.MonkeyPatch) -> None:
    auth = IamAuth("us-east-1", clock=clock)  # botocore present when configured...
    aws_env.setitem(sys.modules, "botocore.session", None)  # ...and gone when it is needed
    with pytest.raises(AuthError) as caught:
        auth.prepare(API)
    assert str(caught.value) == (
        "IamAuth could not get AWS credentials: none were passed, and botocore, whose default "
        "chain would look for them, is not installed: pip install 'wsapi-client[iam]'"
    )
    assert caught.value.status is None


def test_a_failing_default_chain_is_named(aws_env: pytest.MonkeyPatch, tmp_path: Any) -> None:
    aws_env.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(AuthError) as caught:
        IamAuth("us-east-1", clock=clock).prepare(API)
    assert str(caught.value).startswith(
        "IamAuth could not get AWS credentials: botocore's default chain ("
    )
    assert str(caught.value).endswith("failed with ProfileNotFound")
    assert caught.value.status is None
    assert type(caught.value.__cause__).__name__ == "ProfileNotFound"


def test_botocore_vanishing_after_configuration_is_an_auth_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = IamAuth("us-east-1", KEYS, presign=True, clock=clock)
    for name in ("botocore", "botocore.auth"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(
        AuthError, match=r"botocore.* is missing; pip install 'wsapi-client\[iam\]'"
    ):
        auth.prepare(API)


def test_signing_library_failures_become_auth_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests_aws4auth

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom with secret inside")

    monkeypatch.setattr(requests_aws4auth, "AWS4Auth", explode)
    with pytest.raises(AuthError, match=r"^SigV4 signing failed with RuntimeError$") as caught:
        IamAuth("us-east-1", KEYS, clock=clock).prepare(API)
    assert caught.value.url == API


def test_repr_names_the_source_never_the_keys() -> None:
    def provider() -> dict[str, str]:
        return KEYS

    assert repr(IamAuth("us-east-1", KEYS)) == (
        "IamAuth(region='us-east-1', service='execute-api', presign=False, "
        "credentials=<dict object>)"
    )
    assert "credentials=<provider " in repr(IamAuth(None, provider, presign=True))
    assert "region=None" in str(IamAuth(None, provider))
    keys = SigningKeys("AKIAEXAMPLEKEY000001", "topsecret", "tok")
    assert repr(keys) == "SigningKeys(access_key='...0001', secret_key='***', token='***')"
    assert repr(SigningKeys("short", "x", None)) == (
        "SigningKeys(access_key='***', secret_key='***', token=None)"
    )
