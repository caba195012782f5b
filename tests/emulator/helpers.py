"""Helpers for the emulator's tests: raw websocket-client I/O and small models."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Callable

import websocket

from wsapi_client.emulator import LocalGateway

GatewayFactory = Callable[..., LocalGateway]
Connector = Callable[..., websocket.WebSocket]


def send_json(ws: websocket.WebSocket, message: Any) -> None:
    ws.send(json.dumps(message))


def recv_json(ws: websocket.WebSocket) -> Any:
    return json.loads(ws.recv())


def recv_close(ws: websocket.WebSocket) -> tuple[int, str]:
    """Read until the server's close frame; its code and reason (1005 for an empty frame)."""
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=False)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            data = frame.data
            if len(data) < 2:
                return 1005, ""
            return struct.unpack("!H", data[:2])[0], data[2:].decode("utf-8")


def spec_dict(operations: dict[str, tuple[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    """A minimal .api.json: route -> (direction, request schema or None)."""
    paths: dict[str, Any] = {}
    for route, (direction, schema) in operations.items():
        op: dict[str, Any] = {
            "operationId": route,
            "responses": {"200": {"description": "ok"}},
            "x-async": {"direction": direction},
        }
        if schema is not None:
            op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        paths[f"/{route}"] = {"post": op}
    return {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


SPECS = Path(__file__).resolve().parents[1] / "data" / "specs"
