"""Schema corners, through the package generated from ``models/edge.yaml``: OpenAPI 3.1 type
lists, ``const``, number and boolean enums, ``x-enum-varnames``, null options, hoisting under a
taken name, sanitised component names, defaults of every kind, a recursive array alias."""

from __future__ import annotations

import datetime
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from wsapi_client import SpecError
from wsapi_client.codegen._ir import Builtin, ListOf, LiteralOf, Nullable, Ref
from wsapi_client.codegen._models import ModelBuilder
from wsapi_client.spec import load_spec

EDGE = Path(__file__).resolve().parent / "models" / "edge.yaml"


@pytest.fixture(scope="module")
def edge(generated: dict[str, Path]) -> ModuleType:
    return importlib.import_module("gen_edge")


@pytest.fixture(scope="module")
def m(edge: ModuleType) -> ModuleType:
    return importlib.import_module("gen_edge.models")


def field_types(builder_set: Any, cls: str) -> dict[str, str]:
    (found,) = [c for c in builder_set.classes if c.name == cls]
    return {f.name: f.type.render() for f in found.fields}


def test_type_mapping_of_the_corners() -> None:
    models = ModelBuilder(load_spec(EDGE)).build()
    assert field_types(models, "Holder") == {
        "maybe_text": "Optional[str]",
        "text_or_number": "Optional[HolderTextOrNumber]",
        "constant": 'Optional[Literal["fixed"]]',
        "weights": "Optional[float]",
        "flags": "Optional[bool]",
        "named": "Optional[HolderNamed]",
        "with_null": "Optional[MyModel]",
        "same": "Optional[str]",
        "loose": "Optional[dict[str, Any]]",
        "anything": "Any",
        "any_items": "Optional[list[Any]]",
        "shipping": "Optional[HolderShipping2]",
        "wrapped": "Optional[HolderWrapped]",
        "defaults": "Optional[Defaults]",
        "forest": "Optional[Forest]",
        "order_v1": "Optional[OrderV1]",
        "lower": "Optional[Lower]",
        "pets": "Optional[MaybePet]",
    }
    aliases = {a.name: a.type for a in models.aliases}
    assert aliases["Forest"] == ListOf(Builtin("Any"))  # the cycle of aliases broken with Any
    assert aliases["Lower"] == Builtin("str")
    assert aliases["MaybePet"].render() == "Union[Cat, Dog, None]"
    (named,) = [e for e in models.enums if e.name == "HolderNamed"]
    assert named.members == (("LOW_PRIORITY", "low"), ("HIGH_PRIORITY", "high"))
    (mood,) = [e for e in models.enums if e.name == "Mood"]
    assert mood.members == (("HAPPY", "happy"), ("SAD", "sad"), ("EMPTY", ""))
    (pets,) = [u for u in models.unions if u.alias == "MaybePet"]
    assert pets.discriminator == "kind"
    assert pets.mapping == (("Cat", "Cat"), ("Dog", "Dog"))


def test_defaults_are_python_values(m: ModuleType, edge: ModuleType) -> None:
    defaults = m.Defaults()
    assert defaults.ratio == 1.0
    assert type(defaults.ratio) is float
    assert defaults.words == ["a", "b"]
    assert m.Defaults().words is not defaults.words  # a fresh list each time
    assert defaults.table == {"x": 1}
    assert defaults.mood is None
    assert defaults.mood_default is m.Mood.SAD
    assert defaults.wrong_type is None  # a default that does not fit the type is not used
    assert defaults.when is None  # date-time defaults are not written as Python values
    assert defaults.nullable_default == 3
    assert edge.converter.unstructure(defaults) == {
        "ratio": 1.0,
        "words": ["a", "b"],
        "table": {"x": 1},
        "moodDefault": "sad",
        "nullableDefault": 3,
    }
    explicit_null = attrs.evolve(defaults, nullable_default=None)
    assert edge.converter.unstructure(explicit_null)["nullableDefault"] is None


