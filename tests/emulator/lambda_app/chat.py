"""A chat API's Lambda handlers written as they are deployed: boto3 against the callback URL.

Subscriptions live in module state here (a DynamoDB table in production).  The management
client is built the way deployed code builds it: from the endpoint variable when it is set
(the emulator sets it; a deployment may too), else from the event's domainName and stage.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import boto3

LOCK = threading.Lock()
SUBSCRIBERS: dict[str, set[str]] = {}
EVENTS: list[dict[str, Any]] = []
"""Every event received, for the tests' assertions."""


def reset() -> None:
    with LOCK:
        SUBSCRIBERS.clear()
        EVENTS.clear()


def _management(event: dict[str, Any]) -> Any:
    context = event["requestContext"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI") or (
        f"https://{context['domainName']}/{context['stage']}"
    )
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)


def _send(api: Any, connection_id: str, route: str, payload: Any) -> bool:
    data = json.dumps({"route": route, "payload": payload}).encode()
    try:
        api.post_to_connection(ConnectionId=connection_id, Data=data)
    except api.exceptions.GoneException:
        return False
    return True


def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with LOCK:
        EVENTS.append(event)
    print(f"connected from {event['requestContext']['identity']['sourceIp']}")
    return {"statusCode": 200}


def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    connection_id = event["requestContext"]["connectionId"]
    with LOCK:
        EVENTS.append(event)
        for members in SUBSCRIBERS.values():
            members.discard(connection_id)
    return {"statusCode": 200}


def subscribe_to_notifications(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = json.loads(event["body"])
    with LOCK:
        EVENTS.append(event)
        SUBSCRIBERS.setdefault(body["payload"]["topic"], set()).add(
            event["requestContext"]["connectionId"]
        )
    return {"statusCode": 200}


def say_hello(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Greets the caller, tells every subscriber of "greetings"; "bye" hangs up on the caller."""
    with LOCK:
        EVENTS.append(event)
    caller = event["requestContext"]["connectionId"]
    name = json.loads(event["body"])["payload"]["name"]
    api = _management(event)
    if name == "boom":
        raise ValueError("the handler failed on purpose")
    if name == "bye":
        api.delete_connection(ConnectionId=caller)
        return {"statusCode": 200}
    who = api.get_connection(ConnectionId=caller)["Identity"]["SourceIp"]
    _send(api, caller, "SendGreeting", {"greeting": f"Hello {name} from {who}!"})
    with LOCK:
        members = sorted(SUBSCRIBERS.get("greetings", ()))
    for member in members:
        _send(
            api,
            member,
            "SendNotification",
            {"topic": "greetings", "title": "hello", "message": name},
        )
    # The return value is not sent to the client (no route response).
    return {"statusCode": 200, "body": "not for the client"}
