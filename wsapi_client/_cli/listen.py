"""``wsapi-client listen URL``: print every message received, one JSON object a line."""

from __future__ import annotations

import argparse
import queue
import sys
import time
from typing import TYPE_CHECKING, Any, Union

from wsapi_client._cli._common import add_connection_arguments, auth_from_args, print_json

if TYPE_CHECKING:
    from wsapi_client import WebSocketClient

CONNECT_TIMEOUT = 10.0
"""Seconds the first connection may take when ``--timeout`` does not set a shorter limit."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(
        parser,
        timeout_default=None,
        timeout_help="stop listening after this many seconds (default: until Ctrl-C or --count)",
    )
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


class _Refused:
    """A ``--subscribe`` message the client refused (unknown route, invalid payload)."""

    def __init__(self, route: str, error: Exception) -> None:
        self.route = route
        self.error = error


def _fail(message: str, code: int) -> int:
    print(f"wsapi-client listen: {message}", file=sys.stderr, flush=True)
    return code


def run(args: argparse.Namespace) -> int:
    """0 after ``--count`` messages or ``--timeout`` seconds; 1 when the API cannot be reached
    (or ``--count`` was not reached in time); 2 for options, a model or a ``--subscribe`` the
    client refuses. Ctrl-C closes the client and exits 130 (through ``cli.main``)."""
    from wsapi_client import WebSocketClient, WsApiError
    from wsapi_client._cli._common import parse_payload
    from wsapi_client._cli._interrupt import Interrupts

    if args.count is not None and args.count < 1:
        return _fail(f"--count must be at least 1, got {args.count}", 2)
    if args.timeout is not None and args.timeout <= 0:
        return _fail(f"--timeout must be positive, got {args.timeout}", 2)
    try:
        subscriptions = [(route, parse_payload(text)) for route, text in args.subscribe]
    except ValueError as exc:
        return _fail(str(exc), 2)
    interrupts = Interrupts()
    restore = interrupts.install()
    try:
        with interrupts.deferred():
            client = WebSocketClient(args.url, spec=args.spec, auth=auth_from_args(args))
    except (WsApiError, ValueError, ImportError) as exc:
        restore()
        return _fail(str(exc), 2)
    inbox: queue.SimpleQueue[Union[tuple[str, Any], _Refused]] = queue.SimpleQueue()
    wanted = set(args.route)

    def on_message(route: str, payload: Any) -> None:
        if not wanted or route in wanted:
            inbox.put((route, payload))

    def subscribe() -> None:
        for route, payload in subscriptions:
            try:
                client.send(route, payload)
            except (WsApiError, ValueError) as exc:  # refused before anything was written
                inbox.put(_Refused(route, exc))
                return

    # Error events (gateway error frames, failed connections) reach stderr once, through the
    # library's log records and the command line's handler; no error listener repeats them.
    try:
        with interrupts.deferred():
            client.on_any_message(on_message)
            if subscriptions:
                client.with_reconnect(subscribe)
        return _listen(args, client, inbox)
    finally:
        try:
            with interrupts.deferred():
                client.close(timeout=2)
        finally:
            restore()


def _listen(
    args: argparse.Namespace,
    client: WebSocketClient,
    inbox: queue.SimpleQueue[Union[tuple[str, Any], _Refused]],
) -> int:
    """Connect, then print messages until ``--count``, ``--timeout`` or the client gives up."""
    from wsapi_client import ConnectError, ConnectionState

    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    connect_timeout = min(CONNECT_TIMEOUT, args.timeout or CONNECT_TIMEOUT)
    try:
        client.start(timeout=connect_timeout)
    except ConnectError as exc:
        return _fail(str(exc), 1)
    print(f"listening on {args.url.split('?', 1)[0]} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    seen = 0
    while args.count is None or seen < args.count:
        wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
        if wait <= 0:
            if args.count is not None:
                return _fail(f"{seen} of {args.count} messages within {args.timeout:g} s", 1)
            return 0
        try:
            item = inbox.get(timeout=wait)
        except queue.Empty:
            if client.state is ConnectionState.FAILED:
                return _fail("the client gave up reconnecting", 1)
            continue
        if isinstance(item, _Refused):
            return _fail(f"--subscribe {item.route}: {item.error}", 2)
        print_json(*item)
        seen += 1
    return 0
