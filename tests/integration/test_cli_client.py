"""``wsapi-client send`` and ``listen`` against the local gateway, in process."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from wsapi_client.cli import main
from wsapi_client.emulator import LocalGateway

SAMPLE = str(Path(__file__).resolve().parents[2] / "wsapi_client" / "emulator" / "sample_api.json")


def test_send_prints_the_reply(gateway: LocalGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "send",
            gateway.url,
            "SayHello",
            '{"name": "cli"}',
            "--spec",
            SAMPLE,
            "--wait-for",
            "SendGreeting",
        ]
    )
    assert code == 0
    line = capsys.readouterr().out.strip()
    assert json.loads(line) == {"route": "SendGreeting", "payload": {"greeting": "Hello, cli!"}}


def test_send_reports_validation_errors(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", gateway.url, "SayHello", '{"name": 1}', "--spec", SAMPLE]) == 2
    assert "name" in capsys.readouterr().err


def test_send_rejects_bad_json(gateway: LocalGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", gateway.url, "SayHello", "{nope"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_send_without_an_answer_exits_1(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["send", gateway.url, "SubscribeToNotifications", '{"topic": "t"}', "--spec", SAMPLE]
    assert main([*args, "--wait-for", "SendGreeting", "--timeout", "0.2"]) == 1
    assert "SendGreeting" in capsys.readouterr().err


def test_listen_exits_when_the_client_gives_up(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    def refuse_then_drop() -> None:
        gateway.wait_for_connections(1, timeout=5)
        gateway.refuse_next(10, status=403)
        gateway.drop_all()

    thread = threading.Thread(target=refuse_then_drop)
    thread.start()
    assert main(["listen", gateway.url, "--spec", SAMPLE]) == 1
    thread.join(5)
    assert "gave up" in capsys.readouterr().err


def test_listen_prints_messages_and_subscribes(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    def post_when_subscribed() -> None:
        (message,) = gateway.wait_for_messages(1, route="SubscribeToNotifications", timeout=5)
        for i in range(2):
            gateway.post_to_connection(
                message.connection_id,
                "SendNotification",
                {"topic": "t", "title": "n", "message": str(i)},
            )

    poster = threading.Thread(target=post_when_subscribed)
    poster.start()
    code = main(
        [
            "listen", gateway.url, "--spec", SAMPLE, "--count", "2",
            "--subscribe", "SubscribeToNotifications", '{"topic": "t"}',
        ]
    )  # fmt: skip
    poster.join(5)
    assert code == 0
    lines: list[Any] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["payload"]["message"] for x in lines] == ["0", "1"]
