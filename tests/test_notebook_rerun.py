"""Re-running the notebook's connecting cells leaves one gateway and one client, not two."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from wsapi_client import ConnectionState, WebSocketClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.ipynb"


def _cells() -> list[str]:
    document = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in document["cells"] if c["cell_type"] == "code"]


def _run(namespace: dict[str, Any], source: str) -> None:
    exec(compile(source, str(NOTEBOOK), "exec"), namespace)


def _cell(cells: list[str], needle: str) -> str:
    (found,) = [c for c in cells if needle in c]
    return found


def test_rerunning_the_gateway_and_connect_cells() -> None:
    pytest.importorskip("websockets")
    cells = _cells()
    gateway_cell = _cell(cells, "LocalGateway(SAMPLE_API).start()")
    connect_cell = _cell(cells, "WebSocketClient.connect(")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        _run(namespace, cells[0])  # the imports
        _run(namespace, gateway_cell)
        first_gateway = namespace["gw"]
        _run(namespace, gateway_cell)
        assert "stopped" in repr(first_gateway)
        assert "serving" in repr(namespace["gw"])
        _run(namespace, connect_cell)
        first_client = namespace["client"]
        _run(namespace, connect_cell)
        assert first_client.state is ConnectionState.CLOSED
        assert namespace["client"].state is ConnectionState.CONNECTED
        supervisors = [t for t in threading.enumerate() if t.name == "wsapi-notebook-supervisor"]
        assert len(supervisors) == 1
        gateway = namespace["gw"]
        gateway.wait_until(lambda: len(gateway.connections) == 1, timeout=5)  # the old one closed
    finally:
        client = namespace.get("client")
        if isinstance(client, WebSocketClient):
            client.close(timeout=2)
        if namespace.get("gw") is not None:
            namespace["gw"].stop()
