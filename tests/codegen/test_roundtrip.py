"""Models of a generated package to JSON and back, through its converter (no network).

Uses the package generated from ``models/features.yaml``; every schema feature the generator
maps is exercised: renames, omitted optionals, defaults, dates, enums, maps, arrays, recursion,
``allOf``, discriminated and undiscriminated unions, keywords as field names.
"""

from __future__ import annotations

import datetime
import json
from types import ModuleType
from typing import Any

import attrs
import pytest

from wsapi_client import ValidationError
from wsapi_client._validation import compile_validator
from wsapi_client.spec import ApiSpec

UTC = datetime.timezone.utc
PLACED = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def m(features_models: ModuleType) -> ModuleType:
    return features_models


@pytest.fixture(scope="module")
def conv(features: ModuleType) -> Any:
    return features.converter


@pytest.fixture(scope="module")
def validate_everything(features_spec: ApiSpec) -> Any:
    return compile_validator(features_spec.schemas["Everything"], features_spec.schemas)


def order(m: ModuleType, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "id": "A-1",
        "placed_at": PLACED,
        "status": m.Status.OPEN,
        "legs": [m.OrderLegsItem(symbol="X", quantity=3)],
    }
    fields.update(changes)
    return m.Order(**fields)


def full_everything(m: ModuleType) -> Any:
    """An Everything with every optional field set."""
    node = m.Node(
        value="root",
        left=m.Node(value="l"),
        children=[m.Node(value="c1", right=m.Node(value="c1r")), m.Node(value="c2")],
        index={"k": m.Node(value="indexed", index={"deeper": m.Node(value="d")})},
    )
    return m.Everything(
        order=order(
            m,
            delivery_date=datetime.date(2024, 2, 29),
            priority=m.OrderPriority.VALUE_2,
            shipping=m.OrderShipping(city="Oslo", street="Main 1"),
            tags=["a", "b"],
            attributes={"colour": "red"},
            note="careful",
            metadata={"free": [1, "two", None]},
            rush=True,
            quantity_hint=7,
            channels=["web"],
            legs=[
                m.OrderLegsItem(
                    symbol="X", quantity=3, side=m.OrderLegsItemSide.SELL, limit_price=1.5
                )
            ],
        ),
        shape=m.Circle(radius=2.0),
        pet=m.Cat(meow="purr"),
        scalar=["x", "y"],
        node=node,
        record=m.Record(id="r1", size=3, created_at=PLACED),
        keywords=m.Keywords(
            class_="c", self_="s", from_=1, n2fa=True, private="p", placed_at="x", placed_at_="y"
        ),
        level=m.Level.VALUE_MINUS_1,
        empty=m.Empty(),
        free_form={"anything": {"goes": True}},
        ids=["0b4f6e9e-8a8e-4d8f-9f55-f2d0c9b5a5c1"],
        union=m.UnionModel(members=3),
        mixed="a",
        ratio=0.5,
        maybe_status=m.Status.DONE,
        inline_choice=m.EverythingInlineChoiceOption2(b=5),
        mode=m.EverythingMode.SLOW,
        created_on=datetime.date(2023, 12, 31),
    )


def test_wire_names_kept_and_unset_optionals_left_out(m: ModuleType, conv: Any) -> None:
    assert conv.unstructure(order(m)) == {
        "id": "A-1",
        "placedAt": "2024-01-02T03:04:05Z",
        "status": "open",
        "legs": [{"symbol": "X", "quantity": 3, "side": "buy"}],
        "rush": False,
        "quantityHint": 1,
        "channels": [],
    }


def test_every_feature_round_trips_and_fits_the_schema(
    m: ModuleType, conv: Any, validate_everything: Any
) -> None:
    value = full_everything(m)
    wire = conv.unstructure(value)
    validate_everything(wire)
    assert json.loads(json.dumps(wire)) == wire
    assert wire["keywords"] == {
        "class": "c",
        "self": "s",
        "from": 1,
        "_private": "p",
        "2fa": True,
        "placedAt": "x",
        "placed_at": "y",
    }
    assert wire["order"]["deliveryDate"] == "2024-02-29"
    assert wire["order"]["priority"] == 2
    assert wire["level"] == -1
    assert wire["maybeStatus"] == "done"
    assert wire["shape"] == {"kind": "Circle", "radius": 2.0}
    assert wire["node"]["index"]["k"]["index"]["deeper"] == {"value": "d"}
    assert conv.structure(wire, m.Everything) == value


def test_unknown_inbound_fields_are_ignored(m: ModuleType, conv: Any) -> None:
    wire = conv.unstructure(order(m))
    wire["surprise"] = {"new": "field"}
    wire["legs"][0]["extra"] = 1
    assert conv.structure(wire, m.Order) == order(m)


def test_missing_required_field_fails(m: ModuleType, features: ModuleType) -> None:
    from wsapi_client.codegen.runtime import decoder

    decode = decoder(features.converter, m.Order)
    with pytest.raises(ValidationError, match="does not fit Order: missing field 'placedAt'"):
        decode({"id": "A", "status": "open", "legs": []})
    with pytest.raises(ValidationError, match="no payload"):
        decode(None)


def test_deep_recursive_model_round_trips(m: ModuleType, conv: Any) -> None:
    node = m.Node(value="leaf")
    for depth in range(60):
        node = m.Node(value=f"n{depth}", left=node, children=[m.Node(value="c")])
    wire = conv.unstructure(node)
    assert wire["left"]["left"]["value"] == "n57"
    assert conv.structure(wire, m.Node) == node


