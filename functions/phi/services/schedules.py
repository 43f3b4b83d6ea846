"""One EventBridge Scheduler schedule per agent workflow, kept in sync with the agent's config.

The schedule's target starts the task state machine with {agent_id, org_id, type, trigger: "schedule", input};
StartTask creates the task row. The embedded stack fires the same schedule definitions itself.

The schedule rows change in the caller's transaction; EventBridge Scheduler follows after it commits
(phi.db.connection.after_commit), so a rolled-back change leaves no schedule behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from phi.aws import client
from phi.db import schedules as schedules_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection, after_commit
from phi.definitions.document import cron_problem, never_fires_problem
from phi.definitions.schedule_times import next_fire, to_eventbridge
from phi.domain.agent_config import WorkflowEntry
from phi.domain.models import Agent
from phi.errors import BadRequest
from phi.settings import get_settings
from phi.workflows.timeframes import zone


class ScheduleView(BaseModel):
    workflow_type: str
    cron: str
    timezone: str
    input: dict[str, Any]
    enabled: bool
    overlap_policy: str
    next_run_at: datetime | None
    last_fired_at: datetime | None
    scheduler_name: str


def schedule_name(agent_id: UUID, workflow_type: str) -> str:
    """Scheduler names are at most 64 characters: the agent id plus a digest of the workflow type."""
    return f"{agent_id}-{hashlib.sha256(workflow_type.encode()).hexdigest()[:8]}"


def validate_schedule(cron: str, timezone: str) -> None:
    problem = cron_problem(cron)
    if problem:
        raise BadRequest(f"Invalid schedule: {problem} (for example '0 7 * * *': 07:00 every day)")
    try:
        schedule_zone = zone(timezone)
    except ValueError as exc:
        raise BadRequest(f"Invalid schedule timezone: {exc}") from exc
    never = never_fires_problem(cron, schedule_zone)
    if never:
        raise BadRequest(f"Invalid schedule: {never}")
    to_eventbridge(cron)


def next_run(cron: str, timezone: str, after: datetime | None = None) -> datetime:
    """When the schedule fires next, as EventBridge Scheduler does across daylight saving time."""
    return next_fire(cron, zone(timezone), after or datetime.now(UTC))


def sync_agent_schedules(conn: DbConnection, agent: Agent) -> list[ScheduleView]:
    wanted = {
        w.type: w
        for w in (WorkflowEntry.model_validate(raw) for raw in agent.config.get("workflows", []))
        if w.schedule
    }
    wanted.update(_definition_schedules(conn, agent))  # a stored definition's schedule wins over the config's
    for workflow in wanted.values():
        validate_schedule(workflow.schedule or "", workflow.timezone)
    for row in schedules_repo.list_for_agent(conn, agent.id, agent.org_id):
        if row["workflow_type"] not in wanted:
            _remove(conn, agent, row["workflow_type"])
    enabled = agent.status == "ACTIVE"
    for workflow in wanted.values():
        _put(conn, agent, workflow, enabled)
    return list_schedules(conn, agent)


def _definition_schedules(conn: DbConnection, agent: Agent) -> dict[str, WorkflowEntry]:
    """The schedules the agent's current workflow definitions carry (DESIGN §8: schedules live in them)."""
    entries = {}
    for row in workflows_repo.current_definitions(conn, agent.id, agent.org_id):
        schedule = row.definition.get("schedule")
        if schedule:
            key = row.definition["key"]
            entries[key] = WorkflowEntry(
                type=key,
                schedule=schedule["cron"],
                timezone=schedule.get("timezone", "UTC"),
                input=schedule.get("input") or {},
                overlap=schedule.get("overlap", "SKIP"),
            )
    return entries


def delete_agent_schedules(conn: DbConnection, agent: Agent) -> None:
    for row in schedules_repo.list_for_agent(conn, agent.id, agent.org_id):
        _remove(conn, agent, row["workflow_type"])


def list_schedules(conn: DbConnection, agent: Agent) -> list[ScheduleView]:
    return [
        ScheduleView(
            workflow_type=row["workflow_type"],
            cron=row["cron"],
            timezone=row["timezone"],
            input=row["input"],
            enabled=row["enabled"],
            overlap_policy=row["overlap_policy"],
            next_run_at=_next_run_or_none(row["cron"], row["timezone"]) if row["enabled"] else None,
            last_fired_at=row["last_fired_at"],
            scheduler_name=schedule_name(agent.id, row["workflow_type"]),
        )
        for row in schedules_repo.list_for_agent(conn, agent.id, agent.org_id)
    ]


def _next_run_or_none(cron: str, timezone: str) -> datetime | None:
    """None for a schedule stored before its cron was checked against its zone (one that never fires there)."""
    try:
        return next_run(cron, timezone)
    except ValueError:
        return None


def _put(conn: DbConnection, agent: Agent, workflow: WorkflowEntry, enabled: bool) -> None:
    schedules_repo.upsert(
        conn,
        agent_id=agent.id,
        org_id=agent.org_id,
        workflow_type=workflow.type,
        cron=workflow.schedule or "",
        timezone=workflow.timezone,
        task_input=workflow.input,
        enabled=enabled,
        overlap_policy=workflow.overlap,
    )
    settings = get_settings()
    if not settings.scheduler_group:
        return
    definition = {
        "Name": schedule_name(agent.id, workflow.type),
        "GroupName": settings.scheduler_group,
        "ScheduleExpression": to_eventbridge(workflow.schedule or ""),
        "ScheduleExpressionTimezone": workflow.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if enabled else "DISABLED",
        "Target": {
            "Arn": settings.required("state_machine_arn"),
            "RoleArn": settings.required("scheduler_role_arn"),
            "Input": json.dumps(
                {
                    "agent_id": str(agent.id),
                    "org_id": str(agent.org_id),
                    "type": workflow.type,
                    "trigger": "schedule",
                    "input": workflow.input,
                }
            ),
        },
    }
    after_commit(conn, lambda: _put_aws_schedule(definition))


def _put_aws_schedule(definition: dict[str, Any]) -> None:
    scheduler = client("scheduler")
    try:
        scheduler.create_schedule(**definition)
    except scheduler.exceptions.ConflictException:
        scheduler.update_schedule(**definition)


def _remove(conn: DbConnection, agent: Agent, workflow_type: str) -> None:
    schedules_repo.delete(conn, agent.id, agent.org_id, workflow_type)
    settings = get_settings()
    if not settings.scheduler_group:
        return
    name, group = schedule_name(agent.id, workflow_type), settings.scheduler_group
    after_commit(conn, lambda: _delete_aws_schedule(name, group))


def _delete_aws_schedule(name: str, group: str) -> None:
    scheduler = client("scheduler")
    with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
        scheduler.delete_schedule(Name=name, GroupName=group)
