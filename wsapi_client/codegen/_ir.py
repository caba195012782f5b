"""The generator's intermediate form: Python types and definitions derived from the schemas.

The builder (:mod:`._models`) turns JSON schemas into these values; the templates only render
them. Type expressions render to the source text of an annotation, so the mapping from schema
to Python is decided in one place and can be tested without rendering files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional, Union

import attrs

__all__ = [
    "Alias",
    "Builtin",
    "ClassDef",
    "DateT",
    "DateTimeT",
    "EnumDef",
    "Field",
    "ListOf",
    "LiteralOf",
    "MapOf",
    "Nullable",
    "Ref",
    "TypeExpr",
    "UnionDef",
    "UnionOf",
    "py_literal",
]


@attrs.frozen
class Builtin:
    """``str``, ``int``, ``float``, ``bool``, ``None`` or ``Any``."""

    name: str

    def render(self, prefix: str = "") -> str:
        return self.name

    def refs(self) -> Iterator[str]:
        return iter(())


@attrs.frozen
class DateTimeT:
    """``datetime.datetime`` (``format: date-time``)."""

    def render(self, prefix: str = "") -> str:
        return "datetime.datetime"

    def refs(self) -> Iterator[str]:
        return iter(())


@attrs.frozen
class DateT:
    """``datetime.date`` (``format: date``)."""

    def render(self, prefix: str = "") -> str:
        return "datetime.date"

    def refs(self) -> Iterator[str]:
        return iter(())


@attrs.frozen
class Ref:
    """A generated class, enum or alias, by its Python name."""

    name: str

    def render(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    def refs(self) -> Iterator[str]:
        yield self.name


@attrs.frozen
class ListOf:
    """``list[T]`` (``type: array``)."""

    item: TypeExpr

    def render(self, prefix: str = "") -> str:
        return f"list[{self.item.render(prefix)}]"

    def refs(self) -> Iterator[str]:
        return self.item.refs()


@attrs.frozen
class MapOf:
    """``dict[str, T]`` (``additionalProperties``)."""

    value: TypeExpr

    def render(self, prefix: str = "") -> str:
        return f"dict[str, {self.value.render(prefix)}]"

    def refs(self) -> Iterator[str]:
        return self.value.refs()


@attrs.frozen
class Nullable:
    """``Optional[T]`` (``nullable: true``, or an optional field)."""

    inner: TypeExpr

    def render(self, prefix: str = "") -> str:
        return f"Optional[{self.inner.render(prefix)}]"

    def refs(self) -> Iterator[str]:
        return self.inner.refs()


@attrs.frozen
class UnionOf:
    """``Union[A, B]`` (``oneOf``/``anyOf``); always named by an :class:`Alias`."""

    options: tuple[TypeExpr, ...]

    def render(self, prefix: str = "") -> str:
        return f"Union[{', '.join(o.render(prefix) for o in self.options)}]"

    def refs(self) -> Iterator[str]:
        for option in self.options:
            yield from option.refs()


@attrs.frozen
class LiteralOf:
    """``Literal["circle"]``: a one-value inline enum, typically a discriminator."""

    values: tuple[Union[str, int], ...]

    def render(self, prefix: str = "") -> str:
        return f"Literal[{', '.join(py_literal(v) for v in self.values)}]"

    def refs(self) -> Iterator[str]:
        return iter(())


TypeExpr = Union[Builtin, DateTimeT, DateT, Ref, ListOf, MapOf, Nullable, UnionOf, LiteralOf]

ANY = Builtin("Any")


def nullable(tp: TypeExpr) -> TypeExpr:
    """``Optional[tp]``, without nesting one Optional in another."""
    if isinstance(tp, Nullable) or tp == ANY or tp == Builtin("None"):
        return tp
    return Nullable(tp)


def py_literal(value: Any) -> str:
    """Python source for a JSON value, with double-quoted strings (as ruff and black write)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return f"[{', '.join(py_literal(v) for v in value)}]"
    if isinstance(value, dict):
        items = ", ".join(f"{py_literal(str(k))}: {py_literal(v)}" for k, v in value.items())
        return f"{{{items}}}"
    raise TypeError(f"not a JSON value: {value!r}")


@attrs.frozen(kw_only=True)
class Field:
    """One attribute of a model class.

    ``default`` is Python source (``None``, ``"red"``, ``Color.RED``,
    ``attrs.Factory(list)``) or None for a field the caller must pass.
    """

    name: str
    wire: str
    type: TypeExpr
    required: bool
    default: Optional[str]
    doc: Optional[str]
    omit_if_none: bool = False


@attrs.frozen(kw_only=True)
class ClassDef:
    """An attrs model class (an object schema)."""

    name: str
    fields: tuple[Field, ...]
    doc: str


@attrs.frozen(kw_only=True)
class EnumDef:
    """An ``enum.Enum`` subclass; ``base`` is ``str`` or ``int``; members are (name, value)."""

    name: str
    base: str
    members: tuple[tuple[str, Union[str, int]], ...]
    doc: str


@attrs.frozen(kw_only=True)
class Alias:
    """A module-level type alias (``Shape = Union[Circle, Square]``, ``Tags = list[str]``)."""

    name: str
    type: TypeExpr
    doc: str


@attrs.frozen(kw_only=True)
class UnionDef:
    """How the converter structures a union alias: by discriminator or by first fit."""

    alias: str
    discriminator: Optional[str]
    mapping: tuple[tuple[str, str], ...]
