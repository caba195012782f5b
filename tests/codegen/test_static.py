"""Generated packages pass ruff (check and format) and ``mypy --strict``, and type-check in use.

One mypy run covers every generated package plus a usage module whose ``assert_type`` calls and
``# type: ignore[...]`` comments (strict mode reports unused ones) pin down what users see: the
typed ``connect``, the send overloads, the listener and wait types.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

USAGE = """\
from __future__ import annotations

import datetime
from concurrent.futures import Future
from typing import Any, Callable, Union

from typing_extensions import assert_type

from gen_clashes import DefaultApiWebSocketClient as ClashesClient
from gen_features import DefaultApiWebSocketClient, models
from gen_recursive import Branch, DefaultApiWebSocketClient as RecursiveClient
from wsapi_client.codegen.runtime import TypedExpectation


def features(url: str) -> None:
    client = DefaultApiWebSocketClient.connect(url, timeout=1.0)
    assert_type(client, DefaultApiWebSocketClient)
    now = datetime.datetime.now(datetime.timezone.utc)
    order = models.Order(id="x", placed_at=now, status=models.Status.OPEN, legs=[])
    assert_type(client.place_order(order), Future[None])
    sent = client.place_order(id="x", placed_at=now, status=models.Status.OPEN, legs=[])
    assert_type(sent, Future[None])
    assert_type(client.wait_for_order_placed(5), models.Order)
    shape = client.wait_for_draw(where=lambda s: s.kind == "sq")
    assert_type(shape, Union[models.Circle, models.Square])
    assert_type(client.expect_echo(), TypedExpectation[models.Everything])
    assert_type(client.expect_echo().result(1.0), models.Everything)
    unlisten = client.on_order_placed(lambda o: print(o.placed_at.isoformat()))
    assert_type(unlisten, Callable[[], None])
    client.on_ping(lambda: None)
    assert_type(client.ping(), Future[None])
    assert_type(client.wait_for_ping(1.0), None)
    assert_type(client.wait_for_anything(), Any)
    assert_type(client.wait_for_tags(), list[str])
    client.place_order(id=1)  # type: ignore[call-overload]
    client.place_order({"id": "x"})  # type: ignore[call-overload]
    client.on_order_placed(lambda o: o.nope)  # type: ignore[attr-defined]
    client.ping(order)  # type: ignore[call-arg]
    order.id = "changed"  # type: ignore[misc]


def recursive(url: str) -> None:
    client = RecursiveClient.connect(url)
    client.graft(trunk=Branch(label="a", left=Branch(label="b")))
    client.watch_orchard(orchard="o")
    client.watch_orchard()  # type: ignore[call-overload]
    assert_type(client.wait_for_report_growth().species, str)


def clashes(url: str) -> None:
    client = ClashesClient.connect(url)
    assert_type(client.send_(text="x"), Future[None])
    assert_type(client.send("send", {"text": "x"}), Future[None])
    client.on_error_(lambda message: print(message.text))
"""


def _tool_env(extra_paths: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    env["MYPYPATH"] = os.pathsep.join([str(REPO), *extra_paths])
    env.pop("PYTHONPATH", None)
    return env


def test_generated_packages_pass_ruff(generated: dict[str, Path]) -> None:
    """The repository's own rule set (wsapi_client counts as third-party there, as for users)."""
    folders = [str(f) for f in generated.values()]
    base = [sys.executable, "-m", "ruff"]
    config = ["--config", str(REPO / "ruff.toml"), "--no-cache"]
    third_party = ["--config", 'lint.isort.known-third-party = ["wsapi_client"]']
    check = subprocess.run(
        [*base, "check", *config, *third_party, *folders],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [*base, "format", "--check", *config, *folders],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_generated_packages_pass_mypy_strict(generated: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "usage_check.py").write_text(USAGE, encoding="utf-8")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    packages = [arg for name in generated for arg in ("-p", name)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--strict",
            "--follow-imports=silent",  # the runtime is checked on its own
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            *packages,
            "-m",
            "usage_check",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_tool_env([*(str(f) for f in generated.values()), str(tmp_path)]),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def _python39() -> str:
    """A working Python 3.9 interpreter, or "" (pyenv shims exist but may not run)."""
    candidates = [
        sys.executable if sys.version_info[:2] == (3, 9) else "",
        "/root/.pyenv/versions/3.9.18/bin/python3.9",
        shutil.which("python3.9") or "",
    ]
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 9))"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except OSError:
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return ""


@pytest.fixture(scope="module")
def python39() -> str:
    found = _python39()
    if not found:
        pytest.skip("no Python 3.9 interpreter here")
    return found


def test_generated_code_compiles_on_python_39(
    generated: dict[str, Path], tmp_path: Path, python39: str
) -> None:
    files = [str(p) for folder in generated.values() for p in sorted(folder.rglob("*.py"))]
    result = subprocess.run(
        [python39, "-m", "py_compile", *files],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
