"""The installed distribution's metadata: one version, each requirement once, the license, the
entry points the documentation promises."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import wsapi_client

ROOT = Path(__file__).resolve().parents[1]


def test_version_comes_from_the_package() -> None:
    assert metadata.version("wsapi-client") == wsapi_client.__version__


def test_no_requirement_is_listed_twice() -> None:
    requirements = metadata.requires("wsapi-client") or []
    assert requirements
    repeated = sorted({r for r in requirements if requirements.count(r) > 1})
    assert not repeated, f"Requires-Dist repeated: {repeated}"


def test_extras_that_gather_others_name_them() -> None:
    requirements = metadata.requires("wsapi-client") or []
    assert 'wsapi-client[codegen,emulator,iam]; extra == "dev"' in requirements
    assert 'wsapi-client[codegen,emulator,iam,speedups,yaml]; extra == "all"' in requirements


def test_license_file_matches_the_metadata() -> None:
    meta = metadata.metadata("wsapi-client")
    assert meta["License"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_entry_points() -> None:
    points = metadata.distribution("wsapi-client").entry_points
    scripts = {e.name: e.value for e in points if e.group == "console_scripts"}
    plugins = {e.name: e.value for e in points if e.group == "pytest11"}
    assert scripts["wsapi-client"] == "wsapi_client.cli:main"
    assert plugins["wsapi_client"] == "wsapi_client.emulator.pytest_plugin"
