"""Tool requests as they arrive on the agent's SQS queue (contract version 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phi_agent.results import ResultUpload


class ToolRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    v: Literal[1]
    task_token: str = Field(min_length=1)
    task_id: str
    tool_call_id: str
    org_id: str
    agent_id: str
    tool: str = Field(min_length=1)
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


def parse_request(body: str) -> ToolRequest | MalformedRequest:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return MalformedRequest(reason=f"the message body is not JSON ({error})")
    if not isinstance(data, dict):
        return MalformedRequest(reason="the message body is not a JSON object")
    try:
        return ToolRequest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in error.errors()
        )
        token = data.get("task_token")
        call_id = data.get("tool_call_id")
        return MalformedRequest(
            reason=f"invalid tool request: {problems}",
            task_token=token if isinstance(token, str) and token else None,
            tool_call_id=call_id if isinstance(call_id, str) else "",
        )
