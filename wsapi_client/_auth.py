"""Authentication of the WebSocket upgrade request: none, IAM SigV4, or a user hook.

The client's supervisor calls ``auth.prepare(url)`` before *every* connection attempt, so each
handshake carries a fresh signature (SigV4 tolerates five minutes of clock skew) and rotated
credentials are picked up. Secrets never reach reprs, logs or exception texts: anything that shows a
request goes through :func:`redact_url` / :func:`redact_headers`.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import re
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Callable, Optional, Protocol, Union, cast, runtime_checkable
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

import attrs

from wsapi_client._errors import AuthError

__all__ = [
    "REDACTED",
    "AuthProvider",
    "CredentialSource",
    "CredentialsLike",
    "CustomAuth",
    "FrozenCredentials",
    "HookResult",
    "IamAuth",
    "NoAuth",
    "PreparedRequest",
    "RefreshableCredentials",
    "SigningKeys",
    "redact_headers",
    "redact_http_text",
    "redact_url",
    "sign_header_form",
    "sign_query_form",
    "wire_host",
]

logger = logging.getLogger("wsapi_client.auth")

REDACTED = "***"
"""What a secret is replaced with in anything meant to be shown."""

_IAM_EXTRA_HINT = "pip install 'wsapi-client[iam]'"
_NOT_FOUND = "IamAuth could not get AWS credentials"  # how every credentials failure begins
_CHAIN = (
    "botocore's default chain (environment variables, shared credentials and config files, SSO, "
    "web identity, container and instance metadata)"
)

# ---------------------------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------------------------

# Redaction works by allow-list: every query value, fragment, user info and header value is
# masked unless its name is below. A deny-list of secret-looking names always misses one (custom
# authorizers use ``sig``, ``code``, ``auth``, ``key``, ``jwt``, ``X-Amz-Credential``...); a
# parameter wrongly masked costs a little debugging, one wrongly shown leaks a credential.
_SHOWN_QUERY_NAMES = frozenset(
    {
        "x-amz-algorithm",  # always AWS4-HMAC-SHA256: says which signing scheme was used
        "x-amz-date",  # the signing time: the first thing to check on a clock-skew 403
        "x-amz-expires",  # the presigned URL's lifetime in seconds: explains an expired URL
        "x-amz-signedheaders",  # header names (e.g. ``host``), never their values
    }
)
_SHOWN_HEADER_NAMES = frozenset(
    {
        "host",  # the signed host: needed to debug a SigV4 mismatch, public anyway
        "date",  # the server's clock in a response: explains a clock-skew 403
        "content-length",
        "user-agent",  # the library and version
        "content-type",
        "x-amz-date",  # the signing time, as in the query form
        "origin",  # a public site name
        "upgrade",  # ``websocket``
        "connection",  # ``Upgrade``
        "sec-websocket-version",  # ``13``
        "sec-websocket-key",  # a random nonce, fresh per handshake, proves nothing later
        "sec-websocket-accept",  # derived from the nonce
        "sec-websocket-extensions",  # e.g. ``permessage-deflate``
        # Not Sec-WebSocket-Protocol: browsers cannot set headers, so tokens are often sent as
        # a subprotocol (Kubernetes' ``base64url.bearer.authorization.k8s.io.<token>``).
    }
)
_AUTHORIZATION_HEADERS = frozenset({"authorization", "proxy-authorization"})
_AUTH_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def redact_query_value(name: str, value: str) -> str:
    """``value`` of the (decoded) query parameter ``name`` as logs may show it: empty values and
    those of :data:`_SHOWN_QUERY_NAMES` as they are, every other one masked."""
    return value if not value or name.lower() in _SHOWN_QUERY_NAMES else REDACTED


def _redact_query(query: str) -> str:
    """Mask every value but those of :data:`_SHOWN_QUERY_NAMES`; names stay (they help
    debugging and are not secret), empty values stay empty, a piece without ``=`` is masked
    whole (it may be a bare token)."""
    pieces: list[str] = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        if not piece:
            pieces.append(piece)
        elif not sep:
            pieces.append(REDACTED)
        else:
            pieces.append(f"{name}={redact_query_value(unquote_plus(name), value)}")
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """Return ``url`` fit for logs and reprs: every query value masked as ``***`` except the
    harmless SigV4 ones (``X-Amz-Algorithm``, ``X-Amz-Date``, ``X-Amz-Expires``,
    ``X-Amz-SignedHeaders``); user info and fragment masked whole. Scheme, host, port, path and
    parameter names are kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED  # unparseable: showing any of it could show a secret
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = _redact_query(parts.query) if parts.query else ""
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_header_value(name: str, value: str) -> str:
    if name.strip().lower() in _AUTHORIZATION_HEADERS:
        scheme, sep, _rest = value.strip().partition(" ")
        if sep and _AUTH_SCHEME.match(scheme):
            return f"{scheme} {REDACTED}"  # the scheme helps debugging and is not a secret
    return REDACTED


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` fit for logs: every value masked as ``***`` except those of
    a short allow-list (``Host``, ``User-Agent``, ``Content-Type``, ``X-Amz-Date``, ``Origin``,
    the handshake's own ``Upgrade``/``Connection``/``Sec-WebSocket-*`` but not
    ``Sec-WebSocket-Protocol``); an ``Authorization`` value keeps its scheme, e.g.
    ``AWS4-HMAC-SHA256 ***``."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        if str(name).strip().lower() in _SHOWN_HEADER_NAMES:
            shown[name] = value
        else:
            shown[name] = _redact_header_value(str(name), str(value))
    return shown


_REQUEST_LINE = re.compile(r"^([A-Z]+) (\S+)( HTTP/\d(?:\.\d)?)$")
_HEADER_LINE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$")


def redact_http_text(text: str) -> str:
    """Redact an HTTP request or header block as logged: the request line's target through
    :func:`redact_url`, each ``Name: value`` line through :func:`redact_headers`; other lines
    are kept."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        body, cr = (line[:-1], "\r") if line.endswith("\r") else (line, "")
        request = _REQUEST_LINE.match(body)
        header = None if request else _HEADER_LINE.match(body)
        if request:
            method, target, version = request.groups()
            lines[index] = f"{method} {redact_url(target)}{version}{cr}"
        elif header:
            name, value = header.groups()
            lines[index] = f"{name}: {redact_headers({name: value})[name]}{cr}"
    return "\n".join(lines)


class _WireTraceFilter(logging.Filter):
    """websocket-client's trace (``websocket.enableTrace(True)``) logs the handshake request
    verbatim on the ``websocket`` logger: the presigned query, ``Authorization``,
    ``X-Amz-Security-Token`` and custom tokens. The SDK sends that request, so it redacts the
    trace's request and header lines before any handler sees them; frame traces are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: let logging report it as it would
            return True
        shown = redact_http_text(text)
        if shown != text:
            record.msg, record.args = shown, ()
        return True


def _install_wire_trace_filter() -> None:
    """Attach the filter to websocket-client's logger once, however often this module loads."""
    trace_logger = logging.getLogger("websocket")
    if not any(type(f).__name__ == _WireTraceFilter.__name__ for f in trace_logger.filters):
        trace_logger.addFilter(_WireTraceFilter())


_install_wire_trace_filter()


# ---------------------------------------------------------------------------------------------
# The prepared request and the provider protocol
# ---------------------------------------------------------------------------------------------


def _frozen_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"header names and values must be str, got {type(name).__name__}: "
                f"{type(value).__name__}"
            )
        if not name or any(c in name for c in ":\r\n\0 \t") or any(c in value for c in "\r\n\0"):
            # A CR/LF would let a value smuggle extra headers into the handshake.
            raise ValueError(f"header {name!r} has a name or value that cannot be sent in HTTP")
    return MappingProxyType(dict(headers))


@attrs.frozen(repr=False)
class PreparedRequest:
    """What one connection attempt sends: the URL to open and extra handshake headers.

    ``headers`` never contains ``Host``: the Host header websocket-client derives from ``url`` is
    the one that was signed. ``display_url`` and ``repr()`` are safe to log.
    """

    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_headers, hash=False)

    @property
    def display_url(self) -> str:
        """The URL with every query value but a few harmless SigV4 ones, the user info and the
        fragment shown as ``***`` (see :func:`redact_url`)."""
        return redact_url(self.url)

    def __repr__(self) -> str:
        return (
            f"PreparedRequest(url={self.display_url!r}, headers={redact_headers(self.headers)!r})"
        )


@runtime_checkable
class AuthProvider(Protocol):
    """Anything with ``prepare(url) -> PreparedRequest``, called before every connection attempt.

    ``prepare`` runs on the client's supervisor thread and should raise :class:`AuthError` (with a
    message free of secrets) when it cannot authenticate the attempt.
    """

    def prepare(self, url: str) -> PreparedRequest:
        """Return the URL and headers for the next handshake to ``url``."""
        ...


@attrs.frozen
class NoAuth:
    """No authentication: the URL is opened as given (the default)."""

    def prepare(self, url: str) -> PreparedRequest:
        """Return ``url`` unchanged with no extra headers."""
        return PreparedRequest(url)


# ---------------------------------------------------------------------------------------------
# CustomAuth
# ---------------------------------------------------------------------------------------------

HookResult = Union[str, tuple[str, Mapping[str, str]]]
"""What a :class:`CustomAuth` hook returns: the URL, or the URL and extra handshake headers."""


def _callable_name(fn: object) -> str:
    return str(
        getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    )


def _check_ws_url(url: str, origin: str) -> None:
    try:
        parts = urlsplit(url)
        scheme, hostname = parts.scheme.lower(), parts.hostname
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise AuthError(f"{origin} returned a malformed URL", url=redact_url(url)) from exc
    if scheme not in ("ws", "wss") or not hostname:
        raise AuthError(
            f"{origin} returned a URL with scheme {scheme or '(none)'!r} and host "
            f"{hostname or '(none)'!r}; expected ws://host/... or wss://host/...",
            url=redact_url(url),
        )


class CustomAuth:
    """Authenticate with a hook: ``fn(url)`` returns the URL to open, or a ``(url, headers)`` pair.

    The hook runs before every attempt (refresh a JWT there, append ``?token=...`` for a custom
    authorizer). If it raises, the attempt fails with :class:`AuthError` whose ``__cause__`` is the
    original exception; its text is not copied into the message, as it may hold a token. A hook
    may raise :class:`AuthError` itself to give its own (secret-free) message.
    """

    def __init__(self, fn: Callable[[str], HookResult]) -> None:
        if not callable(fn):
            raise TypeError(f"CustomAuth needs a callable, got {type(fn).__name__}")
        self._fn = fn
        self._origin = f"CustomAuth hook {_callable_name(fn)}"

    def prepare(self, url: str) -> PreparedRequest:
        """Call the hook and check what it returned."""
        try:
            result: object = self._fn(url)
        except AuthError:
            raise  # the hook's own AuthError already says what is wrong
        except Exception as exc:
            raise AuthError(
                f"{self._origin} raised {type(exc).__name__}", url=redact_url(url), cause=exc
            ) from exc
        return self._coerce(result, url)

    def _coerce(self, result: object, url: str) -> PreparedRequest:
        headers: object = {}
        if isinstance(result, tuple) and len(result) == 2:
            result, headers = result
        if not isinstance(result, str):
            raise AuthError(
                f"{self._origin} returned {type(result).__name__}; expected a URL string or a "
                "(url, headers) pair",
                url=redact_url(url),
            )
        if not isinstance(headers, Mapping):
            raise AuthError(
                f"{self._origin} returned headers of type {type(headers).__name__}; expected a "
                "mapping of header names to values",
                url=redact_url(url),
            )
        _check_ws_url(result, self._origin)
        if any(str(name).strip().lower() == "host" for name in headers):
            raise AuthError(
                f"{self._origin} returned a Host header; the host comes from the URL",
                url=redact_url(url),
            )
        try:
            return PreparedRequest(result, headers)
        except (TypeError, ValueError) as exc:
            raise AuthError(f"{self._origin}: {exc}", url=redact_url(url)) from exc

    def __repr__(self) -> str:
        return f"CustomAuth({_callable_name(self._fn)})"


# ---------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------


class FrozenCredentials(Protocol):
    """botocore's ``Credentials`` / ``ReadOnlyCredentials`` shape."""

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def token(self) -> Optional[str]: ...


class RefreshableCredentials(Protocol):
    """botocore's ``RefreshableCredentials`` shape: one consistent snapshot per call."""

    def get_frozen_credentials(self) -> FrozenCredentials: ...


CredentialsLike = Union[FrozenCredentials, RefreshableCredentials, Mapping[str, Any]]
"""Credentials themselves; a mapping may use ``AccessKeyId``/``SecretAccessKey``/``SessionToken``
(as STS returns them) or ``access_key``/``secret_key``/``token``."""

CredentialSource = Union[CredentialsLike, Callable[[], CredentialsLike], None]
"""What ``IamAuth(credentials=...)`` accepts: credentials, a zero-argument callable returning them
(called before every attempt), or None for botocore's default chain."""

_MAPPING_SPELLINGS = (
    ("access_key", "secret_key", "token"),
    ("AccessKeyId", "SecretAccessKey", "SessionToken"),
    ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"),
)


@attrs.frozen(repr=False)
class SigningKeys:
    """One consistent (access key, secret key, session token) triple for a single signature."""

    access_key: str
    secret_key: str
    token: Optional[str]

    def __repr__(self) -> str:
        token = REDACTED if self.token else None
        return (
            f"SigningKeys(access_key={_mask(self.access_key)!r}, secret_key={REDACTED!r}, "
            f"token={token!r})"
        )


def _mask(access_key: str) -> str:
    """Show only the last four characters of an access key id, as the AWS console does."""
    return f"...{access_key[-4:]}" if len(access_key) > 8 else REDACTED


def _looks_like_credentials(obj: object) -> bool:
    return (
        isinstance(obj, Mapping)
        or hasattr(obj, "get_frozen_credentials")
        or hasattr(obj, "access_key")
    )


def _keys_from(obj: object, origin: str) -> SigningKeys:
    """Read one consistent key triple out of a credentials object or mapping."""
    if isinstance(obj, Mapping):
        for spelling in _MAPPING_SPELLINGS:
            if spelling[0] in obj or spelling[1] in obj:
                access, secret, token = (obj.get(name) for name in spelling)
                break
        else:
            # Its keys are not listed: a mapping of the wrong shape may still hold a secret.
            hint = (
                "; for an STS response pass response['Credentials']" if "Credentials" in obj else ""
            )
            raise AuthError(
                f"{_NOT_FOUND}: the {type(obj).__name__} from {origin} has no access_key/"
                f"secret_key (nor AccessKeyId/SecretAccessKey, aws_access_key_id/"
                f"aws_secret_access_key){hint}"
            )
    else:
        getter = getattr(obj, "get_frozen_credentials", None)
        if callable(getter):
            try:
                obj = getter()  # refreshable credentials: one atomic snapshot
            except Exception as exc:
                raise AuthError(
                    f"{_NOT_FOUND}: refreshing credentials from {origin} failed with "
                    f"{type(exc).__name__}",
                    cause=exc,
                ) from exc
        access = getattr(obj, "access_key", None)
        secret = getattr(obj, "secret_key", None)
        token = getattr(obj, "token", None)
    if not isinstance(access, str) or not access or not isinstance(secret, str) or not secret:
        raise AuthError(
            f"{_NOT_FOUND}: the credentials from {origin} ({type(obj).__name__}) have no usable "
            "access key and secret key: both must be non-empty strings"
        )
    if token is not None and not isinstance(token, str):
        raise AuthError(
            f"{_NOT_FOUND}: the credentials from {origin} have a session token of type "
            f"{type(token).__name__}; "
            "expected str or None"
        )
    return SigningKeys(access, secret, token or None)


def _require_botocore(feature: str) -> None:
    """Fail at configuration time, not at the first reconnect, when botocore is missing."""
    if importlib.util.find_spec("botocore") is None:
        raise ImportError(f"{feature} needs botocore, which is not installed: {_IAM_EXTRA_HINT}")


# ---------------------------------------------------------------------------------------------
# The signing target: what websocket-client will actually send
# ---------------------------------------------------------------------------------------------

_REGION_FROM_HOST = re.compile(
    r"\.execute-api(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$"
)
_PRESIGN_PARAMS = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-security-token",
        "x-amz-signature",
    }
)


def _is_loopback(hostname: str) -> bool:
    name = hostname.rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def wire_host(hostname: str, port: int) -> str:
    """The Host header websocket-client sends: the lowercased host, bracketed when IPv6, with the
    port unless it is 80 or 443 (whatever the scheme: websocket-client omits both)."""
    host = hostname.lower()
    packed = f"[{host}]" if ":" in host else host
    return packed if port in (80, 443) else f"{packed}:{port}"


def _region_from_host(hostname: str) -> Optional[str]:
    match = _REGION_FROM_HOST.search(hostname.lower())
    return match.group(1) if match else None


@attrs.frozen
class _Target:
    """A ws/wss URL split into what the signer needs and what goes back to the caller."""

    scheme: str
    netloc: str
    hostname: str
    host: str  # the Host header websocket-client will send, hence the one to sign
    path: str
    query: str

    @classmethod
    def parse(cls, url: str) -> _Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise AuthError("IamAuth cannot sign a malformed URL", url=redact_url(url)) from exc
        scheme = parts.scheme.lower()
        hostname = parts.hostname
        if scheme not in ("ws", "wss") or not hostname:
            raise AuthError(
                "IamAuth signs ws:// and wss:// URLs with a host, got scheme "
                f"{scheme or '(none)'!r}",
                url=redact_url(url),
            )
        if scheme == "ws" and not _is_loopback(hostname):
            raise AuthError(
                f"IamAuth refuses ws://{hostname}: a SigV4 signature sent over plaintext can be "
                "captured and replayed by anyone on the path until it expires. Use wss://; ws:// "
                "is allowed only to a loopback host (127.0.0.0/8, ::1, localhost).",
                url=redact_url(url),
            )
        if port is None:
            port = 443 if scheme == "wss" else 80
        return cls(
            scheme=scheme,
            netloc=parts.netloc,
            hostname=hostname,
            host=wire_host(hostname, port),
            path=parts.path or "/",
            query=parts.query,
        )

    @property
    def https_url(self) -> str:
        """The URL that is signed: ``https://<Host header><path>[?query]``, fragment dropped."""
        return urlunsplit(("https", self.host, self.path, self.query, ""))

    def back_to_ws(self, signed_https_url: str) -> str:
        """The URL to open: the caller's scheme and netloc with the signed path and query."""
        signed = urlsplit(signed_https_url)
        return urlunsplit((self.scheme, self.netloc, signed.path, signed.query, ""))


# ---------------------------------------------------------------------------------------------
# The two signers
# ---------------------------------------------------------------------------------------------

_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_HEADER_FORM_SIGNED = frozenset({"host", "x-amz-date", "x-amz-security-token"})


def sign_header_form(
    https_url: str,
    *,
    host: str,
    keys: SigningKeys,
    region: str,
    service: str,
    when: datetime,
    extra_headers: Optional[Mapping[str, str]] = None,
) -> tuple[str, dict[str, str]]:
    """Sign ``GET https_url`` with requests-aws4auth; return the URL as requests sent it and the
    headers to add to the handshake (``X-Amz-Date``, ``Authorization``, ``X-Amz-Security-Token``).

    Signed headers are ``host``, ``x-amz-date``, ``x-amz-security-token`` (and ``extra_headers``):
    requests-aws4auth's default would also sign an ``x-amz-content-sha256`` header that API Gateway
    does not need, so it is neither signed nor sent. ``Host`` is given explicitly so the signed
    value is exactly the one websocket-client sends.
    """
    import requests
    from requests_aws4auth import AWS4Auth

    amz_date = when.strftime(_AMZ_DATE)
    extra = dict(extra_headers or {})
    headers = {**extra, "Host": host, "X-Amz-Date": amz_date}
    request = requests.Request("GET", https_url, headers=headers).prepare()
    include = set(_HEADER_FORM_SIGNED) | {name.lower() for name in extra}
    signer = AWS4Auth(
        keys.access_key,
        keys.secret_key,
        region,
        service,
        amz_date[:8],
        session_token=keys.token,
        include_hdrs=include,
    )
    signer(request)
    authorization = str(request.headers["Authorization"])
    out = {**extra, "X-Amz-Date": amz_date, "Authorization": authorization}
    if keys.token:
        out["X-Amz-Security-Token"] = keys.token
    return str(request.url), out


def sign_query_form(
    https_url: str,
    *,
    host: str,
    keys: SigningKeys,
    region: str,
    service: str,
    when: datetime,
    expires: int = 3600,
    extra_headers: Optional[Mapping[str, str]] = None,
) -> str:
    """Presign ``GET https_url`` with botocore's SigV4QueryAuth, the TypeScript client's form:
    X-Amz-* query parameters, ``host`` the only signed header (plus ``extra_headers``), the
    empty-payload hash, the session token inside the signed query. Returns the signed URL.

    botocore's ``add_auth`` is not used: it reads the wall clock and logs the canonical request
    (which holds the session token) and the signature at DEBUG. The same steps run here with the
    injected time and without those logs.
    """
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials
    from requests.utils import requote_uri

    # Quote what needs quoting now: websocket-client sends the path verbatim.
    parts = urlsplit(requote_uri(https_url))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        # botocore's query signer keeps one value per name; refusing beats a silently changed URL.
        raise AuthError(f"IamAuth(presign=True) cannot sign repeated query parameters {repeated}")
    # A URL that was presigned before (e.g. reused from a log) is signed afresh, not twice.
    kept = "&".join(
        piece
        for piece in parts.query.split("&")
        if piece and unquote_plus(piece.partition("=")[0]).lower() not in _PRESIGN_PARAMS
    )
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, kept, ""))
    request = AWSRequest(method="GET", url=url, headers={"host": host, **(extra_headers or {})})
    request.context["timestamp"] = when.strftime(_AMZ_DATE)
    signer = SigV4QueryAuth(
        ReadOnlyCredentials(keys.access_key, keys.secret_key, keys.token),
        service,
        region,
        expires=expires,
    )
    steps: Any = signer  # the two steps below are not in botocore's type stubs
    steps._modify_request_before_signing(request)
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    steps._inject_signature_to_request(request, signer.signature(string_to_sign, request))
    return str(request.url)


# ---------------------------------------------------------------------------------------------
# IamAuth
# ---------------------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class IamAuth:
    """Sign every handshake with AWS SigV4, as API Gateway's IAM authorization expects.

    ``region`` defaults to the one in a ``*.execute-api.<region>.amazonaws.com`` host. With
    ``presign=False`` (default) the ``GET https://host[:port]/stage`` request is signed by
    requests-aws4auth and the signature travels in handshake headers; with ``presign=True`` it goes
    in the query string, like the TypeScript client (``expires`` seconds, 3600 by default).
    ``credentials`` (see :data:`CredentialSource`) are read again for every attempt, so rotation is
    picked up. ``ws://`` is refused unless the host is loopback. ``clock`` returns an aware
    datetime; it is injectable for tests.
    """

    def __init__(
        self,
        region: Optional[str] = None,
        credentials: CredentialSource = None,
        service: str = "execute-api",
        presign: bool = False,
        *,
        expires: int = 3600,
        clock: Optional[Callable[[], datetime]] = None,
    ) -> None:
        if region is not None and (not isinstance(region, str) or not region.strip()):
            raise ValueError(f"region must be a non-empty string or None, got {region!r}")
        if not isinstance(service, str) or not service.strip():
            raise ValueError(f"service must be a non-empty string, got {service!r}")
        if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= 604800:
            raise ValueError(f"expires must be an int from 1 to 604800 seconds, got {expires!r}")
        if credentials is not None and not (
            _looks_like_credentials(credentials) or callable(credentials)
        ):
            raise TypeError(
                f"credentials must be a botocore-shaped object, a mapping, a zero-argument "
                f"callable or None, got {type(credentials).__name__}"
            )
        if presign:
            _require_botocore("IamAuth(presign=True)")
        if credentials is None:
            _require_botocore("IamAuth without credentials (botocore's default chain)")
        self._region = region
        self._service = service
        self._presign = bool(presign)
        self._expires = expires
        self._source = credentials
        self._clock = clock or _utc_now
        self._lock = threading.Lock()
        self._chain: Any = None  # botocore's default-chain credentials, found on first use

    @property
    def region(self) -> Optional[str]:
        """The configured region (None: taken from the host on each prepare)."""
        return self._region

    @property
    def service(self) -> str:
        """The SigV4 service name, ``execute-api`` for API Gateway."""
        return self._service

    @property
    def presign(self) -> bool:
        """Whether the signature goes in the query string rather than in headers."""
        return self._presign

    @property
    def expires(self) -> int:
        """Validity of a presigned URL in seconds."""
        return self._expires

    def prepare(self, url: str) -> PreparedRequest:
        """Sign a handshake to ``url`` with the current credentials and time.

        Raises :class:`AuthError` with ``status`` None when it cannot sign: no handshake was sent,
        so no HTTP status is claimed. Credentials that cannot be had (none in botocore's chain,
        botocore missing, a provider that raises or returns something unusable) give a message
        beginning "IamAuth could not get AWS credentials" that says where it looked and names
        the type of what came back, never its content.
        """
        target = _Target.parse(url)
        region = self._region or _region_from_host(target.hostname)
        if region is None:
            raise AuthError(
                f"IamAuth cannot infer the region from host {target.hostname!r} (only "
                "*.execute-api.<region>.amazonaws.com hosts name it); pass IamAuth(region=...)",
                url=redact_url(url),
            )
        keys = self._keys()
        when = self._now()
        form = "query" if self._presign else "header"
        logger.debug(
            "signing %s with SigV4 (%s form, %s/%s, access key %s, session token: %s)",
            redact_url(url),
            form,
            region,
            self._service,
            _mask(keys.access_key),
            "yes" if keys.token else "no",
        )
        try:
            if self._presign:
                signed = sign_query_form(
                    target.https_url,
                    host=target.host,
                    keys=keys,
                    region=region,
                    service=self._service,
                    when=when,
                    expires=self._expires,
                )
                return PreparedRequest(target.back_to_ws(signed))
            sent, headers = sign_header_form(
                target.https_url,
                host=target.host,
                keys=keys,
                region=region,
                service=self._service,
                when=when,
            )
        except AuthError:
            raise
        except ImportError as exc:
            raise AuthError(
                f"IamAuth cannot sign: {exc.name} is missing; {_IAM_EXTRA_HINT}"
            ) from exc
        except Exception as exc:  # a signing library failing is an auth failure, never a crash
            raise AuthError(
                f"SigV4 signing failed with {type(exc).__name__}", url=redact_url(url), cause=exc
            ) from exc
        # requests may have re-quoted the path or query; send exactly what was signed.
        if sent == target.https_url:
            return PreparedRequest(url, headers)
        return PreparedRequest(target.back_to_ws(sent), headers)

    def _now(self) -> datetime:
        when = self._clock()
        if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
            raise AuthError(
                "IamAuth clock must return a timezone-aware datetime "
                f"(e.g. datetime.now(timezone.utc)), got {when!r}"
            )
        return when.astimezone(timezone.utc)

    def _keys(self) -> SigningKeys:
        source = self._source
        if source is None:
            return _keys_from(self._default_chain(), "botocore's default chain")
        if _looks_like_credentials(source):
            return _keys_from(source, type(source).__name__)
        provider = cast("Callable[[], object]", source)
        name = f"provider {_callable_name(provider)}"
        try:
            produced = provider()
        except AuthError:
            raise
        except Exception as exc:
            # Its text is not copied: a vault client's error may quote what it fetched.
            raise AuthError(
                f"{_NOT_FOUND}: credentials {name} raised {type(exc).__name__}", cause=exc
            ) from exc
        if produced is None or not _looks_like_credentials(produced):
            raise AuthError(
                f"{_NOT_FOUND}: credentials {name} returned {type(produced).__name__}; expected "
                "an object with access_key/secret_key/token or get_frozen_credentials(), or a "
                "mapping"
            )
        return _keys_from(produced, name)

    def _default_chain(self) -> object:
        with self._lock:
            if self._chain is None:
                try:
                    import botocore.session
                except ImportError as exc:
                    raise AuthError(
                        f"{_NOT_FOUND}: none were passed, and botocore, whose default chain "
                        f"would look for them, is not installed: {_IAM_EXTRA_HINT}"
                    ) from exc
                try:
                    found = botocore.session.get_session().get_credentials()
                except Exception as exc:
                    raise AuthError(
                        f"{_NOT_FOUND}: {_CHAIN} failed with {type(exc).__name__}", cause=exc
                    ) from exc
                if found is None:
                    raise AuthError(
                        f"{_NOT_FOUND}: none were passed and {_CHAIN} found none; configure one "
                        "of those or pass IamAuth(credentials=...)"
                    )
                self._chain = found
            return self._chain

    def _describe_source(self) -> str:
        source = self._source
        if source is None:
            return "default chain"
        if _looks_like_credentials(source):
            return f"{type(source).__name__} object"
        return f"provider {_callable_name(source)}"

    def __repr__(self) -> str:
        return (
            f"IamAuth(region={self._region!r}, service={self._service!r}, "
            f"presign={self._presign!r}, credentials=<{self._describe_source()}>)"
        )
