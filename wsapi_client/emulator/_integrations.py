"""Lambda proxy integrations and the REQUEST authorizer of one gateway: bind, invoke, interpret.

The gateway asks this object at each point where API Gateway would call a function: the
authorizer and the ``$connect`` integration while a handshake waits, a route's integration per
message, the ``$disconnect`` integration once a connection has closed.  It builds the events,
runs the functions through the :class:`Invoker` (deadline: the integration timeout), and turns
their outcome into what the service answers.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

import attrs

from wsapi_client.emulator._authorizer import (
    AuthorizerResultError,
    RequestAuthorizer,
    evaluate_policy,
)
from wsapi_client.emulator._ids import IdSource
from wsapi_client.emulator._invoker import Invocation, InvocationInfo, Invoker
from wsapi_client.emulator._lambda import (
    ApiInfo,
    ConnectionInfo,
    ConnectResult,
    LambdaContext,
    LambdaHandler,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_event,
    read_connect_result,
)
from wsapi_client.emulator._records import HeaderMap

__all__ = ["LambdaRuntime", "Refusal"]

_log = logging.getLogger("wsapi_client.emulator.lambda")

TIMED_OUT = "Endpoint request timed out"
INTERNAL = "Internal server error"


@attrs.frozen
class Refusal:
    """A handshake answered with an HTTP error: status, JSON body and why (for the log)."""

    status: int
    message: str
    reason: str

    @property
    def body(self) -> str:
        return json.dumps({"message": self.message})


def _function_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "handler"
    module = getattr(fn, "__module__", "") or ""
    full = f"{module.rsplit('.', 1)[-1]}-{name}" if module else str(name)
    return re.sub(r"[^A-Za-z0-9_-]", "-", full)[:64]


class LambdaRuntime:
    """The Lambda functions bound to one gateway and how they are invoked."""

    def __init__(
        self, ids: IdSource, *, timeout: float, concurrent: bool, region: str, account_id: str
    ) -> None:
        self._ids = ids
        self.invoker = Invoker(timeout)
        self.concurrent = concurrent
        self.region = region
        self.account_id = account_id
        self.api: Optional[ApiInfo] = None
        self.functions: dict[str, LambdaHandler] = {}
        self.authorizer: Optional[RequestAuthorizer] = None

    @property
    def timeout(self) -> float:
        return self.invoker.timeout

    def bind(self, route_key: str, fn: LambdaHandler) -> None:
        if not callable(fn):
            raise TypeError(f"the handler of {route_key} must be callable, not {fn!r}")
        self.functions[route_key] = fn

    def get(self, route_key: str) -> Optional[LambdaHandler]:
        return self.functions.get(route_key)

    # --- invocation ----------------------------------------------------------------------

    def _context(self, fn: Callable[..., Any]) -> LambdaContext:
        return LambdaContext(
            aws_request_id=str(uuid.uuid4()),
            function_name=_function_name(fn),
            region=self.region,
            account_id=self.account_id,
            timeout=self.timeout,
        )

    def _start(
        self,
        fn: Callable[..., Any],
        event: dict[str, Any],
        *,
        connection_id: str,
        request_id: str,
        on_done: Callable[[Any, Optional[BaseException]], None],
        on_timeout: Callable[[], None],
    ) -> Invocation:
        context = self._context(fn)
        info = InvocationInfo(connection_id, request_id, context.function_name)

        def done(result: Any, error: Optional[BaseException]) -> None:
            if error is not None:
                _log.error(
                    "[%s %s] %s raised %s: %s",
                    connection_id,
                    request_id,
                    info.function_name,
                    type(error).__name__,
                    error,
                    exc_info=error,
                )
            on_done(result, error)

        def expired() -> None:
            _log.error(
                "[%s %s] %s did not return within %g s: %s",
                connection_id,
                request_id,
                info.function_name,
                self.timeout,
                TIMED_OUT,
            )
            on_timeout()

        return self.invoker.start(
            info, lambda: fn(event, context), on_done=done, on_timeout=expired
        )

    def _call(
        self, fn: Callable[..., Any], event: dict[str, Any], connection_id: str, request_id: str
    ) -> tuple[str, Any]:
        """Run ``fn`` and wait: ``("ok", result)``, ``("error", exc)`` or ``("timeout", None)``."""
        outcome: list[tuple[str, Any]] = []

        def done(result: Any, error: Optional[BaseException]) -> None:
            outcome.append(("ok", result) if error is None else ("error", error))

        invocation = self._start(
            fn,
            event,
            connection_id=connection_id,
            request_id=request_id,
            on_done=done,
            on_timeout=lambda: outcome.append(("timeout", None)),
        )
        invocation.wait()
        return outcome[0]

    # --- the points where API Gateway calls functions -----------------------------------

    def _require_api(self) -> ApiInfo:
        if self.api is None:
            raise RuntimeError("the gateway is not started")
        return self.api

    def authorize(
        self, conn: ConnectionInfo, headers: HeaderMap, query: Sequence[tuple[str, str]]
    ) -> Union[Refusal, dict[str, Any]]:
        """Run the REQUEST authorizer: a refusal, or the ``requestContext.authorizer`` value."""
        authorizer = self.authorizer
        assert authorizer is not None
        missing = authorizer.missing_source(headers, query)
        if missing is not None:
            return Refusal(401, "Unauthorized", f"identity source {missing} is missing")
        api = self._require_api()
        request_id = self._ids.request_id()
        event = authorizer_event(
            api,
            conn,
            headers=headers,
            query=query,
            request_id=request_id,
            extended_request_id=self._ids.request_id(),
        )
        how, value = self._call(authorizer.function, event, conn.connection_id, request_id)
        if how == "timeout":
            return Refusal(500, INTERNAL, "the authorizer timed out")
        if how == "error":
            if str(value) == "Unauthorized":
                # The Node and Python blueprints raise Exception("Unauthorized") for a 401.
                return Refusal(401, "Unauthorized", "the authorizer raised Unauthorized")
            return Refusal(403, "Forbidden", f"the authorizer raised {type(value).__name__}")
        try:
            allowed, context = evaluate_policy(value, api.method_arn("$connect"))
        except AuthorizerResultError as exc:
            _log.error(
                "[%s %s] malformed authorizer result: %s", conn.connection_id, request_id, exc
            )
            return Refusal(500, INTERNAL, f"malformed authorizer result: {exc}")
        if not allowed:
            return Refusal(403, "Forbidden", "the authorizer's policy does not allow $connect")
        return context

    def connect(
        self,
        conn: ConnectionInfo,
        headers: HeaderMap,
        query: Sequence[tuple[str, str]],
        authorizer: Optional[Mapping[str, Any]],
    ) -> Union[Refusal, ConnectResult]:
        """Run the ``$connect`` integration: a refusal, or the accepted result."""
        fn = self.functions["$connect"]
        request_id = self._ids.request_id()
        event = connect_event(
            self._require_api(),
            conn,
            headers=headers,
            query=query,
            request_id=request_id,
            extended_request_id=self._ids.request_id(),
            authorizer=authorizer,
        )
        how, value = self._call(fn, event, conn.connection_id, request_id)
        if how == "timeout":
            return Refusal(504, TIMED_OUT, "the $connect integration timed out")
        if how == "error":
            return Refusal(500, INTERNAL, "the $connect integration raised")
        result = read_connect_result(value)
        if not 200 <= result.status < 300:
            message = "Forbidden" if result.status == 403 else "Unauthorized"
            if result.status not in (401, 403):
                message = INTERNAL if result.status >= 500 else "Error"
            return Refusal(result.status, message, f"$connect returned {result.status}")
        return result

    def message(
        self,
        conn: ConnectionInfo,
        route_key: str,
        data: Union[str, bytes],
        *,
        request_id: str,
        authorizer: Optional[Mapping[str, Any]],
        settled: Callable[[Optional[str]], None],
    ) -> Invocation:
        """Start a route's integration; ``settled(None)``, or with the client's error text."""
        fn = self.functions[route_key]
        event = message_event(
            self._require_api(),
            conn,
            route_key=route_key,
            data=data,
            message_id=self._ids.request_id(),
            request_id=request_id,
            extended_request_id=self._ids.request_id(),
            authorizer=authorizer,
        )
        return self._start(
            fn,
            event,
            connection_id=conn.connection_id,
            request_id=request_id,
            on_done=lambda result, error: settled(None if error is None else INTERNAL),
            on_timeout=lambda: settled(TIMED_OUT),
        )

    def disconnect(
        self, conn: ConnectionInfo, code: int, reason: str, authorizer: Optional[Mapping[str, Any]]
    ) -> None:
        """Run the ``$disconnect`` integration and wait (its result is ignored, as deployed)."""
        fn = self.functions["$disconnect"]
        request_id = self._ids.request_id()
        event = disconnect_event(
            self._require_api(),
            conn,
            code=code,
            reason=reason,
            request_id=request_id,
            extended_request_id=self._ids.request_id(),
            authorizer=authorizer,
        )
        self._call(fn, event, conn.connection_id, request_id)
