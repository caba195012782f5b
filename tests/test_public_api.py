"""The public surface: every DESIGN name importable from ``wsapi_client`` itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

import wsapi_client

DESIGN_NAMES = [
    "WebSocketClient", "IamAuth", "CustomAuth", "NoAuth", "ReconnectPolicy", "QueuePolicy",
    "Keepalive", "ConnectionState", "ErrorEvent", "WsApiError", "ConnectError", "AuthError",
    "ClientClosedError", "MessageTooLargeError", "ValidationError", "QueueFullError",
    "MessageExpiredError", "SpecError",
]  # fmt: skip


def test_every_design_name_is_exported() -> None:
    for name in DESIGN_NAMES:
        assert name in wsapi_client.__all__
        assert getattr(wsapi_client, name).__name__ == name


def test_all_matches_the_lazy_export_table() -> None:
    assert sorted(wsapi_client.__all__) == sorted([*wsapi_client._EXPORTS, "__version__"])
    for name in wsapi_client.__all__:
        assert hasattr(wsapi_client, name)


def test_errors_derive_from_wsapi_error() -> None:
    for name in DESIGN_NAMES:
        value = getattr(wsapi_client, name)
        if name.endswith("Error") and name != "WsApiError":
            assert issubclass(value, wsapi_client.WsApiError)


def test_importing_the_spec_package_does_not_import_the_runtime() -> None:
    code = "import sys, wsapi_client.spec; print('websocket' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_is_a_clear_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nope"):
        wsapi_client.Nope  # noqa: B018


def test_reserved_names_cover_every_public_client_attribute() -> None:
    from wsapi_client.spec._naming import RESERVED_METHOD_NAMES

    client = wsapi_client.WebSocketClient("ws://127.0.0.1:9/x")
    try:
        public = {n for n in dir(client) if not n.startswith("_")}
        assert public <= RESERVED_METHOD_NAMES, public - RESERVED_METHOD_NAMES
    finally:
        client.disconnect()


def test_public_attributes_list_every_attribute_init_sets() -> None:
    """codegen escapes these names; the list must match what a real client has."""
    from wsapi_client._client import PUBLIC_ATTRIBUTES

    client = wsapi_client.WebSocketClient("ws://127.0.0.1:9/x")
    try:
        assert {n for n in vars(client) if not n.startswith("_")} == PUBLIC_ATTRIBUTES
    finally:
        client.disconnect()