def test_corner_values_round_trip(m: ModuleType, edge: ModuleType) -> None:
    conv = edge.converter
    holder = m.Holder(
        maybe_text="t",
        text_or_number=4,
        constant="fixed",
        weights=0.25,
        flags=True,
        named=m.HolderNamed.HIGH_PRIORITY,
        with_null=m.MyModel(x=1),
        loose={"a": [1]},
        anything=[{"x": None}],
        any_items=[1, "2"],
        shipping=m.HolderShipping2(zip="0150"),
        wrapped=m.HolderWrapped(inner=2),
        forest=[[[], [[]]]],
        order_v1=m.OrderV1(id="o"),
        lower="low",
        pets=m.Dog(kind="Dog", bark=False),
    )
    wire = conv.unstructure(holder)
    assert wire["named"] == "high"
    assert wire["textOrNumber"] == 4
    assert wire["pets"] == {"kind": "Dog", "bark": False}
    assert conv.structure(wire, m.Holder) == holder
    assert conv.structure({"pets": None}, m.Holder) == m.Holder()
    assert conv.structure(None, m.MaybePet) is None
    assert conv.structure({"kind": "Cat", "meow": "m"}, m.MaybePet) == m.Cat(kind="Cat", meow="m")
    with pytest.raises(ValueError, match="expected one of 'Cat', 'Dog'"):
        conv.structure({"kind": "Cow"}, m.MaybePet)
    with pytest.raises(Exception, match="other not in literal"):
        conv.structure({"constant": "other"}, m.Holder)


def test_sanitised_component_names_keep_their_wire_form(m: ModuleType) -> None:
    assert m.MyModel.__doc__ == "The ``my-model`` schema."
    assert m.OrderV1.__doc__ == "The ``order.v1`` schema."
    assert m.HolderShipping.__doc__.startswith("A component that takes the name")
    assert m.HolderShipping2.__doc__ == "The ``shipping`` field of :class:`Holder`."


def test_forest_listener_type_is_the_alias(edge: ModuleType, m: ModuleType) -> None:
    from wsapi_client.codegen.runtime import decoder

    decode = decoder(edge.converter, m.Forest)
    assert decode([[], [[]]]) == [[], [[]]]


def _spec(schemas: dict[str, Any]) -> Any:
    return load_spec(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": schemas},
        }
    )


def test_allof_merges_parts_and_keeps_its_own_description() -> None:
    spec = _spec(
        {
            "Base": {
                "description": "the base",
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "note": {"type": "string"}},
            },
            "Child": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {"properties": {"size": {"type": "integer"}}, "required": ["size"]},
                ],
            },
            "Alias": {"allOf": [{"$ref": "#/components/schemas/Base"}], "description": "same"},
        }
    )
    models = ModelBuilder(spec).build()
    (child,) = [c for c in models.classes if c.name == "Child"]
    assert [(f.name, f.required) for f in child.fields] == [
        ("id", True),
        ("note", False),
        ("size", True),
    ]
    assert child.doc == "The ``Child`` schema."  # not the base's description
    assert {a.name: a.type for a in models.aliases} == {"Alias": Ref("Base")}


def test_single_value_inline_enum_is_a_literal_but_a_component_stays_an_enum() -> None:
    spec = _spec(
        {
            "One": {"type": "string", "enum": ["only"]},
            "Holder": {
                "type": "object",
                "required": ["tag"],
                "properties": {
                    "tag": {"type": "integer", "enum": [7]},
                    "one": {"$ref": "#/components/schemas/One"},
                },
            },
        }
    )
    models = ModelBuilder(spec).build()
    (holder,) = models.classes
    assert holder.fields[0].type == LiteralOf((7,))
    assert holder.fields[0].default == "7"
    assert holder.fields[1].type == Nullable(Ref("One"))
    assert [e.name for e in models.enums] == ["One"]


def test_unsupported_reference_is_a_spec_error() -> None:
    spec = _spec({"A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/A"}}}})
    builder = ModelBuilder(spec)
    with pytest.raises(SpecError, match="unknown schema 'Missing'"):
        builder.component_type("Missing")


def test_time_zone_offsets_on_the_wire(edge: ModuleType, m: ModuleType) -> None:
    tz = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))
    value = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=tz)
    assert edge.converter.unstructure(m.Defaults(when=value))["when"] == "2024-03-01T12:00:00-05:30"
