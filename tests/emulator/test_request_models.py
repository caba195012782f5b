"""The PDK's request-model wrapper, built from loaded models (pure, no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator.helpers import SPECS, spec_dict
from wsapi_client.emulator._routes import RouteTable, wrapper_schema
from wsapi_client.spec import load_spec


def test_wrapper_matches_the_pdk_shape() -> None:
    spec = load_spec(SPECS / "pdk-recursive.json")
    wrapper = wrapper_schema(spec, spec.operation("SubscribeToNotifications"))
    assert wrapper == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"route": {"type": "string"}, "payload": {"$ref": "#/definitions/Payload"}},
        "required": ["route", "payload"],
        "definitions": {
            "Payload": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string"},
                    "foo": {"$ref": "#/definitions/components_schemas_Foo"},
                },
                "required": ["topic"],
            },
            "components_schemas_Foo": {
                "type": "object",
                "properties": {
                    "baz": {"type": "integer", "format": "int32"},
                    "bar": {"$ref": "#/definitions/components_schemas_Bar"},
                },
            },
            "components_schemas_Bar": {
                "type": "object",
                "properties": {"blip": {"type": "string"}},
            },
        },
    }


def test_recursive_definitions_terminate() -> None:
    spec = load_spec(SPECS / "pdk-recursive.json")
    wrapper = wrapper_schema(spec, spec.operation("Recursive"))
    assert wrapper is not None
    assert set(wrapper["definitions"]) == {"Payload", "components_schemas_Node"}
    node = wrapper["definitions"]["components_schemas_Node"]
    assert node["properties"]["left"] == {"$ref": "#/definitions/components_schemas_Node"}


def test_operations_without_a_json_schema_have_no_model() -> None:
    spec = load_spec(SPECS / "pdk-single.yaml")
    assert wrapper_schema(spec, spec.operation("empty-request")) is None
    assert wrapper_schema(spec, spec.operation("different-media-type")) is None
    assert wrapper_schema(spec, spec.operation("multiple-content-types")) is not None


@pytest.mark.parametrize(
    "name", ["pdk-recursive.json", "pdk-single.yaml", "pdk-handlers.yaml", "pdk-inline-body.yaml"]
)
def test_every_reference_model_deploys(name: str) -> None:
    spec = load_spec(Path(SPECS / name))
    table = RouteTable.from_spec(spec)
    client_routes = {op.route_key for op in spec.operations if op.direction.client_sends}
    assert set(table.route_keys()) == client_routes
    for key in table.route_keys():
        route = table.get(key)
        assert route is not None
        assert route.operation.route_key == key


def test_inline_bodies_are_validated() -> None:
    spec = load_spec(SPECS / "pdk-inline-body.yaml")
    table = RouteTable.from_spec(spec)
    route = table.get("Python")
    assert route is not None
    assert route.validator is not None
    wrapper = wrapper_schema(spec, route.operation)
    assert wrapper is not None
    assert wrapper["definitions"]["Payload"]


def test_server_to_client_operations_have_no_route() -> None:
    spec = load_spec(
        spec_dict(
            {"Out": ("server_to_client", {"type": "object"}), "In": ("client_to_server", None)}, {}
        )
    )
    table = RouteTable.from_spec(spec)
    assert table.route_keys() == ["In"]
    assert table.get("Out") is None
