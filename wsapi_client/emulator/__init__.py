"""A local API Gateway for WebSocket APIs: :class:`LocalGateway` (needs the ``emulator`` extra).

``pip install 'wsapi-client[emulator]'`` installs what it needs (websockets, jsonschema).
Names are imported on first use, so the pytest plugin in this package loads without the extra
and a missing dependency is reported by name when the emulator is actually used.

The parts, one job each: ``_gateway`` (``LocalGateway``: configuration, lifecycle, the integration
registry, sending), ``_handshakes`` (accept and ``$connect``), ``_messages`` (routing,
integrations, ``$disconnect``), ``_connection`` (one client connection and its thread), ``_routes``
and ``_validator`` (route table, request models), ``_recording`` and ``_faults`` (what tests see
and break), ``_management`` behind ``_backend`` (the ``@connections`` API), ``_sigv4`` (IAM),
``_lambda``, ``_integrations``, ``_invoker`` and ``_authorizer`` (hosting Lambda code),
``_bindings`` (binding it by name, for the CLI and the pytest plugin), ``_throttle``, ``_logs``,
``_records``, ``_ids``.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsapi_client.emulator._bindings import lambda_gateway
    from wsapi_client.emulator._gateway import Handler, LocalGateway
    from wsapi_client.emulator._invoker import InvocationInfo, current_invocation
    from wsapi_client.emulator._lambda import LambdaContext
    from wsapi_client.emulator._records import (
        ConnectRequest,
        Deny,
        DisconnectRecord,
        GoneError,
        HandshakeRecord,
        HeaderMap,
        ReceivedMessage,
        ThrottledError,
    )

SAMPLE_API = Path(__file__).with_name("sample_api.json")
"""The bundled sample model of ``wsapi-client demo`` (PDK default operations plus SayHello)."""

_EXPORTS: dict[str, str] = {
    "ConnectRequest": "wsapi_client.emulator._records",
    "Deny": "wsapi_client.emulator._records",
    "DisconnectRecord": "wsapi_client.emulator._records",
    "GoneError": "wsapi_client.emulator._records",
    "Handler": "wsapi_client.emulator._gateway",
    "HandshakeRecord": "wsapi_client.emulator._records",
    "HeaderMap": "wsapi_client.emulator._records",
    "InvocationInfo": "wsapi_client.emulator._invoker",
    "LambdaContext": "wsapi_client.emulator._lambda",
    "LocalGateway": "wsapi_client.emulator._gateway",
    "ReceivedMessage": "wsapi_client.emulator._records",
    "ThrottledError": "wsapi_client.emulator._records",
    "current_invocation": "wsapi_client.emulator._invoker",
    "lambda_gateway": "wsapi_client.emulator._bindings",
}

__all__ = [
    "SAMPLE_API",
    "ConnectRequest",
    "Deny",
    "DisconnectRecord",
    "GoneError",
    "Handler",
    "HandshakeRecord",
    "HeaderMap",
    "InvocationInfo",
    "LambdaContext",
    "LocalGateway",
    "ReceivedMessage",
    "ThrottledError",
    "current_invocation",
    "lambda_gateway",
    "missing_dependencies",
]

_REQUIRED = ("websockets", "jsonschema")


def missing_dependencies() -> list[str]:
    """The emulator's dependencies that are not installed (empty when it can run)."""
    return [name for name in _REQUIRED if importlib.util.find_spec(name) is None]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'wsapi_client.emulator' has no attribute {name!r}")
    missing = missing_dependencies()
    if missing:
        raise ImportError(
            f"wsapi_client.emulator needs {', '.join(missing)}: "
            "install the emulator extra, pip install 'wsapi-client[emulator]'"
        )
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
