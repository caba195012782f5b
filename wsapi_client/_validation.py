"""Payload validation: OpenAPI 3.0 / 3.1 schemas compiled once into nested closures.

A schema is turned into a check function once (cached per schema object); a check returns
None when the value fits, or an issue whose path is built only on the way out of a failure, so
a valid payload costs a few function calls per field and no allocation.

Supported: ``type`` (one or a list; a bool is neither a number nor an integer; ``1.0`` is an
integer), ``nullable`` (3.0: ``None`` is accepted by that schema object whatever else it
says, as the PDK's generated types have it), ``enum``, ``const``, ``required``, ``properties``,
``patternProperties``, ``additionalProperties`` (bool or schema), ``items`` (schema, or a list
as in draft 4), ``prefixItems``, ``minLength``/``maxLength`` (code points), ``pattern``
(``re.search``), ``format`` ``date`` and ``date-time`` (RFC 3339), ``minimum``/``maximum``,
``exclusiveMinimum``/``exclusiveMaximum`` (3.0 boolean and 3.1 number forms), ``multipleOf``,
``minItems``/``maxItems``/``uniqueItems``, ``minProperties``/``maxProperties``, ``allOf``,
``anyOf``, ``oneOf`` (with ``discriminator``: the branch its property names is checked and
its errors reported), ``not``, ``$ref`` to ``#/components/schemas/<Name>`` (resolved on first
use, so recursive schemas work), boolean schemas. Other keywords and formats are ignored.
Equality (``enum``, ``const``, ``uniqueItems``) is JSON's: ``1`` equals ``1.0`` but not ``True``.

Paths read like Python: ``legs[2].symbol``, map keys ``tags["key"]``, the root ``""``.
"""

from __future__ import annotations

import datetime
import math
import operator
import re
import threading
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from wsapi_client._body import check_outbound_body
from wsapi_client._errors import MapKey, SpecError, ValidationError, format_path

if TYPE_CHECKING:
    from wsapi_client.spec._model import ApiSpec, Operation

__all__ = ["Validator", "compile_validator", "format_path", "validate_payload"]

Validator = Callable[[Any], None]
"""A compiled schema: returns None or raises :class:`~wsapi_client.ValidationError`."""

_SCHEMA_REF_PREFIX = "#/components/schemas/"


_MapKey = MapKey

_Segment = Union[str, int]


class _Issue:
    """Why a value does not fit; ``path`` is filled innermost first as the failure returns."""

    __slots__ = ("message", "path")

    def __init__(self, message: str, path: Optional[list[_Segment]] = None) -> None:
        self.message = message
        self.path: list[_Segment] = path if path is not None else []

    def at(self, segment: _Segment) -> _Issue:
        self.path.append(segment)
        return self


_Check = Callable[[Any], Optional[_Issue]]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _issue_path(issue: _Issue) -> str:
    return format_path(issue.path[::-1])


