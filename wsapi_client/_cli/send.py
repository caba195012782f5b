"""``wsapi-client send URL ROUTE [PAYLOAD]``: send one message, optionally print a reply."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wsapi_client._cli._common import add_connection_arguments, auth_from_args, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument("route", help="the route (operation) to send, e.g. SayHello")
    parser.add_argument(
        "payload", nargs="?", help="the payload as JSON (omit for bodyless operations)"
    )
    parser.add_argument(
        "--wait-for",
        metavar="ROUTE",
        help="wait for a message of this route after sending, and print it",
    )


def run(args: argparse.Namespace) -> int:
    from concurrent.futures import TimeoutError as FutureTimeoutError

    from wsapi_client import ConnectError, WsApiError
    from wsapi_client._cli._common import parse_payload
    from wsapi_client.protocol import NO_PAYLOAD

    try:
        payload = parse_payload(args.payload) if args.payload is not None else NO_PAYLOAD
        _send(args, payload)
    except (ConnectError, TimeoutError, FutureTimeoutError) as exc:  # unreachable, or no answer
        print(f"wsapi-client send: {exc}", file=sys.stderr)
        return 1
    except (WsApiError, ValueError) as exc:  # the message or the options were wrong
        print(f"wsapi-client send: {exc}", file=sys.stderr)
        return 2
    return 0


def _send(args: argparse.Namespace, payload: Any) -> None:
    from wsapi_client import WebSocketClient

    client = WebSocketClient.connect(
        args.url, spec=args.spec, auth=auth_from_args(args), timeout=args.timeout
    )
    try:
        if args.wait_for:
            with client.expect(args.wait_for) as reply:
                client.send(args.route, payload).result(args.timeout)
            print_json(args.wait_for, reply.result(args.timeout))
        else:
            client.send(args.route, payload).result(args.timeout)
    finally:
        client.close(timeout=args.timeout)
