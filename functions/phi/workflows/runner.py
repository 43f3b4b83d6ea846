"""Think, the task loop's LangGraph step (DESIGN §2); the light steps are in steps.py (re-exported here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Interrupt
from pydantic import BaseModel

from phi.db import requests as requests_repo
from phi.db import tasks as tasks_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import checkpoint_connection, transaction
from phi.definitions import templating
from phi.definitions.document import parse_stored
from phi.definitions.registry import AD_HOC, template_definition
from phi.definitions.table import TableError
from phi.domain.models import FINAL_TASK_STATUSES, EventType, TaskStatus
from phi.errors import NotFound
from phi.recently_used import RecentlyUsed
from phi.wording import readable
from phi.workflows.approvals import resume_approval
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import (
    ApprovalOut,
    ApprovalRequest,
    CompletedTool,
    TaskContext,
    ThinkOutput,
    ToolCallOut,
    ToolOutcome,
    ToolRequest,
)
from phi.workflows.live_ports import APPROVAL_INTERRUPT_KEY, live_ports
from phi.workflows.ports import Ports, graph_config
from phi.workflows.request_results import store_result
from phi.workflows.steps import StartEvent, finish_task, mark_failed, start_task
from phi.workflows.tool_results import MAX_CAUSE_CHARS, error_name, outcome_from_state, presigned_upload

__all__ = ["StartEvent", "finish_task", "mark_failed", "start_task", "think"]

THINK_STEP_KEY = "think_step"  # in each checkpoint's metadata: the state machine's step that wrote it


@contextmanager
def _checkpointer() -> Iterator[PostgresSaver]:
    with checkpoint_connection() as conn:
        yield PostgresSaver(conn)


def think(ctx: TaskContext, step: int, tool_result: Any, ports: Ports | None = None) -> ThinkOutput:
    """Resumes the task's graph and answers with the Think contract only: a tool request, an approval request,
    done (the graph's `output` stored on the task), or failed (the graph's `failure`). What the graph does is its
    own affair."""
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    ended = _ended(task_id, org_id)
    if ended == TaskStatus.CANCELLED:
        # StopExecution normally ends a cancelled task's execution; when it failed, the next step ends it here.
        error = {"error": "Task.Cancelled", "cause": "The task was cancelled; its workflow stops."}
        return ThinkOutput(status="failed", error=error)
    if ended is not None:
        # Failed meanwhile (past its deadline, by the sweeper): its workflow goes no further, and never starts
        # again from the beginning once the ended task's checkpoints are pruned.
        error = {"error": "Task.Ended", "cause": f"The task has ended ({ended.value}); its workflow stops."}
        return ThinkOutput(status="failed", error=error)
    ports = ports or live_ports(ctx)
    config = graph_config(ctx.task_id, ports)
    with _checkpointer() as saver:
        graph = _compiled_graph_for(ctx).copy(update={"checkpointer": saver})
        with templating.step_time_budget():
            completed = _advance(graph, ctx, step, tool_result, config)
        snapshot = graph.get_state(config)
    if _asks_approval(snapshot.interrupts):
        request = ApprovalRequest.model_validate(snapshot.interrupts[0].value[APPROVAL_INTERRUPT_KEY])
        approval = ApprovalOut(**request.model_dump(), step=step)
        return ThinkOutput(status="approval", approval=approval, completed_tool=completed)
    if snapshot.interrupts:
        request_tool = ToolRequest.model_validate(snapshot.interrupts[0].value)
        return ThinkOutput(status="tool", tool_call=_request_tool(ctx, step, request_tool), completed_tool=completed)
    values = snapshot.values
    if values.get("failure"):
        failure = values["failure"]
        # A node's cause may quote data (every column of a table, a whole value): the state machine carries it on,
        # within 256 KiB in all, and people read it.
        error = {"error": error_name(failure["error"]), "cause": readable(str(failure["cause"]), MAX_CAUSE_CHARS)}
        return ThinkOutput(status="failed", error=error, completed_tool=completed)
    output = values.get("output") or {}
    if _is_ad_hoc(ctx):  # a request's result: the table to S3, a preview and the reference on the task
        try:
            output = store_result(ctx.org_id, ctx.task_id, output, ports)
        except TableError as exc:
            error = {"error": "Request.ResultError", "cause": f"The result could not be stored: {exc}"}
            return ThinkOutput(status="failed", error=error, completed_tool=completed)
    with transaction() as conn:
        tasks_repo.finish_output(conn, task_id, org_id, output)
    return ThinkOutput(status="done", completed_tool=completed)


def _ended(task_id: UUID, org_id: UUID) -> TaskStatus | None:
    """The task's final status, or None while it runs (or when it no longer exists: the graph says so)."""
    with transaction() as conn:
        status = tasks_repo.status_of(conn, task_id, org_id)
    return status if status in FINAL_TASK_STATUSES else None


