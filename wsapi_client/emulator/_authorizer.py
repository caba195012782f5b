"""REQUEST authorizers on ``$connect``: identity sources and the returned policy's verdict.

API Gateway checks the identity sources first (a missing one answers 401 and the function is
not called), then calls the authorizer and evaluates its IAM policy for
``execute-api:Invoke`` on the ``$connect`` method ARN: an explicit Deny wins, else an Allow must
match, else the request is denied (403).  A result that is not a policy answers 500.
``principalId`` and ``context`` become ``requestContext.authorizer`` of the connection's events,
with the context's numbers and booleans as strings, as REST proxy events carry them (the
WebSocket guide does not say; docs/emulator.md lists it as the emulator's reading).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Optional

import attrs

from wsapi_client.emulator._lambda import LambdaHandler
from wsapi_client.emulator._records import HeaderMap

__all__ = [
    "AuthorizerResultError",
    "RequestAuthorizer",
    "evaluate_policy",
    "parse_identity_source",
]

_HEADER = "route.request.header."
_QUERY = "route.request.querystring."
_ACTION = "execute-api:Invoke"


class AuthorizerResultError(ValueError):
    """The authorizer returned something that is not a valid policy result (500)."""


def parse_identity_source(source: str) -> tuple[str, str]:
    """``route.request.header.Auth`` -> ``("header", "Auth")``; ValueError naming the forms."""
    for prefix, kind in ((_HEADER, "header"), (_QUERY, "querystring")):
        if source.startswith(prefix) and len(source) > len(prefix):
            return kind, source[len(prefix) :]
    raise ValueError(
        f"identity source {source!r} is not route.request.header.NAME or "
        "route.request.querystring.NAME"
    )


def _as_tuple(sources: Iterable[str]) -> tuple[str, ...]:
    if isinstance(sources, str):
        return (sources,)
    return tuple(sources)


@attrs.frozen
class RequestAuthorizer:
    """A Lambda REQUEST authorizer and its identity sources (none: always called)."""

    function: LambdaHandler
    identity_sources: tuple[str, ...] = attrs.field(converter=_as_tuple, default=())
    name: str = "authorizer"

    def __attrs_post_init__(self) -> None:
        for source in self.identity_sources:
            parse_identity_source(source)

    def missing_source(self, headers: HeaderMap, query: Sequence[tuple[str, str]]) -> Optional[str]:
        """The first identity source absent or empty in the handshake, or None."""
        names = {name for name, value in query if value}
        for source in self.identity_sources:
            kind, name = parse_identity_source(source)
            if kind == "header":
                if not headers.get(name):
                    return source
            elif name not in names:
                return source
        return None


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` exactly one; case-sensitive."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.DOTALL)


def _matches(globs: Any, value: str, *, case_insensitive: bool = False) -> bool:
    if isinstance(globs, str):
        globs = [globs]
    if not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
        raise AuthorizerResultError("Action and Resource must be strings or lists of strings")
    if case_insensitive:
        value = value.lower()
        globs = [g.lower() for g in globs]
    return any(_pattern(g).fullmatch(value) for g in globs)


def evaluate_policy(result: Any, method_arn: str) -> tuple[bool, dict[str, Any]]:
    """``(allowed, requestContext.authorizer)`` for an authorizer's return value.

    Raises :class:`AuthorizerResultError` for a result the service would not accept: not an
    object, no string ``principalId``, no ``policyDocument`` with a ``Statement`` list, a
    statement without ``Effect`` Allow/Deny, or a ``context`` value that is not a string,
    number or boolean.
    """
    if not isinstance(result, Mapping):
        raise AuthorizerResultError(f"the result is a {type(result).__name__}, not an object")
    principal = result.get("principalId")
    if not isinstance(principal, str):
        raise AuthorizerResultError("principalId is missing or not a string")
    document = result.get("policyDocument")
    if not isinstance(document, Mapping):
        raise AuthorizerResultError("policyDocument is missing or not an object")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise AuthorizerResultError("policyDocument.Statement is missing or not a list")
    allowed = denied = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise AuthorizerResultError("a Statement is not an object")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise AuthorizerResultError(f"Effect {effect!r} is not Allow or Deny")
        # Action names are case-insensitive in IAM; resources (ARNs) are not.
        if not _matches(statement.get("Action", []), _ACTION, case_insensitive=True):
            continue
        if not _matches(statement.get("Resource", []), method_arn):
            continue
        if effect == "Deny":
            denied = True
        else:
            allowed = True
    context = result.get("context") or {}
    if not isinstance(context, Mapping):
        raise AuthorizerResultError("context is not an object")
    authorizer: dict[str, Any] = {"principalId": principal}
    for key, value in context.items():
        if not isinstance(value, (str, int, float, bool)) or value is None:
            raise AuthorizerResultError(
                f"context[{key!r}] is a {type(value).__name__}: only strings, numbers and "
                "booleans are allowed"
            )
        # Non-string values reach the integration as strings (true -> "true", 3 -> "3").
        authorizer[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return allowed and not denied, authorizer
