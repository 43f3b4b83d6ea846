"""Domain models returned by the repositories."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class OrgRole(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


def is_manager_role(role: OrgRole | None) -> bool:
    """An owner or admin: who manages an organisation's members, agents, keys and workflows (the one rule)."""
    return role in (OrgRole.OWNER, OrgRole.ADMIN)


class AgentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    DELETED = "DELETED"


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"  # a person cancelled it while it was pending or running


FINAL_TASK_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED})


class EventType(StrEnum):
    TASK_CREATED = "TASK_CREATED"
    TASK_STARTED = "TASK_STARTED"
    TASK_SKIPPED = "TASK_SKIPPED"
    TOOL_REQUESTED = "TOOL_REQUESTED"
    TOOL_COMPLETED = "TOOL_COMPLETED"
    TOOL_FAILED = "TOOL_FAILED"
    KPIS_COMPUTED = "KPIS_COMPUTED"
    REPORT_GENERATED = "REPORT_GENERATED"
    NODE_COMPLETED = "NODE_COMPLETED"
    NODE_SKIPPED = "NODE_SKIPPED"
    LLM_CALLED = "LLM_CALLED"
    APPROVAL_REQUESTED = "APPROVAL_REQUESTED"
    APPROVAL_APPROVED = "APPROVAL_APPROVED"
    APPROVAL_REJECTED = "APPROVAL_REJECTED"
    APPROVAL_TIMED_OUT = "APPROVAL_TIMED_OUT"
    TASK_COMPLETED = "TASK_COMPLETED"
    TASK_FAILED = "TASK_FAILED"
    TASK_CANCELLED = "TASK_CANCELLED"


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class User(Model):
    id: UUID
    email: str
    full_name: str | None = None
    is_platform_admin: bool = False
    created_at: datetime
    # Tokens issued before it are refused (log-out); never shown in a response.
    sessions_ended_at: datetime | None = Field(default=None, exclude=True)


class UserWithPassword(User):
    password_hash: str


class Organization(Model):
    id: UUID
    name: str
    created_at: datetime
    role: OrgRole | None = Field(default=None, description="The caller's role in this organisation")


class AgentTool(Model):
    tool_id: UUID
    key: str
    config: dict[str, Any] = Field(default_factory=dict)


class Agent(Model):
    id: UUID
    org_id: UUID
    name: str
    status: AgentStatus
    industry_id: UUID | None = None
    industry_key: str | None = None
    role_template_id: UUID | None = None
    role_key: str | None = None
    tools: list[AgentTool] = Field(default_factory=list, description="The agent's tools and their configuration")
    system_prompt: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    queue_url: str | None = None
    created_at: datetime
    updated_at: datetime


class Member(Model):
    user_id: UUID
    email: str
    full_name: str | None = None
    role: OrgRole
    joined_at: datetime


class Industry(Model):
    id: UUID
    key: str
    name: str
    description: str | None = None


class RoleTemplate(Model):
    id: UUID
    industry_id: UUID
    industry_key: str
    key: str
    name: str
    description: str | None = None
    default_capabilities: list[str] = Field(default_factory=list)
    default_tools: list[str] = Field(default_factory=list, description="Keys of the tools the role usually needs")
    default_workflows: list[dict[str, Any]] = Field(default_factory=list)


class Tool(Model):
    id: UUID
    key: str
    name: str
    description: str | None = None
    runs_on: Literal["LOCAL", "CLOUD"]
    operations: list[str] = Field(default_factory=list)
    config_schema: dict[str, Any] = Field(description="JSON Schema of the tool's configuration")
    available: bool


class Task(Model):
    id: UUID
    org_id: UUID
    agent_id: UUID
    type: str
    trigger: str
    status: TaskStatus
    input: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    execution_arn: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    workflow_version_id: UUID | None = Field(
        default=None, description="The workflow definition version this task ran (none for built-in workflows)"
    )


class TaskEvent(Model):
    id: int
    type: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class ToolCall(Model):
    id: UUID
    task_id: UUID
    org_id: UUID
    step: int
    tool: str
    args: dict[str, Any]
    status: str
    error_code: str | None = None
    error_message: str | None = None
    result_key: str | None = Field(default=None, description="S3 key issued for a large result (claim check)")
    requested_at: datetime
    completed_at: datetime | None = None


class AgentKey(Model):
    id: UUID
    agent_id: UUID
    org_id: UUID
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class LlmCall(Model):
    """One request to one LLM route: what an organisation's token use and a task's LLM work are made of."""

    purpose: str = Field(examples=["analysis"])
    route: str = Field(description="provider/model@host, never a key", examples=["openai/gpt-4o-mini"])
    model: str = Field(examples=["gpt-4o-mini"])
    attempt: int = Field(ge=1, description="Position of the route in the purpose's list (2 = first fallback)")
    ok: bool
    error: str | None = Field(default=None, description="The failure's kind and HTTP status when not ok")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    created_at: datetime | None = None


class ApprovalStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"  # the task ended (failed, stopped) while the approval was pending


class Approval(Model):
    """An approval a running workflow waits for. The task token stays in the database: see ApprovalWithToken."""

    id: UUID
    org_id: UUID
    agent_id: UUID
    task_id: UUID
    step: int
    node_id: str
    title: str
    summary: str
    approver_roles: list[OrgRole]
    approver_emails: list[str]
    on_timeout: Literal["fail", "skip"]
    status: ApprovalStatus
    requested_at: datetime
    expires_at: datetime
    decided_by: UUID | None = None
    decided_by_email: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    resumed_at: datetime | None = None


class ApprovalWithToken(Approval):
    task_token: str
