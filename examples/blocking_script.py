"""A plain blocking script: connect, subscribe, say hello, wait for the greeting, close.

No threads, no event loop of your own: every call below blocks until it is done or its timeout
ends. It speaks the sample model that ships with wsapi-client (``SayHello`` answered by
``SendGreeting``); point ``--spec`` at your own ``.api.json`` for your API.

    python examples/blocking_script.py                          # starts a local emulator itself
    python examples/blocking_script.py ws://127.0.0.1:PORT/default
    WSAPI_URL=wss://abc.execute-api.eu-west-1.amazonaws.com/prod \\
        python examples/blocking_script.py --iam                # a deployed API, signed with SigV4

Exit status 0 when the greeting arrived, 1 when it did not (the error is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, Optional

from wsapi_client import AuthProvider, IamAuth, NoAuth, WebSocketClient, WsApiError


def main(argv: Optional[list[str]] = None) -> int:
    """Parse the arguments, run the conversation, and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "url",
        nargs="?",
        default=os.environ.get("WSAPI_URL"),
        help="WebSocket URL of the stage (default: $WSAPI_URL, else an emulator)",
    )
    parser.add_argument("--spec", default=None, help="the API model (default: the sample model)")
    parser.add_argument("--name", default="Jack", help="the name to say hello with")
    parser.add_argument("--iam", action="store_true", help="sign the handshake with SigV4")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for each step")
    args = parser.parse_args(argv)

    from wsapi_client.emulator import SAMPLE_API  # the model file; needs no extra to import

    spec = args.spec or str(SAMPLE_API)
    auth: AuthProvider = IamAuth() if args.iam else NoAuth()
    with _endpoint(args.url, spec) as url:
        try:
            return _converse(url, spec, auth, args.name, args.timeout)
        except WsApiError as exc:  # ConnectError, AuthError, WaitTimeout, ValidationError...
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1


def _converse(url: str, spec: str, auth: AuthProvider, name: str, timeout: float) -> int:
    """The whole conversation: each step blocks, and the ``with`` block closes the client."""
    with WebSocketClient.connect(url, spec=spec, auth=auth, timeout=timeout) as client:
        client.on_error(
            lambda event: print(f"error event: {event.kind}: {event.message}", file=sys.stderr)
        )
        # Sent now and again after every reconnect, once the queue is flushed.
        client.with_reconnect(lambda: client.send("SubscribeToNotifications", {"topic": "news"}))

        with client.expect("SendGreeting") as reply:  # registered before the send
            client.send("SayHello", {"name": name})
        greeting: Any = reply.result(timeout=timeout)  # WaitTimeout if nothing came
        print(greeting["greeting"])
        client.flush(timeout=timeout)  # every queued message written
    return 0  # closed: 1000, threads joined


@contextlib.contextmanager
def _endpoint(url: Optional[str], spec: str) -> Iterator[str]:
    """``url`` as given, or the URL of a local emulator that answers ``SayHello``."""
    if url:
        yield url
        return
    from wsapi_client.emulator import LocalGateway  # needs the emulator extra

    with LocalGateway(spec) as gw:

        @gw.route("SayHello")
        def say_hello(connection_id: str, payload: Any) -> None:
            gw.post_to_connection(
                connection_id, "SendGreeting", {"greeting": f"Hello {payload['name']}!"}
            )

        yield gw.url


if __name__ == "__main__":
    sys.exit(main())
