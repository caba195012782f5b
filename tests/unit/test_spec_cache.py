"""A model file given as a path is loaded once and shared by every client until it changes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from wsapi_client import SpecError, WebSocketClient

SAMPLE = Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json"


def test_the_same_model_file_is_loaded_once_until_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    shutil.copy(SAMPLE, path)
    first = WebSocketClient("ws://127.0.0.1:9/x", spec=str(path))
    second = WebSocketClient("ws://127.0.0.1:9/x", spec=path)
    assert first.spec is second.spec
    document = json.loads(path.read_text())
    document["info"]["title"] = "Changed"
    path.write_text(json.dumps(document))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = WebSocketClient("ws://127.0.0.1:9/x", spec=str(path))
    assert third.spec is not first.spec
    assert third.spec is not None
    assert third.spec.title == "Changed"
    assert WebSocketClient("ws://127.0.0.1:9/x", spec=str(path)).spec is third.spec
    for client in (first, second, third):
        client.close()


def test_json_text_and_missing_files_are_not_cached(tmp_path: Path) -> None:
    text = SAMPLE.read_text()
    one = WebSocketClient("ws://127.0.0.1:9/x", spec=text)
    two = WebSocketClient("ws://127.0.0.1:9/x", spec=text)
    assert one.spec is not two.spec
    with pytest.raises(SpecError, match="cannot read the model"):
        WebSocketClient("ws://127.0.0.1:9/x", spec=str(tmp_path / "missing.json"))
