"""The loaded API model: what every other part of the SDK reads from a spec."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Optional

import attrs

__all__ = ["ApiSpec", "Direction", "Operation"]

JsonSchema = Mapping[str, Any]


class Direction(str, enum.Enum):
    """The ``x-async.direction`` of an operation."""

    CLIENT_TO_SERVER = "client_to_server"
    SERVER_TO_CLIENT = "server_to_client"
    BIDIRECTIONAL = "bidirectional"

    @property
    def client_sends(self) -> bool:
        """True when the client may send this operation (it has an API Gateway route)."""
        return self is not Direction.SERVER_TO_CLIENT

    @property
    def server_sends(self) -> bool:
        """True when the server may send this operation (the client listens for it)."""
        return self is not Direction.CLIENT_TO_SERVER

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class Operation:
    """One WebSocket operation of the model.

    Names, for ``POST /GetHTTPThing`` with operationId ``GetHTTPThing``:

    - ``route_key`` ``"GetHTTPThing"``: the path without slashes; what the client sends and what
      API Gateway routes on;
    - ``server_route`` ``"GetHttpThing"``: the PDK server SDK's name,
      ``upperFirst(camelcase(operationId))`` (npm camelcase@6 rules);
    - ``name`` ``"getHttpThing"``: the PDK TypeScript client's operation name
      (``camelcase(operationId)``, or the PDK's fallback derived from path and method when there
      is none);
    - ``python_name`` ``"get_http_thing"``: the snake_case method name, keywords escaped.
    """

    route_key: str
    server_route: str
    name: str
    python_name: str
    operation_id: Optional[str]
    path: str
    method: str
    direction: Direction
    pointer: str
    request_schema: Optional[JsonSchema] = attrs.field(default=None, eq=False)
    request_schema_name: Optional[str] = None
    body_required: bool = False
    media_types: tuple[str, ...] = ()
    description: Optional[str] = None
    summary: Optional[str] = None

    @property
    def has_body(self) -> bool:
        """True when messages of this operation carry a ``payload``."""
        return self.request_schema is not None


@attrs.frozen(kw_only=True)
class ApiSpec:
    """A loaded and checked WebSocket API model.

    ``schemas`` holds ``components.schemas`` plus the request bodies hoisted from inline schemas
    (``<Op>RequestContent``, as the PDK names them); schemas keep local ``$ref`` pointers
    (``#/components/schemas/Name``), so recursive models stay finite.
    """

    title: str
    version: str
    operations: tuple[Operation, ...]
    schemas: Mapping[str, JsonSchema]
    document: Mapping[str, Any] = attrs.field(repr=False)
    description: Optional[str] = None
    source: Optional[str] = None
    _by_route: Mapping[str, Operation] = attrs.field(init=False, repr=False, eq=False)
    _by_alias: Mapping[str, Operation] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, Operation] = {}
        for op in self.operations:
            index.setdefault(op.route_key, op)
        for op in self.operations:
            index.setdefault(op.server_route, op)
        object.__setattr__(self, "_by_route", index)
        aliases = dict(index)
        for op in self.operations:
            if op.operation_id:
                aliases.setdefault(op.operation_id, op)
        for op in self.operations:
            aliases.setdefault(op.name, op)
        object.__setattr__(self, "_by_alias", aliases)

    def find(self, route: str) -> Optional[Operation]:
        """The operation whose route key or PDK server route name is ``route``, or None."""
        return self._by_route.get(route)

    def lookup(self, name: str) -> Optional[Operation]:
        """The operation a user means by ``name``: its route key, the PDK server route name,
        its operationId or the PDK TypeScript client's operation name (``sayHello``), so that
        code ported from the TypeScript client works. None when nothing matches."""
        return self._by_alias.get(name)

    def operation(self, route: str) -> Operation:
        """Like :meth:`find`, but raises ``KeyError`` naming the known routes."""
        op = self._by_route.get(route)
        if op is None:
            known = ", ".join(sorted(o.route_key for o in self.operations))
            raise KeyError(f"unknown route {route!r}; the model has: {known}")
        return op

    def resolve(self, schema: JsonSchema) -> JsonSchema:
        """Follow local ``$ref`` pointers until a schema without one is reached."""
        seen: set[str] = set()
        while "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen:
                raise ValueError(f"circular $ref {ref!r}")
            seen.add(ref)
            name = ref.rsplit("/", 1)[-1]
            schema = self.schemas[name]
        return schema
