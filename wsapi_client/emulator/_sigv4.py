"""SigV4 verification of ``$connect`` requests, written from the AWS specification.

It shares no code with the client's signers (requests-aws4auth for headers, botocore for presigned
URLs), so a test where the emulator accepts the client's handshake checks two implementations
against each other. Pure: no I/O, no clock of its own (``now`` is passed in).

The emulator receives ``GET /stage?...`` on a ``ws://127.0.0.1:PORT`` socket while the client signed
``https://127.0.0.1:PORT/stage``: SigV4 covers the method, path, query, signed headers (``Host``
among them) and payload hash, never the scheme, so the request is checked as it arrived.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal, Optional, Union
from urllib.parse import unquote_to_bytes, urlsplit

import attrs

__all__ = [
    "EMPTY_PAYLOAD_SHA256",
    "HeadersLike",
    "Identity",
    "SignatureError",
    "SignatureReason",
    "canonical_query",
    "canonical_uri",
    "split_target",
    "verify_sigv4",
    "verify_sigv4_target",
]

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGN_EXPIRES = 604800  # seven days, the SigV4 maximum
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")

SignatureReason = Literal[
    "missing-auth",
    "malformed",
    "unsupported-algorithm",
    "unknown-access-key",
    "scope-mismatch",
    "host-not-signed",
    "clock-skew",
    "expired",
    "bad-signature",
    "bad-token",
]

HeadersLike = Union[Mapping[str, str], Iterable[tuple[str, str]]]
"""Request headers: a mapping, or (name, value) pairs when a name repeats. An object with
``raw_items()`` (websockets' ``Headers``) is read through it, so repeated headers are kept."""


class SignatureError(Exception):
    """The request is not validly signed; ``reason`` is a stable code, the text says what failed.

    Neither carries a signature, secret key or session token.
    """

    def __init__(self, reason: SignatureReason, detail: str) -> None:
        self.reason: SignatureReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@attrs.frozen
class Identity:
    """Who signed an accepted request, for the emulator's connection records."""

    access_key: str
    region: str
    service: str
    signed_at: datetime
    form: Literal["header", "query"]
    signed_headers: tuple[str, ...]
    has_session_token: bool
    expires_at: Optional[datetime] = None


# ---------------------------------------------------------------------------------------------
# Canonical request pieces (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
# ---------------------------------------------------------------------------------------------


def _uri_encode(raw: bytes, *, keep_slash: bool) -> str:
    """Percent-encode every byte but the unreserved ones (and ``/`` in paths), in upper-case hex."""
    out = []
    for byte in raw:
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """Normalise a path as SigV4 does for every service but S3: resolve ``.`` and ``..`` and
    collapse repeated slashes, keeping a trailing slash."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalised = "/" + "/".join(segments)
    if segments and path.endswith(("/", "/.", "/..")):
        normalised += "/"
    return normalised


def canonical_uri(path: str, *, normalize: bool = True) -> str:
    """The canonical URI of a request path as it was received.

    Outside S3 the path is URI-encoded once more on top of its wire encoding (a space sent as
    ``%20`` is signed as ``%2520``); a raw path, as in the AWS test suite, is encoded once.
    """
    if not path:
        path = "/"
    if normalize:
        path = _remove_dot_segments(path)
    return _uri_encode(path.encode("utf-8"), keep_slash=True)


def canonical_query(query: str, *, exclude: frozenset[str] = frozenset()) -> str:
    """The canonical query string: each name and value decoded then URI-encoded, sorted by
    name then value; names in ``exclude`` (e.g. ``X-Amz-Signature``) left out."""
    pairs = []
    for piece in query.split("&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition("=")
        name = _uri_encode(unquote_to_bytes(raw_name), keep_slash=False)
        if name in exclude:
            continue
        value = _uri_encode(unquote_to_bytes(raw_value), keep_slash=False)
        pairs.append((name, value))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _header_pairs(headers: HeadersLike) -> list[tuple[str, str]]:
    raw_items = getattr(headers, "raw_items", None)
    if callable(raw_items):
        return [(str(name), str(value)) for name, value in raw_items()]
    if isinstance(headers, Mapping):
        return [(str(name), str(value)) for name, value in headers.items()]
    return [(str(name), str(value)) for name, value in headers]


def _collect_headers(headers: HeadersLike) -> dict[str, list[str]]:
    collected: dict[str, list[str]] = {}
    for name, value in _header_pairs(headers):
        collected.setdefault(name.strip().lower(), []).append(value)
    return collected


def _trim_all(value: str) -> str:
    """Trim and collapse whitespace runs (folded lines and quoted text included) to one space."""
    return " ".join(value.split())


def _canonical_headers(headers: dict[str, list[str]], signed: tuple[str, ...]) -> str:
    lines = []
    for name in signed:
        values = headers.get(name)
        if values is None:
            raise SignatureError("malformed", f"signed header {name!r} is not in the request")
        lines.append(f"{name}:{','.join(_trim_all(v) for v in values)}\n")
    return "".join(lines)


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# ---------------------------------------------------------------------------------------------
# Parsing the two forms
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class _Claim:
    """What the request says about its own signature."""

    form: Literal["header", "query"]
    algorithm: str
    credential: str
    signed_headers: str
    signature: str
    amz_date: str
    expires: Optional[str]
    token: Optional[str]


def _query_params(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            decoded = unquote_to_bytes(value).decode("utf-8", "replace")
            params.setdefault(unquote_to_bytes(name).decode("utf-8", "replace"), []).append(decoded)
    return params


def _single(params: dict[str, list[str]], name: str) -> Optional[str]:
    values = params.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise SignatureError("malformed", f"query parameter {name} appears {len(values)} times")
    return values[0]


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    fields = {"algorithm": algorithm}
    for item in rest.split(","):
        key, sep, field = item.strip().partition("=")
        if sep:
            fields[key.strip()] = field.strip()
    return fields


def _header_date(headers: dict[str, list[str]]) -> Optional[str]:
    amz = headers.get("x-amz-date")
    if amz:
        return amz[0].strip()
    date = headers.get("date")
    if not date:
        return None
    try:
        parsed = parsedate_to_datetime(date[0])
    except (TypeError, ValueError):
        raise SignatureError("malformed", "the Date header is not an HTTP date") from None
    return parsed.astimezone(timezone.utc).strftime(_AMZ_DATE)


def _claim(headers: dict[str, list[str]], params: dict[str, list[str]]) -> _Claim:
    authorization = headers.get("authorization")
    in_query = "X-Amz-Signature" in params or "X-Amz-Algorithm" in params
    if authorization and in_query:
        raise SignatureError("malformed", "both an Authorization header and X-Amz-* query signing")
    if authorization:
        if len(authorization) != 1:
            raise SignatureError("malformed", "more than one Authorization header")
        fields = _parse_authorization(authorization[0])
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
        if fields["algorithm"] == ALGORITHM and missing:
            raise SignatureError("malformed", f"Authorization header lacks {', '.join(missing)}")
        date = _header_date(headers)
        if date is None and not missing:
            raise SignatureError("malformed", "no X-Amz-Date (or Date) header")
        token = headers.get("x-amz-security-token")
        return _Claim(
            form="header",
            algorithm=fields["algorithm"],
            credential=fields.get("Credential", ""),
            signed_headers=fields.get("SignedHeaders", ""),
            signature=fields.get("Signature", ""),
            amz_date=date or "",
            expires=None,
            token=token[0] if token else None,
        )
    if in_query:
        values = {
            name: _single(params, f"X-Amz-{name}")
            for name in ("Algorithm", "Credential", "SignedHeaders", "Signature", "Date", "Expires")
        }
        missing = [f"X-Amz-{name}" for name, value in values.items() if value is None]
        if missing:
            raise SignatureError("malformed", f"presigned URL lacks {', '.join(missing)}")
        return _Claim(
            form="query",
            algorithm=values["Algorithm"] or "",
            credential=values["Credential"] or "",
            signed_headers=values["SignedHeaders"] or "",
            signature=values["Signature"] or "",
            amz_date=values["Date"] or "",
            expires=values["Expires"],
            token=_single(params, "X-Amz-Security-Token"),
        )
    raise SignatureError(
        "missing-auth", "no Authorization header and no X-Amz-Signature query parameter"
    )


def _parse_amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError(
            "malformed", f"X-Amz-Date {value!r} is not in the form YYYYMMDDTHHMMSSZ"
        ) from None


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


def verify_sigv4(
    method: str,
    path: str,
    query: str,
    headers: HeadersLike,
    *,
    keys: Mapping[str, str],
    now: datetime,
    max_skew: float = 300.0,
    service: str = "execute-api",
    region: Optional[str] = None,
    normalize_path: bool = True,
    payload_sha256: str = EMPTY_PAYLOAD_SHA256,
    session_tokens: Optional[Mapping[str, str]] = None,
) -> Identity:
    """Check a SigV4-signed request (``Authorization`` header or presigned ``X-Amz-*`` query).

    ``path`` and ``query`` are as received (``query`` without the ``?``); ``keys`` maps access key
    ids to secret keys; ``now`` is an aware datetime. A header-signed request must be within
    ``max_skew`` seconds of ``now``; a presigned one must not be expired nor dated more than
    ``max_skew`` ahead. ``region`` None accepts any region in the credential scope.
    ``session_tokens`` (access key -> token) marks temporary credentials: a request with such a
    key must carry exactly that ``X-Amz-Security-Token``, and with it given, a request with any
    other key must carry none (the service rejects tokens it did not issue). Returns who signed,
    or raises :class:`SignatureError`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    header_map = _collect_headers(headers)
    params = _query_params(query)
    claim = _claim(header_map, params)
    if claim.algorithm != ALGORITHM:
        raise SignatureError(
            "unsupported-algorithm", f"algorithm {claim.algorithm!r} is not {ALGORITHM}"
        )

    scope = claim.credential.split("/")
    if len(scope) != 5 or not all(scope):
        raise SignatureError(
            "malformed", "Credential is not <access key>/<date>/<region>/<service>/aws4_request"
        )
    access_key, scope_date, scope_region, scope_service, terminator = scope
    if terminator != "aws4_request":
        raise SignatureError("malformed", f"credential scope ends in {terminator!r}")
    signed_at = _parse_amz_date(claim.amz_date)
    if scope_date != claim.amz_date[:8]:
        raise SignatureError(
            "scope-mismatch", f"credential date {scope_date} differs from the request date"
        )
    if scope_service != service:
        raise SignatureError(
            "scope-mismatch", f"signed for service {scope_service!r}, expected {service!r}"
        )
    if region is not None and scope_region != region:
        raise SignatureError(
            "scope-mismatch", f"signed for region {scope_region!r}, expected {region!r}"
        )

    signed_headers = tuple(claim.signed_headers.split(";")) if claim.signed_headers else ()
    if "host" not in signed_headers:
        raise SignatureError("host-not-signed", "the Host header is not among the signed headers")
    if "host" not in header_map:
        raise SignatureError("host-not-signed", "the request has no Host header")

    skew = timedelta(seconds=max_skew)
    expires_at = None
    if claim.form == "header":
        if abs(now - signed_at) > skew:
            raise SignatureError(
                "clock-skew",
                f"request signed at {signed_at:%Y-%m-%dT%H:%M:%SZ} is more than {max_skew:g} s "
                f"away from {now.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}",
            )
    else:
        expires = claim.expires or ""
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_PRESIGN_EXPIRES:
            raise SignatureError(
                "malformed", f"X-Amz-Expires must be 1..{MAX_PRESIGN_EXPIRES} seconds"
            )
        expires_at = signed_at + timedelta(seconds=int(expires))
        if signed_at - now > skew:
            raise SignatureError(
                "clock-skew", f"presigned URL dated more than {max_skew:g} s in the future"
            )
        if now > expires_at:
            raise SignatureError(
                "expired", f"presigned URL expired at {expires_at:%Y-%m-%dT%H:%M:%SZ}"
            )

    secret = keys.get(access_key)
    if secret is None:
        raise SignatureError("unknown-access-key", f"access key {access_key!r} is not configured")

    if session_tokens is not None:
        _check_token(access_key, claim.token, session_tokens)

    if claim.form == "header":
        content_hash = header_map.get("x-amz-content-sha256")
        payload = content_hash[0].strip() if content_hash else payload_sha256
        query_part = canonical_query(query)
    else:
        payload = payload_sha256
        query_part = canonical_query(query, exclude=frozenset({"X-Amz-Signature"}))
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(path, normalize=normalize_path),
            query_part,
            _canonical_headers(header_map, signed_headers),
            claim.signed_headers,
            payload,
        ]
    )
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            claim.amz_date,
            "/".join(scope[1:]),
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = _signing_key(secret, scope_date, scope_region, scope_service)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, claim.signature.lower()):
        raise SignatureError(
            "bad-signature",
            f"signature does not match for access key {access_key!r}: wrong secret key, or the "
            "request changed after signing",
        )
    return Identity(
        access_key=access_key,
        region=scope_region,
        service=scope_service,
        signed_at=signed_at,
        form=claim.form,
        signed_headers=signed_headers,
        has_session_token=claim.token is not None,
        expires_at=expires_at,
    )


