"""Options shared by the subcommands that connect to a WebSocket API (listen, send)."""

from __future__ import annotations

import argparse
import json
from typing import Any, Optional

__all__ = ["add_connection_arguments", "auth_from_args", "parse_payload", "print_json"]


def add_connection_arguments(
    parser: argparse.ArgumentParser,
    *,
    timeout_default: Optional[float] = 10.0,
    timeout_help: str = "seconds to wait (default: %(default)s)",
) -> None:
    parser.add_argument(
        "url", help="the WebSocket URL, e.g. wss://abc.execute-api.us-west-2.amazonaws.com/default"
    )
    parser.add_argument("--spec", help="the model (.api.json or OpenAPI YAML) to validate against")
    parser.add_argument(
        "--iam",
        action="store_true",
        help="sign the handshake with SigV4 (botocore's default credential chain)",
    )
    parser.add_argument("--region", help="AWS region for --iam (default: from the host name)")
    parser.add_argument(
        "--presign", action="store_true", help="with --iam: sign in the query string"
    )
    parser.add_argument("--timeout", type=float, default=timeout_default, help=timeout_help)


def auth_from_args(args: argparse.Namespace) -> Any:
    """The auth provider the options ask for; ``ImportError`` with the extra to install."""
    from wsapi_client import IamAuth, NoAuth

    if args.iam:
        return IamAuth(region=args.region, presign=args.presign)
    return NoAuth()


def parse_payload(text: str) -> Any:
    """The payload argument as JSON; ``ValueError`` naming what was wrong (exit code 2)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"payload is not valid JSON: {exc}") from None


def print_json(route: str, payload: Any) -> None:
    print(json.dumps({"route": route, "payload": payload}, ensure_ascii=False), flush=True)