def test_discriminator_selects_the_option(m: ModuleType, conv: Any) -> None:
    assert conv.structure({"kind": "sq", "side": 1}, m.Shape) == m.Square(side=1.0)
    assert conv.structure({"kind": "Circle", "radius": 2}, m.Shape) == m.Circle(radius=2.0)
    with pytest.raises(
        ValueError, match="kind is 'hexagon'; expected one of 'Circle', 'Square', 'sq'"
    ):
        conv.structure({"kind": "hexagon"}, m.Shape)
    assert conv.unstructure(m.Square(side=3.0)) == {"kind": "sq", "side": 3.0}


def test_union_without_discriminator_takes_the_first_fit(m: ModuleType, conv: Any) -> None:
    assert conv.structure({"bark": True}, m.Pet) == m.Dog(bark=True)
    assert conv.structure({"meow": "x"}, m.Pet) == m.Cat(meow="x")
    with pytest.raises(ValueError, match="fits none of Dog, Cat"):
        conv.structure({"quack": 1}, m.Pet)
    assert conv.structure("a", m.Scalar) == "a"
    assert conv.structure(3, m.Scalar) == 3
    assert conv.structure(["a"], m.Scalar) == ["a"]
    with pytest.raises(ValueError, match="a number fits none of"):
        conv.structure(1.5, m.Scalar)
    choice = m.EverythingInlineChoiceOption1(a="x")
    assert conv.structure({"a": "x"}, m.EverythingInlineChoice) == choice


def test_scalars_are_structured_strictly(m: ModuleType, conv: Any) -> None:
    with pytest.raises(TypeError, match="expected a string, got a number"):
        conv.structure({"symbol": 1, "quantity": 1}, m.OrderLegsItem)
    with pytest.raises(TypeError, match="expected an integer, got a boolean"):
        conv.structure({"symbol": "X", "quantity": True}, m.OrderLegsItem)
    # 2.0 is an integer for the validator, so for the models as well.
    leg = conv.structure({"symbol": "X", "quantity": 2.0}, m.OrderLegsItem)
    assert leg.quantity == 2
    assert type(leg.quantity) is int
    leg = conv.structure({"symbol": "X", "quantity": 1, "limitPrice": 3}, m.OrderLegsItem)
    assert type(leg.limit_price) is float
    with pytest.raises(TypeError, match="expected a boolean"):
        conv.structure({"bark": "true"}, m.Dog)


def test_enums_keep_their_wire_values(m: ModuleType, conv: Any) -> None:
    assert m.Status.IN_PROGRESS.value == "in-progress"
    assert m.Status("done") is m.Status.DONE
    assert m.Status.OPEN == "open"  # a str enum compares equal to its value
    assert [e.value for e in m.Level] == [-1, 0, 10]
    assert conv.structure("in-progress", m.Status) is m.Status.IN_PROGRESS
    assert conv.structure(10, m.Level) is m.Level.VALUE_10
    with pytest.raises(ValueError, match="'closed' is not a valid Status"):
        conv.structure("closed", m.Status)
    with pytest.raises(TypeError, match="expected a Level value, got a boolean"):
        conv.structure(False, m.Level)


def test_dates_are_rfc3339(m: ModuleType, conv: Any) -> None:
    offset = datetime.timezone(datetime.timedelta(hours=2))
    wire = conv.unstructure(
        order(m, placed_at=datetime.datetime(2024, 1, 2, 5, 4, 5, 250000, offset))
    )
    assert wire["placedAt"] == "2024-01-02T05:04:05.250000+02:00"
    back = conv.structure(wire, m.Order)
    assert back.placed_at == PLACED + datetime.timedelta(microseconds=250000)
    with pytest.raises(ValidationError, match="has no time zone"):
        conv.unstructure(order(m, placed_at=datetime.datetime(2024, 1, 2)))
    with pytest.raises(ValidationError, match="expected a date, got datetime"):
        conv.unstructure(order(m, delivery_date=PLACED))


def test_defaults_and_literals(m: ModuleType, conv: Any) -> None:
    leg = m.OrderLegsItem(symbol="X", quantity=1)
    assert leg.side is m.OrderLegsItemSide.BUY
    assert m.Circle(radius=1.0).kind == "Circle"
    inbound = conv.structure({"id": "A", "placedAt": "2024-01-02T03:04:05Z", "status": "open",
                              "legs": []}, m.Order)  # fmt: skip
    assert (inbound.rush, inbound.quantity_hint, inbound.channels, inbound.note) == (
        False,
        1,
        [],
        None,
    )
    assert m.Order.__attrs_attrs__.channels.default.factory is list  # a fresh list per instance


def test_models_are_frozen(m: ModuleType) -> None:
    leg = m.OrderLegsItem(symbol="X", quantity=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        leg.quantity = 2
    assert attrs.evolve(leg, quantity=2).quantity == 2


def test_docstrings_come_from_descriptions(m: ModuleType) -> None:
    assert m.Order.__doc__.startswith("An order of one or more legs.")
    assert '"""triple"""' in m.Order.__doc__
    assert "backslash \\ and" in m.Order.__doc__
    assert m.Status.__doc__ == "Where an order is."
