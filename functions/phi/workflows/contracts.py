"""What Think exchanges with the state machine and with the local agent (DESIGN §3)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class TaskContext(BaseModel):
    """`$.ctx` in the state machine: ids and limits only; bulky state lives in PostgreSQL."""

    task_id: str
    org_id: str
    agent_id: str
    execution_id: str = ""
    type: str
    queue_url: str
    max_steps: int
    tool_timeout_seconds: int
    tool_heartbeat_seconds: int
    workflow_version_id: str | None = None  # the stored definition this task runs; None: a built-in type


class ToolRequest(BaseModel):
    """What a workflow asks of the local agent (the value passed to LangGraph's interrupt)."""

    tool: str
    args: dict[str, Any]
    purpose: str = ""


class ToolCallOut(BaseModel):
    tool_call_id: str
    tool: str
    args: dict[str, Any]
    deadline: str
    result_upload: dict[str, str] | None = None


class CompletedTool(BaseModel):
    """The tool call this Think step closed, for metrics (latency = requested → result recorded)."""

    tool: str
    ok: bool
    latency_ms: float
    error: str | None = None


class ThinkOutput(BaseModel):
    status: Literal["tool", "done", "failed"]
    tool_call: ToolCallOut | None = None
    error: dict[str, str] | None = None
    completed_tool: CompletedTool | None = None


class ToolOutcome(BaseModel):
    """What the workflow sees when resumed: the tool's result, or why there is none."""

    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    result_bytes: int = 0


class WorkflowFailure(BaseModel):
    error: str = Field(examples=["Tool.SqlError"])
    cause: str
