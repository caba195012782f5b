"""The ``wsapi_gateway`` pytest fixture, exercised in pytest subprocesses as a user would."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from wsapi_client.emulator import SAMPLE_API

ROOT = Path(__file__).resolve().parents[2]

USER_TEST = """
import json
import websocket

def test_talks_to_the_gateway(wsapi_gateway):
    ws = websocket.create_connection(wsapi_gateway.url, timeout=5)
    ws.send(json.dumps({"route": "SayHello", "payload": {"name": "plugin"}}))
    [message] = wsapi_gateway.wait_for_messages(1)
    assert message.payload == {"name": "plugin"}
    ws.close()
"""


def _entry_point_installed() -> bool:
    """True when the package is installed, so pytest loads the plugin by itself."""
    found: Any = importlib.metadata.entry_points()
    group = (
        found.select(group="pytest11") if hasattr(found, "select") else found.get("pytest11", [])
    )
    return any(ep.name == "wsapi_client" for ep in group)


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    plugin = [] if _entry_point_installed() else ["-p", "wsapi_client.emulator.pytest_plugin"]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *plugin,
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            *args,
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_spec_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    result = run_pytest(tmp_path, f"--wsapi-spec={SAMPLE_API}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_spec_from_the_ini_file_relative_to_rootdir(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(SAMPLE_API.read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\nwsapi_spec = api.json\n")
    (tmp_path / "test_user.py").write_text(USER_TEST)
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fixtures_can_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(f"""
        import pytest

        @pytest.fixture
        def wsapi_spec():
            return {str(SAMPLE_API)!r}

        @pytest.fixture
        def wsapi_gateway_options():
            return {{"stage": "test", "idle_timeout": 30}}
    """)
    )
    (tmp_path / "test_user.py").write_text(
        USER_TEST
        + textwrap.dedent("""
        def test_options_apply(wsapi_gateway):
            assert wsapi_gateway.url.endswith("/test")
            assert wsapi_gateway.idle_timeout == 30
    """)
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_missing_spec_is_explained(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    result = run_pytest(tmp_path)
    assert result.returncode == 1
    assert "--wsapi-spec" in result.stdout


def test_without_the_extra_the_fixture_skips(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.modules['websockets'] = None  # as if the extra were not installed\n"
    )
    (tmp_path / "test_user.py").write_text(USER_TEST)
    result = run_pytest(tmp_path, f"--wsapi-spec={SAMPLE_API}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "wsapi-client[emulator]" in result.stdout


def test_marker_binds_a_users_lambda_code(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(
        textwrap.dedent("""
        import json, os
        import boto3

        def say_hello(event, context):
            ctx = event["requestContext"]
            api = boto3.client("apigatewaymanagementapi")  # endpoint from the environment
            name = json.loads(event["body"])["payload"]["name"]
            data = {"route": "SendGreeting", "payload": {"greeting": f"Hello {name}"}}
            api.post_to_connection(ConnectionId=ctx["connectionId"], Data=json.dumps(data))
    """)
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent("""
        import pytest
        from wsapi_client import WebSocketClient

        @pytest.mark.wsapi_lambda(handlers="handlers")
        def test_my_handler(wsapi_gateway, wsapi_spec, monkeypatch):
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
            with WebSocketClient.connect(wsapi_gateway.url, spec=wsapi_spec) as client:
                with client.expect("SendGreeting") as reply:
                    client.send("SayHello", {"name": "plugin"})
                assert reply.result(timeout=5) == {"greeting": "Hello plugin"}

        @pytest.mark.wsapi_lambda(handler="typo")
        def test_typo_is_named(wsapi_gateway):
            pass
    """)
    )
    result = run_pytest(tmp_path, f"--wsapi-spec={SAMPLE_API}", "--strict-markers")
    # "1 passed, 1 warning, 1 error" where boto3 warns about the Python version.
    assert re.search(r"\b1 passed\b.*\b1 error\b", result.stdout), result.stdout + result.stderr
    assert "wsapi_lambda takes authorizer, handlers, identity_sources, not handler" in result.stdout
