"""The project's own models (``tests/data/specs``) cover every case of the PDK's test models.

The PDK's models are outside reference data (``../shared/specs``): these tests skip without them,
and fail in CI (see ``tests/reference.py``). Each PDK model must load, and every kind of operation
and document feature it has must also occur in one of our models, so that the suite, which runs
on our models only, exercises everything the PDK's resources would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SPECS
from tests.reference import shared_dir
from wsapi_client.spec import ApiSpec, load_spec

PDK_MODELS = ("pdk-recursive.json", "pdk-single.yaml", "pdk-handlers.yaml", "pdk-inline-body.yaml")


def _schema_kind(spec: ApiSpec, route_key: str) -> tuple[str, ...]:
    """How each body schema is written in the document: a ``$ref`` or inline, and its type."""
    op = spec.operation(route_key)
    body = spec.document["paths"][op.path][op.method].get("requestBody", {})
    kinds = []
    for media in body.get("content", {}).values():
        raw = media.get("schema", {})
        written = "ref" if "$ref" in raw else "inline"
        resolved = spec.resolve(raw) if raw else raw
        kinds.append(f"{written}:{resolved.get('type', 'any')}")
    return tuple(kinds)


def _refers_to_itself(spec: ApiSpec, name: str) -> bool:
    target = f"#/components/schemas/{name}"
    return target in repr(spec.schemas[name])


def features(spec: ApiSpec) -> set[tuple[Any, ...]]:
    """The cases a model exercises, named without the model's own names."""
    found: set[tuple[Any, ...]] = set()
    for op in spec.operations:
        found.add(("direction", op.direction.value))
        found.add(("method", op.method))
        found.add(("operationId", op.operation_id is not None))
        found.add(("id differs from route key", op.operation_id not in (None, op.route_key)))
        found.add(("body", op.has_body, op.body_required))
        found.add(("json", "application/json" in op.media_types, len(op.media_types)))
        found.add(("schema", *_schema_kind(spec, op.route_key)))
    for name, schema in spec.schemas.items():
        found.add(("recursive schema", _refers_to_itself(spec, name)))
        if isinstance(schema.get("additionalProperties"), dict) or any(
            isinstance(p, dict) and isinstance(p.get("additionalProperties"), dict)
            for p in schema.get("properties", {}).values()
        ):
            found.add(("map schema",))
    document = spec.document
    for key in ("x-connect-handler", "x-disconnect-handler", "x-smithy.api#http"):
        if key in document or any(
            key in op for item in document.get("paths", {}).values() for op in item.values()
        ):
            found.add(("extension", key))
    if any("x-handler" in op for item in document["paths"].values() for op in item.values()):
        found.add(("extension", "x-handler"))
    return found


def _ours() -> set[tuple[Any, ...]]:
    covered: set[tuple[Any, ...]] = set()
    for path in sorted(SPECS.iterdir()):
        if path.suffix in (".json", ".yaml"):
            covered |= features(load_spec(path))
    return covered


@pytest.mark.parametrize("name", PDK_MODELS)
def test_our_models_cover_the_pdk_model(name: str) -> None:
    pdk = load_spec(shared_dir("specs") / name)
    assert pdk.operations
    missing = features(pdk) - _ours()
    assert not missing, f"{name} has cases none of tests/data/specs has: {sorted(missing)}"


def test_the_pdk_names_our_tests_pin_hold_for_the_pdk_model() -> None:
    """The naming rules our tests check on ``directions.yaml``, on the PDK's own model."""
    spec = load_spec(Path(shared_dir("specs")) / "pdk-single.yaml")
    names = {op.route_key: (op.name, op.server_route) for op in spec.operations}
    assert names["server-to-client"] == ("serverToClient", "ServerToClient")
    assert names["without-operation-id"] == ("withoutOperationIdPost", "WithoutOperationIdPost")
    assert not spec.operation("empty-request").has_body
