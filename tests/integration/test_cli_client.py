"""``wsapi-client send`` and ``listen`` against the local gateway, in process."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
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


# -- honest exit codes -------------------------------------------------------------------------


def test_send_exits_1_and_prints_the_error_frame(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    # No model on the client: it sends a server_to_client route, which the gateway refuses.
    payload = '{"topic": "t", "title": "t", "message": "m"}'
    assert main(["send", gateway.url, "SendNotification", payload, "--linger", "5"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["message"] == "Forbidden"
    assert "the gateway answered: Forbidden" in captured.err
    assert "Traceback" not in captured.err


def test_an_error_frame_ends_wait_for_at_once(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["send", gateway.url, "SayHello", '{"nom": 1}', "--wait-for", "SendGreeting"]
    started = time.monotonic()
    assert main([*args, "--timeout", "30"]) == 1  # the model requires "name"
    assert time.monotonic() - started < 10
    captured = capsys.readouterr()
    assert json.loads(captured.out)["message"] == "Invalid request body"


def test_send_without_an_error_frame_exits_0(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["send", gateway.url, "SubscribeToNotifications", '{"topic": "t"}', "--linger", "0.1"]
    assert main(args) == 0
    assert gateway.wait_for_messages(1)[0].route == "SubscribeToNotifications"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("route", "payload", "message"),
    [
        ("NoSuchRoute", "{}", "unknown route 'NoSuchRoute'"),
        ("SubscribeToNotifications", '{"topic": 5}', "topic"),
        ("SendNotification", '{"topic": "t", "title": "t", "message": "m"}', "server_to_client"),
    ],
)
def test_listen_refuses_a_subscription_the_model_refuses(
    gateway: LocalGateway,
    capsys: pytest.CaptureFixture[str],
    route: str,
    payload: str,
    message: str,
) -> None:
    argv = ["listen", gateway.url, "--spec", SAMPLE, "--subscribe", route, payload]
    assert main([*argv, "--timeout", "30"]) == 2
    err = capsys.readouterr().err
    assert f"wsapi-client listen: --subscribe {route}: " in err
    assert message in err
    assert "Traceback" not in err


def test_listen_timeout_ends_listening(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["listen", gateway.url, "--timeout", "0.3"]) == 0
    assert time.monotonic() - started < 5
    assert main(["listen", gateway.url, "--timeout", "0.3", "--count", "2"]) == 1
    assert "0 of 2 messages within 0.3 s" in capsys.readouterr().err


def test_listen_prints_an_error_frame_once(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    """No model: the refused subscription is sent, answered Forbidden, and reported once."""

    def post_when_subscribed() -> None:
        (message,) = gateway.wait_for_messages(1, route="SubscribeToNotifications", timeout=5)
        gateway.post_to_connection(message.connection_id, "SendNotification", {"message": "m"})

    poster = threading.Thread(target=post_when_subscribed)
    poster.start()
    code = main(
        [
            "listen", gateway.url, "--count", "1", "--timeout", "30",
            "--subscribe", "SendNotification", "{}",
            "--subscribe", "SubscribeToNotifications", '{"topic": "t"}',
        ]
    )  # fmt: skip
    poster.join(5)
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("Forbidden") == 1, err
    assert "WARNING" in err


def test_info_records_need_verbose(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["listen", gateway.url, "--timeout", "0.2"]) == 0
    assert "INFO" not in capsys.readouterr().err
    assert main(["-v", "listen", gateway.url, "--timeout", "0.2"]) == 0
    assert "INFO wsapi_client" in capsys.readouterr().err
    handlers = logging.getLogger("wsapi_client").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]  # the CLI's own one is removed


@pytest.mark.parametrize("command", ["listen", "send"])
def test_iam_without_botocore_is_one_line(
    gateway: LocalGateway,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.setitem(sys.modules, "botocore", None)
    argv = [command, gateway.url, "--iam", "--region", "us-east-1"]
    assert main([*argv, *(["SayHello", '{"name": "x"}'] if command == "send" else [])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "pip install 'wsapi-client[iam]'" in err
