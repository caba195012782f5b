"""Which optional accelerators are in play, and a switch to hide them for a pure-Python run.

websocket-client picks up wsaccel (masking, UTF-8 checks) by itself when it is installed, and the
SDK may use orjson/wsaccel through its ``speedups`` extra, so every run reports what was present.
With ``WSAPI_BENCH_NO_SPEEDUPS=1`` (``run.py --no-speedups``) both are hidden before anything
imports them, in the harness and in the footprint children alike.
"""

from __future__ import annotations

import importlib.util
import os
import sys

ACCELERATORS = ("wsaccel", "orjson")
HIDDEN = os.environ.get("WSAPI_BENCH_NO_SPEEDUPS") == "1"

if HIDDEN:
    for _name in ACCELERATORS:
        sys.modules[_name] = None  # type: ignore[assignment]  # makes `import` raise ImportError


def present() -> dict[str, bool]:
    """Accelerator name -> importable in this process."""
    if HIDDEN:
        return dict.fromkeys(ACCELERATORS, False)
    return {name: importlib.util.find_spec(name) is not None for name in ACCELERATORS}
