"""What generated client packages use at run time: the wire converter and typed helpers.

This lives in the library rather than being copied into every generated package, so the
generated code stays short enough to read and a fix here reaches every package. It needs attrs
and cattrs only (never Jinja2). Its names are a stable interface for generated code; a generated
package states the wsapi-client version it needs.

Conversion rules (the same for every generated package):

- models are attrs classes; each attribute keeps its wire name through a rename, and optional
  attributes left at ``None`` are omitted from the frame rather than sent as ``null``;
- unknown inbound fields are ignored;
- ``str``/``int``/``float``/``bool`` are structured strictly (``"1"`` is not an int), so a union's
  options are told apart by their JSON kind; ``1.0`` is an int, as the validator has it;
- ``datetime`` is RFC 3339 on the wire (``Z`` for UTC, naive datetimes refused), ``date`` is
  ``YYYY-MM-DD``;
- a union with a discriminator is structured by its property; without one, by trying its
  options in order and taking the first that fits.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, TypeVar, Union, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from wsapi_client._errors import SpecError, ValidationError

if TYPE_CHECKING:
    from wsapi_client._waiters import Expectation

__all__ = [
    "ModelWire",
    "TypedExpectation",
    "UnionWire",
    "build_payload",
    "decoder",
    "format_date",
    "format_datetime",
    "load_document",
    "make_converter",
    "parse_date",
    "parse_datetime",
]

T = TypeVar("T")
_NONE_TYPE = type(None)


@attrs.frozen(kw_only=True)
class ModelWire:
    """How one model class maps to its wire form.

    ``rename`` maps attribute names to wire names where they differ; ``omit_if_none`` lists the
    optional attributes that are left out of the frame when they are ``None``.
    """

    rename: Mapping[str, str] = attrs.field(factory=dict)
    omit_if_none: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class UnionWire:
    """How to structure one union (``oneOf``/``anyOf``) type.

    ``discriminator`` is the wire name of the property whose value selects the option, and
    ``mapping`` maps each value to the option's class. Without a discriminator the options are
    tried in order.
    """

    type: Any
    discriminator: Optional[str] = None
    mapping: Mapping[str, type] = attrs.field(factory=dict)


# --- dates ------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z",
    re.ASCII,
)
_ZERO = datetime.timedelta(0)


def parse_datetime(text: str) -> datetime.datetime:
    """An RFC 3339 date-time (``2024-01-31T12:00:00.5Z``, ``...+02:00``) as an aware datetime.

    Fractions beyond microseconds are truncated; a leap second (``:60``) becomes ``:59.999999``
    because ``datetime`` cannot hold it.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected an RFC 3339 date-time string, got {_kind(text)}")
    match = _DATE_TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time (2024-01-31T12:00:00Z)")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    sec = int(second)
    if sec == 60:
        sec, micro = 59, 999_999
    if zulu:
        tz = datetime.timezone.utc
    elif int(off_h) > 23 or int(off_m) > 59:
        raise ValueError(f"{text!r} has an offset out of range")
    else:
        offset = datetime.timedelta(hours=int(off_h), minutes=int(off_m))
        tz = datetime.timezone(-offset if sign == "-" else offset)
    return datetime.datetime(
        int(year), int(month), int(day), int(hour), int(minute), sec, micro, tzinfo=tz
    )


def format_datetime(value: datetime.datetime) -> str:
    """An aware datetime as RFC 3339, ``Z`` for UTC; a naive one is refused (it has no offset)."""
    if not isinstance(value, datetime.datetime):
        raise ValidationError(f"expected a datetime, got {_kind(value)}")
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError(
            f"datetime {value.isoformat()} has no time zone; RFC 3339 needs one "
            "(for example tzinfo=datetime.timezone.utc)"
        )
    if offset % datetime.timedelta(minutes=1):
        value = value.astimezone(datetime.timezone.utc)
        offset = _ZERO
    text = value.isoformat()
    return f"{text[:-6]}Z" if offset == _ZERO else text


def parse_date(text: str) -> datetime.date:
    """An RFC 3339 full-date (``2024-01-31``)."""
    if not isinstance(text, str):
        raise TypeError(f"expected an RFC 3339 date string, got {_kind(text)}")
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date (2024-01-31)")
    year, month, day = match.groups()
    return datetime.date(int(year), int(month), int(day))


def format_date(value: datetime.date) -> str:
    """A date as ``YYYY-MM-DD``; a datetime is refused rather than silently truncated."""
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise ValidationError(f"expected a date, got {_kind(value)}")
    return value.isoformat()


