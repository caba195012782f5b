"""JSON Schema draft-04 compiled to closures, for the request models the emulator validates.

jsonschema's validator costs 10-20 µs for a small request model, which caps the emulator at a
few tens of thousands of messages a second.  This compiler covers the keywords API Gateway
models use, with jsonschema's draft-04 semantics (booleans are not numbers, ``1.0`` is not an
integer, ``$ref`` hides its siblings, ``format`` is not checked); a schema using anything else
(``dependencies``, ``uniqueItems``, ``id``, remote references, unknown types) is not compiled,
and the caller falls back to jsonschema.  ``tests/emulator/test_draft4.py`` checks the two
agree on generated instances.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Callable, Optional

__all__ = ["Check", "compile_draft4"]

Check = Callable[[Any], bool]

_UNSUPPORTED = frozenset(
    {"dependencies", "uniqueItems", "id", "extends", "disallow", "divisibleBy"}
)

_TYPES: dict[str, Check] = {
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "null": lambda x: x is None,
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "object": lambda x: isinstance(x, dict),
    "string": lambda x: isinstance(x, str),
}


class _Unsupported(Exception):
    """The schema uses something this compiler does not implement."""


def compile_draft4(schema: Mapping[str, Any]) -> Optional[Check]:
    """A predicate equivalent to ``Draft4Validator(schema).is_valid``, or None if unsupported."""
    try:
        return _Compiler(schema).compile(schema)
    except (_Unsupported, re.error):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: ``True`` differs from ``1``, containers compare deeply."""
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one is two
    return bool(one == two)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda _x: True
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for item in checks:  # noqa: SIM110 - a plain loop is faster than all() here
            if not item(value):
                return False
        return True

    return check


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        definitions = root.get("definitions", {})
        if not isinstance(definitions, Mapping):
            raise _Unsupported("definitions")
        self._definitions = definitions
        self._root = root
        self._cells: dict[str, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, Mapping):
            raise _Unsupported("a schema that is not an object")
        if "$ref" in schema:
            return self._ref(schema["$ref"])
        if _UNSUPPORTED.intersection(schema):
            raise _Unsupported(", ".join(sorted(_UNSUPPORTED.intersection(schema))))
        checks: list[Check] = []
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        checks.extend(self._object(schema))
        checks.extend(self._array(schema))
        checks.extend(self._string(schema))
        checks.extend(self._number(schema))
        checks.extend(self._combinators(schema))
        if "enum" in schema:
            options = list(schema["enum"])
            checks.append(lambda x: any(_equal(option, x) for option in options))
        return _all(checks)

    def _ref(self, ref: Any) -> Check:
        if ref == "#":
            name = "#"
        elif isinstance(ref, str) and ref.startswith("#/definitions/") and ref.count("/") == 2:
            name = ref[len("#/definitions/") :]
            if "~" in name or "%" in name or name not in self._definitions:
                raise _Unsupported(f"$ref {ref}")
        else:
            raise _Unsupported(f"$ref {ref!r}")
        if name not in self._cells:
            cell: list[Check] = []
            self._cells[name] = cell
            target = self._root if name == "#" else self._definitions[name]
            cell.append(self.compile(target))
        cell = self._cells[name]
        return lambda x: cell[0](x)  # noqa: PLW0108 - cell[0] is set later (recursion)

    def _type(self, declared: Any) -> Check:
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list) or not names:
            raise _Unsupported("type")
        tests = []
        for name in names:
            if not isinstance(name, str) or name not in _TYPES:
                raise _Unsupported(f"type {name!r}")
            tests.append(_TYPES[name])
        if len(tests) == 1:
            return tests[0]
        return lambda x: any(test(x) for test in tests)

    def _object(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        if not isinstance(properties, Mapping) or not isinstance(patterns, Mapping):
            raise _Unsupported("properties")
        if properties:
            compiled = [(name, self.compile(sub)) for name, sub in properties.items()]

            def check_properties(x: Any) -> bool:
                if type(x) is not dict:
                    return True
                for name, check in compiled:  # noqa: SIM110 - faster than all() here
                    if name in x and not check(x[name]):
                        return False
                return True

            checks.append(check_properties)
        pattern_checks = [(re.compile(p), self.compile(sub)) for p, sub in patterns.items()]
        if pattern_checks:
            checks.append(
                lambda x: (
                    not isinstance(x, dict)
                    or all(
                        check(value)
                        for key, value in x.items()
                        for pattern, check in pattern_checks
                        if pattern.search(key)
                    )
                )
            )
        if "additionalProperties" in schema:
            checks.append(self._additional(schema["additionalProperties"], properties, patterns))
        required = schema.get("required")
        if required is not None:
            if not isinstance(required, list):
                raise _Unsupported("required")
            names = list(required)
            checks.append(lambda x: not isinstance(x, dict) or all(n in x for n in names))
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if low is not None:
            checks.append(lambda x: not isinstance(x, dict) or len(x) >= low)
        if high is not None:
            checks.append(lambda x: not isinstance(x, dict) or len(x) <= high)
        return checks

    def _additional(
        self, additional: Any, properties: Mapping[str, Any], patterns: Mapping[str, Any]
    ) -> Check:
        joined = re.compile("|".join(patterns)) if patterns else None

        def extras(x: dict[str, Any]) -> list[str]:
            return [
                key
                for key in x
                if key not in properties and not (joined is not None and joined.search(key))
            ]

        if additional is False:
            return lambda x: not isinstance(x, dict) or not extras(x)
        if additional is True:
            return lambda _x: True
        sub = self.compile(additional)
        return lambda x: not isinstance(x, dict) or all(sub(x[key]) for key in extras(x))

    def _array(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        items = schema.get("items")
        if isinstance(items, Mapping):
            item = self.compile(items)
            checks.append(lambda x: not isinstance(x, list) or all(item(v) for v in x))
        elif isinstance(items, list):
            positional = [self.compile(sub) for sub in items]
            checks.append(
                lambda x: (
                    not isinstance(x, list) or all(check(v) for check, v in zip(positional, x))
                )
            )
            additional = schema.get("additionalItems", True)
            count = len(positional)
            if additional is False:
                checks.append(lambda x: not isinstance(x, list) or len(x) <= count)
            elif isinstance(additional, Mapping):
                extra = self.compile(additional)
                checks.append(lambda x: not isinstance(x, list) or all(extra(v) for v in x[count:]))
        elif items is not None:
            raise _Unsupported("items")
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None:
            checks.append(lambda x: not isinstance(x, list) or len(x) >= low)
        if high is not None:
            checks.append(lambda x: not isinstance(x, list) or len(x) <= high)
        return checks

    def _string(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None:
            checks.append(lambda x: not isinstance(x, str) or len(x) >= low)
        if high is not None:
            checks.append(lambda x: not isinstance(x, str) or len(x) <= high)
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            checks.append(lambda x: not isinstance(x, str) or pattern.search(x) is not None)
        return checks

    def _number(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        if "minimum" in schema:
            low = schema["minimum"]
            if schema.get("exclusiveMinimum", False):
                checks.append(lambda x: not _is_number(x) or x > low)
            else:
                checks.append(lambda x: not _is_number(x) or x >= low)
        if "maximum" in schema:
            high = schema["maximum"]
            if schema.get("exclusiveMaximum", False):
                checks.append(lambda x: not _is_number(x) or x < high)
            else:
                checks.append(lambda x: not _is_number(x) or x <= high)
        if "multipleOf" in schema:
            factor = schema["multipleOf"]
            checks.append(lambda x: not _is_number(x) or _multiple(x, factor))
        return checks

    def _combinators(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        for keyword in ("allOf", "anyOf", "oneOf"):
            subs = schema.get(keyword)
            if subs is None:
                continue
            if not isinstance(subs, Sequence) or isinstance(subs, str) or not subs:
                raise _Unsupported(keyword)
            compiled = [self.compile(sub) for sub in subs]
            checks.append(_combine(keyword, compiled))
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda x: not negated(x))
        return checks


def _combine(keyword: str, compiled: list[Check]) -> Check:
    """``allOf``, ``anyOf`` or ``oneOf`` over compiled subschemas."""
    if keyword == "allOf":
        return _all(compiled)
    if keyword == "anyOf":
        return lambda x: any(check(x) for check in compiled)
    return lambda x: sum(1 for check in compiled if check(x)) == 1


def _multiple(value: Any, factor: Any) -> bool:
    """jsonschema's ``multipleOf``: float division for float factors, else modulo."""
    if isinstance(factor, float):
        quotient = value / factor
        try:
            return bool(int(quotient) == quotient)
        except OverflowError:
            return bool((Fraction(value) / Fraction(factor)).denominator == 1)
    return not value % factor
