"""``wsapi-client listen URL``: print every message received, one JSON object a line."""

from __future__ import annotations

import argparse
import queue
import sys
from typing import Any

from wsapi_client._cli._common import add_connection_arguments, auth_from_args, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        help="only print messages of this route (repeatable; default: every route)",
    )
    parser.add_argument("--count", type=int, help="exit after this many messages")
    parser.add_argument(
        "--subscribe",
        nargs=2,
        metavar=("ROUTE", "PAYLOAD"),
        action="append",
        default=[],
        help="send this message on every (re)connect, e.g. to subscribe (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    from wsapi_client import ConnectError, ConnectionState, ErrorEvent, WebSocketClient, WsApiError
    from wsapi_client._cli._common import parse_payload

    inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    wanted = set(args.route)

    def on_message(route: str, payload: Any) -> None:
        if not wanted or route in wanted:
            inbox.put((route, payload))

    def on_error(event: ErrorEvent) -> None:
        print(f"error ({event.kind}): {event.message}", file=sys.stderr, flush=True)

    try:
        client = WebSocketClient(args.url, spec=args.spec, auth=auth_from_args(args))
    except (WsApiError, ValueError) as exc:
        print(f"wsapi-client listen: {exc}", file=sys.stderr)
        return 2
    client.on_any_message(on_message)
    client.on_error(on_error)
    try:
        subscriptions = [(route, parse_payload(text)) for route, text in args.subscribe]
    except ValueError as exc:
        print(f"wsapi-client listen: {exc}", file=sys.stderr)
        return 2

    def subscribe() -> None:
        for route, payload in subscriptions:
            client.send(route, payload)

    if subscriptions:
        client.with_reconnect(subscribe)
    try:
        client.start(timeout=args.timeout)
    except ConnectError as exc:
        print(f"wsapi-client listen: {exc}", file=sys.stderr)
        return 1
    print(f"listening on {args.url.split('?', 1)[0]} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    seen = 0
    try:
        while args.count is None or seen < args.count:
            try:
                route, payload = inbox.get(timeout=0.5)
            except queue.Empty:
                if client.state is ConnectionState.FAILED:
                    print("wsapi-client listen: the client gave up reconnecting", file=sys.stderr)
                    return 1
                continue
            print_json(route, payload)
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        client.close(timeout=2)
    return 0
