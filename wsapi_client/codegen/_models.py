"""From JSON schemas to model definitions: type mapping, hoisting, naming, ``allOf`` merging.

One :class:`ModelBuilder` per generation. Every component schema keeps its name (made a valid
class name when it is not one); anonymous schemas that need a definition (objects with
properties, enums of several values, unions) are hoisted under ``Parent + PascalCase(property)``,
with ``Item`` for array items, ``Value`` for map values and ``Option<n>`` for union options, and
a numeric suffix if that name is taken. Components are visited in sorted order and properties in
document order, so the names are the same on every run.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

import attrs

from wsapi_client._errors import SpecError
from wsapi_client.codegen._ir import (
    ANY,
    Alias,
    Builtin,
    ClassDef,
    DateT,
    DateTimeT,
    EnumDef,
    Field,
    ListOf,
    LiteralOf,
    MapOf,
    Nullable,
    Ref,
    TypeExpr,
    UnionDef,
    UnionOf,
    nullable,
    py_literal,
)
from wsapi_client.codegen._schemas import (
    REF_PREFIX,
    default_factory,
    enum_member_name,
    implied_type,
    python_field_name,
    resolve_ref,
    schema_doc,
    schema_object,
    types_of,
)
from wsapi_client.spec._model import ApiSpec
from wsapi_client.spec._naming import pascal_case, python_identifier, upper_first

__all__ = ["MODULE_NAMES", "ModelBuilder", "ModelSet"]

MODULE_NAMES = frozenset({"Any", "Literal", "Optional", "Union"})
"""Names ``models.py`` imports; a schema with one of these names gets a ``Model`` suffix."""


# Keywords that do not change a schema's shape: an allOf of one part with only these is that part.
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "nullable",
        "default",
        "example",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "externalDocs",
        "xml",
    }
)
# Keywords of an allOf part that are not merged into the result.
_NOT_MERGED = _ANNOTATIONS | {"discriminator"}

_STRING_FORMATS: dict[str, TypeExpr] = {"date-time": DateTimeT(), "date": DateT()}
_SCALARS: dict[str, TypeExpr] = {
    "string": Builtin("str"),
    "integer": Builtin("int"),
    "number": Builtin("float"),
    "boolean": Builtin("bool"),
    "null": Builtin("None"),
}


@attrs.frozen(kw_only=True)
class _Ctx:
    """Where an anonymous schema sits: the name to hoist it under and a docstring for it."""

    name: str
    doc: str

    def child(self, suffix: str, doc: str) -> _Ctx:
        return _Ctx(name=f"{self.name}{suffix}", doc=doc)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@attrs.frozen(kw_only=True)
class ModelSet:
    """Everything ``models.py`` and ``_converter.py`` define, in emission order."""

    enums: tuple[EnumDef, ...]
    classes: tuple[ClassDef, ...]
    aliases: tuple[Alias, ...]
    unions: tuple[UnionDef, ...]

    @property
    def names(self) -> list[str]:
        """Every public name of ``models.py``, sorted."""
        return sorted(
            [e.name for e in self.enums]
            + [c.name for c in self.classes]
            + [a.name for a in self.aliases]
        )

    def types(self) -> Iterable[TypeExpr]:
        """Every type expression the module writes (for working out its imports)."""
        for cls in self.classes:
            for field in cls.fields:
                yield field.type
        for alias in self.aliases:
            yield alias.type


class ModelBuilder:
    """Builds the :class:`ModelSet` of one :class:`ApiSpec`; see the module docstring."""

    def __init__(self, spec: ApiSpec) -> None:
        self.spec = spec
        self._schemas = spec.schemas
        self._taken: set[str] = set(MODULE_NAMES)
        self._component_names: dict[str, str] = {}
        self._component_types: dict[str, TypeExpr] = {}
        self._in_progress: set[str] = set()
        self._enums: dict[str, EnumDef] = {}
        self._classes: dict[str, ClassDef] = {}
        self._class_schemas: dict[str, Mapping[str, Any]] = {}
        self._aliases: dict[str, Alias] = {}
        self._unions: dict[str, UnionDef] = {}
        self._payload_of: dict[str, list[str]] = {}
        self.body_types: dict[str, TypeExpr] = {}
        """The payload type of each operation with a body, by route key (after :meth:`build`)."""
        for op in spec.operations:
            if op.request_schema_name:
                self._payload_of.setdefault(op.request_schema_name, []).append(op.route_key)
        self._name_components()

    # ------------------------------------------------------------------ public

    def build(self) -> ModelSet:
        """Define every component schema (and what they hoist), then the operations' payloads."""
        for name in sorted(self._schemas):
            self.component_type(name)
        for op in self.spec.operations:
            if op.request_schema is not None and op.route_key not in self.body_types:
                ctx = _Ctx(
                    name=f"{pascal_case(op.name)}RequestContent",
                    doc=f"The payload of ``{op.route_key}``.",
                )
                self.body_types[op.route_key] = self._type(op.request_schema, ctx)
        return ModelSet(
            enums=tuple(self._enums[n] for n in sorted(self._enums)),
            classes=tuple(self._classes[n] for n in sorted(self._classes)),
            aliases=tuple(_ordered_aliases(self._aliases)),
            unions=tuple(self._unions[n] for n in sorted(self._unions)),
        )

    def component_type(self, name: str) -> TypeExpr:
        """The type that stands for ``#/components/schemas/<name>``, defining it on first use."""
        known = self._component_types.get(name)
        if known is not None:
            return known
        if name not in self._schemas:
            raise SpecError(f"$ref to unknown schema {name!r}", f"{REF_PREFIX}{name}")
        pyname = self._component_names[name]
        schema = schema_object(self._schemas[name], f"{REF_PREFIX}{name}")
        ref: TypeExpr = Ref(pyname)
        if self._is_nullable(schema):
            ref = Nullable(ref)
        # Registered before the definition is built, so recursive references resolve to it.
        self._component_types[name] = ref
        self._in_progress.add(name)
        try:
            self._define_component(name, pyname, schema)
        finally:
            self._in_progress.discard(name)
        return ref

    # ------------------------------------------------------------------ naming

    def _name_components(self) -> None:
        names = sorted(self._schemas)
        # Names that are already good class names keep them first; the others are derived.
        derived: dict[str, str] = {}
        for name in names:
            if name.isidentifier() and name[0].isupper() and "_" not in name:
                derived[name] = name
            else:
                base = pascal_case(name)
                derived[name] = python_identifier(upper_first(base) if base else "Schema")
        for keep_first in (True, False):
            for name in names:
                candidate = derived[name]
                if (candidate == name) is not keep_first:
                    continue
                if candidate in MODULE_NAMES:
                    candidate += "Model"
                self._component_names[name] = self._fresh(candidate)

    def _fresh(self, base: str) -> str:
        """``base``, or ``base2``, ``base3``... whichever is free first; then it is taken."""
        if keyword.iskeyword(base):
            base += "_"
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}{n}"
        self._taken.add(name)
        return name

    # ------------------------------------------------------------------ schemas

    def _is_nullable(self, schema: Mapping[str, Any]) -> bool:
        if schema.get("nullable") is True or "null" in types_of(schema):
            return True
        enum = schema.get("enum")
        return isinstance(enum, list) and None in enum

    def _flatten(self, schema: Mapping[str, Any], stack: tuple[str, ...] = ()) -> dict[str, Any]:
        """``schema`` with its ``allOf`` merged in: properties and required joined, the first
        value of any other keyword kept, the schema's own keywords first."""
        if "allOf" not in schema:
            return dict(schema)
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        properties: dict[str, Any] = dict(schema.get("properties") or {})
        required: list[str] = list(schema.get("required") or [])
        for raw_part in schema["allOf"] or []:
            part = schema_object(raw_part, "allOf")
            if "$ref" in part:
                name = resolve_ref(part["$ref"])
                if name in stack:
                    raise SpecError(f"allOf cycle through {name!r}", f"{REF_PREFIX}{name}")
                if name not in self._schemas:
                    raise SpecError(f"$ref to unknown schema {name!r}", f"{REF_PREFIX}{name}")
                target = schema_object(self._schemas[name], f"{REF_PREFIX}{name}")
                flat = self._flatten(target, (*stack, name))
            else:
                flat = self._flatten(part, stack)
            for key, value in flat.items():
                if key == "properties" and isinstance(value, Mapping):
                    for prop, prop_schema in value.items():
                        properties.setdefault(prop, prop_schema)
                elif key == "required" and isinstance(value, list):
                    required.extend(r for r in value if r not in required)
                elif key not in _NOT_MERGED:
                    merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
            merged.setdefault("type", "object")
        if required:
            merged["required"] = required
        return merged

    def _single_part(self, schema: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
        """The one ``allOf`` part of ``{allOf: [X], description: ...}``, which is just X."""
        parts = schema.get("allOf")
        if not isinstance(parts, list) or len(parts) != 1:
            return None
        if any(k not in _ANNOTATIONS and k != "allOf" and not k.startswith("x-") for k in schema):
            return None
        part = parts[0]
        return part if isinstance(part, Mapping) else None

    # ------------------------------------------------------------------ types

    def _type(self, schema: Any, ctx: _Ctx) -> TypeExpr:
        """The type of an anonymous schema, hoisting a definition under ``ctx.name`` if needed."""
        schema = schema_object(schema, ctx.name)
        if "$ref" in schema:
            tp = self.component_type(resolve_ref(schema["$ref"]))
            return nullable(tp) if schema.get("nullable") is True else tp
        single = self._single_part(schema)
        if single is not None:
            tp = self._type(single, ctx)
            return nullable(tp) if schema.get("nullable") is True else tp
        flat = self._flatten(schema)
        tp = self._core_type(flat, ctx, fixed_name=None)
        return nullable(tp) if self._is_nullable(flat) else tp

    def _define_component(self, name: str, pyname: str, schema: Mapping[str, Any]) -> None:
        ctx = _Ctx(name=pyname, doc=self._component_doc(name))
        single = self._single_part(schema)
        if "$ref" in schema or (single is not None and "$ref" in single):
            target = self._type({k: v for k, v in schema.items() if k != "nullable"}, ctx)
            self._aliases[pyname] = Alias(name=pyname, type=target, doc=ctx.doc)
            return
        flat = self._flatten(schema)
        tp = self._core_type(flat, ctx, fixed_name=pyname)
        if tp != Ref(pyname):
            self._aliases[pyname] = Alias(name=pyname, type=tp, doc=ctx.doc)

    def _component_doc(self, name: str) -> str:
        schema = self._schemas[name]
        if isinstance(schema, Mapping):
            for key in ("description", "title"):
                text = schema.get(key)
                if isinstance(text, str) and text.strip():
                    return text.strip()
        routes = self._payload_of.get(name)
        if routes:
            listed = ", ".join(f"``{r}``" for r in routes)
            return f"The payload of {listed}."
        return f"The ``{name}`` schema."

    def _core_type(
        self, schema: Mapping[str, Any], ctx: _Ctx, fixed_name: Optional[str]
    ) -> TypeExpr:
        """The type of a flattened schema, ignoring ``nullable`` (the caller applies it)."""
        doc = schema_doc(schema, ctx.doc)
        options = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(options, list) and options:
            return self._union(schema, options, ctx, fixed_name, doc)
        if "const" in schema:
            return self._enum([schema["const"]], schema, ctx, fixed_name, doc)
        if isinstance(schema.get("enum"), list):
            return self._enum(schema["enum"], schema, ctx, fixed_name, doc)
        types = [t for t in types_of(schema) if t != "null"]
        if len(types) > 1:
            sub = [self._core_type({**schema, "type": t}, ctx, None) for t in types]
            return self._define_union(sub, ctx=ctx, fixed_name=fixed_name, doc=doc)
        kind = types[0] if types else implied_type(schema)
        if kind is None:
            return ANY if "null" not in types_of(schema) else Builtin("None")
        if kind == "string":
            fmt = schema.get("format")
            text = _SCALARS["string"]
            return _STRING_FORMATS.get(fmt, text) if isinstance(fmt, str) else text
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            items = schema.get("items")
            if items is None or items is True or (isinstance(items, Mapping) and not items):
                return ListOf(ANY)
            item_ctx = ctx.child("Item", f"An item of {_lower_first(ctx.doc)}")
            return ListOf(self._type(items, item_ctx))
        if kind == "object":
            return self._object(schema, ctx, fixed_name, doc)
        return ANY

    def _object(
        self, schema: Mapping[str, Any], ctx: _Ctx, fixed_name: Optional[str], doc: str
    ) -> TypeExpr:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        extra = schema.get("additionalProperties")
        if not properties:
            if isinstance(extra, Mapping) and extra:
                value_ctx = ctx.child("Value", f"A value of {_lower_first(ctx.doc)}")
                return MapOf(self._type(extra, value_ctx))
            if extra is not False:
                return MapOf(ANY)
        name = fixed_name or self._fresh(ctx.name)
        self._class_schemas[name] = schema
        required = schema.get("required") or []
        fields: list[Field] = []
        used: set[str] = set()
        for wire, prop in properties.items():
            field_name = python_field_name(wire, used)
            used.add(field_name)
            prop_ctx = _Ctx(
                name=f"{name}{pascal_case(wire) or 'Field'}",
                doc=f"The ``{wire}`` field of :class:`{name}`.",
            )
            tp = self._type(prop, prop_ctx)
            fields.append(self._field(field_name, wire, tp, wire in required, prop))
        self._classes[name] = ClassDef(name=name, fields=tuple(fields), doc=doc)
        return Ref(name)

    def _field(self, name: str, wire: str, tp: TypeExpr, required: bool, prop: Any) -> Field:
        prop = prop if isinstance(prop, Mapping) else {}
        description = prop.get("description")
        doc_parts = [description.strip()] if isinstance(description, str) and description else []
        if name != wire:
            doc_parts.append(f"``{wire}`` on the wire.")
        doc = " ".join(doc_parts) or None
        if required:
            default = py_literal(tp.values[0]) if isinstance(tp, LiteralOf) else None
            return Field(name=name, wire=wire, type=tp, required=True, default=default, doc=doc)
        default = _default_source(tp, prop["default"], self._enums) if "default" in prop else None
        if default is not None:
            return Field(name=name, wire=wire, type=tp, required=False, default=default, doc=doc)
        return Field(
            name=name,
            wire=wire,
            type=nullable(tp),
            required=False,
            default="None",
            omit_if_none=True,
            doc=doc,
        )

    # ------------------------------------------------------------------ enums and unions

    def _enum(
        self,
        values: list[Any],
        schema: Mapping[str, Any],
        ctx: _Ctx,
        fixed_name: Optional[str],
        doc: str,
    ) -> TypeExpr:
        values = [v for v in values if v is not None]
        if not values:
            return Builtin("None")
        if all(isinstance(v, str) for v in values):
            base = "str"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            base = "int"
        else:
            # Numbers, booleans or a mix: the plain type; the validator checks the values.
            rest = {k: v for k, v in schema.items() if k not in ("enum", "const")}
            return self._core_type(rest, ctx, fixed_name)
        unique: list[Union[str, int]] = []
        for value in values:
            if value not in unique:
                unique.append(value)
        if fixed_name is None and len(unique) == 1:
            return LiteralOf((unique[0],))
        names = schema.get("x-enum-varnames")
        use_names = (
            isinstance(names, list)
            and len(names) == len(unique)
            and all(isinstance(n, str) and n for n in names)
        )
        used: set[str] = set()
        members: list[tuple[str, Union[str, int]]] = []
        for index, value in enumerate(unique):
            label: Union[str, int] = names[index] if use_names else value  # type: ignore[index]
            member = enum_member_name(label, used)
            used.add(member)
            members.append((member, value))
        name = fixed_name or self._fresh(ctx.name)
        self._enums[name] = EnumDef(name=name, base=base, members=tuple(members), doc=doc)
        return Ref(name)

    def _union(
        self,
        schema: Mapping[str, Any],
        options: list[Any],
        ctx: _Ctx,
        fixed_name: Optional[str],
        doc: str,
    ) -> TypeExpr:
        types: list[TypeExpr] = []
        schemas: list[Mapping[str, Any]] = []
        for index, option in enumerate(options, start=1):
            option_ctx = ctx.child(f"Option{index}", f"Option {index} of {_lower_first(ctx.doc)}")
            tp = self._type(option, option_ctx)
            if tp not in types:
                types.append(tp)
                schemas.append(option if isinstance(option, Mapping) else {})
        discriminator = schema.get("discriminator")
        prop = discriminator.get("propertyName") if isinstance(discriminator, Mapping) else None
        mapping: tuple[tuple[str, str], ...] = ()
        if isinstance(prop, str) and prop:
            pairs = [(t, s) for t, s in zip(types, schemas) if t != Builtin("None")]
            found = self._discriminator_mapping(
                discriminator,  # type: ignore[arg-type]
                [t for t, _ in pairs],
                [s for _, s in pairs],
            )
            if found is None:
                prop = None
            else:
                mapping = found
        else:
            prop = None
        return self._define_union(
            types, ctx=ctx, fixed_name=fixed_name, doc=doc, prop=prop, mapping=mapping
        )

    def _define_union(
        self,
        types: list[TypeExpr],
        *,
        ctx: _Ctx,
        fixed_name: Optional[str],
        doc: str,
        prop: Optional[str] = None,
        mapping: tuple[tuple[str, str], ...] = (),
    ) -> TypeExpr:
        has_null = Builtin("None") in types
        options = [t for t in types if t != Builtin("None")]
        if any(isinstance(t, Nullable) for t in options):
            has_null = True
            options = [t.inner if isinstance(t, Nullable) else t for t in options]
        if has_null and fixed_name is not None and ANY not in options:
            options.append(Builtin("None"))  # a named union keeps its null option itself
        if ANY in options or not options:
            tp: TypeExpr = ANY
        elif len(options) == 1 and fixed_name is None:
            tp = options[0]
        else:
            name = fixed_name or self._fresh(ctx.name)
            self._aliases[name] = Alias(name=name, type=UnionOf(tuple(options)), doc=doc)
            self._unions[name] = UnionDef(alias=name, discriminator=prop, mapping=mapping)
            tp = Ref(name)
        return nullable(tp) if has_null and fixed_name is None else tp

    def _discriminator_mapping(
        self,
        discriminator: Mapping[str, Any],
        types: list[TypeExpr],
        schemas: list[Mapping[str, Any]],
    ) -> Optional[tuple[tuple[str, str], ...]]:
        """Discriminator value -> class name, or None when an option is not a class.

        As OpenAPI (and the validator) has it: each ``$ref`` option under its schema name, then
        the explicit ``mapping`` entries, which may add values or override those.
        """
        classes: set[str] = set()
        for tp in types:
            core = tp.inner if isinstance(tp, Nullable) else tp
            if not isinstance(core, Ref) or core.name not in self._class_schemas:
                return None
            classes.add(core.name)
        pairs: dict[str, str] = {}
        for tp, option in zip(types, schemas):
            if "$ref" in option:
                core = tp.inner if isinstance(tp, Nullable) else tp
                pairs[resolve_ref(option["$ref"])] = core.name  # type: ignore[union-attr]
        explicit = discriminator.get("mapping")
        if isinstance(explicit, Mapping):
            for value, target in explicit.items():
                ref = target if str(target).startswith("#") else f"{REF_PREFIX}{target}"
                tp = self.component_type(resolve_ref(ref))
                core = tp.inner if isinstance(tp, Nullable) else tp
                if not isinstance(core, Ref) or core.name not in classes:
                    return None
                pairs[str(value)] = core.name
        return tuple(pairs.items()) if pairs else None

    # ------------------------------------------------------------------ ordering


def _plain_json_type(tp: TypeExpr) -> bool:
    """True when values of ``tp`` are plain JSON (no classes, enums or dates)."""
    if isinstance(tp, Builtin):
        return True
    if isinstance(tp, ListOf):
        return _plain_json_type(tp.item)
    if isinstance(tp, MapOf):
        return _plain_json_type(tp.value)
    if isinstance(tp, Nullable):
        return _plain_json_type(tp.inner)
    return False


def _replace_refs(tp: TypeExpr, names: set[str]) -> TypeExpr:
    if isinstance(tp, Ref):
        return ANY if tp.name in names else tp
    if isinstance(tp, ListOf):
        return ListOf(_replace_refs(tp.item, names))
    if isinstance(tp, MapOf):
        return MapOf(_replace_refs(tp.value, names))
    if isinstance(tp, Nullable):
        return nullable(_replace_refs(tp.inner, names))
    if isinstance(tp, UnionOf):
        return UnionOf(tuple(_replace_refs(o, names) for o in tp.options))
    return tp


def _ordered_aliases(aliases: Mapping[str, Alias]) -> list[Alias]:
    """Aliases in dependency order (an alias is evaluated at import, so what it names must
    exist); a cycle made only of aliases is broken with ``Any``."""
    done: dict[str, Alias] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        visiting.add(name)
        alias = aliases[name]
        cyclic: set[str] = set()
        for ref in sorted(set(alias.type.refs())):
            if ref in visiting:
                cyclic.add(ref)
            elif ref in aliases:
                visit(ref)
        if cyclic:
            alias = attrs.evolve(alias, type=_replace_refs(alias.type, cyclic))
        visiting.discard(name)
        done[name] = alias

    for name in sorted(aliases):
        visit(name)
    return list(done.values())


def _default_source(tp: TypeExpr, value: Any, enums: Mapping[str, EnumDef]) -> Optional[str]:
    """Python source for a schema ``default``, or None when it is not simple to write."""
    core = tp.inner if isinstance(tp, Nullable) else tp
    if value is None:
        return None
    if isinstance(core, Builtin):
        fits = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "Any": True,
        }.get(core.name, False)
        if not fits:
            return None
        if core.name == "float":
            return py_literal(float(value))
        if core.name == "Any" and isinstance(value, (list, dict)):
            return default_factory(value)
        return py_literal(value)
    if isinstance(core, LiteralOf):
        return py_literal(value) if value in core.values else None
    if isinstance(core, Ref):
        enum = enums.get(core.name)
        if enum is not None:
            for member, member_value in enum.members:
                if member_value == value and type(member_value) is type(value):
                    return f"{enum.name}.{member}"
        return None
    if isinstance(core, (ListOf, MapOf)) and _plain_json_type(core):
        if isinstance(value, list) and isinstance(core, ListOf):
            return default_factory(value)
        if isinstance(value, dict) and isinstance(core, MapOf):
            return default_factory(value)
    return None
