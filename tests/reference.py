"""Reference data kept outside the repository (the PDK's models in ``../shared/specs``).

The suite stands alone on its own data under ``tests/data``; the few tests that compare it with
outside reference data skip, naming what is missing, when that data is absent, and fail instead
when ``WSAPI_REQUIRE_SHARED=1`` (set by ``.ci/run``, where the data must be present).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir(*parts: str) -> Path:
    """``$WSAPI_SHARED_DIR/<parts>`` (default ``<repo>/../shared``), or skip/fail if absent."""
    root = Path(os.environ.get("WSAPI_SHARED_DIR") or REPO.parent / "shared")
    folder = root.joinpath(*parts)
    if not folder.is_dir():
        reason = (
            f"reference data {folder} is missing (the PDK's models, kept beside the repository;"
            " set WSAPI_SHARED_DIR to its folder)"
        )
        if os.environ.get("WSAPI_REQUIRE_SHARED") == "1":
            pytest.fail(f"{reason}, and WSAPI_REQUIRE_SHARED=1 requires it")
        pytest.skip(reason)
    return folder
