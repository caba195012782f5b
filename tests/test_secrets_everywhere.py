"""One suite-wide check that no secret is ever shown, whatever the auth mode and the outcome.

Every auth mode (IamAuth header form, IamAuth presigned URL, CustomAuth with a token in the query
and in headers), with static credentials that include a session token, runs against the emulator
(which checks SigV4 itself) in succeeding runs (connect, send, receive, drop, reconnect, close)
and failing ones (wrong secret -> 403, handshakes refused, a hook or credentials provider that
raises). Every logger is at DEBUG and websocket-client's own trace is on. Captured: every log
record formatted with its traceback, ``repr``/``str`` of the client and its stats, every error
event (message, raw, repr, exception), and every exception raised with its chained causes. None
may hold the secret key, the session token, a signature or the custom token.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any, Callable, Optional
from urllib.parse import quote, quote_plus

import pytest
import websocket

from wsapi_client import (
    AuthError,
    ConnectError,
    CustomAuth,
    ErrorEvent,
    IamAuth,
    Keepalive,
    ReconnectPolicy,
    WebSocketClient,
)
from wsapi_client.emulator import SAMPLE_API, ConnectRequest, Deny, LocalGateway

# Distinctive values, so that a substring search is exact.
ACCESS = "AKIAEVERYWHERE000001"
SECRET = "SecretKey-EVERYWHERE-7f3a/+9c1dQzX"
WRONG_SECRET = "WrongSecret-EVERYWHERE-51b0/+e2aR"
TOKEN = "SessionToken-EVERYWHERE-IQoJb3Jp/+Z2luX2Vj=="
CUSTOM = "CustomToken-EVERYWHERE-eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig"
WRONG_CUSTOM = "CustomToken-EVERYWHERE-wrong.eyJzdWIiOiJ4In0.sig"
CREDENTIALS = {"access_key": ACCESS, "secret_key": SECRET, "token": TOKEN}
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, jitter=False, max_attempts=4)
KEEPALIVE = Keepalive(interval=30.0, timeout=5.0)
EMULATOR = "wsapi_client.emulator"  # the server side's loggers


class Capture(logging.Handler):
    """Every record, formatted as a handler would print it (traceback and chain included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records: list[tuple[str, str]] = []  # (logger name, text)
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.names.add(record.name)
        self.records.append((record.name, self.format(record)))
        self.records.append((record.name, repr(record.args)))

    def texts(self, *, emulator: bool = False) -> list[str]:
        """The client side's records (the SDK's, websocket-client's, botocore's, ...), or only
        the emulator's (the server side: see test_the_emulators_wire_trace_shows_no_token)."""
        return [text for name, text in self.records if name.startswith(EMULATOR) is emulator]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every logger at DEBUG and websocket-client's trace on, routed to one handler; restored."""
    handler = Capture()
    root = logging.getLogger()
    loggers = [root, logging.getLogger("wsapi_client"), logging.getLogger("websocket")]
    loggers += [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    # The trace goes to the "websocket" logger; its own handler is a NullHandler so the
    # records reach ours through propagation only.
    websocket.enableTrace(True, handler=logging.NullHandler())
    try:
        yield handler
    finally:
        websocket.enableTrace(False)
        root.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)


class Exposure:
    """What was shown, the secrets that must not be in it, and the user's own exceptions."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.secrets = {SECRET, WRONG_SECRET, TOKEN, CUSTOM, WRONG_CUSTOM}
        self.own: list[BaseException] = []  # raised by user code: their text is theirs

    def show(self, *objects: object) -> None:
        for obj in objects:
            self.shown.extend([repr(obj), str(obj)])

    def exception(self, error: Optional[BaseException]) -> None:
        """The exception, its attributes and every chained cause or context, with tracebacks."""
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if not any(error is own for own in self.own):
                self.show(error, *error.args)
                self.shown.extend(traceback.format_exception_only(type(error), error))
                for attribute in ("message", "url", "status", "reason", "code"):
                    self.show(getattr(error, attribute, None))
            error = error.__cause__ or error.__context__

    def formatted(self, error: BaseException) -> None:
        """The whole traceback as printed, unless a user exception is in its chain (that one
        is checked link by link in :meth:`exception`)."""
        chain: list[BaseException] = []
        link: Optional[BaseException] = error
        while link is not None and not any(link is seen for seen in chain):
            chain.append(link)
            link = link.__cause__ or link.__context__
        if not any(seen is own for seen in chain for own in self.own):
            self.shown.append("".join(traceback.format_exception(type(error), error, None)))

    def event(self, event: ErrorEvent) -> None:
        self.show(event, event.message, event.raw, event.kind)
        self.exception(event.exception)

    def client(self, client: WebSocketClient) -> None:
        """The client as a user or a notebook shows it: repr, str, stats, HTML reprs."""
        stats = client.stats
        self.show(client, stats, client.state, client.url)
        for obj in (client, stats):  # notebook reprs, where the runtime has them
            self.shown.append(getattr(obj, "_repr_html_", lambda: "")())

    def learn(self, gateway: LocalGateway) -> None:
        """The signatures and tokens the gateway received: secrets too."""
        for record in gateway.handshake_log:
            authorization = record.headers.get("Authorization", "")
            self.secrets.update(re.findall(r"Signature=([0-9a-f]{64})", authorization))
            if "X-Amz-Signature" in record.query:
                self.secrets.add(record.query["X-Amz-Signature"])

    def leaks(self, log: Capture, *, emulator: bool = False) -> list[str]:
        """Where a secret shows, in any of its URL-quoted forms, with its context: in what the
        client showed and its side's log records (or, ``emulator``, in the emulator's)."""
        found = []
        texts = log.texts(emulator=True) if emulator else [*self.shown, *log.texts()]
        for secret in sorted(self.secrets):
            forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
            for text in texts:
                for form in forms:
                    at = text.find(form)
                    if at >= 0:
                        context = text[max(0, at - 60) : at].replace("\n", " ")
                        found.append(f"a {len(secret)}-char secret after {context!r}")
        return found


@pytest.fixture
def exposure() -> Exposure:
    return Exposure()


def _iam_gateway() -> LocalGateway:
    gateway = LocalGateway(SAMPLE_API, iam_keys={ACCESS: SECRET}, log_frames=True)

    @gateway.route("SayHello")
    def hello(connection_id: str, payload: Any) -> None:
        gateway.post_to_connection(connection_id, "SendGreeting", {"greeting": "hi"})

    return gateway


def _custom_gateway() -> LocalGateway:
    """A custom (Lambda) authorizer: the token must be in the query and in both headers."""
    gateway = _iam_gateway()
    gateway.iam_keys.clear()

    @gateway.on_connect
    def authorizer(request: ConnectRequest) -> None:
        if (
            request.query.get("token") != CUSTOM
            or request.headers.get("X-Auth-Token") != CUSTOM
            or request.headers.get("Authorization") != f"Bearer {CUSTOM}"
        ):
            raise Deny(401, "Unauthorized")

    return gateway


def _custom(token: str) -> CustomAuth:
    def hook(url: str) -> tuple[str, dict[str, str]]:
        return f"{url}?token={token}&stage=blue", {
            "X-Auth-Token": token,
            "Authorization": f"Bearer {token}",
        }

    return CustomAuth(hook)


def _succeeding_run(gateway: LocalGateway, auth: Any, exposure: Exposure) -> None:
    """Connect, send and receive, drop and reconnect, send again, close; show everything."""
    errors: list[ErrorEvent] = []
    with WebSocketClient.connect(
        gateway.url, spec=SAMPLE_API, auth=auth, timeout=5, reconnect=FAST, keepalive=KEEPALIVE
    ) as client:
        client.on_error(errors.append)
        exposure.client(client)
        for round_ in range(2):
            greeting = client.expect("SendGreeting")
            client.send("SayHello", {"name": f"round {round_}"}).result(timeout=5)
            exposure.show(greeting.result(timeout=5))
            exposure.client(client)
            if round_ == 0:
                count = gateway.connect_count
                gateway.drop_all()
                gateway.wait_until(lambda c=count: gateway.connect_count > c)  # type: ignore[misc]
                client.wait_until_connected(timeout=5)
        # An inbound frame that is not a message: an error event with the raw text.
        [connection_id] = gateway.connections
        gateway.send_raw(connection_id, '{"message": "Forbidden", "connectionId": "x"}')
        gateway.send_raw(connection_id, "not json at all")
        gateway.wait_until(lambda: len(errors) >= 2)
        exposure.client(client)
    exposure.client(client)
    for event in errors:
        exposure.event(event)
    assert client.stats.reconnects >= 1


def _failing_run(
    gateway: LocalGateway, auth: Any, exposure: Exposure, expected: type[BaseException]
) -> BaseException:
    """A client that cannot connect: its error, events, log lines and repr are shown."""
    errors: list[ErrorEvent] = []
    client = WebSocketClient(
        gateway.url, spec=SAMPLE_API, auth=auth, reconnect=FAST, keepalive=KEEPALIVE
    )
    client.on_error(errors.append)
    exposure.client(client)
    try:
        with pytest.raises(expected) as caught:
            client.start(timeout=5)
        exposure.client(client)
    finally:
        client.close(timeout=5)
    exposure.client(client)
    exposure.exception(caught.value)
    exposure.formatted(caught.value)
    assert errors, "a failing run reports error events"
    for event in errors:
        exposure.event(event)
    return caught.value


@pytest.mark.parametrize("presign", [False, True], ids=["header", "presigned"])
def test_iam_runs_show_no_secret(capture: Capture, exposure: Exposure, presign: bool) -> None:
    auth = IamAuth("us-east-1", CREDENTIALS, presign=presign)
    exposure.show(auth)
    with _iam_gateway() as gateway:
        _succeeding_run(gateway, auth, exposure)
        # Refused twice with 503, then in: the retried attempts' log lines show the URL.
        gateway.refuse_next(2, 503)
        _succeeding_run(gateway, auth, exposure)

        wrong = IamAuth("us-east-1", dict(CREDENTIALS, secret_key=WRONG_SECRET), presign=presign)
        error = _failing_run(gateway, wrong, exposure, AuthError)
        assert isinstance(error, AuthError)
        assert error.status == 403
        exposure.learn(gateway)
    with _iam_gateway() as refusing:
        refusing.refuse_next(10, 401, '{"message": "Unauthorized"}')
        error = _failing_run(refusing, auth, exposure, AuthError)
        assert isinstance(error, AuthError)
        assert error.status == 401
        exposure.learn(refusing)
    assert len(exposure.secrets) > 6, "the signatures sent were learnt"
    assert {"wsapi_client", "wsapi_client.auth", "websocket"} <= capture.names
    assert any("request header" in text for text in capture.texts()), "websocket-client traced"
    leaks = exposure.leaks(capture)
    assert not leaks, "\n".join(leaks)


def test_default_chain_runs_show_no_secret(
    capture: Capture, exposure: Exposure, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Credentials from botocore's chain (the environment; metadata lookups off)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    with _iam_gateway() as gateway:
        for presign in (False, True):
            auth = IamAuth("us-east-1", presign=presign)
            exposure.show(auth)
            _succeeding_run(gateway, auth, exposure)
        gateway.iam_keys[ACCESS] = WRONG_SECRET  # the gateway now refuses the chain's keys
        error = _failing_run(gateway, IamAuth("us-east-1"), exposure, AuthError)
        assert isinstance(error, AuthError)
        assert error.status == 403
        exposure.learn(gateway)
    assert any(name.startswith("botocore") for name in capture.names), "botocore logged"
    leaks = exposure.leaks(capture)
    assert not leaks, "\n".join(leaks)


def test_failing_credentials_and_hooks_show_no_secret(capture: Capture, exposure: Exposure) -> None:
    def leaky_provider() -> dict[str, str]:
        error = RuntimeError(f"vault answered {SECRET} with {TOKEN}")
        exposure.own.append(error)
        raise error

    def quiet_provider() -> dict[str, str]:
        raise OSError("vault unreachable")

    def leaky_hook(url: str) -> str:
        error = RuntimeError(f"token endpoint returned {CUSTOM} expired")
        exposure.own.append(error)
        raise error

    def quiet_hook(url: str) -> str:
        raise TimeoutError("token endpoint timed out")

    providers: list[tuple[Callable[[], LocalGateway], Any]] = [
        (_iam_gateway, IamAuth("us-east-1", leaky_provider)),
        (_iam_gateway, IamAuth("us-east-1", quiet_provider, presign=True)),
        (_iam_gateway, IamAuth("us-east-1", lambda: f"{SECRET}:{TOKEN}")),  # type: ignore[arg-type,return-value]
        (_custom_gateway, CustomAuth(leaky_hook)),
        (_custom_gateway, CustomAuth(quiet_hook)),
        (_custom_gateway, CustomAuth(lambda url: f"https://h/?token={CUSTOM}")),
    ]
    for make, auth in providers:
        with make() as gateway:
            exposure.show(auth)
            error = _failing_run(gateway, auth, exposure, AuthError)
            assert isinstance(error, AuthError)
            assert gateway.connect_count == 0, "nothing was sent"
    assert len(exposure.own) >= 2, "the leaky hook and provider ran"
    assert SECRET in str(exposure.own[0]), "the provider's own exception does hold the secret"
    leaks = exposure.leaks(capture)
    assert not leaks, "\n".join(leaks)


def test_custom_auth_runs_show_no_secret(capture: Capture, exposure: Exposure) -> None:
    with _custom_gateway() as gateway:
        auth = _custom(CUSTOM)
        exposure.show(auth)
        _succeeding_run(gateway, auth, exposure)
        error = _failing_run(gateway, _custom(WRONG_CUSTOM), exposure, AuthError)
        assert isinstance(error, ConnectError)
        assert error.status == 401
        assert [r.query.get("token") for r in gateway.handshake_log][:1] == [CUSTOM]
    assert {"wsapi_client", "websocket"} <= capture.names
    leaks = exposure.leaks(capture)
    assert not leaks, "\n".join(leaks)


def test_the_emulators_wire_trace_shows_no_token(capture: Capture, exposure: Exposure) -> None:
    with _custom_gateway() as gateway:
        _succeeding_run(gateway, _custom(CUSTOM), exposure)
    assert capture.texts(emulator=True), "the emulator traced the handshake"
    leaks = exposure.leaks(capture, emulator=True)
    assert not leaks, "\n".join(leaks)
