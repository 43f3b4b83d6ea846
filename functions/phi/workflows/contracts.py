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
    sql_variants: dict[str, str] | None = None  # db.query: per-database SQL; the agent falls back to args.sql


class ToolCallOut(BaseModel):
    tool_call_id: str
    tool: str
    args: dict[str, Any]
    # Beside `args`, not in it: an agent that predates per-database SQL ignores it and runs `args.sql`.
    sql_variants: dict[str, str] | None = None
    deadline: str
    result_upload: dict[str, str] | None = None


class CompletedTool(BaseModel):
    """The tool call this Think step closed, for metrics (latency = requested → result recorded)."""

    tool: str
    ok: bool
    latency_ms: float
    error: str | None = None


ApprovalDecision = Literal["approved", "rejected", "timed_out", "error"]
ApproverRole = Literal["OWNER", "ADMIN", "MEMBER"]


def _owners_and_admins() -> list[ApproverRole]:
    return ["OWNER", "ADMIN"]


class Approvers(BaseModel):
    """Who may decide: members with one of these roles, or these users (by e-mail), in the task's organisation."""

    roles: list[ApproverRole] = Field(default_factory=_owners_and_admins)
    emails: list[str] = Field(default_factory=list)


class ApprovalRequest(BaseModel):
    """What an `approval` node asks for (the value passed to LangGraph's interrupt, under the key "approval")."""

    node_id: str
    title: str = Field(max_length=300)
    summary: str = Field(default="", max_length=4000)
    approvers: Approvers = Field(default_factory=Approvers)
    timeout_seconds: int = Field(ge=1)
    on_timeout: Literal["fail", "skip"] = "fail"


class ApprovalOut(ApprovalRequest):
    """`$.think.approval` in the state machine: the request and the step it was made at, handed to AwaitApproval."""

    step: int


class ApprovalOutcome(BaseModel):
    """What an approval node sees when resumed: the recorded decision (who, when, comment), or why there is none."""

    decision: ApprovalDecision
    approval_id: str | None = None
    decided_by: str | None = None  # the decider's e-mail
    decided_at: str | None = None  # ISO-8601
    comment: str | None = None
    error: str | None = None
    cause: str | None = None


class ThinkOutput(BaseModel):
    status: Literal["tool", "approval", "done", "failed"]
    tool_call: ToolCallOut | None = None
    approval: ApprovalOut | None = None
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
