"""``load_spec``: read an OpenAPI 3 model with ``x-async`` operations, check it, name it.

Every problem is a :class:`~wsapi_client.SpecError` carrying the JSON pointer of the offending
node (``/paths/~1SayHello/post/x-async``) and the file it came from; no malformed input ends in
a bare ``KeyError`` or ``TypeError``.

What the loader settles, and why:

- One operation per path, and the path is the route: API Gateway routes a WebSocket message
  on ``$request.body.route``, so ``/SayHello`` is the route key ``SayHello`` and a second method
  on the same path could never be reached.
- ``$ref`` pointers into ``components.schemas`` stay as they are (recursive models stay
  finite); every other local ``$ref`` (``#/components/requestBodies/...``, a pointer into
  another schema) is resolved in place. References outside the document are refused.
- An inline JSON request body of type object or array is hoisted into
  :attr:`ApiSpec.schemas` as ``<Op>RequestContent``, the name the PDK gives it, and the
  operation refers to it; any other inline schema (``{}``, a string) stays inline.
- The request schema is the ``application/json`` one (else the first JSON media type, else the
  first media type): a body with only a non-JSON type such as ``application/pdf`` keeps its
  schema, typically ``{type: string, format: binary}``, because the PDK's TypeScript client
  sends such a body as a JSON string payload. ``{}`` means any JSON value.
- YAML is read with YAML 1.2 scalars (as the PDK's JavaScript tools read it): ``on``/``yes``
  stay strings, dates stay strings, ``0o17`` is octal and ``017`` is 17.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import unquote

import attrs

from wsapi_client._errors import SpecError
from wsapi_client.spec._model import ApiSpec, Direction, Operation
from wsapi_client.spec._naming import (
    RESERVED_METHOD_NAMES,
    fallback_operation_name,
    hoisted_request_schema_name,
    pdk_operation_name,
    python_identifier,
    snake_case,
    upper_first,
)

__all__ = ["OPERATION_RESERVED_NAMES", "load_spec"]

OPERATION_RESERVED_NAMES: frozenset[str] = RESERVED_METHOD_NAMES | {
    name[len("on_") :] for name in RESERVED_METHOD_NAMES if name.startswith("on_")
}
"""Python operation names that get a trailing ``_``: the client's methods, and the names whose
generated listener ``on_<name>`` would be one of them (an operation ``error`` -> ``error_``,
so its listener is ``on_error_`` and not the client's ``on_error``)."""

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_PREFIX = "#/components/schemas/"
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")
_OPENAPI_3 = re.compile(r"3\.\d+(\.\d+)?(-[0-9A-Za-z.-]+)?\Z")
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"(\*|{_TOKEN})/(\*|{_TOKEN})(\s*;.*)?\Z", re.DOTALL)
_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})

# Keywords whose value is a schema, a list of schemas, or a map of schemas.
_SCHEMA_KEYWORDS = (
    "additionalProperties",
    "items",
    "additionalItems",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYWORDS = (
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
)

Source = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def load_spec(source: Source, *, name: Optional[str] = None) -> ApiSpec:
    """Load and check a WebSocket API model.

    ``source`` is a path to a ``.json``, ``.yaml`` or ``.yml`` file, a string of JSON text (one
    that is not an existing path and starts with ``{``), or an already parsed mapping.
    ``name`` labels the model in error messages (default: the path). Raises SpecError.
    """
    label, document = _read(source, name)
    try:
        return _Builder(document, label).build()
    except RecursionError:
        raise SpecError("the model is nested too deeply, or refers to itself", "", label) from None


# --- reading ----------------------------------------------------------------------------------


def _read(source: Source, name: Optional[str]) -> tuple[Optional[str], Any]:
    if isinstance(source, Mapping):
        return name, source
    if isinstance(source, str) and source.lstrip().startswith("{") and not _exists(source):
        return name, _parse_json(source, name)
    if not isinstance(source, (str, os.PathLike)):
        raise SpecError(
            f"a model is a path, JSON text or a mapping, got {type(source).__name__}", "", name
        )
    path = Path(source)
    label = name or str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SpecError(f"cannot read the model: {exc.strerror or exc}", "", label) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"the model is not UTF-8 text: {exc.reason}", "", label) from None
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith("{")):
        return label, _parse_json(text, label)
    return label, _parse_yaml(text, label)


