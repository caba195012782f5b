"""The PDK's request-model wrapper, built from loaded models (pure, no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator.helpers import SPECS, spec_dict
from wsapi_client.emulator._routes import RouteTable, wrapper_schema
from wsapi_client.spec import load_spec


def test_wrapper_matches_the_pdk_shape() -> None:
    spec = load_spec(SPECS / "recursive.json")
    wrapper = wrapper_schema(spec, spec.operation("WatchOrchard"))
    assert wrapper == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"route": {"type": "string"}, "payload": {"$ref": "#/definitions/Payload"}},
        "required": ["route", "payload"],
        "definitions": {
            "Payload": {
                "type": "object",
                "properties": {
                    "orchard": {"type": "string"},
                    "filter": {"$ref": "#/definitions/components_schemas_Filter"},
                },
                "required": ["orchard"],
            },
            "components_schemas_Filter": {
                "type": "object",
                "properties": {
                    "minHeight": {"type": "integer", "format": "int32"},
                    "season": {"$ref": "#/definitions/components_schemas_Season"},
                },
            },
            "components_schemas_Season": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
            },
        },
    }


def test_recursive_definitions_terminate() -> None:
    spec = load_spec(SPECS / "recursive.json")
    wrapper = wrapper_schema(spec, spec.operation("Graft"))
    assert wrapper is not None
    assert set(wrapper["definitions"]) == {"Payload", "components_schemas_Branch"}
    branch = wrapper["definitions"]["components_schemas_Branch"]
    assert branch["properties"]["left"] == {"$ref": "#/definitions/components_schemas_Branch"}


def test_operations_without_a_json_schema_have_no_model() -> None:
    spec = load_spec(SPECS / "directions.yaml")
    assert wrapper_schema(spec, spec.operation("heartbeat")) is None
    assert wrapper_schema(spec, spec.operation("radar-image")) is None
    assert wrapper_schema(spec, spec.operation("reading-or-image")) is not None


@pytest.mark.parametrize(
    "name", ["recursive.json", "directions.yaml", "handlers.yaml", "inline-bodies.yaml"]
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
    spec = load_spec(SPECS / "inline-bodies.yaml")
    table = RouteTable.from_spec(spec)
    route = table.get("Move")
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
