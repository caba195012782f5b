"""The emulator's SigV4 verifier: every vector's signed request is accepted, tampering is not."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from test_auth_vectors import VECTORS, RawRequest, Vector, expected_signature
from websockets.datastructures import Headers

from wsapi_client.emulator._sigv4 import (
    EMPTY_PAYLOAD_SHA256,
    Identity,
    SignatureError,
    canonical_query,
    canonical_uri,
    split_target,
    verify_sigv4,
    verify_sigv4_target,
)

FORMS = ("header", "query")


def _verify(vector: Vector, request: RawRequest, **overrides: object) -> Identity:
    options: dict[str, object] = {
        "keys": {vector.access_key: vector.secret_key},
        "now": vector.when,
        "service": vector.service,
        "region": vector.region,
        "normalize_path": vector.normalize,
    }
    options.update(overrides)
    return verify_sigv4(
        request.method,
        request.path,
        request.query,
        list(request.headers),
        **options,  # type: ignore[arg-type]
    )


def _reason(vector: Vector, request: RawRequest, **overrides: object) -> str:
    with pytest.raises(SignatureError) as caught:
        _verify(vector, request, **overrides)
    return caught.value.reason


def _with_headers(request: RawRequest, **changes: str) -> RawRequest:
    headers = [(n, changes.pop(n, v)) for n, v in request.headers]
    headers.extend(changes.items())
    return dataclasses.replace(request, headers=tuple(headers))


def _with_target(request: RawRequest, target: str) -> RawRequest:
    return dataclasses.replace(request, target=target)


def _flip_signature(request: RawRequest, form: str, signature: str) -> RawRequest:
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    if form == "query":
        return _with_target(request, request.target.replace(signature, flipped))
    headers = dict(request.headers)
    return _with_headers(
        request, Authorization=headers["Authorization"].replace(signature, flipped)
    )


# ---------------------------------------------------------------------------------------------
# Acceptance of the suite
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_accepts_every_vector(vector: Vector, form: str) -> None:
    identity = _verify(vector, vector.signed_request(form))
    assert identity == Identity(
        access_key="AKIDEXAMPLE",
        region="us-east-1",
        service="service",
        signed_at=vector.when,
        form=form,  # type: ignore[arg-type]
        signed_headers=identity.signed_headers,
        has_session_token=vector.token is not None,
        expires_at=vector.when + timedelta(seconds=3600) if form == "query" else None,
    )
    assert "host" in identity.signed_headers


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_canonical_pieces_equal_the_vectors(vector: Vector) -> None:
    header_lines = vector.canonical("header").split("\n")
    assert canonical_uri(vector.request.path, normalize=vector.normalize) == header_lines[1]
    assert canonical_query(vector.request.query) == header_lines[2]
    assert header_lines[-1] == EMPTY_PAYLOAD_SHA256
    query_lines = vector.canonical("query").split("\n")
    signed = vector.signed_request("query")
    assert canonical_query(signed.query, exclude=frozenset({"X-Amz-Signature"})) == query_lines[2]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_rejects_a_changed_signature(vector: Vector, form: str) -> None:
    tampered = _flip_signature(vector.signed_request(form), form, vector.signature(form))
    assert _reason(vector, tampered) == "bad-signature"


def test_repeated_headers_through_websockets_headers_object() -> None:
    vector = next(v for v in VECTORS if v.name == "get-header-value-order")
    signed = vector.signed_request("header")
    headers = Headers(list(signed.headers))
    identity = verify_sigv4(
        "GET",
        signed.path,
        signed.query,
        headers,
        keys={vector.access_key: vector.secret_key},
        now=vector.when,
        service="service",
    )
    assert identity.signed_headers == ("host", "my-header1", "x-amz-date")
    reordered = Headers(sorted(signed.headers))
    with pytest.raises(SignatureError, match="bad-signature"):
        verify_sigv4(
            "GET",
            signed.path,
            signed.query,
            reordered,
            keys={vector.access_key: vector.secret_key},
            now=vector.when,
            service="service",
        )


# ---------------------------------------------------------------------------------------------
# Tampering and policy
# ---------------------------------------------------------------------------------------------

TAMPER_VECTORS = [
    v
    for v in VECTORS
    if v.name
    in (
        "get-vanilla",
        "get-vanilla-with-session-token",
        "get-vanilla-query-order-encoded",
        "get-header-value-order",
    )
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("vector", TAMPER_VECTORS, ids=[v.name for v in TAMPER_VECTORS])
def test_rejects_tampered_requests(vector: Vector, form: str) -> None:
    signed = vector.signed_request(form)
    joiner = "&" if "?" in signed.target else "?"
    cases = {
        "method": (dataclasses.replace(signed, method="POST"), {}),
        "path": (_with_target(signed, "/other" + signed.target), {}),
        "query": (_with_target(signed, f"{signed.target}{joiner}extra=1"), {}),
        "host": (_with_headers(signed, Host="evil.example.com"), {}),
        "secret": (signed, {"keys": {vector.access_key: "not-the-secret"}}),
        "payload": (signed, {"payload_sha256": "0" * 64}),
    }
    if form == "header":
        cases["date"] = (_with_headers(signed, **{"X-Amz-Date": "20150830T123601Z"}), {})
    if vector.token and form == "header":
        cases["token"] = (_with_headers(signed, **{"X-Amz-Security-Token": "forged"}), {})
    if vector.token and form == "query":
        cases["token"] = (_with_target(signed, signed.target.replace("6e86291e", "6e86291f")), {})
    for label, (request, overrides) in cases.items():
        assert _reason(vector, request, **overrides) == "bad-signature", label


@pytest.mark.parametrize("form", FORMS)
def test_policy_failures_have_their_own_reasons(form: str) -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla-with-session-token")
    signed = vector.signed_request(form)
    assert _reason(vector, signed, keys={}) == "unknown-access-key"
    assert _reason(vector, signed, region="eu-west-1") == "scope-mismatch"
    assert _reason(vector, signed, service="execute-api") == "scope-mismatch"
    unsigned = RawRequest("GET", "/", (("Host", "example.amazonaws.com"),))
    assert _reason(vector, unsigned) == "missing-auth"
    no_host = dataclasses.replace(
        signed, headers=tuple((n, v) for n, v in signed.headers if n != "Host")
    )
    assert _reason(vector, no_host) == "host-not-signed"


def test_header_form_clock_skew_is_five_minutes_either_way() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    signed = vector.signed_request("header")
    five = timedelta(seconds=300)
    assert _verify(vector, signed, now=vector.when + five).access_key == "AKIDEXAMPLE"
    assert _verify(vector, signed, now=vector.when - five).access_key == "AKIDEXAMPLE"
    second = timedelta(seconds=1)
    assert _reason(vector, signed, now=vector.when + five + second) == "clock-skew"
    assert _reason(vector, signed, now=vector.when - five - second) == "clock-skew"
    assert _reason(vector, signed, now=vector.when + 2 * five, max_skew=60.0) == "clock-skew"


def test_presigned_url_expiry_and_future_date() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    signed = vector.signed_request("query")
    hour = timedelta(seconds=3600)
    assert _verify(vector, signed, now=vector.when + hour).expires_at == vector.when + hour
    assert _reason(vector, signed, now=vector.when + hour + timedelta(seconds=1)) == "expired"
    too_early = vector.when - timedelta(seconds=301)
    assert _reason(vector, signed, now=too_early) == "clock-skew"


def test_host_must_be_among_the_signed_headers() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    canonical = "GET\n/\n\nx-amz-date:20150830T123600Z\n\nx-amz-date\n" + EMPTY_PAYLOAD_SHA256
    signature = expected_signature(vector, canonical)
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=x-amz-date, Signature={signature}"
    )
    request = RawRequest(
        "GET",
        "/",
        (
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", authorization),
        ),
    )
    assert _reason(vector, request) == "host-not-signed"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (
            "AWS4-ECDSA-P256-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, "
            "Signature=0",
            "unsupported-algorithm",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
            "malformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/us-east-1/service/aws4_request, "
            "SignedHeaders=host, Signature=00",
            "malformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "scope-mismatch",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date;my-header, Signature=00",
            "malformed",
        ),
    ],
)
def test_malformed_authorization_headers(authorization: str, reason: str) -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    request = RawRequest(
        "GET",
        "/",
        (
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", authorization),
        ),
    )
    assert _reason(vector, request) == reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("X-Amz-Expires=3600", "X-Amz-Expires=604801"), "malformed"),
        (("X-Amz-Expires=3600", "X-Amz-Expires=soon"), "malformed"),
        (("X-Amz-Date=20150830T123600Z", "X-Amz-Date=2015-08-30"), "malformed"),
        (("&X-Amz-SignedHeaders=host", ""), "malformed"),
        (("X-Amz-Expires=3600", "X-Amz-Expires=3600&X-Amz-Expires=60"), "malformed"),
    ],
)
def test_malformed_presigned_urls(change: tuple[str, str], reason: str) -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    signed = vector.signed_request("query")
    assert change[0] in signed.target
    assert _reason(vector, _with_target(signed, signed.target.replace(*change))) == reason


def test_both_forms_at_once_is_malformed() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    header = dict(vector.signed_request("header").headers)
    query = vector.signed_request("query")
    both = _with_headers(query, Authorization=header["Authorization"])
    assert _reason(vector, both) == "malformed"


def test_date_header_is_accepted_when_x_amz_date_is_absent() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    canonical = "GET\n/\n\ndate:Sun, 30 Aug 2015 12:36:00 GMT\nhost:example.amazonaws.com\n\n"
    canonical += "date;host\n" + EMPTY_PAYLOAD_SHA256
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=date;host, Signature={expected_signature(vector, canonical)}"
    )
    request = RawRequest(
        "GET",
        "/",
        (
            ("Host", "example.amazonaws.com"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            ("Authorization", authorization),
        ),
    )
    assert _verify(vector, request).signed_at == vector.when
    garbled = _with_headers(request, Date="yesterday")
    assert _reason(vector, garbled) == "malformed"


def test_errors_never_carry_the_signature_or_secret() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla-with-session-token")
    for form in FORMS:
        signed = vector.signed_request(form)
        tampered = _flip_signature(signed, form, vector.signature(form))
        for request, overrides in (
            (tampered, {}),
            (signed, {"keys": {vector.access_key: "wrong"}}),
            (signed, {"now": vector.when + timedelta(days=1)}),
        ):
            with pytest.raises(SignatureError) as caught:
                _verify(vector, request, **overrides)
            text = f"{caught.value} {caught.value!r} {caught.value.detail}"
            for secret in (vector.signature(form), vector.secret_key, vector.token or "-"):
                assert secret not in text


# ---------------------------------------------------------------------------------------------
# Helpers and inputs
# ---------------------------------------------------------------------------------------------


def test_verify_target_splits_paths_and_absolute_urls() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla-query-order-key-case")
    signed = vector.signed_request("query")
    options = {
        "keys": {vector.access_key: vector.secret_key},
        "now": vector.when,
        "service": "service",
    }
    by_target = verify_sigv4_target("GET", signed.target, list(signed.headers), **options)
    url = f"ws://127.0.0.1:9/{signed.target.lstrip('/')}"
    by_url = verify_sigv4_target("GET", url, list(signed.headers), **options)
    assert by_target == by_url
    assert split_target("//example//?a=1") == ("//example//", "a=1")
    assert split_target("") == ("/", "")
    assert split_target("wss://h:1?x") == ("/", "x")


def test_canonical_uri_rules() -> None:
    assert canonical_uri("") == "/"
    assert canonical_uri("/stage") == "/stage"
    assert canonical_uri("/a/b/../c/./d/") == "/a/c/d/"
    assert canonical_uri("/a/..") == "/"
    assert canonical_uri("/a b/%2F") == "/a%20b/%252F"
    assert canonical_uri("/$default") == "/%24default"
    assert canonical_uri("//x//", normalize=False) == "//x//"


def test_canonical_query_rules() -> None:
    assert canonical_query("") == ""
    assert canonical_query("b=2&a=1&a=0") == "a=0&a=1&b=2"
    assert canonical_query("k&v=") == "k=&v="
    assert canonical_query("a=%7e&b=x+y&c=%2f") == "a=~&b=x%2By&c=%2F"
    assert canonical_query("X-Amz-Signature=ab&z=1", exclude=frozenset({"X-Amz-Signature"})) == (
        "z=1"
    )


def test_naive_now_is_a_programming_error() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(vector, vector.signed_request("header"), now=datetime(2015, 8, 30, 12, 36))


def test_now_in_another_timezone_is_the_same_instant() -> None:
    vector = next(v for v in VECTORS if v.name == "get-vanilla")
    paris = timezone(timedelta(hours=2))
    identity = _verify(vector, vector.signed_request("header"), now=vector.when.astimezone(paris))
    assert identity.signed_at == vector.when