def _check_token(access_key: str, token: Optional[str], tokens: Mapping[str, str]) -> None:
    """The session token matches the one issued with ``access_key`` (never echoed)."""
    expected = tokens.get(access_key)
    if expected is None:
        if token is not None:
            raise SignatureError(
                "bad-token", f"a session token was sent with the long-term key {access_key!r}"
            )
        return
    if token is None:
        raise SignatureError("bad-token", f"access key {access_key!r} needs its session token")
    if not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        raise SignatureError("bad-token", f"the session token of {access_key!r} is not valid")


def split_target(target: str) -> tuple[str, str]:
    """Split a request target (``/stage?x=1``, or an absolute URL) into raw path and query."""
    if "://" in target.partition("?")[0]:
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path or "/", query


def verify_sigv4_target(
    method: str,
    target: str,
    headers: HeadersLike,
    *,
    keys: Mapping[str, str],
    now: datetime,
    max_skew: float = 300.0,
    service: str = "execute-api",
    region: Optional[str] = None,
    normalize_path: bool = True,
    session_tokens: Optional[Mapping[str, str]] = None,
) -> Identity:
    """:func:`verify_sigv4` for a raw request target such as websockets' ``request.path``."""
    path, query = split_target(target)
    return verify_sigv4(
        method,
        path,
        query,
        headers,
        keys=keys,
        now=now,
        max_skew=max_skew,
        service=service,
        region=region,
        normalize_path=normalize_path,
        session_tokens=session_tokens,
    )
