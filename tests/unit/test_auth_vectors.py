"""The client's two SigV4 signers against the AWS signing test suite (GET cases), fixed clock.

Header form: requests-aws4auth (``sign_header_form``). Query form: botocore's SigV4QueryAuth
(``sign_query_form``). Where a library canonicalises differently from a vector, the test id says
``differs-<why>`` and the test asserts the exact canonical request the library signs instead: the
vector's, with the one line that differs replaced. Nothing is skipped.

Why they differ (none of it matters for ``GET https://<api>.execute-api.<region>.amazonaws.com/stage``):

- ``path-encoded-twice``: the vector's request line carries a raw space / UTF-8 character, which
  is not valid HTTP. requests percent-encodes it for the wire (``/example%20space/``) and, as SigV4
  prescribes for every service but S3, the signer URI-encodes the wire path once more
  (``/example%2520space/``). API Gateway does the same on its side.
- ``path-always-normalized``: the ``-unnormalized`` vectors model S3, which signs dot segments and
  double slashes verbatim. requests/urllib3 and both signers normalise the path, as execute-api
  does.
- ``aws4auth-keeps-quoted-whitespace``: requests-aws4auth collapses whitespace with ``shlex`` and so
  leaves runs of spaces inside double quotes; the spec trims all of them. IamAuth signs only
  ``host``, ``x-amz-date`` and ``x-amz-security-token``, which never hold quoted text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import parse_qsl, urlsplit

import pytest

from wsapi_client import IamAuth
from wsapi_client._auth import SigningKeys, sign_header_form, sign_query_form

SUITE = Path(__file__).resolve().parents[1] / "data" / "sigv4-test-suite"
HOST = "example.amazonaws.com"


# ---------------------------------------------------------------------------------------------
# Loading the suite (shared with test_sigv4_verify.py)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRequest:
    """A request as written in the suite: request line, then header lines (folds kept)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


def parse_request(text: str) -> RawRequest:
    lines = text.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # the path may contain spaces
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":  # obs-fold: a continuation of the previous value
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return RawRequest(method, target, tuple(headers))


@dataclass(frozen=True)
class Vector:
    name: str
    context: Mapping[str, object]
    request: RawRequest
    files: Mapping[str, str] = field(repr=False)

    @property
    def credentials(self) -> Mapping[str, str]:
        creds = self.context["credentials"]
        assert isinstance(creds, dict)
        return creds

    @property
    def access_key(self) -> str:
        return self.credentials["access_key_id"]

    @property
    def secret_key(self) -> str:
        return self.credentials["secret_access_key"]

    @property
    def token(self) -> Optional[str]:
        return self.credentials.get("token")

    @property
    def keys(self) -> SigningKeys:
        return SigningKeys(self.access_key, self.secret_key, self.token)

    @property
    def when(self) -> datetime:
        stamp = str(self.context["timestamp"])
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    @property
    def region(self) -> str:
        return str(self.context["region"])

    @property
    def service(self) -> str:
        return str(self.context["service"])

    @property
    def normalize(self) -> bool:
        return bool(self.context["normalize"])

    @property
    def expires(self) -> int:
        value = self.context["expiration_in_seconds"]
        assert isinstance(value, int)
        return value

    def text(self, name: str) -> str:
        return self.files[name]

    def signature(self, form: str) -> str:
        return self.text(f"{form}-signature.txt").strip()

    def canonical(self, form: str) -> str:
        return self.text(f"{form}-canonical-request.txt")

    def signed_request(self, form: str) -> RawRequest:
        return parse_request(self.text(f"{form}-signed-request.txt"))


def load_vectors() -> list[Vector]:
    vectors = []
    for folder in sorted(p for p in SUITE.iterdir() if p.is_dir()):
        files = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
        vectors.append(
            Vector(
                name=folder.name,
                context=json.loads(files["context.json"]),
                request=parse_request(files["request.txt"]),
                files=files,
            )
        )
    return vectors


VECTORS = load_vectors()
BY_NAME = {v.name: v for v in VECTORS}


