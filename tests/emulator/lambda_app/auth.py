"""A REQUEST authorizer as deployed: allows the token "good", denies any other."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = (event.get("queryStringParameters") or {}).get("token")
    effect = "Allow" if token == "good" else "Deny"
    # Resource by wildcard, as many authorizers write it: any stage, any route of this API.
    api_arn = event["methodArn"].split("/", 1)[0]
    return {
        "principalId": f"user-{token}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": f"{api_arn}/*"}
            ],
        },
        "context": {"tenant": "acme", "level": 3, "admin": False},
    }
