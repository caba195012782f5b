"""The wire codec: one JSON text frame per message, ``{"route":"<Route>","payload":<any>}``.

Pure functions, no I/O; both run once per message, so they avoid per-call set-up.

:func:`encode` writes what the PDK's TypeScript client writes with
``JSON.stringify({ route, payload })``: compact, ``route`` first, ``payload`` left out when there
is none (:data:`NO_PAYLOAD`; ``None`` is sent as ``null``), non-ASCII text as it is. Lone
surrogates are written as ``\\udXXX`` escapes, as ``JSON.stringify`` does, so the frame is valid
UTF-8. Unlike ``JSON.stringify``, which writes ``NaN`` and infinities as ``null``, a payload with
one is refused with a :class:`~wsapi_client.ValidationError` that names the field. Numbers are
written in Python's shortest form (``1.0`` stays ``1.0`` where JavaScript writes ``1``; the
value is the same).

:func:`classify` sorts an inbound frame the way the PDK client's ``_onMessage`` does::

    if (typeof event.data !== "string" || !event.data) return;            // Ignored
    const data = JSON.parse(event.data);                                   // else "Failed to parse"
    if ('message' in data && typeof data.message === "string") ...        // GatewayError
    else if ('route' in data) ...                                          // RouteMessage
    else ... `Unexpected data received ${event.data}`                      // Malformed "unexpected"
    // any exception: `Failed to parse received data ${event.data}`        // Malformed "parse"

so a JSON array is "unexpected" while a JSON string, number, ``true``/``false`` or ``null``
(where ``in`` throws) is a "parse" failure, and an object with both a string ``message`` and a
``route`` is a gateway error. Two deliberate differences: an object whose ``route`` is not a
string is "unexpected" (the TypeScript client would dispatch it under its string form), and a
document nested too deeply for Python's parser counts as a "parse" failure.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Final, Literal, Union

import attrs

from wsapi_client._body import NO_PAYLOAD
from wsapi_client._errors import ValidationError, format_path

__all__ = [
    "NO_PAYLOAD",
    "GatewayError",
    "Ignored",
    "Inbound",
    "Malformed",
    "RouteMessage",
    "classify",
    "encode",
    "split_routed",
]


# The JSON functions are module-level names so that a faster implementation can replace them.
_encode_json = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=True
).encode


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_payload_encoder() -> Callable[[Any], str]:
    """json's own C encoder, built once: ``JSONEncoder.encode`` builds it again on every call,
    which costs more than encoding a small payload. Output is identical (same encoder, same
    options); a circular payload ends in RecursionError instead, which :func:`encode` reports
    the same way. Falls back to ``JSONEncoder.encode`` where the C encoder is missing."""
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return _encode_json
    chunks = make(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    join = "".join

    def encode_payload(value: Any) -> str:
        return join(chunks(value, 0))

    return encode_payload


_encode_payload = _make_payload_encoder()
_quote = json.encoder.encode_basestring
_prefixes: dict[str, str] = {}
_PREFIX_CACHE = 1024


def _prefix(route: str) -> str:
    """``{"route":"<route>"`` for a route, cached for the routes in use."""
    prefix = _prefixes.get(route)
    if prefix is None:
        prefix = '{"route":' + _quote(route)
        if len(_prefixes) < _PREFIX_CACHE:
            _prefixes[route] = prefix
    return prefix


def _refuse_constant(name: str) -> Any:
    # JSON.parse does not accept NaN, Infinity or -Infinity; json.loads would.
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)
_decode_json = _decoder.decode
_scan_once: Callable[[str, int], tuple[Any, int]] = getattr(_decoder, "scan_once")  # noqa: B009
_decode_json_big_ints = json.JSONDecoder(
    parse_constant=_refuse_constant,
    # JavaScript reads an integer too long for Python's int() as a float (Infinity).
    parse_int=lambda digits: int(digits) if len(digits) <= 4000 else float(digits),
).decode


def _decode(text: str) -> Any:
    """``json.loads`` with the decoder's options, minus its per-call set-up for the usual frame
    (no whitespace around the document): json's scanner is called directly, and anything else
    (leading or trailing whitespace, extra data, no value) goes through ``JSONDecoder.decode``,
    so results and exceptions are the same as its own."""
    try:
        document, end = _scan_once(text, 0)
    except StopIteration:
        return _decode_json(text)
    if end != len(text):
        return _decode_json(text)
    return document


_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 2:  # a pair, as JavaScript sees it: one character outside the BMP
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    return f"\\u{ord(text):04x}"


def encode(route: str, payload: Any = NO_PAYLOAD) -> str:
    """The frame for a message: ``{"route":"SayHello","payload":{"name":"Jack"}}``.

    ``payload`` must be JSON data already (dicts, lists, str, int, float, bool, None); model
    objects are converted by the caller. Raises :class:`~wsapi_client.ValidationError` naming
    the field for NaN or infinity, a value JSON cannot hold, or a circular reference.
    """
    if not isinstance(route, str):
        raise ValidationError(f"the route must be a string, got {type(route).__name__}")
    if payload is NO_PAYLOAD:
        text = _prefix(route) + "}"
    else:
        try:
            text = _prefix(route) + ',"payload":' + _encode_payload(payload) + "}"
        except (ValueError, TypeError, RecursionError) as exc:
            raise _explain_encode_failure(route, payload, exc) from None
    if not text.isascii() and _SURROGATES.search(text) is not None:
        text = _SURROGATES.sub(_escape_surrogate, text)
    return text


def _explain_encode_failure(route: str, payload: Any, exc: BaseException) -> ValidationError:
    """A ValidationError naming the first value of ``payload`` that JSON cannot hold."""

    found = _find_unencodable(payload, [], set(), 0)
    if found is None:  # not expected: keep the encoder's own words
        return ValidationError(f"the payload cannot be written as JSON: {exc}", "", route)
    message, path = found
    return ValidationError(message, format_path(path), route)


_MAX_DEPTH = 500


def _find_unencodable(
    value: Any, path: list[str | int], active: set[int], depth: int
) -> tuple[str, list[str | int]] | None:
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}", path
        return None
    if value is None or isinstance(value, (str, int)):
        return None
    if depth > _MAX_DEPTH:
        return "is nested too deeply to be written as JSON", path
    if isinstance(value, (dict, list, tuple)):
        if id(value) in active:
            return "refers back to itself (a circular reference)", path
        active.add(id(value))
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, (str, int, float, bool)) and key is not None:
                        return f"has a key JSON cannot hold: {key!r}", path
                    found = _find_unencodable(item, [*path, str(key)], active, depth + 1)
                    if found is not None:
                        return found
            else:
                for index, item in enumerate(value):
                    found = _find_unencodable(item, [*path, index], active, depth + 1)
                    if found is not None:
                        return found
        finally:
            active.discard(id(value))
        return None
    return f"is not JSON data: {type(value).__name__}", path


@attrs.frozen(slots=True)
class Ignored:
    """A frame the client drops without a word: binary (``reason="binary"``) or empty text."""

    reason: Literal["binary", "empty"]


@attrs.frozen(slots=True)
class GatewayError:
    """An error frame from API Gateway: ``{"message":"Forbidden","connectionId":..}``."""

    message: str
    connection_id: str | None
    request_id: str | None
    raw: str


@attrs.frozen(slots=True)
class RouteMessage:
    """A message for a route; ``payload`` is None when the frame has none."""

    route: str
    payload: Any
    raw: str


@attrs.frozen(slots=True)
class Malformed:
    """A text frame that is not a message: ``kind`` "parse" (not a JSON object) or "unexpected"."""

    kind: Literal["parse", "unexpected"]
    message: str
    raw: str


Inbound = Union[Ignored, GatewayError, RouteMessage, Malformed]
"""What :func:`classify` returns."""

_BINARY: Final = Ignored("binary")
_EMPTY: Final = Ignored("empty")


def classify(data: str | bytes | bytearray | memoryview) -> Inbound:
    """Sort one inbound frame (text as ``str``, binary as bytes); never raises."""
    if not isinstance(data, str):
        return _BINARY
    if not data:
        return _EMPTY
    try:
        document = _decode(data)
    except json.JSONDecodeError:
        return _parse_failure(data)
    except ValueError:
        # NaN or Infinity (refused again below), or an integer longer than Python 3.11+ reads.
        try:
            document = _decode_json_big_ints(data)
        except (ValueError, RecursionError):
            return _parse_failure(data)
    except RecursionError:
        return _parse_failure(data)
    if type(document) is dict:
        message = document.get("message")
        if isinstance(message, str):
            connection_id = document.get("connectionId")
            request_id = document.get("requestId")
            return GatewayError(
                message,
                connection_id if isinstance(connection_id, str) else None,
                request_id if isinstance(request_id, str) else None,
                data,
            )
        route = document.get("route")
        if isinstance(route, str):
            return RouteMessage(route, document.get("payload"), data)
        return Malformed("unexpected", f"Unexpected data received {data}", data)
    if type(document) is list:
        return Malformed("unexpected", f"Unexpected data received {data}", data)
    return _parse_failure(data)


def split_routed(text: str) -> tuple[str, Any] | None:
    """``(route, payload)`` when ``text`` is a routed message, else None.

    The reader's shortcut for the usual frame: the same answer as :func:`classify` gives as a
    :class:`RouteMessage` (``payload`` None when absent), without building one. None means
    "ask :func:`classify`": a gateway error, a malformed frame, or JSON this shortcut leaves to
    the full decoder (whitespace around the document, NaN, very long integers, deep nesting).
    """
    try:
        document, end = _scan_once(text, 0)
    except Exception:  # any failure: classify() says what it is
        return None
    if end != len(text) or type(document) is not dict:
        return None
    if type(document.get("message")) is str:
        return None
    route = document.get("route")
    if type(route) is not str:
        return None
    return route, document.get("payload")


def _parse_failure(data: str) -> Malformed:
    return Malformed("parse", f"Failed to parse received data {data}", data)
