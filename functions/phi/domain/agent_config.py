"""The agent configuration document (DESIGN §3) served to the local agent as YAML. It never holds secrets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from phi.domain.request_body import RequestBody


class LlmSettings(BaseModel):
    model: str = Field(min_length=1, max_length=200, examples=["gpt-4o-mini"])
    temperature: float = Field(default=0.2, ge=0, le=2)


class LlmSettingsInput(LlmSettings, RequestBody):
    """LlmSettings as a request body states them: an unknown field is refused. Stored configurations are read
    with LlmSettings, which keeps ignoring one."""


class ToolEntry(BaseModel):
    key: str = Field(description="Operation the local agent may run, e.g. db.query")
    settings: dict[str, Any] = Field(default_factory=dict)


class WorkflowEntry(BaseModel):
    type: str = Field(min_length=1, max_length=100, examples=["DAILY_WAREHOUSE_REPORT"])
    schedule: str | None = Field(default=None, max_length=100, description="5-field cron", examples=["0 7 * * *"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/London"])
    input: dict[str, Any] = Field(default_factory=dict)
    overlap: Literal["SKIP", "ALLOW"] = Field(
        default="SKIP",
        description="When the previous scheduled run is still running: skip the new one, or allow it",
    )


class WorkflowEntryInput(WorkflowEntry, RequestBody):
    """WorkflowEntry as a request body states it (a misspelt `inputs` is refused, not run with no input).
    Stored configurations and role templates' default workflows are read with WorkflowEntry."""


class CloudConnection(BaseModel):
    region: str
    queue_url: str
    api_url: str
    aws_endpoint_url: str | None = None
    # The bucket large tool results are uploaded to: the agent uploads only there, whatever URL a message names.
    results_bucket: str | None = None
    # Where the upload URLs point (the stack's own S3 endpoint; null on AWS: the region's S3 endpoint), whatever
    # endpoint the agent's machine uses for its AWS API calls.
    results_endpoint_url: str | None = None


class AgentConfigDocument(BaseModel):
    version: int = 1
    agent_id: str
    org_id: str
    name: str
    industry: str | None
    role: str | None
    llm: LlmSettings
    tools: list[ToolEntry]
    memory: dict[str, list[str]]
    workflows: list[WorkflowEntry]
    cloud: CloudConnection
