"""The task loop's light steps (DESIGN §2): StartTask, FinishTask, MarkFailed. Plain functions over the
database; nothing here imports LangGraph, so their Lambda functions start fast (Think lives in runner.py)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from phi.db import agents as agents_repo
from phi.db import schedules as schedules_repo
from phi.db import tasks as tasks_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection, transaction
from phi.definitions.document import task_input_for
from phi.domain.models import FINAL_TASK_STATUSES, AgentStatus, EventType, TaskStatus
from phi.errors import NotFound
from phi.settings import get_settings
from phi.wording import workflow_name
from phi.workflows.contracts import TaskContext
from phi.workflows.failures import record_failure
from phi.workflows.tool_results import outcome_from_state

log = logging.getLogger("phi.steps")


class StartEvent(BaseModel):
    """What the API or a schedule passes to StartExecution."""

    task_id: str | None = None
    org_id: str
    agent_id: str
    type: str
    input: dict[str, Any] = {}
    trigger: str = "api"


def start_task(start: StartEvent, execution_id: str) -> dict[str, Any]:
    settings = get_settings()
    org_id, agent_id = UUID(start.org_id), UUID(start.agent_id)
    with transaction() as conn:
        agent = agents_repo.get_agent_in_org(conn, agent_id, org_id)
        if agent is None or agent.queue_url is None:
            raise NotFound(f"Agent {agent_id} not found in organisation {org_id}")
        if start.task_id is None and not _schedule_still_enabled(conn, start, agent.status):
            return {"skipped": True, "task_id": None}
        task_id = UUID(start.task_id) if start.task_id else _scheduled_task(conn, start, execution_id)
        task = tasks_repo.get_task(conn, task_id, org_id)
        if task is not None and task.status in FINAL_TASK_STATUSES:
            # Cancelled before its execution got here (StopExecution comes after the cancel's commit, and may
            # fail): the execution ends as skipped rather than run a task nobody wants any more.
            log.info("start of task %s skipped: it is already %s", task_id, task.status.value)
            return {"skipped": True, "task_id": str(task_id)}
        if start.trigger == "schedule" and _previous_run_still_running(conn, start, task_id):
            return {"skipped": True, "task_id": str(task_id)}
        if tasks_repo.mark_running(conn, task_id, org_id, execution_id):
            tasks_repo.add_event(
                conn,
                task_id,
                org_id,
                EventType.TASK_STARTED,
                f"{workflow_name(start.type)} started",
                {
                    "execution_arn": execution_id,
                    "trigger": start.trigger,
                },
            )
    ctx = TaskContext(
        task_id=str(task_id),
        org_id=start.org_id,
        agent_id=start.agent_id,
        execution_id=execution_id,
        type=start.type,
        queue_url=agent.queue_url,
        max_steps=settings.max_steps,
        tool_timeout_seconds=settings.tool_timeout_seconds,
        tool_heartbeat_seconds=settings.tool_heartbeat_seconds,
        workflow_version_id=str(task.workflow_version_id) if task and task.workflow_version_id else None,
    )
    return {"skipped": False, "ctx": ctx.model_dump(), "step": 0, "tool_result": None}


def _schedule_still_enabled(conn: DbConnection, start: StartEvent, agent_status: AgentStatus) -> bool:
    """A scheduled start runs only while the database still holds its schedule, enabled, for an active agent.
    The scheduler's copy follows the database after each commit, so a firing already under way when the agent
    was disabled or the schedule removed — or a copy whose update failed — must not start a task."""
    org_id, agent_id = UUID(start.org_id), UUID(start.agent_id)
    if agent_status == AgentStatus.ACTIVE and schedules_repo.is_enabled(conn, agent_id, org_id, start.type):
        return True
    log.warning(
        "scheduled start of %s for agent %s ignored: the agent is %s, or its schedule was removed or paused",
        start.type,
        agent_id,
        agent_status.value,
    )
    return False


def _previous_run_still_running(conn: DbConnection, start: StartEvent, task_id: UUID) -> bool:
    """Overlap policy SKIP: the new run is recorded as SKIPPED with the running task it yielded to."""
    org_id, agent_id = UUID(start.org_id), UUID(start.agent_id)
    if schedules_repo.overlap_policy(conn, agent_id, org_id, start.type) != "SKIP":
        return False
    running = tasks_repo.running_task_of_type(conn, agent_id, org_id, start.type)
    if running is None or running == task_id:
        return False
    if tasks_repo.finish(conn, task_id, org_id, TaskStatus.SKIPPED):
        tasks_repo.add_event(
            conn,
            task_id,
            org_id,
            EventType.TASK_SKIPPED,
            f"Skipped: the previous {start.type} run ({running}) is still running",
            {"running_task_id": str(running)},
        )
    return True


def _scheduled_task(conn: DbConnection, start: StartEvent, execution_id: str) -> UUID:
    """The task this execution created: made once, and found again by a StartTask that Step Functions retries after
    it committed (a second row would stay PENDING for ever, or, with overlap SKIP, skip the run in favour of the
    execution's own first task, whose execution then ends)."""
    org_id, agent_id = UUID(start.org_id), UUID(start.agent_id)
    earlier = tasks_repo.task_of_execution(conn, agent_id, org_id, execution_id)
    if earlier is not None:
        return earlier
    stored = workflows_repo.current_version_for_key(conn, agent_id, org_id, start.type)
    task = tasks_repo.create_task(
        conn,
        org_id=org_id,
        agent_id=agent_id,
        task_type=start.type,
        task_input=task_input_for(start.type, start.input, stored.definition if stored else None),
        trigger=start.trigger,
        created_by=None,
        workflow_version_id=stored.id if stored else None,
    )
    tasks_repo.set_execution_arn(conn, task.id, execution_id)
    return task.id


def finish_task(ctx: TaskContext) -> dict[str, Any]:
    """SUCCEEDED, unless the task ended first (cancelled, or failed by the sweeper): then nothing changes, and the
    answer says the status it has (`recorded` false, so no success is counted)."""
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    with transaction() as conn:
        recorded = tasks_repo.finish(conn, task_id, org_id, TaskStatus.SUCCEEDED)
        if recorded:
            tasks_repo.add_event(conn, task_id, org_id, EventType.TASK_COMPLETED, "Task completed")
            status: TaskStatus | None = TaskStatus.SUCCEEDED
        else:
            status = tasks_repo.status_of(conn, task_id, org_id)
    return {"task_id": ctx.task_id, "status": status.value if status else None, "recorded": recorded}


def mark_failed(state: dict[str, Any], execution_id: str) -> dict[str, Any]:
    error = state.get("error") or {}
    error_name = str(error.get("Error") or "Task.Failed")
    cause = outcome_from_state({"Error": error_name, "Cause": error.get("Cause")}, 0).cause or ""
    ids = state.get("ctx") or state
    task_id, org_id = ids.get("task_id"), ids.get("org_id")
    if not task_id or not org_id:  # a scheduled start that failed before its task row existed
        return {"recorded": False, "error": error_name}
    with transaction() as conn:
        error = {"error": error_name, "cause": cause}
        recorded = record_failure(conn, UUID(task_id), UUID(org_id), error, {**error, "execution_arn": execution_id})
    # Not recorded: the task had ended already (cancelled, or failed by the sweeper); nothing is counted twice.
    return {"recorded": recorded, "error": error_name}
