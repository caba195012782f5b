"""Binding a project's Lambda handlers to a gateway by name: for the CLI and the pytest plugin.

The convention, for a handler module (``--handlers myproject.handlers``):

- a ``HANDLERS`` mapping, if the module has one: route key, operation name, ``$connect``,
  ``$disconnect`` or ``$default`` -> ``handler(event, context)``; it is the whole binding;
- otherwise, per route, a function named after the operation in snake_case (``SayHello`` ->
  ``say_hello``, as generated Python names are), plus ``connect``, ``disconnect`` and
  ``default`` for the special routes.  Routes without a function stay unbound.

An authorizer is named ``module:attribute`` (``myproject.auth:handler``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional, Union

from wsapi_client.emulator._lambda import LambdaHandler

if TYPE_CHECKING:
    from wsapi_client.emulator._gateway import LocalGateway
    from wsapi_client.spec._model import ApiSpec

__all__ = ["bind", "gateway_for_test", "handlers_from_module", "lambda_gateway", "load_callable"]

_BINDING_KEYS = frozenset({"handlers", "authorizer", "identity_sources"})

_SPECIAL = {"connect": "$connect", "disconnect": "$disconnect", "default": "$default"}

HandlersSource = Union[str, ModuleType, Mapping[str, LambdaHandler]]
"""A module, a module's dotted name, or a mapping route -> handler."""


def _module(source: Union[str, ModuleType]) -> ModuleType:
    if isinstance(source, ModuleType):
        return source
    try:
        return importlib.import_module(source)
    except ImportError as exc:
        raise ValueError(f"cannot import the handler module {source!r}: {exc}") from exc


def load_callable(target: str) -> LambdaHandler:
    """``package.module:attribute`` -> that callable; ValueError naming what is wrong."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected MODULE:FUNCTION (myproject.auth:handler), not {target!r}")
    value: Any = _module(module_name)
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no attribute {attribute!r}") from None
    if not callable(value):
        raise ValueError(f"{target} is not callable")
    handler: LambdaHandler = value
    return handler


def handlers_from_module(source: HandlersSource, spec: ApiSpec) -> dict[str, LambdaHandler]:
    """The route -> handler binding a module declares (see the module docstring)."""
    if isinstance(source, Mapping):
        return dict(source)
    module = _module(source)
    declared = getattr(module, "HANDLERS", None)
    if declared is not None:
        if not isinstance(declared, Mapping):
            raise ValueError(f"{module.__name__}.HANDLERS must be a mapping route -> handler")
        return dict(declared)
    found: dict[str, LambdaHandler] = {}
    for op in spec.operations:
        if not op.direction.client_sends:
            continue
        fn = getattr(module, op.python_name, None)
        if callable(fn):
            found.setdefault(op.route_key, fn)
    for name, route in _SPECIAL.items():
        fn = getattr(module, name, None)
        if callable(fn):
            found[route] = fn
    if not found:
        names = [op.python_name for op in spec.operations if op.direction.client_sends]
        raise ValueError(
            f"{module.__name__} binds no route: define HANDLERS, or functions named "
            f"{', '.join([*names, *_SPECIAL])}"
        )
    return found


def bind(
    gateway: LocalGateway,
    *,
    handlers: Optional[HandlersSource] = None,
    authorizer: Optional[Union[str, LambdaHandler]] = None,
    identity_sources: Sequence[str] = (),
) -> LocalGateway:
    """Bind handlers (and an authorizer) to ``gateway``; returns it."""
    if handlers is not None:
        for route, fn in handlers_from_module(handlers, gateway.spec).items():
            gateway.lambda_route(route, fn)
    if authorizer is not None:
        function = load_callable(authorizer) if isinstance(authorizer, str) else authorizer
        gateway.set_authorizer(function, identity_sources)
    elif identity_sources:
        raise ValueError("identity sources need an authorizer")
    return gateway


def lambda_gateway(
    spec: Any,
    *,
    handlers: Optional[HandlersSource] = None,
    authorizer: Optional[Union[str, LambdaHandler]] = None,
    identity_sources: Sequence[str] = (),
    **options: Any,
) -> LocalGateway:
    """A ``LocalGateway`` (not started) hosting a project's Lambda code.

    ``export_env`` defaults to True when there are handlers, so those that build their
    ``apigatewaymanagementapi`` client from ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``
    reach the emulator.
    """
    from wsapi_client.emulator._gateway import LocalGateway

    options.setdefault("export_env", handlers is not None)
    gateway = LocalGateway(spec, **options)
    return bind(
        gateway, handlers=handlers, authorizer=authorizer, identity_sources=identity_sources
    )


def gateway_for_test(
    spec: Any, options: Mapping[str, Any], bindings: Mapping[str, Any]
) -> LocalGateway:
    """The pytest fixture's gateway (not started): ``options`` plus a ``wsapi_lambda`` marker's
    ``bindings`` (``handlers``, ``authorizer``, ``identity_sources``)."""
    unknown = set(bindings) - _BINDING_KEYS
    if unknown:
        allowed = ", ".join(sorted(_BINDING_KEYS))
        raise ValueError(f"wsapi_lambda takes {allowed}, not {', '.join(sorted(unknown))}")
    return lambda_gateway(spec, **{**options, **bindings})
