"""The ``wsapi-client`` command line: a thin dispatcher over subcommands.

Each subcommand lives in ``wsapi_client._cli.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; those modules import their heavy dependencies (the emulator, the code
generator) only inside ``run``, so ``--help`` stays fast and works without the extras.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Optional

__all__ = ["main"]

SUBCOMMANDS: dict[str, str] = {
    "demo": "Run the demo: a client against the local emulator, with a forced drop and reconnect.",
    "serve": "Serve a model on loopback with the local API Gateway emulator.",
    "generate": "Generate a typed client package from a model.",
    "listen": "Connect and print every message received.",
    "send": "Connect, send one message and exit.",
}


def build_parser() -> argparse.ArgumentParser:
    from wsapi_client import __version__

    parser = argparse.ArgumentParser(
        prog="wsapi-client",
        description="Typed, synchronous client, code generator and local emulator for "
        "WebSocket APIs modelled with x-async.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in SUBCOMMANDS.items():
        module = importlib.import_module(f"wsapi_client._cli.{name}")
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the process exit code (130 after Ctrl-C)."""
    from wsapi_client._cli._logging import configure

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        return 130
    if args.command is None:
        parser.print_help()
        return 2
    restore = configure(args.verbose)
    try:
        code: int = args._module.run(args)
    except KeyboardInterrupt:
        return 130
    finally:
        restore()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
