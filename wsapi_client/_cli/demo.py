"""``wsapi-client demo``: a client against the local emulator, through a forced drop and back.

The emulator serves the bundled sample model; its handlers answer ``SayHello`` with a
``SendGreeting`` and remember ``SubscribeToNotifications`` topics, and the demo publishes
``SendNotification`` messages to subscribers the way a backend would.  The client subscribes
through ``with_reconnect``, receives notifications, loses its connection (the gateway drops it
and refuses the next handshakes), queues what is sent meanwhile, reconnects, flushes the queue
and resubscribes.  Every step waits on an event, not on a sleep.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from wsapi_client._signal_waits import wait_in_slices

if TYPE_CHECKING:
    from wsapi_client import WebSocketClient
    from wsapi_client._cli._interrupt import Interrupts
    from wsapi_client.emulator import LocalGateway
    from wsapi_client.spec import ApiSpec

__all__ = ["add_arguments", "run"]

_TIMEOUT = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wsapi-client demo``."""
    parser.add_argument(
        "--topic", default="news", help="topic to subscribe to (default: %(default)s)"
    )
    parser.add_argument(
        "--name", default="Jack", help="name to say hello with (default: %(default)s)"
    )


def _next(stream: Any, route: str) -> Any:
    """The next message of a stream, or an error naming what did not come."""
    for payload in stream:
        return payload
    raise TimeoutError(f"demo: no {route} message within {_TIMEOUT:g} s")


