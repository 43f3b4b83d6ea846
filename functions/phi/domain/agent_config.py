"""The agent configuration document (DESIGN §3) served to the local agent as YAML. It never holds secrets."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class LlmSettings(BaseModel):
    model: str
    temperature: float = 0.2


class ToolEntry(BaseModel):
    key: str = Field(description="Operation the local agent may run, e.g. db.query")
    settings: dict[str, Any] = Field(default_factory=dict)


class WorkflowEntry(BaseModel):
    type: str
    schedule: str | None = Field(default=None, description="5-field cron")
    timezone: str = "UTC"
    input: dict[str, Any] = Field(default_factory=dict)


class CloudConnection(BaseModel):
    region: str
    queue_url: str
    api_url: str
    aws_endpoint_url: str | None = None


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
