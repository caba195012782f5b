"""Schema inspection and naming helpers for the model builder: pure functions of one schema or
one name, no state (kept apart so that :class:`~wsapi_client.codegen._models.ModelBuilder` holds
only what needs its state)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

from wsapi_client._errors import SpecError
from wsapi_client.codegen._ir import py_literal
from wsapi_client.spec._naming import python_identifier, snake_case

__all__ = [
    "FIELD_RESERVED",
    "REF_PREFIX",
    "schema_doc",
    "default_factory",
    "python_field_name",
    "implied_type",
    "enum_member_name",
    "resolve_ref",
    "schema_object",
    "types_of",
]

REF_PREFIX = "#/components/schemas/"

FIELD_RESERVED = frozenset({"self", "attrs", "datetime", "enum"}) | frozenset(
    {"bool", "dict", "float", "int", "list", "str"}
)
"""Field names that would shadow a name the class body uses (``self`` is attrs' ``__init__``
argument; the others appear in annotations or defaults); such fields get a trailing ``_``."""


def python_field_name(wire: str, used: set[str]) -> str:
    base = snake_case(wire).lstrip("_") or "field"
    return python_identifier(base, FIELD_RESERVED | used)


def enum_member_name(value: Union[str, int], used: set[str]) -> str:
    if isinstance(value, int):
        base = f"VALUE_MINUS_{-value}" if value < 0 else f"VALUE_{value}"
    elif value == "":
        base = "EMPTY"
    else:
        base = python_identifier(snake_case(value).upper()).strip("_") or "VALUE"
        if not base.isidentifier():
            base = f"V_{base}"
    return python_identifier(base, used)


def types_of(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def implied_type(schema: Mapping[str, Any]) -> Optional[str]:
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def schema_doc(schema: Mapping[str, Any], fallback: str) -> str:
    for key in ("description", "title"):
        text = schema.get(key)
        if isinstance(text, str) and text.strip():
            return text.strip()
    return fallback


def default_factory(value: Union[list[Any], dict[str, Any]]) -> str:
    if not value:
        return f"attrs.Factory({type(value).__name__})"
    return f"attrs.Factory(lambda: {py_literal(value)})"


def schema_object(schema: Any, pointer: str) -> Mapping[str, Any]:
    if isinstance(schema, bool):
        return {}  # true accepts anything; false nothing, which the validator reports
    if not isinstance(schema, Mapping):
        raise SpecError(f"a schema must be an object, got {schema!r}", pointer)
    return schema


def resolve_ref(ref: Any) -> str:
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        raise SpecError(f"only #/components/schemas/ references are supported, got {ref!r}")
    return ref[len(REF_PREFIX) :]