# --- values -----------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The name of ``value``'s type for a message: ``int``, ``str``, ``None``..."""
    return "None" if value is None else type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _json_key(value: Any) -> Any:
    """A hashable form with JSON's equality: 1 == 1.0, True != 1, dicts by content."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, Mapping):
        return ("o", frozenset((k, _json_key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("a", tuple(_json_key(v) for v in value))
    return ("x", id(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": _is_integer,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: type(v) is dict or isinstance(v, Mapping),
    "null": lambda v: v is None,
}
_EXACT_TYPES: dict[str, type] = {
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
    "integer": int,
    "number": int,
}
_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}

# --- formats ----------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))\Z",
    re.ASCII,
)


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    return match is not None and _valid_date(*match.groups())


def _is_date_time(text: str) -> bool:
    match = _DATE_TIME.match(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, off_hour, off_minute = match.groups()
    if not _valid_date(year, month, day):
        return False
    if int(hour) > 23 or int(minute) > 59 or int(second) > 60:  # 60: a leap second
        return False
    return off_hour is None or (int(off_hour) <= 23 and int(off_minute) <= 59)


_FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "date": (_is_date, "a date (RFC 3339 full-date, 2024-01-31)"),
    "date-time": (_is_date_time, "a date-time (RFC 3339, 2024-01-31T12:00:00Z)"),
}

# --- compilation ------------------------------------------------------------------------------


def _accept(value: Any) -> Optional[_Issue]:
    return None


def _reject(value: Any) -> Optional[_Issue]:
    return _Issue("is not allowed here (the schema is false)")


def _all_of(checks: Sequence[_Check]) -> _Check:
    checks = [c for c in checks if c is not _accept]
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    checks_tuple = tuple(checks)

    def check(value: Any) -> Optional[_Issue]:
        for part in checks_tuple:
            issue = part(value)
            if issue is not None:
                return issue
        return None

    return check


class _Compiler:
    """Compiles the schemas of one model; each schema object is compiled once."""

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        self.schemas = schemas
        self._compiled: dict[int, tuple[Any, _Check]] = {}

    def compile(self, schema: Any, where: str = "") -> _Check:
        key = id(schema)
        cached = self._compiled.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        # A forwarder stands in while the schema is built, so that a schema object containing
        # itself compiles to a loop instead of recursing forever.
        built: list[_Check] = []

        def forward(value: Any) -> Optional[_Issue]:
            return built[0](value)

        self._compiled[key] = (schema, forward)
        try:
            check = self._build(schema, where)
        except BaseException:
            del self._compiled[key]
            raise
        built.append(check)
        self._compiled[key] = (schema, check)
        return check

    def named(self, ref: str) -> Mapping[str, Any]:
        """The schema a ``$ref`` names; SpecError when it is not in ``schemas``."""
        if not ref.startswith(_SCHEMA_REF_PREFIX):
            raise SpecError(f"unsupported $ref {ref!r} (only {_SCHEMA_REF_PREFIX}<Name>)")
        name, _, rest = ref[len(_SCHEMA_REF_PREFIX) :].partition("/")
        target: Any = self.schemas.get(name)
        if target is None:
            raise SpecError(f"$ref {ref!r} names no schema")
        for part in rest.split("/") if rest else ():
            token = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise SpecError(f"$ref {ref!r} does not resolve")
        return target  # type: ignore[no-any-return]

    def _lazy_ref(self, ref: str) -> _Check:
        """A check that resolves and compiles ``ref`` on first use (recursion stays finite)."""
        resolved: list[_Check] = []

        def check(value: Any) -> Optional[_Issue]:
            if not resolved:
                resolved.append(self.compile(self.named(ref), ref))
            return resolved[0](value)

        self.named(ref)  # fail now for a dangling reference
        return check

    def _build(self, schema: Any, where: str) -> _Check:
        if schema is True:
            return _accept
        if schema is False:
            return _reject
        if not isinstance(schema, Mapping):
            raise SpecError(f"a schema must be an object or a boolean, got {_kind(schema)}", where)
        parts: list[_Check] = []
        ref = schema.get("$ref")
        if isinstance(ref, str):
            parts.append(self._lazy_ref(ref))
        type_check = self._type_check(schema)
        others = [
            self._value_check(schema),
            self._string_check(schema, where),
            self._number_check(schema),
            self._array_check(schema, where),
        ]
        # The common model, an object with properties: one closure tests the type and the
        # properties (the same checks in the same order, one call fewer per value).
        typed = (
            schema.get("type") == "object"
            and schema.get("nullable") is not True
            and all(part is _accept for part in others)
        )
        object_check = self._object_check(schema, where, typed=typed)
        if typed and object_check is not _accept:
            parts.append(object_check)
        else:
            parts.append(type_check)
            parts.extend(others)
            parts.append(object_check)
        parts.append(self._combinators(schema, where))
        check = _all_of(parts)
        if schema.get("nullable") is True and check is not _accept:
            inner = check

            def check(value: Any) -> Optional[_Issue]:
                return None if value is None else inner(value)

        return check

    # -- keywords --

    def _type_check(self, schema: Mapping[str, Any]) -> _Check:
        declared = schema.get("type")
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list):
            return _accept
        known = [n for n in names if isinstance(n, str) and n in _TYPE_TESTS]
        if not known:
            return _accept
        if schema.get("nullable") is True and "null" not in known:
            known.append("null")
        if "number" in known and "integer" in known:
            known.remove("integer")
        expected = " or ".join(_TYPE_WORDS[n] for n in known)
        if len(known) == 1:
            test = _TYPE_TESTS[known[0]]
            # An exact type that answers without the general test (bool is not an int here).
            single_type = _EXACT_TYPES.get(known[0])

            def check(value: Any) -> Optional[_Issue]:
                if type(value) is single_type or test(value):
                    return None
                return _Issue(f"must be {expected}, got {_kind(value)}")

            return check
        tests = tuple(_TYPE_TESTS[n] for n in known)

        def check_any(value: Any) -> Optional[_Issue]:
            for test_one in tests:
                if test_one(value):
                    return None
            return _Issue(f"must be {expected}, got {_kind(value)}")

        return check_any

    def _value_check(self, schema: Mapping[str, Any]) -> _Check:
        checks: list[_Check] = []
        if "const" in schema:
            const_key = _json_key(schema["const"])
            const_text = _show(schema["const"])

            def check_const(value: Any) -> Optional[_Issue]:
                if _json_key(value) == const_key:
                    return None
                return _Issue(f"must be {const_text}, got {_show(value)}")

            checks.append(check_const)
        allowed = schema.get("enum")
        if isinstance(allowed, list):
            if not allowed:
                return _reject
            keys = frozenset(_json_key(v) for v in allowed)
            strings = frozenset(v for v in allowed if isinstance(v, str))
            listed = ", ".join(_show(v) for v in allowed[:20]) + (
                ", ..." if len(allowed) > 20 else ""
            )

            def check_enum(value: Any) -> Optional[_Issue]:
                if type(value) is str and value in strings:
                    return None
                if _json_key(value) in keys:
                    return None
                return _Issue(f"must be one of {listed}, got {_show(value)}")

            checks.append(check_enum)
        return _all_of(checks)

    def _string_check(self, schema: Mapping[str, Any], where: str) -> _Check:
        min_length = _count(schema, "minLength", lower=True)
        max_length = _count(schema, "maxLength")
        pattern = schema.get("pattern")
        fmt_name = schema.get("format")
        if fmt_name is not None and not isinstance(fmt_name, str):
            raise SpecError(f"format must be a string, got {_kind(fmt_name)}", where)
        fmt = _FORMATS.get(fmt_name) if fmt_name is not None else None
        regex: Optional[re.Pattern[str]] = None
        if isinstance(pattern, str):
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise SpecError(
                    f"pattern {pattern!r} is not a valid regular expression: {exc}", where
                ) from None
        if min_length is None and max_length is None and regex is None and fmt is None:
            return _accept
        search = regex.search if regex is not None else None
        fmt_test, fmt_words = fmt if fmt is not None else (None, "")

        def check(value: Any) -> Optional[_Issue]:
            if not isinstance(value, str):
                return None
            if min_length is not None and len(value) < min_length:
                return _Issue(f"must be at least {min_length} characters long, got {len(value)}")
            if max_length is not None and len(value) > max_length:
                return _Issue(f"must be at most {max_length} characters long, got {len(value)}")
            if search is not None and search(value) is None:
                return _Issue(f"must match the pattern {pattern!r}, got {_show(value)}")
            if fmt_test is not None and not fmt_test(value):
                return _Issue(f"must be {fmt_words}, got {_show(value)}")
            return None

        return check

    def _number_check(self, schema: Mapping[str, Any]) -> _Check:
        bounds: list[tuple[Callable[[Any, Any], bool], Any, str]] = []
        minimum = schema.get("minimum")
        maximum = schema.get("maximum")
        exclusive_min = schema.get("exclusiveMinimum")
        exclusive_max = schema.get("exclusiveMaximum")
        if _is_number(minimum):
            if exclusive_min is True:  # OpenAPI 3.0 boolean form
                bounds.append((operator.gt, minimum, "must be greater than"))
            else:
                bounds.append((operator.ge, minimum, "must be at least"))
        if _is_number(maximum):
            if exclusive_max is True:
                bounds.append((operator.lt, maximum, "must be less than"))
            else:
                bounds.append((operator.le, maximum, "must be at most"))
        if _is_number(exclusive_min):  # OpenAPI 3.1 number form
            bounds.append((operator.gt, exclusive_min, "must be greater than"))
        if _is_number(exclusive_max):
            bounds.append((operator.lt, exclusive_max, "must be less than"))
        multiple: Any = schema.get("multipleOf")
        if _is_number(multiple) and multiple > 0:
            bounds.append((_is_multiple, multiple, "must be a multiple of"))
        if not bounds:
            return _accept
        bounds_tuple = tuple(bounds)

        def check(value: Any) -> Optional[_Issue]:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            for test, limit, words in bounds_tuple:
                if not test(value, limit):
                    return _Issue(f"{words} {limit!r}, got {value!r}")
            return None

        return check

    def _array_check(self, schema: Mapping[str, Any], where: str) -> _Check:
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # draft 4 tuple form
            prefix, items = items, schema.get("additionalItems")
        prefix_checks = (
            tuple(self.compile(s, f"{where}/prefixItems/{i}") for i, s in enumerate(prefix))
            if isinstance(prefix, list)
            else ()
        )
        item_check = (
            self.compile(items, f"{where}/items")
            if isinstance(items, (Mapping, bool)) and items is not True
            else _accept
        )
        min_items = _count(schema, "minItems", lower=True)
        max_items = _count(schema, "maxItems")
        unique = schema.get("uniqueItems") is True
        if (
            not prefix_checks
            and item_check is _accept
            and min_items is None
            and max_items is None
            and not unique
        ):
            return _accept
        n_prefix = len(prefix_checks)

        def check(value: Any) -> Optional[_Issue]:
            if not isinstance(value, (list, tuple)):
                return None
            count = len(value)
            if min_items is not None and count < min_items:
                return _Issue(f"must have at least {min_items} items, got {count}")
            if max_items is not None and count > max_items:
                return _Issue(f"must have at most {max_items} items, got {count}")
            for index in range(min(n_prefix, count)):
                issue = prefix_checks[index](value[index])
                if issue is not None:
                    return issue.at(index)
            if item_check is not _accept:
                for index in range(n_prefix, count):
                    issue = item_check(value[index])
                    if issue is not None:
                        return issue.at(index)
            if unique and count > 1:
                seen: dict[Any, int] = {}
                for index, item in enumerate(value):
                    key = _json_key(item)
                    first = seen.setdefault(key, index)
                    if first != index:
                        return _Issue(
                            f"must not contain duplicates: items {first} and {index} are equal"
                        )
            return None

        return check

    def _object_check(self, schema: Mapping[str, Any], where: str, typed: bool = False) -> _Check:
        """The object keywords; with ``typed``, also ``type: object`` (a non-object fails)."""
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required_raw = schema.get("required")
        required = (
            tuple(r for r in required_raw if isinstance(r, str))
            if isinstance(required_raw, list)
            else ()
        )
        prop_checks = tuple(
            (name, self.compile(sub, f"{where}/properties/{name}"))
            for name, sub in properties.items()
            if isinstance(name, str)
        )
        prop_checks = tuple((n, c) for n, c in prop_checks if c is not _accept)
        patterns_raw = schema.get("patternProperties")
        patterns: tuple[tuple[re.Pattern[str], _Check], ...] = ()
        if isinstance(patterns_raw, Mapping):
            compiled: list[tuple[re.Pattern[str], _Check]] = []
            for pattern, sub in patterns_raw.items():
                try:
                    compiled.append(
                        (re.compile(pattern), self.compile(sub, f"{where}/patternProperties"))
                    )
                except re.error as exc:
                    raise SpecError(
                        f"pattern {pattern!r} is not a valid regular expression: {exc}", where
                    ) from None
            patterns = tuple(compiled)
        additional = schema.get("additionalProperties", True)
        additional_check: Optional[_Check]
        if additional is False:
            additional_check = _reject
        elif isinstance(additional, (Mapping, bool)) and additional is not True:
            additional_check = self.compile(additional, f"{where}/additionalProperties")
        else:
            additional_check = None
        if additional_check is _accept:
            additional_check = None
        known = frozenset(n for n in properties if isinstance(n, str))
        min_props = _count(schema, "minProperties", lower=True)
        max_props = _count(schema, "maxProperties")
        if not (
            required
            or prop_checks
            or patterns
            or additional_check
            or min_props is not None
            or max_props is not None
        ):
            return _accept

        def check(value: Any) -> Optional[_Issue]:
            if type(value) is not dict and not isinstance(value, Mapping):
                return _Issue(f"must be an object, got {_kind(value)}") if typed else None
            for name in required:
                if name not in value:
                    return _Issue("is required", [name])
            for name, prop_check in prop_checks:
                if name in value:
                    issue = prop_check(value[name])
                    if issue is not None:
                        return issue.at(name)
            if patterns or additional_check is not None:
                for key, item in value.items():
                    matched = False
                    for regex, pattern_check in patterns:
                        if isinstance(key, str) and regex.search(key):
                            matched = True
                            issue = pattern_check(item)
                            if issue is not None:
                                return issue.at(_MapKey(key))
                    if matched or key in known or additional_check is None:
                        continue
                    if additional_check is _reject:
                        return _Issue("is not an allowed property", [_MapKey(key)])
                    issue = additional_check(item)
                    if issue is not None:
                        return issue.at(_MapKey(key))
            count = len(value)
            if min_props is not None and count < min_props:
                return _Issue(f"must have at least {min_props} properties, got {count}")
            if max_props is not None and count > max_props:
                return _Issue(f"must have at most {max_props} properties, got {count}")
            return None

        return check

    def _combinators(self, schema: Mapping[str, Any], where: str) -> _Check:
        checks: list[_Check] = []
        all_of = schema.get("allOf")
        if isinstance(all_of, list):
            checks.extend(self.compile(s, f"{where}/allOf/{i}") for i, s in enumerate(all_of))
        discriminator = schema.get("discriminator")
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if not isinstance(branches, list):
                continue
            if isinstance(discriminator, Mapping) and isinstance(
                discriminator.get("propertyName"), str
            ):
                checks.append(self._discriminated(keyword, branches, discriminator, where))
            else:
                compiled = tuple(
                    self.compile(s, f"{where}/{keyword}/{i}") for i, s in enumerate(branches)
                )
                checks.append(_any_of(compiled) if keyword == "anyOf" else _one_of(compiled))
        negated = schema.get("not")
        if isinstance(negated, (Mapping, bool)):
            inner = self.compile(negated, f"{where}/not")

            def check_not(value: Any) -> Optional[_Issue]:
                if inner(value) is None:
                    return _Issue("must not match the schema in 'not'")
                return None

            checks.append(check_not)
        return _all_of(checks)

    def _discriminated(
        self, keyword: str, branches: list[Any], discriminator: Mapping[str, Any], where: str
    ) -> _Check:
        """Pick the branch the discriminator property names and report that branch's errors."""
        prop: str = discriminator["propertyName"]
        by_tag: dict[str, str] = {}
        for branch in branches:  # implicit mapping: the schema name of each $ref branch
            ref = branch.get("$ref") if isinstance(branch, Mapping) else None
            if isinstance(ref, str) and ref.startswith(_SCHEMA_REF_PREFIX):
                by_tag[ref[len(_SCHEMA_REF_PREFIX) :]] = ref
        mapping = discriminator.get("mapping")
        if isinstance(mapping, Mapping):
            for tag, target in mapping.items():
                if isinstance(tag, str) and isinstance(target, str):
                    by_tag[tag] = target if target.startswith("#") else _SCHEMA_REF_PREFIX + target
        fallback = self.compile({keyword: branches}, where)
        if not by_tag:
            return fallback
        checks = {tag: self._lazy_ref(ref) for tag, ref in by_tag.items()}
        listed = ", ".join(repr(t) for t in by_tag)

        def check(value: Any) -> Optional[_Issue]:
            if not isinstance(value, Mapping):
                return fallback(value)
            tag = value.get(prop)
            if tag is None:
                return _Issue("is required", [prop])
            branch_check = checks.get(tag) if isinstance(tag, str) else None
            if branch_check is None:
                return _Issue(f"must be one of {listed}, got {_show(tag)}", [prop])
            return branch_check(value)

        return check


