"""The names a model's operation answers to (ApiSpec.lookup), and the client's use of them for
listeners: the route key, the PDK server route, the operationId and the TypeScript client's
name all mean the same operation; nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsapi_client import ValidationError, WebSocketClient
from wsapi_client.spec import load_spec

SPECS = Path(__file__).resolve().parents[1] / "data" / "specs"


@pytest.mark.parametrize(
    ("spec", "names", "route"),
    [
        ("directions.yaml", ["heartbeat", "ping", "Ping"], "heartbeat"),
        (
            "directions.yaml",
            ["unnamed-route", "unnamedRoutePost", "UnnamedRoutePost"],
            "unnamed-route",
        ),
        (
            "handlers.yaml",
            ["TypeScriptAlpha", "TypescriptAlpha", "typescriptAlpha"],
            "TypeScriptAlpha",
        ),
    ],
)
def test_every_alias_finds_the_operation(spec: str, names: list[str], route: str) -> None:
    api = load_spec(SPECS / spec)
    for name in names:
        op = api.lookup(name)
        assert op is not None, name
        assert op.route_key == route


@pytest.mark.parametrize("name", ["nope", "HEARTBEAT", "heartbeat ", ""])
def test_anything_else_finds_nothing(name: str) -> None:
    assert load_spec(SPECS / "directions.yaml").lookup(name) is None


def test_a_client_listens_by_any_alias_and_refuses_outbound_routes() -> None:
    client = WebSocketClient("ws://127.0.0.1:9/unused", spec=SPECS / "directions.yaml")
    try:
        for name in ("station-report", "stationReport", "StationReport", "ping"):
            client.on(name, print)()  # registered, then unlistened
        with pytest.raises(ValidationError, match="client_to_server") as info:
            client.on("submitReading", print)
        assert "station-report" in str(info.value)
    finally:
        client.close()
