"""A workflow's `notify` node on the embedded stack: the task runs through the state machine, the e-mail is
captured in the organisation's outbox (never sent) and read back through the API; the edge condition decides
whether it is sent at all."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import ApiSession

pytestmark = pytest.mark.e2e

LATE_ALERT: dict[str, Any] = {
    "key": "late_alert",
    "name": "Late-rate alert",
    "inputs": {
        "late_rate": {"type": "number", "required": True},
        "limit": {"type": "number", "default": 0.05},
    },
    "nodes": [
        {
            "id": "over",
            "kind": "condition",
            "settings": {"expression": {">": [{"var": "inputs.late_rate"}, {"var": "inputs.limit"}]}},
        },
        {
            "id": "alert",
            "kind": "notify",
            "settings": {
                "channel": "email",
                "to": ["ops@example.com"],
                "subject": "Late rate {{ '%.1f' | format(inputs.late_rate * 100) }}%",
                "body": "The late rate is over its limit of {{ inputs.limit }}.",
            },
        },
    ],
    "edges": [{"from": "over", "to": "alert", "when": {"var": "over.value"}}],
    "output": "over",
}


def test_a_notify_node_captures_its_email_in_the_outbox(new_user: ApiSession) -> None:
    agent = new_user.create_agent(tools={"db": {}, "email": {"recipients": ["ops@example.com"]}})
    new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": LATE_ALERT})

    def run(late_rate: float) -> dict[str, Any]:
        started = new_user.ok(
            "POST", f"/agents/{agent['id']}/run-task", json={"type": "late_alert", "input": {"late_rate": late_rate}}
        )
        return new_user.wait_for_task(started["task_id"], timeout=120)

    over, under = run(0.071), run(0.02)
    assert over["status"] == "SUCCEEDED" and under["status"] == "SUCCEEDED", (over, under)
    assert over["output"]["workflow"]["ran"] == ["over", "alert"]
    assert under["output"]["workflow"]["skipped"] == ["alert"]

    [message] = new_user.ok("GET", f"/orgs/{new_user.org_id}/outbox", params={"task_id": over["id"]})
    assert message["status"] == "CAPTURED" and message["delivery"] == "outbox"
    assert message["subject"] == "Late rate 7.1%"
    assert message["body"] == "The late rate is over its limit of 0.05."
    assert message["recipients"] == ["ops@example.com"] and message["node_id"] == "alert"
    assert new_user.ok("GET", f"/orgs/{new_user.org_id}/outbox", params={"task_id": under["id"]}) == []