def expected_signature(vector: Vector, canonical_request: str) -> str:
    """Sign ``canonical_request`` with the vector's key and scope, straight from the spec."""
    stamp = vector.when.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{stamp[:8]}/{vector.region}/{vector.service}/aws4_request"
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = f"AWS4{vector.secret_key}".encode()
    for part in (stamp[:8], vector.region, vector.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# Where the libraries differ from a vector, and how
# ---------------------------------------------------------------------------------------------


def _path_line(path: str) -> Callable[[str], str]:
    def rewrite(canonical: str) -> str:
        lines = canonical.split("\n")
        lines[1] = path
        return "\n".join(lines)

    return rewrite


def _replace(old: str, new: str) -> Callable[[str], str]:
    def rewrite(canonical: str) -> str:
        assert old in canonical
        return canonical.replace(old, new)

    return rewrite


@dataclass(frozen=True)
class Deviation:
    why: str
    rewrite: Callable[[str], str]


_PATH_DEVIATIONS = {
    "get-space-normalized": Deviation("path-encoded-twice", _path_line("/example%2520space/")),
    "get-space-unnormalized": Deviation("path-encoded-twice", _path_line("/example%2520space/")),
    "get-utf8": Deviation("path-encoded-twice", _path_line("/%25E1%2588%25B4")),
    "get-relative-unnormalized": Deviation("path-always-normalized", _path_line("/")),
    "get-relative-relative-unnormalized": Deviation("path-always-normalized", _path_line("/")),
    "get-slash-dot-slash-unnormalized": Deviation("path-always-normalized", _path_line("/")),
    "get-slash-pointless-dot-unnormalized": Deviation(
        "path-always-normalized", _path_line("/example")
    ),
    "get-slash-unnormalized": Deviation("path-always-normalized", _path_line("/")),
    "get-slashes-unnormalized": Deviation("path-always-normalized", _path_line("/example/")),
}

HEADER_FORM_DEVIATIONS = {
    **_PATH_DEVIATIONS,
    "get-header-value-trim": Deviation(
        "aws4auth-keeps-quoted-whitespace",
        _replace('my-header2:"a b c"', 'my-header2:"a   b   c"'),
    ),
}
QUERY_FORM_DEVIATIONS = dict(_PATH_DEVIATIONS)


def _cases(deviations: Mapping[str, Deviation]) -> list[object]:
    cases = []
    for vector in VECTORS:
        deviation = deviations.get(vector.name)
        case_id = vector.name if deviation is None else f"{vector.name}-differs-{deviation.why}"
        cases.append(pytest.param(vector, deviation, id=case_id))
    return cases


def sendable_headers(request: RawRequest) -> dict[str, str]:
    """The vector's extra headers as an HTTP client can send them: repeated names combined with
    commas in order (RFC 9110 5.3), folded lines unfolded with a space (RFC 9112 5.2), leading
    whitespace dropped (it is not part of a field value)."""
    combined: dict[str, str] = {}
    for name, value in request.headers:
        if name.lower() == "host":
            continue
        unfolded = re.sub(r"\n[ \t]+", " ", value).strip()
        combined[name] = f"{combined[name]},{unfolded}" if name in combined else unfolded
    return combined


# ---------------------------------------------------------------------------------------------
# Header form: requests-aws4auth
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vector", "deviation"), _cases(HEADER_FORM_DEVIATIONS))
def test_header_form_matches_vector(vector: Vector, deviation: Optional[Deviation]) -> None:
    _, headers = sign_header_form(
        f"https://{HOST}{vector.request.target}",
        host=HOST,
        keys=vector.keys,
        region=vector.region,
        service=vector.service,
        when=vector.when,
        extra_headers=sendable_headers(vector.request),
    )
    signature = re.fullmatch(r".*, Signature=([0-9a-f]{64})", headers["Authorization"])
    assert signature is not None
    expected = dict(vector.signed_request("header").headers)
    assert headers["X-Amz-Date"] == expected["X-Amz-Date"]
    assert headers.get("X-Amz-Security-Token") == expected.get("X-Amz-Security-Token")
    if deviation is None:
        assert headers["Authorization"] == expected["Authorization"]
    else:
        ours = deviation.rewrite(vector.canonical("header"))
        assert signature.group(1) == expected_signature(vector, ours)
        assert signature.group(1) != vector.signature("header")


# ---------------------------------------------------------------------------------------------
# Query form: botocore's SigV4QueryAuth
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vector", "deviation"), _cases(QUERY_FORM_DEVIATIONS))
def test_query_form_matches_vector(vector: Vector, deviation: Optional[Deviation]) -> None:
    signed_url = sign_query_form(
        f"https://{HOST}{vector.request.target}",
        host=HOST,
        keys=vector.keys,
        region=vector.region,
        service=vector.service,
        when=vector.when,
        expires=vector.expires,
        extra_headers=sendable_headers(vector.request),
    )
    ours = parse_qsl(urlsplit(signed_url).query, keep_blank_values=True)
    expected = parse_qsl(vector.signed_request("query").query, keep_blank_values=True)
    signature = dict(ours)["X-Amz-Signature"]
    if deviation is None:
        assert sorted(ours) == sorted(expected)
        assert urlsplit(signed_url).path == vector.request.path
    else:
        assert sorted(p for p in ours if p[0] != "X-Amz-Signature") == sorted(
            p for p in expected if p[0] != "X-Amz-Signature"
        )
        assert signature == expected_signature(vector, deviation.rewrite(vector.canonical("query")))
        assert signature != vector.signature("query")


def test_every_vector_is_covered_and_deviations_name_real_vectors() -> None:
    assert len(VECTORS) == 28
    assert set(HEADER_FORM_DEVIATIONS) <= set(BY_NAME)
    assert sum(not v.normalize for v in VECTORS) == 7  # all seven are listed as deviations
    assert {v.name for v in VECTORS if not v.normalize} <= set(_PATH_DEVIATIONS)


# ---------------------------------------------------------------------------------------------
# The same vectors through the public IamAuth
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["get-vanilla", "get-vanilla-with-session-token"])
def test_iam_auth_header_form_reproduces_vector(name: str) -> None:
    vector = BY_NAME[name]
    auth = IamAuth(
        region=vector.region,
        credentials={
            "access_key": vector.access_key,
            "secret_key": vector.secret_key,
            "token": vector.token,
        },
        service=vector.service,
        clock=lambda: vector.when,
    )
    prepared = auth.prepare(f"wss://{HOST}/")
    assert prepared.url == f"wss://{HOST}/"
    expected = dict(vector.signed_request("header").headers)
    expected.pop("Host")
    assert dict(prepared.headers) == expected


@pytest.mark.parametrize(
    "name", ["get-vanilla", "get-vanilla-with-session-token", "get-vanilla-query-order-key-case"]
)
def test_iam_auth_presign_reproduces_vector(name: str) -> None:
    vector = BY_NAME[name]
    auth = IamAuth(
        region=vector.region,
        credentials={
            "access_key": vector.access_key,
            "secret_key": vector.secret_key,
            "token": vector.token,
        },
        service=vector.service,
        presign=True,
        clock=lambda: vector.when,
    )
    prepared = auth.prepare(f"wss://{HOST}{vector.request.target}")
    assert prepared.headers == {}
    parts = urlsplit(prepared.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", HOST, "/")
    expected = vector.signed_request("query")
    assert sorted(parse_qsl(parts.query)) == sorted(parse_qsl(expected.query))