def _advance(
    graph: CompiledStateGraph, ctx: TaskContext, step: int, tool_result: Any, config: RunnableConfig
) -> CompletedTool | None:
    """Runs the graph as far as this step takes it. What to do is read from the graph's checkpoint, never from
    whether the state machine passed a tool result (an agent may answer `null`): no checkpoint yet starts the
    graph; a pending interrupt is resumed with what the step left, whatever it is. Each checkpoint records the
    step that wrote it, so a Think that Step Functions retries after it already ran goes no further than the
    first attempt did (no tool call answered twice, no graph started again)."""
    state = graph.get_state(config)
    step_config: RunnableConfig = {**config, "metadata": {THINK_STEP_KEY: step}}
    if state.created_at is None:
        graph.invoke({"task_id": ctx.task_id, "org_id": ctx.org_id, "agent_id": ctx.agent_id}, step_config)
        return None
    already_ran = (state.metadata or {}).get(THINK_STEP_KEY) == step
    if state.interrupts and not already_ran:
        # The graph's pending interrupt says whether it asked a person or a tool.
        resume: BaseModel
        completed: CompletedTool | None = None
        if _asks_approval(state.interrupts):
            resume = resume_approval(ctx, tool_result if isinstance(tool_result, dict) else {})
        else:
            resume, completed = _record_tool_outcome(ctx, tool_result)
        graph.invoke(Command(resume=resume.model_dump()), step_config)
        return completed
    if state.next and not state.interrupts:  # an attempt stopped part-way: go on from its last checkpoint
        graph.invoke(None, step_config)
    return None


def _is_ad_hoc(ctx: TaskContext) -> bool:
    return ctx.workflow_version_id is None and ctx.type == AD_HOC


def _asks_approval(interrupts: Sequence[Interrupt]) -> bool:
    value = interrupts[0].value if interrupts else None
    return isinstance(value, dict) and APPROVAL_INTERRUPT_KEY in value


class CompiledGraphs:
    """Compiled graphs of this process (a warm Lambda, the embedded stack), least recently used first out.

    Compiling costs ~15 ms per Think step (LangGraph inspects every node's function); the definitions compiled
    never change under their key — a stored version is immutable, a template is code, an ad-hoc task's pipeline
    is kept unchanged with its request — and a compiled graph holds no task's state (that is in the checkpointer
    and the config), so steps share it and each takes a copy bound to its own checkpointer."""

    def __init__(self, size: int) -> None:
        self._graphs: RecentlyUsed[tuple[str, ...], CompiledStateGraph] = RecentlyUsed(size)

    def get(self, key: tuple[str, ...], build: Callable[[], StateGraph]) -> CompiledStateGraph:
        return self._graphs.get(key, lambda: build().compile())


_compiled_graphs = CompiledGraphs(size=64)


def _compiled_graph_for(ctx: TaskContext) -> CompiledStateGraph:
    """Keyed by the organisation and what fixes the definition, so a graph is only reused for the organisation
    whose scoped read built it."""
    key: tuple[str, ...]
    if _is_ad_hoc(ctx):
        key = ("ad-hoc", ctx.org_id, ctx.task_id)
    elif ctx.workflow_version_id is None:
        key = ("template", ctx.type)
    else:
        key = ("version", ctx.org_id, ctx.workflow_version_id)
    return _compiled_graphs.get(key, lambda: _graph_for(ctx))


