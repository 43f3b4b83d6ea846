"""Tool requests as they arrive on the agent's SQS queue (contract version 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phi_agent.results import ResultUpload

MAX_TOKEN_CHARS = 8_192
MAX_ID_CHARS = 200


class ToolRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    v: Literal[1]
    # Bounded: each is logged and echoed in the answer (a Step Functions task token is at most 1,024 characters;
    # ids are UUIDs, tool names a few words).
    task_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    task_id: str = Field(max_length=MAX_ID_CHARS)
    tool_call_id: str = Field(max_length=MAX_ID_CHARS)
    org_id: str = Field(max_length=MAX_ID_CHARS)
    agent_id: str = Field(max_length=MAX_ID_CHARS)
    tool: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    args: dict[str, Any] = Field(default_factory=dict)
    # db.query's per-database texts ({"sqlite": "...", ...}), beside `args` rather than in it: an agent older than
    # the field ignores it here and runs `args.sql`, where inside `args` its db.query would refuse the unknown key.
    sql_variants: dict[str, Any] | None = None
    deadline: datetime | None = None
    result_upload: ResultUpload | None = None
    # Set by a cloud that reads an inline result sent as one JSON text (`result_text`); an older cloud leaves
    # it out and gets the JSON object it knows.
    result_as_text: bool = False

    def tool_args(self) -> dict[str, Any]:
        """The tool's arguments, with the SQL variants among them when the request carries any."""
        if not self.sql_variants:
            return self.args
        return {**self.args, "sql_variants": self.sql_variants}

    def seconds_left(self, now: datetime | None = None) -> float | None:
        if self.deadline is None:
            return None
        deadline = self.deadline if self.deadline.tzinfo else self.deadline.replace(tzinfo=UTC)
        return (deadline - (now or datetime.now(UTC))).total_seconds()


class MalformedRequest(BaseModel):
    """A message that is not a valid request; `task_token` is set when it can still be answered."""

    reason: str
    task_token: str | None = None
    tool_call_id: str = ""


def queued_seconds(message: dict[str, Any], now: float) -> float | None:
    """How long a received message waited since it was sent, by the queue's `SentTimestamp` (milliseconds since
    the epoch) against `now` (seconds since the epoch); None when the queue did not say."""
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    if not isinstance(sent, str | int):
        return None
    try:
        return now - int(sent) / 1000
    except ValueError:
        return None


def clock_offset(message: dict[str, Any], now: float) -> float | None:
    """This machine's clock minus the cloud's, in seconds, read off a message on its first delivery: SQS stamps
    `ApproximateFirstReceiveTimestamp` (milliseconds since the epoch, on its own clock) as it hands the message
    out, moments before `now` (this machine's clock, seconds since the epoch). None for a redelivery (stamped at
    an earlier receive) or when the queue did not say."""
    attributes = message.get("Attributes") or {}
    first = attributes.get("ApproximateFirstReceiveTimestamp")
    if str(attributes.get("ApproximateReceiveCount")) != "1" or not isinstance(first, str | int):
        return None
    try:
        return now - int(first) / 1000
    except ValueError:
        return None


def parse_request(body: str) -> ToolRequest | MalformedRequest:
    """The request, or why it is not one (with its task token when that can still be answered). Never raises:
    a body that broke the parser (nesting past the recursion limit, a number of thousands of digits) would
    otherwise come back from the queue until its dead-letter queue took it, its step waiting meanwhile."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return MalformedRequest(reason=f"the message body is not JSON ({str(error)[:200]})")
    if not isinstance(data, dict):
        return MalformedRequest(reason="the message body is not a JSON object")
    token = data.get("task_token")
    token = token if _answerable_token(token) else None
    call_id = data.get("tool_call_id")
    call_id = call_id if isinstance(call_id, str) and len(call_id) <= MAX_ID_CHARS else ""
    try:
        request = ToolRequest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])[:100] or '<root>'}: {item['msg']}"
            for item in error.errors()[:10]
        )
        return MalformedRequest(reason=f"invalid tool request: {problems}", task_token=token, tool_call_id=call_id)
    except (ValueError, RecursionError) as error:
        return MalformedRequest(reason=f"invalid tool request: {str(error)[:200]}", task_token=token)
    if token is None:  # a token only a broken client could send (lone surrogates): nothing can answer it
        return MalformedRequest(reason="the task token is not valid text")
    return request


def _answerable_token(token: object) -> bool:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return False
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