# --- strict scalars ---------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _structure_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {_kind(value)}")


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {_kind(value)}")


def _structure_float(value: Any, _: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, got {_kind(value)}")


def _structure_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected a boolean, got {_kind(value)}")


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _structure_enum(value: Any, tp: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"expected a {tp.__name__} value, got {_kind(value)}")
    return tp(value)


# --- unions -----------------------------------------------------------------------------------

_JSON_KINDS: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
}


def _is_union(tp: Any) -> bool:
    origin = getattr(tp, "__origin__", None)
    if origin is Union:
        return True
    if sys.version_info >= (3, 10):  # pragma: no cover - X | Y unions only exist there
        import types

        return isinstance(tp, types.UnionType)
    return False


def _json_kinds(tp: Any) -> Optional[tuple[type, ...]]:
    """The Python types of the JSON values ``tp`` can be structured from; None for any."""
    if tp is Any:
        return None
    if tp is _NONE_TYPE:
        return (_NONE_TYPE,)
    if _is_union(tp):
        kinds: list[type] = []
        for arg in tp.__args__:
            sub = _json_kinds(arg)
            if sub is None:
                return None
            kinds.extend(sub)
        return tuple(kinds)
    origin = getattr(tp, "__origin__", None)
    if origin is not None:
        if origin in (list, Sequence):
            return _JSON_KINDS["array"]
        if origin in (dict, Mapping):
            return _JSON_KINDS["object"]
        if str(origin) == "typing.Literal":
            return tuple({type(v) for v in tp.__args__})
        return None
    if isinstance(tp, type):
        if attrs.has(tp) or issubclass(tp, Mapping):
            return _JSON_KINDS["object"]
        if issubclass(tp, bool):
            return _JSON_KINDS["boolean"]
        if issubclass(tp, (str, datetime.date)):
            return _JSON_KINDS["string"]
        if issubclass(tp, (int, float)):
            return _JSON_KINDS["number"]
        if issubclass(tp, list):
            return _JSON_KINDS["array"]
    return None


def _fits_kind(value: Any, kinds: Optional[tuple[type, ...]]) -> bool:
    if kinds is None:
        return True
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _type_name(tp: Any) -> str:
    name = getattr(tp, "__name__", None)
    return name if isinstance(name, str) else repr(tp).replace("typing.", "")


def _union_hook(converter: cattrs.Converter, wire: UnionWire) -> Callable[[Any, Any], Any]:
    options = tuple(arg for arg in wire.type.__args__ if arg is not _NONE_TYPE)
    names = ", ".join(_type_name(o) for o in options)
    prop = wire.discriminator
    if prop is not None:
        mapping = dict(wire.mapping)
        known = ", ".join(repr(k) for k in mapping)

        def structure_tagged(value: Any, tp: Any) -> Any:
            if value is None and _NONE_TYPE in tp.__args__:
                return None
            if not isinstance(value, dict):
                raise TypeError(f"expected an object ({names}), got {_kind(value)}")
            tag = value.get(prop)
            option = mapping.get(tag) if isinstance(tag, str) else None
            if option is None:
                raise ValueError(f"{prop} is {tag!r}; expected one of {known}")
            return converter.structure(value, option)

        return structure_tagged

    kinds = tuple(_json_kinds(o) for o in options)

    def structure_first_fit(value: Any, tp: Any) -> Any:
        if value is None and _NONE_TYPE in tp.__args__:
            return None
        problems: list[str] = []
        for option, option_kinds in zip(options, kinds):
            if not _fits_kind(value, option_kinds):
                continue
            try:
                return converter.structure(value, option)
            except Exception as exc:  # try the next option
                problems.append(f"{_type_name(option)}: {_describe(exc)}")
        detail = f" ({'; '.join(problems)})" if problems else ""
        raise ValueError(f"{_kind(value)} fits none of {names}{detail}")

    return structure_first_fit


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


# --- the converter ----------------------------------------------------------------------------


