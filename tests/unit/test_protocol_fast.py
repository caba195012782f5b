"""The codec's shortcuts give exactly what the straightforward json calls give."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsapi_client import protocol
from wsapi_client._errors import ValidationError
from wsapi_client.protocol import RouteMessage, classify, encode, split_routed

# Any code point, lone surrogates included (the codec escapes them as JSON.stringify does).
texts = st.text(st.characters(blacklist_categories=()))
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=16,
)


def reference_encode(route: str, payload: Any) -> str:
    """The frame as the codec wrote it before its shortcuts: json.dumps of the envelope."""
    message = (
        {"route": route} if payload is protocol.NO_PAYLOAD else {"route": route, "payload": payload}
    )
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not text.isascii():
        text = protocol._SURROGATES.sub(protocol._escape_surrogate, text)
    return text


def has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(has_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    return False


@settings(max_examples=500)
@given(texts.filter(bool), values)
def test_encode_is_byte_identical_to_json_dumps(route: str, payload: Any) -> None:
    if has_non_finite(payload):
        with pytest.raises(ValidationError, match="finite number"):
            encode(route, payload)
        return
    assert encode(route, payload) == reference_encode(route, payload)
    assert encode(route) == reference_encode(route, protocol.NO_PAYLOAD)


def test_encode_caches_route_prefixes_within_a_bound() -> None:
    for i in range(protocol._PREFIX_CACHE + 50):
        assert encode(f"R{i}", 1) == f'{{"route":"R{i}","payload":1}}'
    assert len(protocol._prefixes) <= protocol._PREFIX_CACHE


def as_routed(text: str) -> Any:
    message = classify(text)
    if isinstance(message, RouteMessage):
        return (message.route, message.payload)
    return None


documents = st.one_of(
    values,
    st.fixed_dictionaries({"route": st.text()}, optional={"payload": values, "message": scalars}),
    st.fixed_dictionaries({"route": scalars, "payload": values}),
)
spacing = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])


@settings(max_examples=500)
@given(documents, spacing, spacing)
def test_split_routed_agrees_with_classify(document: Any, before: str, after: str) -> None:
    text = before + json.dumps(document, ensure_ascii=False, allow_nan=True) + after
    found = split_routed(text)
    if found is not None:
        assert found == as_routed(text)
    elif not (before or after):
        # Without whitespace around it, the shortcut declines only what classify does not route.
        assert as_routed(text) is None


@settings(max_examples=300)
@given(st.text())
def test_split_routed_and_decode_agree_with_json_on_any_text(text: str) -> None:
    found = split_routed(text)
    if found is not None:
        assert found == as_routed(text)
    try:
        expected: Any = ("ok", json.loads(text, parse_constant=protocol._refuse_constant))
    except (ValueError, RecursionError) as exc:
        expected = ("error", type(exc))
    try:
        got: Any = ("ok", protocol._decode(text))
    except (ValueError, RecursionError) as exc:
        got = ("error", type(exc))
    assert got == expected


def test_split_routed_declines_what_classify_must_explain() -> None:
    assert split_routed('{"message":"Forbidden","route":"R"}') is None
    assert split_routed('{"route":1}') is None
    assert split_routed("[1]") is None
    assert split_routed("not json") is None
    assert split_routed('{"route":"R","payload":NaN}') is None
    assert split_routed('{"route":"R"} x') is None
    assert split_routed('{"route":"R","payload":{"a":[1]}}') == ("R", {"a": [1]})
    assert split_routed('{"route":"R"}') == ("R", None)
