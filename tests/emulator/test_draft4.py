"""The compiled draft-04 validators agree with jsonschema's Draft4Validator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from tests.emulator.helpers import SPECS
from wsapi_client.emulator._draft4 import compile_draft4
from wsapi_client.emulator._routes import wrapper_schema
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
def test_every_schema_compiles(schema: dict[str, Any]) -> None:
    Draft4Validator.check_schema(schema)
    assert compile_draft4(schema) is not None


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=range(len(ALL_SCHEMAS)))
@settings(max_examples=60, deadline=None)
@given(instance=json_values)
def test_compiled_agrees_with_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    compiled = compile_draft4(schema)
    assert compiled is not None
    assert compiled(instance) == Draft4Validator(schema).is_valid(instance)


@settings(max_examples=200, deadline=None)
@given(payload=json_values, route=st.sampled_from(["SubscribeToNotifications", 3, None]))
def test_wrapped_messages_agree(payload: Any, route: Any) -> None:
    for schema in _model_wrappers()[:3]:
        compiled = compile_draft4(schema)
        assert compiled is not None
        for message in ({"route": route, "payload": payload}, {"route": route}, payload):
            assert compiled(message) == Draft4Validator(schema).is_valid(message)


@pytest.mark.parametrize(
    "schema",
    [
        {"uniqueItems": True},
        {"dependencies": {"a": ["b"]}},
        {"id": "http://example.com/x", "type": "string"},
        {"$ref": "http://example.com/schema"},
        {"$ref": "#/definitions/Missing"},
    ],
)
def test_unsupported_schemas_are_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_draft4(schema) is None
