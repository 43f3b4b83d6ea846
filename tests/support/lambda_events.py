"""API Gateway REST proxy events as the API Lambda receives them, a Lambda context, and a response's body."""

from __future__ import annotations

import base64
from typing import Any

EXECUTE_API_DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"


class LambdaContext:
    function_name = "phi-dev-api"
    aws_request_id = "r"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def rest_event(
    method: str,
    path: str,
    domain: str = EXECUTE_API_DOMAIN,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """The stage (dev) is in requestContext, never in `path`, as API Gateway sends it."""
    all_headers = {"host": domain, **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"stage": "dev", "domainName": domain, "path": f"/dev{path}", "identity": {}},
        "body": body,
        "isBase64Encoded": False,
    }


def body_of(response: dict[str, Any]) -> str:
    body = response["body"]
    return base64.b64decode(body).decode() if response.get("isBase64Encoded") else str(body)
