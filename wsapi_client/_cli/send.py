"""``wsapi-client send URL ROUTE [PAYLOAD]``: send one message, optionally print a reply."""

from __future__ import annotations

import argparse
import queue
import sys
from concurrent import futures
from typing import TYPE_CHECKING, Any, Union

from wsapi_client._cli._common import add_connection_arguments, auth_from_args, print_json
from wsapi_client._signal_waits import get_in_slices, wait_in_slices

if TYPE_CHECKING:
    from wsapi_client import ErrorEvent, WebSocketClient
    from wsapi_client._cli._interrupt import Interrupts


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
    parser.add_argument(
        "--linger",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="without --wait-for: how long to wait for an error frame answering the message "
        "before exiting (default: %(default)s)",
    )


class GatewayAnswered(Exception):
    """The gateway answered the message with an error frame (Forbidden, Invalid request body)."""

    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(event.message)
        self.event = event


def run(args: argparse.Namespace) -> int:
    """0 once sent (and answered, with ``--wait-for``); 1 when the API cannot be reached, the
    gateway answers with an error frame, or nothing arrives in time; 2 for a message or options
    the client refuses."""
    from concurrent.futures import TimeoutError as FutureTimeoutError

    from wsapi_client import ConnectError, WsApiError
    from wsapi_client._cli._common import parse_payload
    from wsapi_client.protocol import NO_PAYLOAD

    if args.linger < 0:
        print(f"wsapi-client send: --linger must be >= 0, got {args.linger}", file=sys.stderr)
        return 2
    try:
        payload = parse_payload(args.payload) if args.payload is not None else NO_PAYLOAD
        _send(args, payload)
    except GatewayAnswered as answer:
        print(f"wsapi-client send: the gateway answered: {answer}", file=sys.stderr)
        print(answer.event.raw or answer.event.message, flush=True)
        return 1
    except (ConnectError, TimeoutError, FutureTimeoutError) as exc:  # unreachable, or no answer
        print(f"wsapi-client send: {exc}", file=sys.stderr)
        return 1
    except (WsApiError, ValueError, ImportError) as exc:  # the message or the options were wrong
        print(f"wsapi-client send: {exc}", file=sys.stderr)
        return 2
    return 0


def _send(args: argparse.Namespace, payload: Any) -> None:
    from wsapi_client import WebSocketClient
    from wsapi_client._cli._interrupt import Interrupts

    interrupts = Interrupts()
    restore = interrupts.install()
    try:
        with interrupts.deferred():
            client = WebSocketClient(args.url, spec=args.spec, auth=auth_from_args(args))
        try:
            _exchange(args, payload, client, interrupts)
        finally:
            with interrupts.deferred():
                client.close(timeout=args.timeout)
    finally:
        restore()


def _exchange(
    args: argparse.Namespace, payload: Any, client: WebSocketClient, interrupts: Interrupts
) -> None:
    """Send, then wait for the reply (``--wait-for``) or an error frame (``--linger``)."""
    answers: queue.SimpleQueue[Union[ErrorEvent, tuple[str, Any]]] = queue.SimpleQueue()

    def on_error(event: ErrorEvent) -> None:
        if event.kind == "gateway":  # an error frame; failed connections surface as ConnectError
            answers.put(event)

    with interrupts.deferred():
        client.on_error(on_error)
        if args.wait_for:
            client.on(args.wait_for, lambda reply: answers.put((args.wait_for, reply)))
    client.start(timeout=args.timeout)
    with interrupts.deferred():
        sent = client.send(args.route, payload)
    # In slices, as every wait here: a Ctrl-C that arrives as a wait begins is seen in 0.25 s.
    wait_in_slices(lambda seconds: bool(futures.wait([sent], seconds).done), args.timeout)
    sent.result(0)  # its error, or TimeoutError while still pending
    if args.wait_for:
        answer = _next(answers, args.timeout)
        if answer is None:
            raise TimeoutError(f"no {args.wait_for} message within {args.timeout:g} s")
    else:
        answer = _next(answers, args.linger)
    if answer is None:
        return
    if isinstance(answer, tuple):
        print_json(*answer)
        return
    raise GatewayAnswered(answer)


def _next(
    answers: queue.SimpleQueue[Union[ErrorEvent, tuple[str, Any]]], timeout: float
) -> Union[ErrorEvent, tuple[str, Any], None]:
    """The first answer within ``timeout`` seconds, or None."""
    try:
        return get_in_slices(answers, timeout)
    except queue.Empty:
        return None
