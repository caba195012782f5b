"""Fixtures for the generator's tests: every model generated once per session and importable.

Each model becomes package ``gen_<file stem>`` (``gen_recursive``, ``gen_features``) in a
session temporary folder, which is put on ``sys.path`` so the tests import the generated code
in-process, exactly as an installed package would be imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from wsapi_client.codegen import generate
from wsapi_client.spec import ApiSpec, load_spec

HERE = Path(__file__).resolve().parent
OWN_MODELS = HERE / "models"
TEST_MODELS = HERE.parent / "data" / "specs"


def model_files() -> list[Path]:
    """The suite's models (``tests/data/specs``) and the generator's own, in a stable order."""
    found = [
        p
        for folder in (TEST_MODELS, OWN_MODELS)
        for p in sorted(folder.iterdir())
        if p.suffix in (".json", ".yaml", ".yml")
    ]
    assert found, f"no models found in {TEST_MODELS} or {OWN_MODELS}"
    return found


def package_name(model: Path) -> str:
    """``inline-bodies.yaml`` -> ``gen_inline_bodies``."""
    return "gen_" + model.stem.replace("-", "_").replace(".", "_")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Package name -> the folder generated for it (``pyproject.toml`` and the package)."""
    root = tmp_path_factory.mktemp("generated")
    folders: dict[str, Path] = {}
    for model in model_files():
        name = package_name(model)
        folder = root / name
        generate(model, folder, package=name)
        folders[name] = folder
    added = [str(folder) for folder in folders.values()]
    sys.path[:0] = added
    importlib.invalidate_caches()
    yield folders
    for entry in added:
        sys.path.remove(entry)
    for module in [m for m in sys.modules if m.split(".")[0] in folders]:
        del sys.modules[module]


@pytest.fixture(scope="session")
def features(generated: dict[str, Path]) -> ModuleType:
    """The package generated from ``models/features.yaml`` (every schema feature)."""
    return importlib.import_module("gen_features")


@pytest.fixture(scope="session")
def features_models(features: ModuleType) -> ModuleType:
    """``gen_features.models``."""
    return importlib.import_module("gen_features.models")


@pytest.fixture(scope="session")
def features_spec() -> ApiSpec:
    """``models/features.yaml``, loaded."""
    return load_spec(OWN_MODELS / "features.yaml")
