"""Draft-04 validators for the request models: jsonschema-rs, with jsonschema as the fallback.

Why jsonschema-rs: the emulator validates every message on the connection's own thread, so
the validator is on the hot path.  jsonschema's ``Draft4Validator`` costs 10-40 µs for a PDK
request model; the hand-written compiler this replaced, 1-3 µs; jsonschema-rs, 0.2 µs
(measured here on Python 3.9 with 0.34 and 3.11 with 0.61), and it is maintained and complete.
``tests/emulator/test_draft4.py`` checks it against jsonschema, the referee, on generated
instances.  Two differences are handled here: ``format`` is not checked (jsonschema does not
check it by default, nor, as far as documented, does API Gateway), and an integer beyond 64 bits
(which older jsonschema-rs releases cannot convert) is validated by jsonschema instead.  Remote
references are never fetched.  Without jsonschema-rs (no wheel for the platform) every
message goes to jsonschema: correct, slower.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Callable, Optional

__all__ = ["Validator", "compile_validator"]

Validator = Callable[[Any], bool]


def _refuse_remote(uri: str) -> Any:
    raise ValueError(f"the emulator does not fetch remote schema references ({uri})")


def _fast(schema: Mapping[str, Any]) -> Optional[Validator]:
    """jsonschema-rs's ``is_valid``, or None when it is not installed or refuses the schema."""
    try:
        module: Any = importlib.import_module("jsonschema_rs")
    except ImportError:
        return None
    try:
        check: Validator = module.Draft4Validator(
            dict(schema), validate_formats=False, retriever=_refuse_remote
        ).is_valid
    except Exception:  # a schema it cannot compile: jsonschema decides
        return None
    return check


def compile_validator(schema: Mapping[str, Any]) -> Validator:
    """``is_valid`` for a draft-04 schema (checked first: SchemaError names a bad model)."""
    # Imported by name: jsonschema ships no type information of its own.
    draft4: Any = importlib.import_module("jsonschema").Draft4Validator
    draft4.check_schema(schema)
    referee: Validator = draft4(schema).is_valid
    fast = _fast(schema)
    if fast is None:
        return referee

    def is_valid(instance: Any) -> bool:
        try:
            return fast(instance)
        except (ValueError, OverflowError):  # e.g. "int too big to convert" before 0.40
            return referee(instance)

    return is_valid