def _exists(text: str) -> bool:
    try:
        return os.path.exists(text)
    except (OSError, ValueError):  # too long for a path, or a NUL character
        return False


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON")


def _parse_json(text: str, label: Optional[str]) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})"
        raise SpecError(f"the model is not valid JSON: {exc.msg}{where}", "", label) from None
    except ValueError as exc:
        raise SpecError(f"the model is not valid JSON: {exc}", "", label) from None
    except RecursionError:
        raise SpecError("the model is nested too deeply", "", label) from None


_yaml_loader_class: Any = None


def _yaml_loader() -> Any:
    """A PyYAML SafeLoader reading YAML 1.2 core-schema scalars, refusing duplicate keys."""
    global _yaml_loader_class  # noqa: PLW0603 (built once, on first use: PyYAML is optional)
    if _yaml_loader_class is not None:
        return _yaml_loader_class
    try:
        import yaml
    except ImportError:
        raise SpecError(
            "reading a YAML model needs PyYAML: pip install 'wsapi-client[yaml]'"
        ) from None

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
            return super().construct_mapping(node, deep=deep)

    def construct_int(loader: Any, node: Any) -> int:
        text = str(loader.construct_scalar(node))
        if text[:2] in ("0o", "0x"):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)

    def construct_float(loader: Any, node: Any) -> float:
        text = str(loader.construct_scalar(node)).lower()
        if text.endswith((".inf", ".nan")):
            return float(text.replace(".", ""))
        return float(text)

    Loader.yaml_implicit_resolvers = {}
    core = [
        ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", [*"~nN", ""]),
        ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
        ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
        (
            "tag:yaml.org,2002:float",
            r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
            r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
            list("-+.0123456789"),
        ),
    ]
    for tag, pattern, first in core:
        Loader.add_implicit_resolver(tag, re.compile(rf"^(?:{pattern})$"), first)
    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    _yaml_loader_class = Loader
    return Loader


def _parse_yaml(text: str, label: Optional[str]) -> Any:
    loader = _yaml_loader()
    import yaml

    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise SpecError(f"the model is not valid YAML: {exc}", "", label) from None
    except (ValueError, RecursionError) as exc:
        raise SpecError(f"the model is not valid YAML: {exc}", "", label) from None


# --- checking and building --------------------------------------------------------------------


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: Any) -> str:
    return "".join(f"/{_escape(t)}" for t in tokens)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return type(value).__name__


