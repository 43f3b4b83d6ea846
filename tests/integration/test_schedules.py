"""Schedules: kept in sync as EventBridge Scheduler schedules, fired by the embedded stack's clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import boto3
import pytest

from phi.services.schedules import next_run
from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.waiting import wait_until

WORKFLOW = {
    "type": "DAILY_WAREHOUSE_REPORT",
    "schedule": "0 6 * * *",
    "timezone": "Europe/Berlin",
    "input": {"warehouse": "Leeds DC"},
}


def _tasks_of(agent_id: str) -> list[dict[str, Any]]:
    from phi.db.connection import transaction

    with transaction() as conn:
        return conn.execute(
            "SELECT id, status, trigger, input FROM tasks WHERE agent_id = %s ORDER BY created_at", (UUID(agent_id),)
        ).fetchall()


def test_an_agent_workflow_becomes_a_scheduler_schedule(new_user: ApiSession, stack: Any) -> None:
    agent = new_user.create_agent(workflows=[WORKFLOW])

    scheduler = boto3.client("scheduler", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    listed = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    definition = scheduler.get_schedule(Name=listed[0]["scheduler_name"], GroupName="phi-dev")

    assert definition["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert definition["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert definition["Target"]["Arn"] == stack.info.state_machine_arn
    assert json.loads(definition["Target"]["Input"]) == {
        "agent_id": agent["id"],
        "org_id": new_user.org_id,
        "type": "DAILY_WAREHOUSE_REPORT",
        "trigger": "schedule",
        "input": {"warehouse": "Leeds DC"},
    }
    expected_next = next_run("0 6 * * *", "Europe/Berlin")
    assert datetime.fromisoformat(listed[0]["next_run_at"]) == expected_next


def test_the_embedded_clock_fires_a_due_schedule_once_and_skips_an_overlapping_run(
    new_user: ApiSession, stack: Any, settings_override: dict[str, str]
) -> None:
    # Given a scheduled agent whose local agent is not running, so a run stays RUNNING (for an hour: as long as the
    # test needs, however slow the machine)
    apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "3600", "PHI_TOOL_HEARTBEAT_SECONDS": "3600"})
    agent = new_user.create_agent(workflows=[WORKFLOW])
    due = next_run("0 6 * * *", "Europe/Berlin")

    # When the clock passes the due time (twice at the same moment)
    fired = stack.scheduler.tick(now=due + timedelta(seconds=1))
    again = stack.scheduler.tick(now=due + timedelta(seconds=2))

    # Then exactly one task starts, created by StartTask with the schedule's input
    first = wait_until(lambda: [t for t in _tasks_of(agent["id"]) if t["status"] == "RUNNING"], timeout=120)
    assert len([n for n in fired if n.startswith(agent["id"])]) == 1
    assert not [n for n in again if n.startswith(agent["id"])]
    assert first[0]["trigger"] == "schedule" and first[0]["input"] == {"warehouse": "Leeds DC"}

    # And when the next day's run comes while the first is still running, it is skipped and recorded
    stack.scheduler.tick(now=due + timedelta(days=1, seconds=1))
    skipped = wait_until(lambda: [t for t in _tasks_of(agent["id"]) if t["status"] == "SKIPPED"], timeout=120)
    task = new_user.ok("GET", f"/tasks/{skipped[0]['id']}")
    assert [e["type"] for e in task["events"]] == ["TASK_SKIPPED"]
    assert str(first[0]["id"]) in task["events"][0]["message"]


def test_run_now_starts_the_scheduled_workflow_at_once(new_user: ApiSession) -> None:
    agent = new_user.create_agent(workflows=[WORKFLOW])

    run = new_user.ok("POST", f"/agents/{agent['id']}/schedules/DAILY_WAREHOUSE_REPORT/run")
    task = new_user.ok("GET", f"/tasks/{run['task_id']}")

    assert task["trigger"] == "run_now" and task["input"] == {"warehouse": "Leeds DC"}
    missing = new_user.request("POST", f"/agents/{agent['id']}/schedules/NOPE/run")
    assert missing.status_code == 404


def test_a_schedule_that_fired_records_when(new_user: ApiSession, stack: Any) -> None:
    agent = new_user.create_agent(workflows=[{**WORKFLOW, "schedule": "*/5 * * * *", "timezone": "UTC"}])
    now = datetime.now(UTC)

    stack.scheduler.tick(now=now + timedelta(minutes=5))

    listed = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    assert listed[0]["last_fired_at"] is not None


def _fire_stale_target(stack: Any, target: dict[str, Any]) -> str:
    """Starts the state machine with a schedule's target, as EventBridge does when a firing is already under way
    as the schedule changes (or when the scheduler's copy missed an update); returns the execution's final status."""
    stepfunctions = boto3.client("stepfunctions", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    name = f"schedule-{uuid4()}"  # EventBridge names its executions itself; moto needs one given
    arn = stepfunctions.start_execution(stateMachineArn=target["Arn"], input=target["Input"], name=name)["executionArn"]
    return wait_until(
        lambda: (status := stepfunctions.describe_execution(executionArn=arn)["status"]) != "RUNNING" and status,
        timeout=120,
    )


@pytest.mark.parametrize(
    "change", [{"status": "DISABLED"}, {"workflows": [{"type": "DAILY_WAREHOUSE_REPORT"}]}], ids=["disabled", "removed"]
)
def test_a_firing_after_the_agent_was_disabled_or_its_schedule_removed_starts_no_task(
    new_user: ApiSession, stack: Any, change: dict[str, Any]
) -> None:
    agent = new_user.create_agent(workflows=[WORKFLOW])
    scheduler = boto3.client("scheduler", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    name = new_user.ok("GET", f"/agents/{agent['id']}/schedules")[0]["scheduler_name"]
    target = scheduler.get_schedule(Name=name, GroupName="phi-dev")["Target"]

    new_user.ok("PATCH", f"/agents/{agent['id']}", json=change)
    status = _fire_stale_target(stack, target)

    assert status == "SUCCEEDED"
    assert _tasks_of(agent["id"]) == []
