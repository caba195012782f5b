"""``wsapi-client generate``: typed client packages generated from a model.

:func:`generate` writes a package; :func:`render` returns its files as text. Both need the
``codegen`` extra (Jinja2), which is imported on first use: generated packages import
:mod:`wsapi_client.codegen.runtime` at run time and must not pay for the generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsapi_client.codegen._generator import DEFAULT_CLIENT_NAME, generate, render

__all__ = ["DEFAULT_CLIENT_NAME", "generate", "render"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from wsapi_client.codegen import _generator

        return getattr(_generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
