"""``wsapi-client generate SPEC -o OUT --package NAME``: write a typed client package."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wsapi-client generate``."""
    parser.add_argument("spec", metavar="SPEC", help="the API model (.json, .yaml or .yml)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="folder to write pyproject.toml and the package into (created if missing)",
    )
    parser.add_argument(
        "--package", required=True, metavar="NAME", help="Python package name (myapi_client)"
    )
    parser.add_argument(
        "--client-name",
        default="DefaultApiWebSocketClient",
        metavar="NAME",
        help="name of the client class (default: %(default)s)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite files in OUT even if wsapi-client did not generate them",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the package; 0 on success, 1 when the model or the options are unusable."""
    from wsapi_client._errors import SpecError

    try:
        from wsapi_client.codegen import generate

        written = generate(
            args.spec,
            args.output,
            package=args.package,
            client_name=args.client_name,
            force=args.force,
        )
    except (SpecError, ValueError, OSError, ImportError) as exc:
        print(f"wsapi-client generate: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files for package {args.package} into {args.output}")
    print(f"install with: pip install {_as_path(args.output)}")
    return 0


def _as_path(output: str) -> str:
    """``gen_x`` -> ``./gen_x``: pip reads a bare name as a package to fetch from the index."""
    import os
    import shlex

    if not os.path.isabs(output) and not output.startswith(("./", "../", "." + os.sep)):
        output = "./" + output
    return shlex.quote(output)
