"""Driving the task loop by hand in integration tests: the embedded stack's AWS clients, and a task's first tool
request taken off its agent's queue (so the test answers it as a local agent would, or as an attacker)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.api import ApiSession
from tests.support.waiting import wait_until

# A workflow that waits for a person before it reports: an approval, then a render.
PAY_SUPPLIER: dict[str, Any] = {
    "key": "pay_supplier",
    "name": "Pay a supplier",
    "inputs": {"amount": {"type": "integer", "required": True}},
    "nodes": [
        {
            "id": "approve",
            "kind": "approval",
            "settings": {"title": "Pay {{ inputs.amount }} EUR?", "summary": "Over the limit", "timeout_seconds": 600},
        },
        {"id": "report", "kind": "render", "settings": {"template": "sections", "title": "Paid {{ inputs.amount }}"}},
    ],
    "edges": [["approve", "report"]],
}


def aws_client(stack: Any, service: str) -> Any:
    """A boto3 client for the embedded stack's moto server."""
    return boto3.client(service, endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")


def first_tool_request(
    stack: Any,
    session: ApiSession,
    agent: dict[str, Any] | None = None,
    task_type: str = "DAILY_WAREHOUSE_REPORT",
    task_input: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Runs a task (for a new agent of `session` unless one is given) and takes its first tool request off the
    agent's queue: the task's id, the request, and the agent."""
    agent = agent or session.create_agent()
    body: dict[str, Any] = {"type": task_type}
    if task_input is not None:
        body["input"] = task_input
    run = session.ok("POST", f"/agents/{agent['id']}/run-task", json=body)
    sqs = aws_client(stack, "sqs")
    message = wait_until(
        lambda: sqs.receive_message(QueueUrl=agent["queue_url"], WaitTimeSeconds=1).get("Messages"), timeout=60
    )[0]
    sqs.delete_message(QueueUrl=agent["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return run["task_id"], json.loads(message["Body"]), agent


def late_step_context(task_id: str, org_id: str, agent_id: str) -> Any:
    """The context a task-loop step gets, for calling a step directly as one that arrives late would run."""
    from phi.workflows.contracts import TaskContext

    return TaskContext(
        task_id=task_id,
        org_id=org_id,
        agent_id=agent_id,
        execution_id="arn:aws:states:us-east-1:123456789012:execution:agent-task:late",
        type="DAILY_WAREHOUSE_REPORT",
        queue_url="https://sqs.example/queue",
        max_steps=10,
        tool_timeout_seconds=60,
        tool_heartbeat_seconds=60,
    )
