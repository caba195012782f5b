"""pytest plugin (entry point ``wsapi_client``): a ``wsapi_gateway`` fixture for users' tests.

The model comes from the ``wsapi_spec`` fixture, which by default reads the ``--wsapi-spec``
command-line option or the ``wsapi_spec`` ini setting (a path relative to the rootdir);
override the fixture to return a path, a loaded ``ApiSpec`` or a dict.  Gateway options
(``idle_timeout``, ``iam_keys``, ...) come from the ``wsapi_gateway_options`` fixture.
Lambda code to host comes from the ``wsapi_lambda`` marker
(``@pytest.mark.wsapi_lambda(handlers="myproject.handlers")``) or from the same keys in the
options.

This module imports only pytest, so it loads without the ``emulator`` extra; the fixture
then skips with a message naming the extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from wsapi_client.emulator import LocalGateway

__all__ = ["wsapi_gateway", "wsapi_gateway_options", "wsapi_spec"]

_NO_SPEC = (
    "the wsapi_gateway fixture needs a model: pass --wsapi-spec PATH, set `wsapi_spec = PATH` "
    "in the pytest ini file, or override the `wsapi_spec` fixture"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--wsapi-spec`` and the ``wsapi_spec`` ini setting."""
    group = parser.getgroup("wsapi-client")
    group.addoption(
        "--wsapi-spec",
        dest="wsapi_spec",
        default=None,
        metavar="PATH",
        help="API model (.json/.yaml) served by the wsapi_gateway fixture",
    )
    parser.addini("wsapi_spec", "API model served by the wsapi_gateway fixture", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``wsapi_lambda`` marker (bindings of Lambda code for the gateway)."""
    config.addinivalue_line(
        "markers",
        "wsapi_lambda(handlers=MODULE_OR_MAPPING, authorizer=FUNCTION_OR_'module:attr', "
        "identity_sources=[...]): the gateway fixture hosts this Lambda code",
    )


@pytest.fixture
def wsapi_spec(request: pytest.FixtureRequest) -> Any:
    """The model the ``wsapi_gateway`` fixture serves; override it to choose one in code."""
    value = request.config.getoption("wsapi_spec") or request.config.getini("wsapi_spec")
    if not value:
        pytest.fail(_NO_SPEC, pytrace=False)
    path = Path(str(value))
    if not path.is_absolute():
        path = Path(request.config.rootpath) / path
    return path


@pytest.fixture
def wsapi_gateway_options() -> dict[str, Any]:
    """Keyword arguments for ``LocalGateway`` (override to set timeouts, IAM keys, ...)."""
    return {}


@pytest.fixture
def wsapi_gateway(
    wsapi_spec: Any, wsapi_gateway_options: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[LocalGateway]:
    """A started ``LocalGateway`` serving ``wsapi_spec``; stopped (threads joined) afterwards."""
    try:
        from wsapi_client.emulator import LocalGateway  # noqa: F401 (reports a missing extra)
        from wsapi_client.emulator._bindings import gateway_for_test
    except ImportError as exc:
        pytest.skip(
            f"wsapi_gateway needs the emulator extra: pip install 'wsapi-client[emulator]' ({exc})"
        )
    marker = request.node.get_closest_marker("wsapi_lambda")
    bindings = dict(marker.kwargs) if marker is not None else {}
    with gateway_for_test(wsapi_spec, wsapi_gateway_options, bindings) as gateway:
        yield gateway