class _Builder:
    """One pass over a parsed document; raises SpecError at the first problem."""

    def __init__(self, document: Any, label: Optional[str]) -> None:
        self.document = document
        self.label = label
        self.schemas: dict[str, Any] = {}
        self.schema_names: frozenset[str] = frozenset()

    def fail(self, pointer: str, message: str) -> SpecError:
        return SpecError(message, pointer, self.label)

    def build(self) -> ApiSpec:
        doc = self.document
        if not isinstance(doc, Mapping):
            raise self.fail("", f"the model must be an OpenAPI object, got {_kind(doc)}")
        self._check_version(doc)
        title, version, description = self._info(doc.get("info"))
        self._component_schemas(doc)
        operations = self._operations(doc)
        return ApiSpec(
            title=title,
            version=version,
            operations=tuple(operations),
            schemas=self.schemas,
            document=doc,
            description=description,
            source=self.label,
        )

    def _check_version(self, doc: Mapping[str, Any]) -> None:
        version = doc.get("openapi")
        if version is None:
            if "swagger" in doc:
                raise self.fail("/swagger", "Swagger 2.0 models are not supported: use OpenAPI 3")
            raise self.fail("/openapi", "the model has no 'openapi' version (OpenAPI 3.x needed)")
        if isinstance(version, (int, float)) and not isinstance(version, bool):
            version = str(version)  # YAML reads an unquoted 3.1 as a number
        if not isinstance(version, str) or not _OPENAPI_3.match(version):
            raise self.fail("/openapi", f"only OpenAPI 3.x models are supported, got {version!r}")

    def _info(self, info: Any) -> tuple[str, str, Optional[str]]:
        if info is None:
            return "", "", None
        if not isinstance(info, Mapping):
            raise self.fail("/info", f"'info' must be an object, got {_kind(info)}")
        fields: list[str] = []
        for key in ("title", "version"):
            value = info.get(key, "")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise self.fail(_pointer("info", key), f"must be a string, got {_kind(value)}")
            fields.append(value)
        description = info.get("description")
        return fields[0], fields[1], description if isinstance(description, str) else None

    # -- components.schemas --

    def _component_schemas(self, doc: Mapping[str, Any]) -> None:
        components = doc.get("components", {})
        if components is None:
            components = {}
        if not isinstance(components, Mapping):
            raise self.fail("/components", f"must be an object, got {_kind(components)}")
        raw = components.get("schemas", {})
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise self.fail("/components/schemas", f"must be an object, got {_kind(raw)}")
        for name in raw:
            if not isinstance(name, str) or not _COMPONENT_NAME.match(name):
                raise self.fail(
                    _pointer("components", "schemas", name),
                    f"schema name {name!r} may only use letters, digits, '.', '-' and '_'",
                )
        self.schema_names = frozenset(raw)
        for name, schema in raw.items():
            self.schemas[name] = self._schema(schema, _pointer("components", "schemas", name))

    # -- schemas --

    def _schema(self, node: Any, pointer: str, inlining: tuple[str, ...] = ()) -> Any:
        """A copy of a schema with non-``components.schemas`` refs resolved, checked."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, Mapping):
            raise self.fail(pointer, f"a schema must be an object, got {_kind(node)}")
        result: dict[str, Any] = {}
        for key, value in node.items():
            if not isinstance(key, str):
                raise self.fail(pointer, f"schema keys must be strings, got {key!r}")
            here = f"{pointer}/{_escape(key)}"
            if key == "$ref":
                continue
            if key in _SCHEMA_MAP_KEYWORDS:
                if not isinstance(value, Mapping):
                    raise self.fail(here, f"'{key}' must be an object, got {_kind(value)}")
                if key == "patternProperties":
                    for pattern in value:
                        self._check_pattern(pattern, here)
                result[key] = {
                    str(k): self._schema(v, f"{here}/{_escape(k)}", inlining)
                    for k, v in value.items()
                }
            elif key in _SCHEMA_LIST_KEYWORDS or (key == "items" and isinstance(value, list)):
                if not isinstance(value, list):
                    raise self.fail(here, f"'{key}' must be an array, got {_kind(value)}")
                result[key] = [
                    self._schema(v, f"{here}/{i}", inlining) for i, v in enumerate(value)
                ]
            elif key in _SCHEMA_KEYWORDS:
                result[key] = self._schema(value, here, inlining)
            else:
                self._check_keyword(key, value, here)
                result[key] = value
        if "$ref" in node:
            kept, inlined = self._schema_ref(node["$ref"], f"{pointer}/$ref", inlining)
            if kept is not None:
                result["$ref"] = kept
            elif len(node) == 1:
                return inlined
            else:  # the referenced schema applies alongside its siblings
                result["allOf"] = [inlined, *result.get("allOf", [])]
        return result

    def _schema_ref(
        self, ref: Any, pointer: str, inlining: tuple[str, ...]
    ) -> tuple[Optional[str], Any]:
        """(kept ref, None) for ``components.schemas``; (None, resolved copy) for the rest."""
        if not isinstance(ref, str):
            raise self.fail(pointer, f"$ref must be a string, got {_kind(ref)}")
        if ref.startswith(_SCHEMA_PREFIX) and "/" not in ref[len(_SCHEMA_PREFIX) :]:
            name = unquote(ref[len(_SCHEMA_PREFIX) :])
            if name not in self.schema_names:
                raise self.fail(
                    pointer, f"$ref {ref!r} does not resolve: components.schemas has no {name!r}"
                )
            return _SCHEMA_PREFIX + name, None
        target, target_pointer = self._resolve(ref, pointer)
        if ref in inlining:
            raise self.fail(
                pointer,
                f"$ref {ref!r} refers back to itself outside components.schemas "
                "(recursive schemas must live in components.schemas)",
            )
        return None, self._schema(target, target_pointer, (*inlining, ref))

    def _resolve(self, ref: Any, pointer: str) -> tuple[Any, str]:
        """The node a local ``$ref`` points at, and its pointer; SpecError if it dangles."""
        if not isinstance(ref, str):
            raise self.fail(pointer, f"$ref must be a string, got {_kind(ref)}")
        if not ref.startswith("#"):
            raise self.fail(pointer, f"$ref {ref!r} is not local: only '#/...' refs are supported")
        fragment = unquote(ref[1:])
        if fragment and not fragment.startswith("/"):
            raise self.fail(pointer, f"$ref {ref!r} is not a JSON pointer")
        node: Any = self.document
        for token in fragment.split("/")[1:] if fragment else ():
            key = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise self.fail(pointer, f"$ref {ref!r} does not resolve")
        return node, fragment

    def _resolve_chain(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow ``{"$ref": ...}`` objects (request bodies, path items) to the real node."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if isinstance(ref, str) and ref in seen:
                raise self.fail(f"{pointer}/$ref", f"$ref {ref!r} is circular")
            if isinstance(ref, str):
                seen.add(ref)
            node, pointer = self._resolve(ref, f"{pointer}/$ref")
        return node, pointer

    def _check_pattern(self, pattern: Any, pointer: str) -> None:
        if not isinstance(pattern, str):
            raise self.fail(pointer, f"a pattern must be a string, got {_kind(pattern)}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise self.fail(
                pointer, f"pattern {pattern!r} is not a valid regular expression: {exc}"
            ) from None

    def _check_keyword(self, key: str, value: Any, pointer: str) -> None:
        if key == "type":
            names = value if isinstance(value, list) else [value]
            for type_name in names:
                if not isinstance(type_name, str) or type_name not in _JSON_TYPES:
                    raise self.fail(pointer, f"{type_name!r} is not a JSON Schema type")
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(
                    pointer,
                    "'required' must be a list of property names (to make a property required, "
                    "list it in its parent's 'required')",
                )
        elif key == "pattern":
            self._check_pattern(value, pointer)
        elif key == "enum":
            if not isinstance(value, list):
                raise self.fail(pointer, f"'enum' must be an array, got {_kind(value)}")
        elif key == "discriminator":
            self._check_discriminator(value, pointer)

    def _check_discriminator(self, value: Any, pointer: str) -> None:
        if not isinstance(value, Mapping) or not isinstance(value.get("propertyName"), str):
            raise self.fail(pointer, "a discriminator needs a string 'propertyName'")
        mapping = value.get("mapping", {})
        if not isinstance(mapping, Mapping):
            raise self.fail(f"{pointer}/mapping", f"must be an object, got {_kind(mapping)}")
        for tag, target in mapping.items():
            here = f"{pointer}/mapping/{_escape(tag)}"
            if not isinstance(target, str):
                raise self.fail(here, f"must be a schema name or $ref, got {_kind(target)}")
            name = target[len(_SCHEMA_PREFIX) :] if target.startswith(_SCHEMA_PREFIX) else target
            if name not in self.schema_names:
                raise self.fail(here, f"{target!r} names no schema in components.schemas")

    # -- operations --

    def _operations(self, doc: Mapping[str, Any]) -> list[Operation]:
        paths = doc.get("paths")
        if paths is None:
            raise self.fail("/paths", "the model has no 'paths'")
        if not isinstance(paths, Mapping):
            raise self.fail("/paths", f"'paths' must be an object, got {_kind(paths)}")
        operations: list[Operation] = []
        by_id: dict[str, str] = {}
        by_server_route: dict[str, str] = {}
        python_names: set[str] = set()
        for path, item in paths.items():
            op = self._operation(path, item)
            if op.operation_id is not None:
                first = by_id.setdefault(op.operation_id, op.pointer)
                if first != op.pointer:
                    raise self.fail(
                        f"{op.pointer}/operationId",
                        f"operationId {op.operation_id!r} is also used at {first}",
                    )
            first = by_server_route.setdefault(op.server_route, op.pointer)
            if first != op.pointer:
                raise self.fail(
                    op.pointer,
                    f"this operation and the one at {first} share the PDK route name "
                    f"{op.server_route!r}; rename one operationId",
                )
            python_name = op.python_name
            suffix = 2
            while python_name in python_names:
                python_name = f"{op.python_name}_{suffix}"
                suffix += 1
            python_names.add(python_name)
            if python_name != op.python_name:
                op = _replace_python_name(op, python_name)
            operations.append(op)
        route_keys = {op.route_key: op for op in operations}
        for op in operations:
            other = route_keys.get(op.server_route)
            if other is not None and other is not op:
                raise self.fail(
                    op.pointer,
                    f"the PDK route name {op.server_route!r} of this operation is the route key "
                    f"of the operation at {other.pointer}; messages would reach the wrong one",
                )
        return operations

    def _operation(self, path: Any, item: Any) -> Operation:
        path_pointer = _pointer("paths", path)
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.fail(
                path_pointer, f"a path must be a string starting with '/', got {path!r}"
            )
        route_key = path[1:]
        if not route_key or "/" in route_key:
            raise self.fail(
                path_pointer,
                f"{path!r} is not a WebSocket route: a route is one path segment, "
                "the route key without its slash (/SayHello)",
            )
        if route_key.startswith("$"):
            raise self.fail(
                path_pointer,
                f"route key {route_key!r} is reserved: routes starting with '$' "
                "($connect, $disconnect, $default) belong to API Gateway",
            )
        item, item_pointer = self._resolve_chain(item, path_pointer)
        if not isinstance(item, Mapping):
            raise self.fail(item_pointer, f"a path item must be an object, got {_kind(item)}")
        methods = [key for key in item if key in _HTTP_METHODS]
        if len(methods) != 1:
            found = ", ".join(methods) if methods else "none"
            raise self.fail(
                path_pointer,
                f"a path needs exactly one operation (x-async APIs route by path), found: {found}",
            )
        method = methods[0]
        pointer = f"{path_pointer}/{method}"
        body = item[method]
        if not isinstance(body, Mapping):
            raise self.fail(pointer, f"an operation must be an object, got {_kind(body)}")
        direction = self._direction(body.get("x-async"), pointer)
        operation_id = body.get("operationId")
        if operation_id is not None and (not isinstance(operation_id, str) or not operation_id):
            raise self.fail(f"{pointer}/operationId", "operationId must be a non-empty string")
        if operation_id:
            name = pdk_operation_name(operation_id)
            if not name:
                raise self.fail(
                    f"{pointer}/operationId",
                    f"operationId {operation_id!r} has no ASCII letters: the PDK cannot name it",
                )
        else:
            name = fallback_operation_name(path, method)
            if not name:
                raise self.fail(
                    pointer, "this operation needs an operationId: its path has no words"
                )
        request = self._request_body(body, pointer, operation_id, path, method)
        return Operation(
            route_key=route_key,
            server_route=upper_first(name),
            name=name,
            python_name=python_identifier(snake_case(name), OPERATION_RESERVED_NAMES),
            operation_id=operation_id,
            path=path,
            method=method,
            direction=direction,
            pointer=pointer,
            request_schema=request[0],
            request_schema_name=request[1],
            body_required=request[2],
            media_types=request[3],
            description=_text(body.get("description")),
            summary=_text(body.get("summary")),
        )

    def _direction(self, x_async: Any, pointer: str) -> Direction:
        if x_async is None:
            raise self.fail(
                f"{pointer}/x-async",
                "the operation has no x-async: add x-async: {direction: client_to_server | "
                "server_to_client | bidirectional}",
            )
        if not isinstance(x_async, Mapping):
            raise self.fail(
                f"{pointer}/x-async", f"x-async must be an object, got {_kind(x_async)}"
            )
        value = x_async.get("direction")
        allowed = ", ".join(d.value for d in Direction)
        if not isinstance(value, str) or value not in {d.value for d in Direction}:
            raise self.fail(
                f"{pointer}/x-async/direction", f"direction must be one of {allowed}, got {value!r}"
            )
        return Direction(value)

    def _request_body(
        self, body: Mapping[str, Any], pointer: str, operation_id: Any, path: str, method: str
    ) -> tuple[Optional[Any], Optional[str], bool, tuple[str, ...]]:
        """(request_schema, request_schema_name, body_required, media_types)."""
        if body.get("requestBody") is None:
            return None, None, False, ()
        request, here = self._resolve_chain(body["requestBody"], f"{pointer}/requestBody")
        if not isinstance(request, Mapping):
            raise self.fail(here, f"a requestBody must be an object, got {_kind(request)}")
        required = request.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(f"{here}/required", f"must be true or false, got {required!r}")
        content = request.get("content")
        if not isinstance(content, Mapping) or not content:
            raise self.fail(f"{here}/content", "a requestBody needs a 'content' with a media type")
        for media_type, media in content.items():
            at = f"{here}/content/{_escape(media_type)}"
            if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type):
                raise self.fail(at, f"{media_type!r} is not a media type (type/subtype)")
            if media is not None and not isinstance(media, Mapping):
                raise self.fail(at, f"a media type must map to an object, got {_kind(media)}")
        chosen = _choose_media_type(list(content))
        media = content[chosen] or {}
        schema_pointer = f"{here}/content/{_escape(chosen)}/schema"
        raw_schema = media.get("schema")
        schema = {} if raw_schema is None else self._schema(raw_schema, schema_pointer)
        schema_name: Optional[str] = None
        if isinstance(schema, Mapping) and set(schema) == {"$ref"}:
            schema_name = schema["$ref"][len(_SCHEMA_PREFIX) :]
        elif (
            isinstance(schema, Mapping)
            and _is_json(chosen)
            and schema.get("type") in ("object", "array")
            and raw_schema is not None
            and "$ref" not in raw_schema
        ):
            schema_name = hoisted_request_schema_name(operation_id, path, method)
            if schema_name in self.schemas:
                raise self.fail(
                    schema_pointer,
                    f"this inline body is hoisted as {schema_name!r}, which is already a schema",
                )
            self.schemas[schema_name] = schema
            schema = {"$ref": _SCHEMA_PREFIX + schema_name}
        return schema, schema_name, required, tuple(content)


def _is_json(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence in ("application/json", "*/*") or essence.endswith("+json")


def _choose_media_type(media_types: list[str]) -> str:
    if "application/json" in media_types:
        return "application/json"
    for media_type in media_types:
        if _is_json(media_type):
            return media_type
    return media_types[0]


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _replace_python_name(op: Operation, python_name: str) -> Operation:
    return attrs.evolve(op, python_name=python_name)