def _graph_for(ctx: TaskContext) -> StateGraph:
    """The task's graph: its stored definition's version (immutable, so every resume compiles the same graph),
    else the catalogue's template of its type (an agent created before it stored its workflows); an ad-hoc
    request's task compiles the pipeline kept with its request."""
    if _is_ad_hoc(ctx):  # a request's one-off pipeline, kept with the request and never changed after it
        with transaction() as conn:
            pipeline = requests_repo.pipeline_for_task(conn, UUID(ctx.task_id), UUID(ctx.org_id))
        if pipeline is None:
            raise NotFound(f"No pipeline is kept for ad-hoc task {ctx.task_id}")
        return compile_definition(parse_stored(pipeline))
    if ctx.workflow_version_id is None:
        return compile_definition(parse_stored(template_definition(ctx.type)))
    with transaction() as conn:
        version = workflows_repo.get_version_by_id(conn, UUID(ctx.workflow_version_id), UUID(ctx.org_id))
    if version is None:
        raise NotFound(f"Workflow version {ctx.workflow_version_id} not found")
    return compile_definition(parse_stored(version.definition))


def _request_tool(ctx: TaskContext, step: int, request: ToolRequest) -> ToolCallOut:
    deadline = datetime.now(UTC) + timedelta(seconds=ctx.tool_timeout_seconds)
    call_id, upload = _tool_call_of_step(ctx, step, request)
    return ToolCallOut(
        tool_call_id=call_id,
        tool=request.tool,
        args=request.args,
        sql_variants=request.sql_variants,
        deadline=deadline.isoformat(),
        result_upload=upload,
    )


def _tool_call_of_step(ctx: TaskContext, step: int, request: ToolRequest) -> tuple[str, dict[str, str] | None]:
    """The step's tool call, recorded once with its requested event (a retried Think of the same step is handed the
    call it already made): its id and, for a large result, where to upload it."""
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    with transaction() as conn:
        earlier = tasks_repo.tool_call_at_step(conn, task_id, org_id, step)
        if earlier is not None:
            return str(earlier.id), presigned_upload(ctx.task_id, str(earlier.id))
        recorded = {**request.args, "sql_variants": request.sql_variants} if request.sql_variants else request.args
        call = tasks_repo.create_tool_call(conn, task_id, org_id, step, request.tool, recorded)
        upload = presigned_upload(ctx.task_id, str(call.id))
        if upload is not None:  # the claim check: the only key this call's large result is read from
            tasks_repo.set_result_key(conn, call.id, org_id, upload["key"])
        tasks_repo.add_event(
            conn,
            task_id,
            org_id,
            EventType.TOOL_REQUESTED,
            f"{request.tool}: {request.purpose}",
            {"tool_call_id": str(call.id), "tool": request.tool, "step": step},
        )
    return str(call.id), upload


def _record_tool_outcome(ctx: TaskContext, tool_result: Any) -> tuple[ToolOutcome, CompletedTool | None]:
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    with transaction() as conn:
        call = tasks_repo.open_tool_call(conn, task_id, org_id)
    # Outside the transaction: a large result is read from S3 (only from the key issued with `call`).
    outcome = outcome_from_state(tool_result, ctx.tool_timeout_seconds, call, ctx.tool_heartbeat_seconds)
    if call is None:
        return outcome, None
    with transaction() as conn:
        tasks_repo.complete_tool_call(
            conn,
            call.id,
            org_id,
            ok=outcome.ok,
            error_code=outcome.error,
            error_message=outcome.cause,
            result_bytes=outcome.result_bytes if outcome.ok else None,
        )
        if outcome.ok:
            rows = (outcome.result or {}).get("row_count")
            tasks_repo.add_event(
                conn,
                task_id,
                org_id,
                EventType.TOOL_COMPLETED,
                f"{call.tool} returned {rows:,} rows" if isinstance(rows, int) else f"{call.tool} returned its result",
                {
                    "tool_call_id": str(call.id),
                    "row_count": rows,
                    "bytes": outcome.result_bytes,
                },
            )
        else:
            tasks_repo.add_event(
                conn,
                task_id,
                org_id,
                EventType.TOOL_FAILED,
                f"{call.tool} failed: {outcome.error}",
                {
                    "tool_call_id": str(call.id),
                    "error": outcome.error,
                    "cause": outcome.cause,
                },
            )
    latency_ms = (datetime.now(UTC) - call.requested_at).total_seconds() * 1000
    return outcome, CompletedTool(tool=call.tool, ok=outcome.ok, latency_ms=latency_ms, error=outcome.error)