class _Backend:
    """The demo's server side: the emulator's route handlers and a publisher."""

    def __init__(self, gateway: LocalGateway) -> None:
        self.gateway = gateway
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[str]] = {}
        gateway.route("SayHello", self.say_hello)
        gateway.route("SubscribeToNotifications", self.subscribe)
        gateway.on_disconnect(self.forget)

    def say_hello(self, connection_id: str, payload: Any) -> None:
        greeting = f"Hello {payload['name']}!"
        self.gateway.post_to_connection(connection_id, "SendGreeting", {"greeting": greeting})

    def subscribe(self, connection_id: str, payload: Any) -> None:
        with self._lock:
            self._subscribers.setdefault(payload["topic"], set()).add(connection_id)

    def forget(self, connection_id: str) -> None:
        with self._lock:
            for members in self._subscribers.values():
                members.discard(connection_id)

    def publish(self, topic: str, title: str, message: str) -> int:
        """Send a notification to every subscriber of ``topic``; how many got it."""
        with self._lock:
            members = list(self._subscribers.get(topic, ()))
        payload = {"topic": topic, "title": title, "message": message}
        for connection_id in members:
            self.gateway.post_to_connection(connection_id, "SendNotification", payload)
        return len(members)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every step happened as expected."""
    try:
        from wsapi_client.emulator import SAMPLE_API, LocalGateway
    except ImportError as exc:
        print(f"wsapi-client demo: {exc}", file=sys.stderr)
        return 2
    from wsapi_client.spec import load_spec

    sdk_logger = logging.getLogger("wsapi_client")
    level = sdk_logger.level
    if not getattr(args, "verbose", 0):
        # The transcript tells the story; the SDK's warnings about the forced drop would repeat it.
        sdk_logger.setLevel(logging.ERROR)
    try:
        return _run(args, LocalGateway, load_spec(SAMPLE_API))
    finally:
        sdk_logger.setLevel(level)


def _run(args: argparse.Namespace, gateway_class: type[LocalGateway], spec: ApiSpec) -> int:
    from wsapi_client._cli._interrupt import Interrupts

    interrupts = Interrupts()
    restore = interrupts.install()
    try:
        return _serve_and_run(args, gateway_class, spec, interrupts)
    finally:
        restore()


def _serve_and_run(
    args: argparse.Namespace,
    gateway_class: type[LocalGateway],
    spec: ApiSpec,
    interrupts: Interrupts,
) -> int:
    from wsapi_client import Keepalive, ReconnectPolicy, WebSocketClient

    with gateway_class(spec) as gateway:
        print(f"[gateway] serving the sample model at {gateway.url}")
        client = WebSocketClient(
            gateway.url,
            spec=spec,
            reconnect=ReconnectPolicy(initial_delay=0.2, max_delay=1.0, jitter=False),
            keepalive=Keepalive(interval=30.0, timeout=10.0),
            name="demo",
        )
        try:
            return _Demo(args, gateway, client, interrupts).run()
        except TimeoutError as exc:
            print(f"wsapi-client demo: {exc}", file=sys.stderr)
            return 1
        finally:
            with interrupts.deferred():  # Ctrl-C must not land inside the close
                client.close()


class _Demo:
    """The scripted steps, printing one transcript line per step."""

    def __init__(
        self,
        args: argparse.Namespace,
        gateway: LocalGateway,
        client: WebSocketClient,
        interrupts: Interrupts,
    ) -> None:
        from wsapi_client import ConnectionState

        self.topic: str = args.topic
        self.name: str = args.name
        self.gateway = gateway
        self.backend = _Backend(gateway)
        self.client = client
        self.interrupts = interrupts
        self.reconnecting = threading.Event()
        self.connected = threading.Event()

        def on_state(state: ConnectionState) -> None:
            if state is ConnectionState.RECONNECTING:
                self.reconnecting.set()
            elif state is ConnectionState.CONNECTED:
                self.connected.set()

        client.on_state_change(on_state)
        self.notifications = client.messages("SendNotification", timeout=_TIMEOUT)
        self.greetings = client.messages("SendGreeting", timeout=_TIMEOUT)

    def run(self) -> int:
        try:
            self._connect_and_subscribe()
            self._talk()
            if not self._drop_and_queue():
                return 1
            return self._after_reconnect()
        finally:
            self.notifications.close()
            self.greetings.close()

    def _send(self, route: str, payload: Any) -> None:
        """``client.send``, with a Ctrl-C held until it returns (see ``_interrupt``)."""
        with self.interrupts.deferred():
            self.client.send(route, payload)

    def _notification(self) -> None:
        received = _next(self.notifications, "SendNotification")
        print(f"[client]  notification: {received['title']}: {received['message']}")

    def _connect_and_subscribe(self) -> None:
        client, gateway = self.client, self.gateway
        client.start(timeout=_TIMEOUT)
        [first] = gateway.wait_for_connections(1, timeout=_TIMEOUT)
        print(f"[client]  connected (connection {first})")

        def subscribe() -> None:
            client.send("SubscribeToNotifications", {"topic": self.topic})

        # Runs now, and again after every reconnect, once the queue has been flushed.
        client.with_reconnect(subscribe)
        gateway.wait_for_messages(1, timeout=_TIMEOUT, route="SubscribeToNotifications")
        print(f"[client]  subscribed to {self.topic!r} through with_reconnect")

    def _talk(self) -> None:
        for number in (1, 2):
            self.backend.publish(self.topic, f"Update {number}", f"{self.topic} item {number}")
            self._notification()
        self._send("SayHello", {"name": self.name})
        print(f"[client]  greeting: {_next(self.greetings, 'SendGreeting')['greeting']}")

    def _drop_and_queue(self) -> bool:
        self.connected.clear()
        self.gateway.refuse_next(2, status=503)
        self.gateway.drop_all()
        print("[gateway] dropped every connection; the next 2 handshakes will get 503")
        if not wait_in_slices(self.reconnecting.wait, _TIMEOUT):
            print("demo: the client did not notice the drop", file=sys.stderr)
            return False
        print("[client]  connection lost: reconnecting with backoff")
        for number in (1, 2, 3):
            self._send("SayHello", {"name": f"{self.name} #{number}"})
        queued = self.client.stats.queued
        print(f"[client]  sent 3 messages while disconnected: {queued} queued")
        return True

    def _after_reconnect(self) -> int:
        client, gateway = self.client, self.gateway
        if not wait_in_slices(self.connected.wait, _TIMEOUT):
            print("demo: the client did not reconnect", file=sys.stderr)
            return 1
        answers = [h.status for h in gateway.handshake_log][1:]
        [second] = gateway.wait_for_connections(1, timeout=_TIMEOUT)
        print(f"[client]  reconnected (connection {second}) after handshakes answered {answers}")
        client.flush(timeout=_TIMEOUT)
        gateway.wait_for_messages(2, timeout=_TIMEOUT, route="SubscribeToNotifications")
        routes = [str(m.route) for m in gateway.received if m.connection_id == second]
        print(f"[gateway] received on the new connection, in order: {', '.join(routes)}")
        for _ in range(3):
            print(f"[client]  greeting: {_next(self.greetings, 'SendGreeting')['greeting']}")
        self.backend.publish(self.topic, "Update 3", f"{self.topic} item 3, after the reconnect")
        self._notification()
        stats = client.stats
        print(
            f"[client]  done: {stats.messages_out} sent, {stats.messages_in} received, "
            f"{stats.reconnects} reconnect(s), {stats.queued} still queued"
        )
        return 0
