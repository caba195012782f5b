"""User code type-checks against the installed package, editable installs included.

mypy finds an installed package through site-packages and path entries in ``.pth`` files; it does
not run import hooks, so an editable install made with setuptools' finder hook is invisible to it
and user code silently degrades to ``Any``. These tests run mypy as a user would (outside the
repository, no ``MYPYPATH`` to the source) on code with deliberate type errors and check that
mypy reports them, which it can only do if it found ``wsapi_client``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wsapi_client.codegen import generate

MODEL = Path(__file__).resolve().parent / "data" / "specs" / "recursive.json"

DYNAMIC = """\
from __future__ import annotations

from wsapi_client import WebSocketClient, __version__

version: int = __version__
client = WebSocketClient.connect("ws://127.0.0.1:1", timeout="soon")
"""

GENERATED = """\
from __future__ import annotations

from arborist_client import DefaultApiWebSocketClient

client = DefaultApiWebSocketClient.connect("ws://127.0.0.1:1")
client.watch_orchard(orchard=1)
species: int = client.wait_for_report_growth().species
"""


def test_mypy_strict_finds_the_installed_package(tmp_path: Path) -> None:
    (tmp_path / "dynamic_use.py").write_text(DYNAMIC, encoding="utf-8")
    (tmp_path / "generated_use.py").write_text(GENERATED, encoding="utf-8")
    generated = tmp_path / "generated"
    generate(MODEL, generated, package="arborist_client")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    env["MYPYPATH"] = str(generated)  # the user's generated package, as if installed beside
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "dynamic_use.py",
            "generated_use.py",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    out = result.stdout + result.stderr
    assert "Cannot find implementation or library stub" not in out, out
    assert "dynamic_use.py:5: error: Incompatible types in assignment" in out, out
    assert 'dynamic_use.py:6: error: Argument "timeout"' in out, out
    assert "generated_use.py:6: error: No overload variant" in out, out
    assert "generated_use.py:7: error: Incompatible types in assignment" in out, out
    assert result.returncode == 1, out
