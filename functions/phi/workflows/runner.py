"""The task loop's steps (DESIGN §2) as plain functions; the Lambda handlers are one call into these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import StateGraph
from langgraph.types import Command
from pydantic import BaseModel

from phi.db import agents as agents_repo
from phi.db import schedules as schedules_repo
from phi.db import tasks as tasks_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection, checkpoint_connection, transaction
from phi.definitions.document import parse_stored, task_input_for
from phi.definitions.registry import get_type
from phi.domain.models import EventType, TaskStatus
from phi.errors import NotFound
from phi.settings import get_settings
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import (
    CompletedTool,
    TaskContext,
    ThinkOutput,
    ToolCallOut,
    ToolOutcome,
    ToolRequest,
)
from phi.workflows.live_ports import live_ports
from phi.workflows.ports import Ports, graph_config
from phi.workflows.tool_results import outcome_from_state, presigned_upload


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
        task_id = UUID(start.task_id) if start.task_id else _create_scheduled_task(conn, start)
        task = tasks_repo.get_task(conn, task_id, org_id)
        if start.trigger == "schedule" and _previous_run_still_running(conn, start, task_id):
            return {"skipped": True, "task_id": str(task_id)}
        if tasks_repo.mark_running(conn, task_id, org_id, execution_id):
            tasks_repo.add_event(conn, task_id, org_id, EventType.TASK_STARTED, f"{start.type} started", {
                "execution_arn": execution_id, "trigger": start.trigger,
            })
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


def _previous_run_still_running(conn: DbConnection, start: StartEvent, task_id: UUID) -> bool:
    """Overlap policy SKIP: the new run is recorded as SKIPPED with the running task it yielded to."""
    org_id, agent_id = UUID(start.org_id), UUID(start.agent_id)
    if schedules_repo.overlap_policy(conn, agent_id, org_id, start.type) != "SKIP":
        return False
    running = tasks_repo.running_task_of_type(conn, agent_id, org_id, start.type)
    if running is None or running == task_id:
        return False
    tasks_repo.finish(conn, task_id, org_id, TaskStatus.SKIPPED)
    tasks_repo.add_event(conn, task_id, org_id, EventType.TASK_SKIPPED,
                         f"Skipped: the previous {start.type} run ({running}) is still running",
                         {"running_task_id": str(running)})
    return True


def _create_scheduled_task(conn: DbConnection, start: StartEvent) -> UUID:
    org_id, agent_id = UUID(start.org_id), UUID(start.agent_id)
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
    return task.id


@contextmanager
def _checkpointer() -> Iterator[PostgresSaver]:
    with checkpoint_connection() as conn:
        yield PostgresSaver(conn)


def think(ctx: TaskContext, step: int, tool_result: dict[str, Any] | None, ports: Ports | None = None) -> ThinkOutput:
    """Resumes the task's graph and answers with the Think contract only: a tool request, done (the graph's
    `output` stored on the task), or failed (the graph's `failure`). What the graph does is its own affair."""
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    resume, completed = _record_tool_outcome(ctx, tool_result) if tool_result is not None else (None, None)
    config = graph_config(ctx.task_id, ports or live_ports(ctx))
    with _checkpointer() as saver:
        graph = _graph_for(ctx).compile(checkpointer=saver)
        if resume is None:
            graph.invoke({"task_id": ctx.task_id, "org_id": ctx.org_id, "agent_id": ctx.agent_id}, config)
        else:
            graph.invoke(Command(resume=resume.model_dump()), config)
        snapshot = graph.get_state(config)
    if snapshot.interrupts:
        request = ToolRequest.model_validate(snapshot.interrupts[0].value)
        return ThinkOutput(status="tool", tool_call=_request_tool(ctx, step, request), completed_tool=completed)
    values = snapshot.values
    if values.get("failure"):
        failure = values["failure"]
        error = {"error": failure["error"], "cause": failure["cause"]}
        return ThinkOutput(status="failed", error=error, completed_tool=completed)
    with transaction() as conn:
        tasks_repo.finish_output(conn, task_id, org_id, values.get("output") or {})
    return ThinkOutput(status="done", completed_tool=completed)


def _graph_for(ctx: TaskContext) -> StateGraph:
    """The task's graph: its stored definition's version (immutable, so every resume compiles the same graph),
    else the built-in type's own graph."""
    if ctx.workflow_version_id is None:
        builder: StateGraph = get_type(ctx.type).load_graph_builder()()
        return builder
    with transaction() as conn:
        version = workflows_repo.get_version_by_id(conn, UUID(ctx.workflow_version_id), UUID(ctx.org_id))
    if version is None:
        raise NotFound(f"Workflow version {ctx.workflow_version_id} not found")
    return compile_definition(parse_stored(version.definition))


def _request_tool(ctx: TaskContext, step: int, request: ToolRequest) -> ToolCallOut:
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    with transaction() as conn:
        call = tasks_repo.create_tool_call(conn, task_id, org_id, step, request.tool, request.args)
        tasks_repo.add_event(conn, task_id, org_id, EventType.TOOL_REQUESTED, f"{request.tool}: {request.purpose}", {
            "tool_call_id": str(call.id), "tool": request.tool, "step": step,
        })
    deadline = datetime.now(UTC) + timedelta(seconds=ctx.tool_timeout_seconds)
    return ToolCallOut(
        tool_call_id=str(call.id),
        tool=request.tool,
        args=request.args,
        deadline=deadline.isoformat(),
        result_upload=presigned_upload(ctx.task_id, str(call.id)),
    )


def _record_tool_outcome(ctx: TaskContext, tool_result: dict[str, Any]) -> tuple[ToolOutcome, CompletedTool | None]:
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    outcome = outcome_from_state(tool_result, ctx.tool_timeout_seconds)
    with transaction() as conn:
        call = tasks_repo.open_tool_call(conn, task_id, org_id)
        if call is None:
            return outcome, None
        tasks_repo.complete_tool_call(
            conn, call.id, org_id, ok=outcome.ok, error_code=outcome.error, error_message=outcome.cause,
            result_bytes=outcome.result_bytes if outcome.ok else None,
        )
        if outcome.ok:
            rows = (outcome.result or {}).get("row_count")
            tasks_repo.add_event(conn, task_id, org_id, EventType.TOOL_COMPLETED, f"{call.tool} returned {rows} rows", {
                "tool_call_id": str(call.id), "row_count": rows, "bytes": outcome.result_bytes,
            })
        else:
            tasks_repo.add_event(conn, task_id, org_id, EventType.TOOL_FAILED, f"{call.tool} failed: {outcome.error}", {
                "tool_call_id": str(call.id), "error": outcome.error, "cause": outcome.cause,
            })
    latency_ms = (datetime.now(UTC) - call.requested_at).total_seconds() * 1000
    return outcome, CompletedTool(tool=call.tool, ok=outcome.ok, latency_ms=latency_ms, error=outcome.error)


def finish_task(ctx: TaskContext) -> dict[str, Any]:
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    with transaction() as conn:
        if tasks_repo.finish(conn, task_id, org_id, TaskStatus.SUCCEEDED):
            tasks_repo.add_event(conn, task_id, org_id, EventType.TASK_COMPLETED, "Task completed")
    return {"task_id": ctx.task_id, "status": TaskStatus.SUCCEEDED.value}


def mark_failed(state: dict[str, Any], execution_id: str) -> dict[str, Any]:
    error = state.get("error") or {}
    error_name = str(error.get("Error") or "Task.Failed")
    cause = outcome_from_state({"Error": error_name, "Cause": error.get("Cause")}, 0).cause or ""
    ids = state.get("ctx") or state
    task_id, org_id = ids.get("task_id"), ids.get("org_id")
    if not task_id or not org_id:  # a scheduled start that failed before its task row existed
        return {"recorded": False, "error": error_name}
    with transaction() as conn:
        if tasks_repo.finish(
            conn, UUID(task_id), UUID(org_id), TaskStatus.FAILED, error={"error": error_name, "cause": cause}
        ):
            tasks_repo.add_event(conn, UUID(task_id), UUID(org_id), EventType.TASK_FAILED, f"{error_name}: {cause}", {
                "error": error_name, "cause": cause, "execution_arn": execution_id,
            })
    return {"recorded": True, "error": error_name}