def _count(schema: Mapping[str, Any], keyword: str, *, lower: bool = False) -> Optional[int]:
    """A ``minX``/``maxX`` limit as an int, or None when absent (or a lower bound of 0)."""
    value: Any = schema.get(keyword)
    if not _is_integer(value):
        return None
    limit = int(value)
    return None if lower and limit <= 0 else limit


def _is_multiple(value: float, divisor: float) -> bool:
    if isinstance(value, int) and isinstance(divisor, int):
        return value % divisor == 0
    try:
        quotient = value / divisor
    except OverflowError:
        quotient = math.inf
    if math.isfinite(quotient):
        return float(quotient).is_integer()
    if not math.isfinite(value):
        return False
    # A huge value over a small divisor overflows: exact arithmetic decides (as jsonschema does).
    return (Fraction(value) / Fraction(divisor)).denominator == 1


def _best(issues: Sequence[_Issue]) -> _Issue:
    """The issue that got furthest into the value: likely the branch the sender meant."""
    return max(issues, key=lambda i: len(i.path))


def _any_of(branches: tuple[_Check, ...]) -> _Check:
    if not branches:
        return _accept

    def check(value: Any) -> Optional[_Issue]:
        issues: list[_Issue] = []
        for branch in branches:
            issue = branch(value)
            if issue is None:
                return None
            issues.append(issue)
        best = _best(issues)
        if best.path:
            return best
        return _Issue(f"must match one of the anyOf schemas ({best.message})")

    return check


