"""Payload validation: every supported keyword, error paths, recursion, and jsonschema parity."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsapi_client._errors import SpecError, ValidationError
from wsapi_client._validation import compile_validator, format_path, validate_payload
from wsapi_client.protocol import NO_PAYLOAD
from wsapi_client.spec import load_spec

SPECS = Path(__file__).resolve().parents[1] / "data" / "specs"


def problem(
    schema: Any, value: Any, schemas: Optional[dict[str, Any]] = None
) -> Optional[tuple[str, str]]:
    """(path, message) of the first problem, or None when ``value`` fits."""
    try:
        compile_validator(schema, schemas or {})(value)
    except ValidationError as exc:
        return exc.path, exc.message
    return None


# -- type ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "good", "bad"),
    [
        ("string", ["", "x"], [1, None, b"x", ["x"]]),
        ("number", [0, -1.5, 10**30], [True, False, "1", None]),
        ("integer", [0, -3, 2.0, 10**30], [True, 1.5, "1", None]),
        ("boolean", [True, False], [0, 1, "true", None]),
        ("array", [[], [1], (1, 2)], [{}, "[]", None]),
        ("object", [{}, {"a": 1}], [[], "{}", None]),
        ("null", [None], [0, "", False]),
    ],
)
def test_type(type_name: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert problem({"type": type_name}, value) is None, value
    for value in bad:
        assert problem({"type": type_name}, value) is not None, value


def test_type_message_names_what_was_expected_and_got() -> None:
    assert problem({"type": "string"}, 5) == ("", "must be a string, got int")
    assert problem({"type": "integer"}, True) == ("", "must be an integer, got bool")
    assert problem({"type": ["string", "null"]}, 1.5) == ("", "must be a string or null, got float")


def test_nullable_and_type_lists() -> None:
    assert problem({"type": "string", "nullable": True}, None) is None
    assert problem({"type": "string", "nullable": True}, 1) == (
        "",
        "must be a string or null, got int",
    )
    assert problem({"type": ["string", "null"]}, None) is None
    assert (
        problem(
            {"$ref": "#/components/schemas/S", "nullable": True}, None, {"S": {"type": "string"}}
        )
        is None
    )
    assert problem({"type": "string", "nullable": False}, None) is not None


# -- values ----------------------------------------------------------------------------------


def test_enum() -> None:
    schema = {"type": "string", "enum": ["a", "b"]}
    assert problem(schema, "a") is None
    assert problem(schema, "c") == ("", "must be one of 'a', 'b', got 'c'")
    assert problem({"enum": [1, None]}, 1.0) is None
    assert problem({"enum": [1]}, True) is not None
    assert problem({"enum": [True]}, 1) is not None
    assert problem({"enum": [{"a": [1]}]}, {"a": [1.0]}) is None
    assert problem({"enum": []}, "a") is not None


def test_const() -> None:
    assert problem({"const": "x"}, "x") is None
    assert problem({"const": "x"}, "y") == ("", "must be 'x', got 'y'")
    assert problem({"const": 0}, False) is not None


# -- strings ---------------------------------------------------------------------------------


def test_lengths_count_code_points() -> None:
    assert problem({"minLength": 2}, "\U0001f600\U0001f600") is None
    assert problem({"maxLength": 1}, "\U0001f600") is None
    assert problem({"minLength": 2}, "a") == ("", "must be at least 2 characters long, got 1")
    assert problem({"maxLength": 2}, "abc") == ("", "must be at most 2 characters long, got 3")
    assert problem({"minLength": 5}, 5) is None  # string keywords ignore other types


def test_pattern_searches() -> None:
    assert problem({"pattern": "b+"}, "abbc") is None
    assert problem({"pattern": "^b"}, "ab") == ("", "must match the pattern '^b', got 'ab'")


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date", ["2024-02-29", "1999-12-31"], ["2023-02-29", "2024-13-01", "2024-1-01", "x"]),
        (
            "date-time",
            [
                "2024-01-31T12:00:00Z",
                "2024-01-31t12:00:00.123456z",
                "2024-01-31T12:00:00+05:30",
                "2016-12-31T23:59:60Z",
            ],
            ["2024-01-31 12:00:00Z", "2024-01-31T12:00:00", "2024-01-31T24:00:00Z", "2024-01-31"],
        ),
    ],
)
def test_formats(fmt: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert problem({"type": "string", "format": fmt}, value) is None, value
    for value in bad:
        found = problem({"type": "string", "format": fmt}, value)
        assert found is not None, value
        assert "RFC 3339" in found[1]
    assert problem({"format": "date"}, 5) is None
    assert problem({"format": "uuid"}, "not-a-uuid") is None  # unknown formats are ignored


# -- numbers ---------------------------------------------------------------------------------


def test_bounds_in_both_openapi_forms() -> None:
    assert problem({"minimum": 1}, 1) is None
    assert problem({"minimum": 1}, 0) == ("", "must be at least 1, got 0")
    assert problem({"maximum": 1}, 2.5) == ("", "must be at most 1, got 2.5")
    # OpenAPI 3.0: exclusiveMinimum is a flag on minimum
    assert problem({"minimum": 1, "exclusiveMinimum": True}, 1) == (
        "",
        "must be greater than 1, got 1",
    )
    assert problem({"maximum": 1, "exclusiveMaximum": True}, 1) == (
        "",
        "must be less than 1, got 1",
    )
    assert problem({"minimum": 1, "exclusiveMinimum": False}, 1) is None
    # OpenAPI 3.1: a number of its own
    assert problem({"exclusiveMinimum": 1}, 1) is not None
    assert problem({"exclusiveMaximum": 1}, 0.5) is None
    assert problem({"minimum": 5}, True) is None  # a bool is no number


def test_multiple_of() -> None:
    assert problem({"multipleOf": 3}, 9) is None
    assert problem({"multipleOf": 3}, 10) == ("", "must be a multiple of 3, got 10")
    assert problem({"multipleOf": 2.5}, 7.5) is None
    assert problem({"multipleOf": 2.5}, 7) is not None
    assert problem({"multipleOf": 0.5}, 1e308) is None


# -- arrays ----------------------------------------------------------------------------------


def test_items_and_counts() -> None:
    schema = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}
    assert problem(schema, [1, 2]) is None
    assert problem(schema, []) == ("", "must have at least 1 items, got 0")
    assert problem(schema, [1, 2, 3, 4]) == ("", "must have at most 3 items, got 4")
    assert problem(schema, [1, "2"]) == ("[1]", "must be an integer, got str")


def test_prefix_items_and_the_draft_4_tuple_form() -> None:
    schema = {"prefixItems": [{"type": "string"}], "items": {"type": "integer"}}
    assert problem(schema, ["a", 1, 2]) is None
    assert problem(schema, [1]) == ("[0]", "must be a string, got int")
    assert problem(schema, ["a", "b"]) == ("[1]", "must be an integer, got str")
    assert problem({"items": [{"type": "string"}], "additionalItems": False}, ["a", 1]) is not None


def test_unique_items_use_json_equality() -> None:
    schema = {"uniqueItems": True}
    assert problem(schema, [1, True, "1", None, False, 0]) is None
    assert problem(schema, [1, 1.0]) == ("", "must not contain duplicates: items 0 and 1 are equal")
    assert problem(schema, [{"a": [1]}, {"a": [1]}]) is not None
    assert problem(schema, [[1], [True]]) is None


# -- objects ---------------------------------------------------------------------------------


def test_required_names_the_missing_field() -> None:
    schema = {
        "type": "object",
        "required": ["symbol"],
        "properties": {"symbol": {"type": "string"}},
    }
    assert problem(schema, {"symbol": "X"}) is None
    assert problem(schema, {}) == ("symbol", "is required")


def test_paths_in_nested_arrays_and_maps() -> None:
    schemas = {
        "Leg": {
            "type": "object",
            "required": ["symbol"],
            "properties": {"symbol": {"type": "string"}, "my-qty": {"type": "integer"}},
        },
        "Order": {
            "type": "object",
            "properties": {
                "legs": {"type": "array", "items": {"$ref": "#/components/schemas/Leg"}},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    }
    order = {"$ref": "#/components/schemas/Order"}
    good = {"legs": [{"symbol": "A"}], "tags": {"k": "v"}}
    assert problem(order, good, schemas) is None
    assert problem(order, {"legs": [{"symbol": "A"}, {"symbol": "B"}, {"symbol": 3}]}, schemas) == (
        "legs[2].symbol",
        "must be a string, got int",
    )
    assert problem(order, {"legs": [{}]}, schemas) == ("legs[0].symbol", "is required")
    assert problem(order, {"tags": {"key": 1}}, schemas) == (
        'tags["key"]',
        "must be a string, got int",
    )
    assert problem(order, {"legs": [{"symbol": "A", "my-qty": "1"}]}, schemas) == (
        'legs[0]["my-qty"]',
        "must be an integer, got str",
    )


def test_additional_and_pattern_properties() -> None:
    closed = {"properties": {"a": {}}, "additionalProperties": False}
    assert problem(closed, {"a": 1}) is None
    assert problem(closed, {"a": 1, "b": 2}) == ('["b"]', "is not an allowed property")
    patterned = {
        "patternProperties": {"^x-": {"type": "string"}},
        "additionalProperties": {"type": "integer"},
    }
    assert problem(patterned, {"x-a": "s", "n": 1}) is None
    assert problem(patterned, {"x-a": 1}) == ('["x-a"]', "must be a string, got int")
    assert problem(patterned, {"n": "s"}) == ('["n"]', "must be an integer, got str")


def test_property_counts() -> None:
    assert problem({"minProperties": 1}, {}) == ("", "must have at least 1 properties, got 0")
    assert problem({"maxProperties": 1}, {"a": 1, "b": 2}) is not None
    assert problem({"maxProperties": 1}, [1, 2]) is None


# -- combinators -----------------------------------------------------------------------------


def test_all_of_any_of_not() -> None:
    assert problem({"allOf": [{"type": "integer"}, {"minimum": 2}]}, 1) == (
        "",
        "must be at least 2, got 1",
    )
    any_of = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert problem(any_of, 1) is None
    found = problem(any_of, 1.5)
    assert found is not None
    assert found[1].startswith("must match one of the anyOf schemas")
    assert problem({"not": {"type": "string"}}, "x") == ("", "must not match the schema in 'not'")
    assert problem({"not": {"type": "string"}}, 1) is None


def test_any_of_reports_the_branch_that_got_furthest() -> None:
    schema = {
        "anyOf": [
            {"type": "string"},
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
        ]
    }
    assert problem(schema, {"a": "x"}) == ("a", "must be an integer, got str")


def test_one_of_needs_exactly_one() -> None:
    schema = {"oneOf": [{"type": "integer"}, {"minimum": 0}]}
    assert problem(schema, -1) is None
    assert problem(schema, 0.5) is None
    found = problem(schema, 1)
    assert found is not None
    assert "exactly one" in found[1]
    assert problem(schema, "x") is None  # only {"minimum": 0} applies to a string


def test_one_of_with_a_discriminator_checks_the_named_branch() -> None:
    schemas = {
        "Cat": {
            "type": "object",
            "required": ["kind", "meows"],
            "properties": {"meows": {"type": "boolean"}},
        },
        "Dog": {
            "type": "object",
            "required": ["kind", "barks"],
            "properties": {"barks": {"type": "boolean"}},
        },
    }
    pet = {
        "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
        "discriminator": {"propertyName": "kind", "mapping": {"dog": "#/components/schemas/Dog"}},
    }
    assert problem(pet, {"kind": "Cat", "meows": True}, schemas) is None
    assert problem(pet, {"kind": "dog", "barks": True}, schemas) is None
    assert problem(pet, {"kind": "dog", "meows": True}, schemas) == ("barks", "is required")
    assert problem(pet, {"kind": "Dog", "barks": "no"}, schemas) == (
        "barks",
        "must be a boolean, got str",
    )
    assert problem(pet, {"meows": True}, schemas) == ("kind", "is required")
    assert problem(pet, {"kind": "Cow"}, schemas) == (
        "kind",
        "must be one of 'Cat', 'Dog', 'dog', got 'Cow'",
    )
    assert problem(pet, "Cat", schemas) is not None


def test_empty_and_boolean_schemas() -> None:
    for value in [None, 1, "x", [], {}, True]:
        assert problem({}, value) is None
        assert problem(True, value) is None
        assert problem(False, value) is not None
    assert problem({"x-unknown": 1, "title": "t", "example": 5}, "anything") is None


# -- references, recursion, errors in schemas ------------------------------------------------


def test_recursive_model() -> None:
    spec = load_spec(SPECS / "recursive.json")
    op = spec.operation("Graft")
    tree = {"trunk": {"label": "a", "left": {"label": "b", "right": {"label": "c"}}}}
    validate_payload(op, spec, tree)
    broken = {"trunk": {"label": "a", "left": {"label": "b", "right": {"left": {"label": "d"}}}}}
    with pytest.raises(ValidationError) as caught:
        validate_payload(op, spec, broken)
    assert caught.value.path == "trunk.left.right.label"
    assert caught.value.message == "is required"
    assert caught.value.route == "Graft"
    assert str(caught.value) == "Graft: trunk.left.right.label: is required"


def test_deep_and_circular_payloads_are_refused_cleanly() -> None:
    spec = load_spec(SPECS / "recursive.json")
    op = spec.operation("Graft")
    node: dict[str, Any] = {"label": "x"}
    node["left"] = node
    with pytest.raises(ValidationError, match="nested too deeply"):
        validate_payload(op, spec, {"trunk": node})


def test_a_schema_object_containing_itself_compiles() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    schema["properties"]["child"] = schema
    validate = compile_validator(schema, {})
    validate({"child": {"child": {}}})
    with pytest.raises(ValidationError) as caught:
        validate({"child": {"child": 1}})
    assert caught.value.path == "child.child"


def test_broken_schemas_raise_spec_error() -> None:
    with pytest.raises(SpecError, match="names no schema"):
        compile_validator({"$ref": "#/components/schemas/Nope"}, {})
    with pytest.raises(SpecError, match="not a valid regular expression"):
        compile_validator({"pattern": "("}, {})
    with pytest.raises(SpecError, match="unsupported"):
        compile_validator({"$ref": "other.json#/X"}, {})


def test_compiling_is_cached_per_schema_object() -> None:
    from wsapi_client._validation import _compiler_for

    schemas: dict[str, Any] = {"A": {"type": "string"}}
    schema = {"$ref": "#/components/schemas/A"}
    compiler = _compiler_for(schemas)
    assert _compiler_for(schemas) is compiler
    assert compiler.compile(schema) is compiler.compile(schema)


def test_format_path() -> None:
    assert format_path([]) == ""
    assert format_path(["legs", 2, "symbol"]) == "legs[2].symbol"
    assert format_path([0, "a b", "c"]) == '[0]["a b"].c'


# -- validate_payload ------------------------------------------------------------------------


def test_validate_payload_follows_the_operations_body() -> None:
    spec = load_spec(SPECS / "directions.yaml")
    validate_payload(spec.operation("heartbeat"), spec, NO_PAYLOAD)
    with pytest.raises(ValidationError, match="operation takes no payload") as caught:
        validate_payload(spec.operation("heartbeat"), spec, {"a": 1})
    assert caught.value.route == "heartbeat"
    with pytest.raises(ValidationError, match="payload is required"):
        validate_payload(spec.operation("submit-reading"), spec, NO_PAYLOAD)
    validate_payload(spec.operation("sensor-map"), spec, NO_PAYLOAD)  # optional body
    validate_payload(spec.operation("submit-reading"), spec, {"celsius": 1.5})
    with pytest.raises(ValidationError) as caught:
        validate_payload(spec.operation("submit-reading"), spec, {"celsius": "1.5"})
    assert (caught.value.route, caught.value.path) == ("submit-reading", "celsius")
    validate_payload(spec.operation("free-form"), spec, ["anything", 1])
    validate_payload(spec.operation("radar-image"), spec, "JVBERi0x")
    with pytest.raises(ValidationError):
        validate_payload(spec.operation("radar-image"), spec, {"not": "a string"})
    with pytest.raises(ValidationError) as caught:
        validate_payload(spec.operation("sensor-map"), spec, {"sensors": {"k": {"model": "x"}}})
    assert caught.value.path == 'sensors["k"].unit'


# -- parity with jsonschema ------------------------------------------------------------------

KEYS = ["a", "b", "c"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-6, max_value=6)
    | st.sampled_from([0.0, 0.5, -1.5, 2.0, 3.25])
    | st.text(alphabet="ab1", max_size=4)
)
instances = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from([*KEYS, "d"]), children, max_size=4)
    ),
    max_leaves=12,
)
small = st.integers(min_value=0, max_value=4)
bound = st.integers(min_value=-4, max_value=4)
leaf_keywords = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["string", "number", "integer", "boolean", "array", "object", "null"]
        )
        | st.lists(
            st.sampled_from(["string", "integer", "null", "array"]),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        "enum": st.lists(scalars, min_size=1, max_size=3),
        "const": scalars,
        "minLength": small,
        "maxLength": small,
        "pattern": st.sampled_from(["^a", "b$", "1", "a.b"]),
        "minimum": bound,
        "maximum": bound,
        "exclusiveMinimum": bound,
        "exclusiveMaximum": bound,
        "multipleOf": st.integers(min_value=1, max_value=3),
        "minItems": small,
        "maxItems": small,
        "uniqueItems": st.booleans(),
        "minProperties": small,
        "maxProperties": small,
        "required": st.lists(st.sampled_from(KEYS), max_size=2, unique=True),
    },
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(st.sampled_from(KEYS), children, max_size=2),
            "additionalProperties": st.booleans() | children,
            "items": children,
            "prefixItems": st.lists(children, min_size=1, max_size=2),
            "allOf": st.lists(children, min_size=1, max_size=2),
            "anyOf": st.lists(children, min_size=1, max_size=2),
            "oneOf": st.lists(children, min_size=1, max_size=2),
            "not": children,
        },
    ).flatmap(lambda extra: leaf_keywords.map(lambda leaf: {**leaf, **extra}))


schemas_strategy = st.recursive(leaf_keywords, _extend, max_leaves=6)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(schemas_strategy, instances)
def test_accepts_and_rejects_what_jsonschema_does(schema: dict[str, Any], instance: Any) -> None:
    expected = jsonschema.Draft202012Validator(schema).is_valid(instance)
    assert (problem(schema, instance) is None) == expected
