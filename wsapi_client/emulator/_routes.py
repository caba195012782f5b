"""Route selection and request validation, as API Gateway does them for a PDK WebSocket API.

The PDK deploys one route per ``client_to_server`` or ``bidirectional`` operation, keyed by the
operation's path without slashes, with ``$request.body.route`` as the route selection
expression.  An operation whose request body has an ``application/json`` schema gets a request
model: a JSON Schema draft-04 wrapper ``{route: string, payload: <schema>}`` requiring
``payload``, with every ``$ref`` rewritten to ``#/definitions/...``.  This module builds the same
wrapper and validates it as draft-04 (``_validator``: jsonschema-rs, jsonschema as the referee),
so a message the emulator accepts is one the deployed API accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import attrs

from wsapi_client.emulator._validator import Validator, compile_validator
from wsapi_client.spec._model import ApiSpec, Operation

__all__ = ["Route", "RouteTable", "wrapper_schema"]

_SCHEMAS_PREFIX = "#/components/schemas/"


@attrs.frozen
class Route:
    """One deployed route: its key, its operation, and its request validator (None: no model)."""

    key: str
    operation: Operation
    validator: Optional[Validator] = attrs.field(default=None, eq=False, repr=False)


def _definition_id(ref: str) -> str:
    """``#/components/schemas/Foo`` -> ``components_schemas_Foo`` (the PDK's definition ids)."""
    parts = ref[2:].split("/")
    return "_".join(p.replace("~1", "/").replace("~0", "~") for p in parts)


def _resolve_pointer(spec: ApiSpec, ref: str) -> Any:
    """The schema a local ``$ref`` names: from ``spec.schemas`` first, else from the document."""
    if ref.startswith(_SCHEMAS_PREFIX):
        name = ref[len(_SCHEMAS_PREFIX) :].replace("~1", "/").replace("~0", "~")
        if name in spec.schemas:
            return spec.schemas[name]
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref pointers are supported, not {ref!r}")
    node: Any = spec.document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise ValueError(f"cannot resolve $ref {ref!r} in the model")
    return node


def _rewrite(node: Any, found: list[str]) -> Any:
    """A copy of ``node`` with every ``$ref`` rewritten to ``#/definitions/<id>``."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
                out[key] = f"#/definitions/{_definition_id(value)}"
            else:
                out[key] = _rewrite(value, found)
        return out
    if isinstance(node, list):
        return [_rewrite(item, found) for item in node]
    return node


def wrapper_schema(spec: ApiSpec, operation: Operation) -> Optional[dict[str, Any]]:
    """The draft-04 request model the PDK deploys for ``operation``, or None when it has none.

    Like the PDK, the top-level ``$ref`` of the body is resolved, ``payload`` is required
    whenever there is a schema (whatever the body's ``required`` flag says), and every schema
    reachable through ``$ref`` is copied into ``definitions``.
    """
    schema = operation.request_schema
    if schema is None:
        return None
    if operation.media_types and "application/json" not in operation.media_types:
        return None
    seen: set[str] = set()
    while isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen:
            raise ValueError(f"circular $ref {ref!r} at the top of {operation.route_key}'s body")
        seen.add(ref)
        schema = _resolve_pointer(spec, ref)
    pending: list[str] = []
    payload = _rewrite(schema, pending)
    definitions: dict[str, Any] = {}
    while pending:
        ref = pending.pop()
        key = _definition_id(ref)
        if key in definitions:
            continue
        definitions[key] = {}  # placeholder, so a recursive schema terminates
        definitions[key] = _rewrite(_resolve_pointer(spec, ref), pending)
    definitions["Payload"] = payload
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            "route": {"type": "string"},
            "payload": {"$ref": "#/definitions/Payload"},
        },
        "required": ["route", "payload"],
        "definitions": definitions,
    }


class RouteTable:
    """The routes of a deployed API: route key -> :class:`Route`."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self._routes = dict(routes)

    @classmethod
    def from_spec(cls, spec: ApiSpec, *, validate: bool = True) -> RouteTable:
        """Deploy ``spec``: a route for every operation a client may send."""
        routes: dict[str, Route] = {}
        for op in spec.operations:
            if not op.direction.client_sends:
                continue
            validator = None
            if validate:
                wrapper = wrapper_schema(spec, op)
                if wrapper is not None:
                    validator = compile_validator(wrapper)
            routes.setdefault(op.route_key, Route(op.route_key, op, validator))
        return cls(routes)

    def get(self, key: str) -> Optional[Route]:
        """The route for ``key`` exactly as API Gateway matches it, or None."""
        return self._routes.get(key)

    def route_keys(self) -> list[str]:
        """Every route key, sorted."""
        return sorted(self._routes)

    def __contains__(self, key: object) -> bool:
        return key in self._routes

    def __len__(self) -> int:
        return len(self._routes)