def make_converter(
    models: Mapping[type, ModelWire],
    *,
    enums: Sequence[type[enum.Enum]] = (),
    unions: Sequence[UnionWire] = (),
) -> cattrs.Converter:
    """A cattrs converter for a generated package's models, built once at import.

    ``models`` maps each model class to its wire names; ``enums`` lists the enum classes and
    ``unions`` the union types (aliases) of the package.

    Hooks for the model classes are made on first use by factories, so the order of the
    classes does not matter and recursive models (``Node.left: Node``) work: cattrs binds a
    reference back to a class that is still being built late.
    """
    converter = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(datetime.datetime, lambda value, _: parse_datetime(value))
    converter.register_structure_hook(datetime.date, lambda value, _: parse_date(value))
    converter.register_unstructure_hook(datetime.datetime, format_datetime)
    converter.register_unstructure_hook(datetime.date, format_date)
    # Enums mix in str or int, so the str/int hooks would take them over: each is registered
    # by its own class, which is more specific.
    for enum_class in enums:
        converter.register_structure_hook(enum_class, _structure_enum)
        converter.register_unstructure_hook(enum_class, _enum_value)

    table = dict(models)

    def is_model(tp: Any) -> bool:
        return isinstance(tp, type) and tp in table

    def structure_factory(cls: Any) -> Any:
        renames: dict[str, Any] = {a: override(rename=w) for a, w in table[cls].rename.items()}
        return make_dict_structure_fn(cls, converter, **renames)

    def unstructure_factory(cls: Any) -> Any:
        wire = table[cls]
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            rename = wire.rename.get(field.name)
            omit = field.name in wire.omit_if_none
            if rename is not None or omit:
                overrides[field.name] = override(rename=rename, omit_if_default=omit or None)
        return make_dict_unstructure_fn(cls, converter, **overrides)

    converter.register_structure_hook_factory(is_model, structure_factory)
    converter.register_unstructure_hook_factory(is_model, unstructure_factory)

    for union in unions:
        if not _is_union(union.type):
            raise TypeError(f"UnionWire.type must be a Union, got {union.type!r}")
        key = frozenset(a for a in union.type.__args__ if a is not _NONE_TYPE)
        hook = _union_hook(converter, union)

        def matches(tp: Any, key: frozenset[Any] = key) -> bool:
            return _is_union(tp) and frozenset(a for a in tp.__args__ if a is not _NONE_TYPE) == key

        converter.register_structure_hook_func(matches, hook)
    return converter


def decoder(converter: cattrs.Converter, tp: Any) -> Callable[[Any], Any]:
    """A function that structures an inbound payload into ``tp``, raising ValidationError."""
    hook = converter.get_structure_hook(tp)
    name = _type_name(tp)
    accepts_none = _is_union(tp) and _NONE_TYPE in tp.__args__

    def decode(payload: Any) -> Any:
        if payload is None and not accepts_none:
            raise ValidationError(f"the message has no payload ({name} expected)")
        try:
            return hook(payload, tp)
        except ValidationError:
            raise
        except Exception as exc:
            raise ValidationError(f"does not fit {name}: {_describe(exc)}") from exc

    return decode


def build_payload(model: type[T], payload: Optional[T], fields: Mapping[str, Any]) -> T:
    """The model to send: ``payload`` itself, or a new ``model(**fields)``; not both."""
    if payload is None:
        return model(**fields)
    if fields:
        names = ", ".join(sorted(fields))
        raise TypeError(f"pass a {model.__name__} or keyword arguments, not both (got {names})")
    if not isinstance(payload, model):
        raise TypeError(
            f"expected a {model.__name__}, got {type(payload).__name__}; pass keyword "
            "arguments, or use client.send(route, payload) for plain JSON values"
        )
    return payload


def load_document(package: Optional[str], resource: str = "_model.json") -> Mapping[str, Any]:
    """The model a generated package embeds (``_model.json`` next to its modules)."""
    from importlib import resources

    if not package:
        raise SpecError("load_document() needs the generated package's name (__package__)")
    text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
    document = json.loads(text)
    if not isinstance(document, dict):
        raise SpecError("the embedded model is not a JSON object", source=f"{package}/{resource}")
    return document


class TypedExpectation(Generic[T]):
    """:class:`~wsapi_client.Expectation` with a typed :meth:`result` (``expect_<op>()``)."""

    __slots__ = ("_expectation",)

    def __init__(self, expectation: Expectation) -> None:
        self._expectation = expectation

    @property
    def route(self) -> str:
        """The route this waits for."""
        return self._expectation.route

    def result(self, timeout: Optional[float] = None) -> T:
        """The matching message; ``TimeoutError`` if none arrives in time."""
        return cast(T, self._expectation.result(timeout))

    def done(self) -> bool:
        """True once a message matched (or the wait was cancelled)."""
        return self._expectation.done()

    def cancel(self) -> None:
        """Stop waiting."""
        self._expectation.cancel()

    def __enter__(self) -> TypedExpectation[T]:
        self._expectation.__enter__()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._expectation.__exit__(exc_type, *rest)
