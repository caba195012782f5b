"""The emulator's draft-04 validators (jsonschema-rs) agree with jsonschema's Draft4Validator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from tests.emulator.helpers import SPECS
from wsapi_client.emulator._routes import wrapper_schema
from wsapi_client.emulator._validator import _fast, compile_validator
from wsapi_client.spec import load_spec

NAMES = ["a", "b", "c", "x-1", "route", "payload", "value", "left"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 12),
    st.floats(-5, 12, allow_nan=False),
    st.sampled_from([0.0, 1.0, 2.5, 3.0, 1e308, -0.0]),
    st.text(max_size=5),
    st.sampled_from(["", "a", "ab", "abc", "x-1", "A1"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=3), inner, max_size=4),
    ),
    max_leaves=12,
)

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    {"type": ["string", "null"], "minLength": 1, "maxLength": 2},
    {"type": "integer", "minimum": 0, "maximum": 10, "exclusiveMaximum": True},
    {"type": "number", "minimum": 1, "exclusiveMinimum": True, "multipleOf": 0.5},
    {"multipleOf": 3},
    {"pattern": "^a"},
    {"enum": [1, "a", True, None, [1, 2], {"a": 1}]},
    {"enum": [False, 0.0]},
    {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
    {"items": [{"type": "string"}, {"type": "number"}], "additionalItems": False},
    {"items": [{"type": "string"}], "additionalItems": {"type": "boolean"}},
    {"additionalItems": False},
    {
        "properties": {"a": {}},
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    },
    {"properties": {"a": {}}, "additionalProperties": {"type": "string"}},
    {"minProperties": 1, "maxProperties": 2},
    {"allOf": [{"type": "object"}, {"required": ["b"]}]},
    {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 5}]},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"not": {"type": "array"}},
    {
        "$ref": "#/definitions/D",
        "type": "string",
        "definitions": {"D": {"type": "object", "properties": {"a": {"$ref": "#/definitions/D"}}}},
    },
    {
        "type": "object",
        "properties": {"value": {"type": "string"}, "left": {"$ref": "#"}},
        "required": ["value"],
    },
    {"format": "date-time", "type": "string"},
    {"type": "object", "nullable": True, "x-extension": 1, "title": "ignored keywords"},
]


def _model_wrappers() -> list[dict[str, Any]]:
    wrappers = []
    for name in ("recursive.json", "directions.yaml", "inline-bodies.yaml"):
        spec = load_spec(SPECS / name)
        for op in spec.operations:
            wrapper = wrapper_schema(spec, op)
            if wrapper is not None:
                wrappers.append(wrapper)
    return wrappers


ALL_SCHEMAS = SCHEMAS + _model_wrappers()


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=range(len(ALL_SCHEMAS)))
def test_every_schema_gets_the_fast_validator(schema: dict[str, Any]) -> None:
    Draft4Validator.check_schema(schema)
    assert _fast(schema) is not None


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=range(len(ALL_SCHEMAS)))
@settings(max_examples=60, deadline=None)
@given(instance=json_values)
def test_validator_agrees_with_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    assert compile_validator(schema)(instance) == Draft4Validator(schema).is_valid(instance)


@settings(max_examples=200, deadline=None)
@given(payload=json_values, route=st.sampled_from(["SubscribeToNotifications", 3, None]))
def test_wrapped_messages_agree(payload: Any, route: Any) -> None:
    for schema in _model_wrappers()[:3]:
        check = compile_validator(schema)
        for message in ({"route": route, "payload": payload}, {"route": route}, payload):
            assert check(message) == Draft4Validator(schema).is_valid(message)


@pytest.mark.parametrize("instance", [10**30, -(10**30), 2**63, 1.0, 2.5, True, 1e308])
@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer"},
        {"type": "number", "maximum": 10, "exclusiveMaximum": True},
        {"multipleOf": 3},
        {"enum": [1, True]},
    ],
)
def test_number_edges_agree(schema: dict[str, Any], instance: Any) -> None:
    """Integers beyond 64 bits (a client may send them) reach the referee, not an error."""
    assert compile_validator(schema)(instance) == Draft4Validator(schema).is_valid(instance)


def test_formats_are_not_checked() -> None:
    """As jsonschema by default, and as far as documented API Gateway's models."""
    assert compile_validator({"type": "string", "format": "date-time"})("not a date")


def test_remote_references_are_never_fetched() -> None:
    assert _fast({"$ref": "http://example.com/schema"}) is None
