"""``wsapi-client serve SPEC``: the local API Gateway emulator in the foreground until Ctrl-C.

With ``--handlers`` and ``--authorizer`` it hosts the project's Lambda code (see
``wsapi_client.emulator._bindings`` for the naming convention); what the handlers print or log
is labelled with the connection and request id.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from wsapi_client._cli._signals import StopSignals

__all__ = ["add_arguments", "parse_iam_key", "run"]


def parse_iam_key(value: str) -> tuple[str, str]:
    """``KEY:SECRET`` -> ``(key, secret)``; the secret may itself contain ``:``."""
    key, sep, secret = value.partition(":")
    if not sep or not key or not secret:
        raise argparse.ArgumentTypeError("expected ACCESS_KEY:SECRET_KEY")
    return key, secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wsapi-client serve``."""
    parser.add_argument("spec", metavar="SPEC", help="the API model (.json, .yaml or .yml)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="WebSocket port (default: any free port)"
    )
    parser.add_argument(
        "--callback-port",
        type=int,
        default=0,
        help="port of the @connections management API (default: any free port)",
    )
    parser.add_argument("--stage", default="default", help="stage name (default: %(default)s)")
    parser.add_argument(
        "--iam-key",
        action="append",
        type=parse_iam_key,
        default=[],
        metavar="KEY:SECRET",
        help="require SigV4-signed handshakes and management calls; repeatable",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="close idle connections with 1001 after this long (default: %(default)s)",
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=7200.0,
        metavar="SECONDS",
        help="close every connection with 1001 at this age (default: %(default)s)",
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="do not validate request bodies against the model",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="log connections only, not every message",
    )
    lambdas = parser.add_argument_group("Lambda code")
    lambdas.add_argument(
        "--handlers",
        metavar="MODULE",
        help="bind handler(event, context) functions from MODULE: its HANDLERS mapping, or "
        "functions named after the operations in snake_case plus connect/disconnect/default",
    )
    lambdas.add_argument(
        "--authorizer",
        metavar="MODULE:FUNCTION",
        help="a REQUEST authorizer guarding $connect",
    )
    lambdas.add_argument(
        "--identity-source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="route.request.header.NAME or route.request.querystring.NAME; repeatable",
    )
    lambdas.add_argument(
        "--integration-timeout",
        type=float,
        default=29.0,
        metavar="SECONDS",
        help="answer 'Endpoint request timed out' after this long (default: %(default)s)",
    )
    lambdas.add_argument(
        "--concurrent-handlers",
        action="store_true",
        help="run a connection's handlers concurrently, as the service may",
    )
    lambdas.add_argument(
        "--mock-integrations",
        action="store_true",
        help='answer every message of a route without handler with {"statusCode":200}, '
        "like the PDK's MockIntegrations.mockAll()",
    )
    lambdas.add_argument(
        "--region", default=None, help="region of ARNs and events; IAM then checks it too"
    )
    limits = parser.add_argument_group("throttling (off by default)")
    limits.add_argument(
        "--connection-rate",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="refuse handshakes above this rate with 429",
    )
    limits.add_argument(
        "--message-rate",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="answer messages and management posts above this rate with 429",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (exit 130) or SIGTERM (exit 0); 2 for a bad model or setup."""
    try:
        from wsapi_client.emulator import lambda_gateway
    except ImportError as exc:
        print(f"wsapi-client serve: {exc}", file=sys.stderr)
        return 2
    from wsapi_client._errors import SpecError
    from wsapi_client.spec import load_spec

    try:
        spec = load_spec(args.spec)
    except (SpecError, OSError) as exc:
        print(f"wsapi-client serve: cannot load {args.spec}: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("wsapi_client.emulator").setLevel(logging.INFO)
    # Like `python -m`, so `--handlers myproject.handlers` imports from the project folder.
    if (args.handlers or args.authorizer) and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if args.identity_source and not args.authorizer:
        print("wsapi-client serve: --identity-source needs --authorizer", file=sys.stderr)
        return 2
    try:
        gateway = lambda_gateway(
            spec,
            handlers=args.handlers,
            authorizer=args.authorizer,
            identity_sources=args.identity_source,
            integration_timeout=args.integration_timeout,
            concurrent_handlers=args.concurrent_handlers,
            mock_integrations=args.mock_integrations,
            region=args.region,
            connection_rate=args.connection_rate,
            message_rate=args.message_rate,
            host=args.host,
            port=args.port,
            callback_port=args.callback_port,
            stage=args.stage,
            iam_keys=dict(args.iam_key),
            idle_timeout=args.idle_timeout,
            max_connection_age=args.max_age,
            validate=not args.no_validate,
            log_frames=not args.quiet,
            record_messages=False,  # a server that runs for hours keeps no copy of each message
        ).start()
    except (OSError, ValueError) as exc:
        print(f"wsapi-client serve: {exc}", file=sys.stderr)
        return 2
    from wsapi_client.emulator._logs import label_handler_output

    labelled, unlabel = label_handler_output(sys.stdout)
    real_stdout, sys.stdout = sys.stdout, labelled
    try:
        with StopSignals() as signals:
            routes = ", ".join(op.route_key for op in spec.operations if op.direction.client_sends)
            print(f"Serving {spec.title} {spec.version} (routes: {routes or 'none'})")
            print(f"WebSocket URL: {gateway.url}")
            print(f"Callback URL:  {gateway.callback_url}")
            if args.iam_key:
                print(f"IAM: SigV4 required ({len(args.iam_key)} key(s))")
            if gateway.lambda_routes:
                print(f"Lambda handlers: {', '.join(gateway.lambda_routes)}")
            if args.authorizer:
                sources = ", ".join(args.identity_source) or "no identity source"
                print(f"Authorizer: {args.authorizer} ({sources})")
            print("Press Ctrl-C to stop.", flush=True)
            received = signals.wait()
            # Inside the block: a second Ctrl-C while connections close is recorded, not raised.
            gateway.stop()
    finally:
        gateway.stop()  # idempotent; here for an exception above
        sys.stdout = real_stdout
        unlabel()
    print("Stopped.", flush=True)
    return 130 if received == signal.SIGINT else 0