def _one_of(branches: tuple[_Check, ...]) -> _Check:
    if not branches:
        return _reject

    def check(value: Any) -> Optional[_Issue]:
        matched: list[int] = []
        issues: list[_Issue] = []
        for index, branch in enumerate(branches):
            issue = branch(value)
            if issue is None:
                matched.append(index)
            else:
                issues.append(issue)
        if len(matched) == 1:
            return None
        if matched:
            return _Issue(f"must match exactly one of the oneOf schemas, matches {matched}")
        best = _best(issues)
        if best.path:
            return best
        return _Issue(f"must match one of the oneOf schemas ({best.message})")

    return check


# --- public -----------------------------------------------------------------------------------

_CACHE_SIZE = 64
_compilers: dict[int, _Compiler] = {}
_compilers_lock = threading.Lock()


def _compiler_for(schemas: Mapping[str, Mapping[str, Any]]) -> _Compiler:
    compiler = _compilers.get(id(schemas))
    if compiler is not None and compiler.schemas is schemas:
        return compiler
    with _compilers_lock:
        compiler = _Compiler(schemas)
        if len(_compilers) >= _CACHE_SIZE:
            _compilers.pop(next(iter(_compilers)))
        _compilers[id(schemas)] = compiler
    return compiler


def compile_validator(
    schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]
) -> Callable[[Any], None]:
    """A function that raises ValidationError(message, path) when a value does not fit ``schema``.

    ``schemas`` resolves ``#/components/schemas/<Name>`` references (``ApiSpec.schemas``).
    Compiling is cached per schema object, so calling this again for the same objects is cheap.
    Raises SpecError when the schema itself is broken (a dangling ``$ref``, a bad ``pattern``).
    """
    check = _compiler_for(schemas).compile(schema)

    def validate(value: Any) -> None:
        try:
            issue = check(value)
        except RecursionError:
            raise ValidationError("is nested too deeply to validate") from None
        if issue is not None:
            raise ValidationError(issue.message, _issue_path(issue))

    return validate


def validate_payload(op: Operation, spec: ApiSpec, payload: Any) -> None:
    """Check a payload for ``op`` before it is sent; ValidationError names the route and field.

    ``payload`` is :data:`~wsapi_client.protocol.NO_PAYLOAD` for "none"; the body rules are
    :func:`wsapi_client._body.check_outbound_body`'s.
    """
    route = op.route_key
    schema = op.request_schema
    if not check_outbound_body(op, payload) or schema is None:
        return
    check = _compiler_for(spec.schemas).compile(schema)
    try:
        issue = check(payload)
    except RecursionError:
        raise ValidationError("is nested too deeply to validate", "", route) from None
    if issue is not None:
        raise ValidationError(issue.message, _issue_path(issue), route)
