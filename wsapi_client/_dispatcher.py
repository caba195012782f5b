"""The inbound side of a client: the listener registry, route plans and validators, the waiters
(expectations and streams), and error and state events.

Threads and locks. Route messages are dispatched on a reader thread under ``_dispatch_lock``
(re-entrant), so route listeners run one at a time even while a rotation has two connections
reading. Error and state events are delivered under ``_events_lock`` instead, on whichever
thread raised them (the supervisor, a reader, the thread calling ``close()``): a slow route
listener delays other route listeners only, never a state or error event. Lock order:
``_dispatch_lock`` before ``_events_lock`` (a route listener that raises reports an error
event); nothing holding ``_events_lock`` takes ``_dispatch_lock``. The registry has its own
lock for changes and is read without one (:mod:`wsapi_client._listeners`). ``_waiters`` (a dict
used as an ordered set) is changed and copied atomically, without a lock.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from wsapi_client._body import check_inbound_body
from wsapi_client._errors import ClientClosedError, ValidationError
from wsapi_client._events import ConnectionState, ErrorEvent, ErrorKind
from wsapi_client._listeners import Registry, Unlisten
from wsapi_client._validation import Validator, compile_validator
from wsapi_client.protocol import (
    GatewayError,
    Ignored,
    Malformed,
    RouteMessage,
    classify,
    split_routed,
)
from wsapi_client.spec import ApiSpec, Operation

if TYPE_CHECKING:
    from wsapi_client._waiters import Waiter

__all__ = ["ANY", "ERROR", "RECONNECT", "STATE", "Dispatcher"]

_PLAN_CACHE = 256  # inbound routes remembered when the model does not know them

# Registry keys that are not routes (routes are str).
ANY = ("any",)
ERROR = ("error",)
STATE = ("state",)
RECONNECT = ("reconnect",)

Plan = tuple[str, Optional[Operation], Optional[Validator]]


class Decoder(Protocol):
    def __call__(self, op: Operation, payload: Any) -> Any: ...


class Dispatcher:
    """Listeners and events of one client; see the module docstring."""

    def __init__(
        self,
        spec: Optional[ApiSpec],
        *,
        name: str,
        logger: logging.Logger,
        decode: Decoder,
        plain_decode: bool,
        validate: bool,
    ) -> None:
        self.spec = spec
        self.name = name
        self._log = logger
        self._decode = decode
        self._plain_decode = plain_decode  # the decode hook only validates (not generated)
        self.validate = validate
        self.registry: Registry[Any] = Registry()
        self._dispatch_lock = threading.RLock()
        self._events_lock = threading.RLock()
        self._validators: dict[str, Validator] = {}
        self._plans: dict[str, Plan] = {}
        self._needles: dict[str, bytes] = {}
        self._waiters: dict[Waiter, None] = {}  # every open expectation and stream
        self.blocked: dict[Any, None] = {}  # expectations a thread is blocked on right now
        self._closed: Optional[ClientClosedError] = None
        self.messages_in = 0
        self.bytes_in = 0
        self.ignored = 0

    # -- routes ----------------------------------------------------------------------------

    def inbound_key(self, route: str) -> str:
        """The listeners' key for ``route``. With a model, ``route`` may be the route key, the
        PDK server route, the operationId or the TypeScript client's name; a route the server
        can never send is refused, naming the inbound routes."""
        if not isinstance(route, str) or not route:
            raise ValidationError(f"route must be a non-empty string, got {route!r}")
        spec = self.spec
        if spec is None:
            return route
        op = spec.lookup(route)
        if op is None or not op.direction.server_sends:
            inbound = ", ".join(
                sorted(o.route_key for o in spec.operations if o.direction.server_sends)
            )
            what = "unknown route" if op is None else "a client_to_server operation (only sent)"
            raise ValidationError(
                f"{route!r} is {what}; the server can send: {inbound or 'nothing'}",
                route=op.route_key if op is not None else None,
            )
        return op.route_key

    def outbound_operation(self, route: str) -> Optional[Operation]:
        """The operation ``send(route)`` means, or None without a model."""
        if not isinstance(route, str) or not route:
            raise ValidationError(f"route must be a non-empty string, got {route!r}")
        spec = self.spec
        if spec is None:
            return None
        op = spec.lookup(route)
        if op is None:
            known = ", ".join(
                sorted(o.route_key for o in spec.operations if o.direction.client_sends)
            )
            raise ValidationError(f"unknown route {route!r}; the model's routes are: {known}")
        if not op.direction.client_sends:
            raise ValidationError(
                f"{op.route_key} is a server_to_client operation; the client cannot send it",
                route=op.route_key,
            )
        return op

    def validator(self, op: Operation) -> Validator:
        validator = self._validators.get(op.route_key)
        if validator is None:
            assert self.spec is not None
            assert op.request_schema is not None
            validator = compile_validator(op.request_schema, self.spec.schemas)
            self._validators[op.route_key] = validator
        return validator

    def needle(self, route: str) -> bytes:
        """``route`` as it appears in a frame: a JSON string (escapes included)."""
        needle = self._needles.get(route)
        if needle is None:
            needle = json.dumps(route).encode()
            if len(self._needles) < _PLAN_CACHE:
                self._needles[route] = needle
        return needle

    # -- waiters -----------------------------------------------------------------------------

    def add_waiter(self, waiter: Waiter) -> None:
        """Track ``waiter`` so that the client's end ends it; at once if it has ended."""
        self._waiters[waiter] = None
        closed = self._closed
        if closed is not None:
            self._waiters.pop(waiter, None)
            waiter._client_closed(closed)

    def remove_waiter(self, waiter: Waiter) -> None:
        self._waiters.pop(waiter, None)

    def close_waiters(self, error: ClientClosedError) -> None:
        """The client closed or failed: end every open wait with ``error``."""
        self._closed = error
        for waiter in tuple(self._waiters):
            self._waiters.pop(waiter, None)
            waiter._client_closed(error)

    def arrived(self, data: bytes) -> None:
        """Bytes were just read: start waking the threads blocked on an expectation whose
        route they contain, before the frames are decoded and dispatched.

        Waking a sleeping thread takes long (20-25 us on a virtual machine whose idle CPUs
        halt), so doing it now overlaps that with decoding and dispatching instead of adding
        to it. The woken thread goes back to sleep if its message was not among them.
        Expectations with a ``where`` filter are nudged only when no other thread is blocked:
        several threads each waiting for their own reply on one route would otherwise all be
        woken by every reply.
        """
        blocked = self.blocked
        if blocked:
            alone = len(blocked) == 1
            for expectation in tuple(blocked):
                if (alone or expectation._where is None) and expectation._needle in data:
                    expectation._nudge()

    # -- dispatch (reader threads) ---------------------------------------------------------

    def dispatch(self, text: str) -> None:
        routed = split_routed(text)
        if routed is not None:
            with self._dispatch_lock:
                self._dispatch_route(routed[0], routed[1], text)
            return
        message = classify(text)
        if isinstance(message, RouteMessage):
            with self._dispatch_lock:
                self._dispatch_route(message.route, message.payload, message.raw)
        elif isinstance(message, GatewayError):
            self.emit_error(
                message.message,
                "gateway",
                connection_id=message.connection_id,
                request_id=message.request_id,
                raw=message.raw,
            )
        elif isinstance(message, Malformed):
            self.emit_error(message.message, message.kind, raw=message.raw)
        elif isinstance(message, Ignored):
            self.ignored += 1

    def _inbound_plan(self, route: str) -> Plan:
        """For an inbound route: the listeners' key, its operation, and the validator to run
        when the payload needs no more than validating (None: call the decode hook)."""
        plan = self._plans.get(route)
        if plan is None:
            op = self.spec.find(route) if self.spec is not None else None
            key = op.route_key if op is not None else route
            validator: Optional[Validator] = None
            if op is not None and self._plain_decode and op.has_body and op.request_schema:
                validator = self.validator(op)
            plan = (key, op, validator)
            if op is not None or len(self._plans) < _PLAN_CACHE:
                self._plans[route] = plan
        return plan

    def _dispatch_route(self, route: str, payload: Any, raw: str) -> None:
        key, op, validator = self._inbound_plan(route)
        snapshot = self.registry.snapshot
        entries = snapshot(key)
        if entries:
            try:
                if op is None:
                    decoded = payload
                elif validator is not None and self.validate:
                    check_inbound_body(op, payload)
                    validator(payload)
                    decoded = payload
                else:
                    decoded = self._decode(op, payload)
            except Exception as exc:
                self.emit_error(
                    f"{key}: received payload does not fit the model: {exc}",
                    "decode",
                    raw=raw,
                    route=key,
                    exception=exc,
                )
            else:
                for entry in entries:
                    try:
                        entry.callback(decoded)
                    except Exception as exc:
                        self._listener_failed(entry.callback, key, exc)
        for entry in snapshot(ANY):
            try:
                entry.callback(key, payload)
            except Exception as exc:
                self._listener_failed(entry.callback, key, exc)

    def _listener_failed(self, callback: Callable[..., Any], route: str, exc: Exception) -> None:
        self._log.error("%s: listener %r for %s raised", self.name, callback, route, exc_info=exc)
        self.emit_error(
            f"listener for {route} raised {type(exc).__name__}: {exc}",
            "listener",
            route=route,
            exception=exc,
        )

    # -- events (any thread) -----------------------------------------------------------------

    def emit_error(
        self,
        message: str,
        kind: ErrorKind,
        *,
        connection_id: Optional[str] = None,
        request_id: Optional[str] = None,
        raw: Optional[str] = None,
        route: Optional[str] = None,
        exception: Optional[BaseException] = None,
    ) -> None:
        entries = self.registry.snapshot(ERROR)
        if not entries:
            if kind in ("gateway", "parse", "unexpected", "decode", "too_large"):
                self._log.warning("%s: %s", self.name, message)
            return
        event = ErrorEvent(
            message=message,
            kind=kind,
            connection_id=connection_id,
            request_id=request_id,
            raw=raw,
            route=route,
            exception=exception,
        )
        with self._events_lock:
            for entry in entries:
                self.call_safely(entry.callback, (event,), "error listener")

    def emit_state(self, state: ConnectionState) -> None:
        entries = self.registry.snapshot(STATE)
        if entries:
            with self._events_lock:
                for entry in entries:
                    self.call_safely(entry.callback, (state,), "state listener")

    def call_safely(self, callback: Callable[..., Any], args: tuple[Any, ...], what: str) -> None:
        try:
            callback(*args)
        except Exception as exc:
            self._log.error("%s: %s %r raised", self.name, what, callback, exc_info=exc)
            if what != "error listener":
                self.emit_error(
                    f"{what} raised {type(exc).__name__}: {exc}", "listener", exception=exc
                )

    def add(self, key: Any, callback: Callable[..., Any]) -> Unlisten:
        return self.registry.add(key, callback)
