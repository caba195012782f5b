"""``wsapi-client serve SPEC``: the local API Gateway emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Callable, Optional

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


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (exit 130) or SIGTERM (exit 0); 2 for a bad model or setup."""
    try:
        from wsapi_client.emulator import LocalGateway
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
    try:
        gateway = LocalGateway(
            spec,
            host=args.host,
            port=args.port,
            callback_port=args.callback_port,
            stage=args.stage,
            iam_keys=dict(args.iam_key),
            idle_timeout=args.idle_timeout,
            max_connection_age=args.max_age,
            validate=not args.no_validate,
            log_frames=not args.quiet,
        ).start()
    except (OSError, ValueError) as exc:
        print(f"wsapi-client serve: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    received: list[int] = []
    restore = _stop_on_signals(stop, received)
    try:
        routes = ", ".join(op.route_key for op in spec.operations if op.direction.client_sends)
        print(f"Serving {spec.title} {spec.version} (routes: {routes or 'none'})")
        print(f"WebSocket URL: {gateway.url}")
        print(f"Callback URL:  {gateway.callback_url}")
        if args.iam_key:
            print(f"IAM: SigV4 required ({len(args.iam_key)} key(s))")
        print("Press Ctrl-C to stop.", flush=True)
        stop.wait()
    finally:
        gateway.stop()
        restore()
    print("Stopped.", flush=True)
    return 130 if signal.SIGINT in received else 0


def _stop_on_signals(stop: threading.Event, received: list[int]) -> Callable[[], None]:
    """Turn SIGINT and SIGTERM into ``stop.set()`` (noting which in ``received``); returns a
    callable restoring the handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
