"""Creating agents and exporting their configuration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from pydantic import BaseModel, Field

from phi.db import agents as agents_repo
from phi.domain.agent_config import AgentConfigDocument, CloudConnection, LlmSettings, ToolEntry, WorkflowEntry
from phi.domain.models import Agent, Organization, OrgRole
from phi.errors import BadRequest, Forbidden, NotFound
from phi.services.queues import create_agent_queue
from phi.settings import get_settings

# A catalog tool key → the operations the local agent runs for it.
TOOL_OPERATIONS = {"db": "db.query", "file": "file.read"}
DEFAULT_TOOL_SETTINGS: dict[str, dict[str, Any]] = {
    "db": {"url_env": "PHI_WAREHOUSE_DB_URL", "statement_timeout_seconds": 30, "max_rows": 100000},
}


class AgentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["Warehouse analyst (Leeds DC)"])
    industry_key: str = Field(default="logistics", examples=["logistics"])
    role_key: str = Field(default="warehouse_analyst", examples=["warehouse_analyst"])
    tools: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="Tool key → tool configuration; defaults to the role template's tools",
        examples=[{"db": {"url_env": "PHI_WAREHOUSE_DB_URL"}}],
    )
    workflows: list[WorkflowEntry] | None = None
    thresholds: dict[str, float] | None = Field(default=None, description="KPI thresholds for anomaly detection")


def require_admin(org: Organization) -> None:
    if org.role not in (OrgRole.OWNER, OrgRole.ADMIN):
        raise Forbidden("Only an owner or admin of the organisation can do this.")


def create_agent(conn: psycopg.Connection, org: Organization, user_id: UUID, body: AgentCreate) -> Agent:
    require_admin(org)
    template = agents_repo.find_role_template(conn, body.industry_key, body.role_key)
    if template is None:
        raise BadRequest(f"Unknown industry/role template: {body.industry_key}/{body.role_key}")
    tools = body.tools if body.tools is not None else {k: {} for k in template["default_tools"]}
    tools = {key: {**DEFAULT_TOOL_SETTINGS.get(key, {}), **cfg} for key, cfg in tools.items()}
    workflows = body.workflows or [WorkflowEntry.model_validate(w) for w in template["default_workflows"]]
    config = {
        "llm": {"model": get_settings().llm_model_analysis, "temperature": get_settings().llm_temperature},
        "workflows": [w.model_dump() for w in workflows],
        "thresholds": body.thresholds or {},
    }
    agent_id = agents_repo.create_agent(
        conn,
        org_id=org.id,
        name=body.name,
        industry_id=template["industry_id"],
        role_template_id=template["role_template_id"],
        config=config,
        created_by=user_id,
    )
    agents_repo.set_tools(conn, agent_id, tools)
    agents_repo.set_queue_url(conn, agent_id, create_agent_queue(agent_id, org.id))
    agent = agents_repo.get_agent_in_org(conn, agent_id, org.id)
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


def build_config(conn: psycopg.Connection, agent: Agent, api_url: str) -> AgentConfigDocument:
    settings = get_settings()
    tools = [
        ToolEntry(key=TOOL_OPERATIONS[t["key"]], settings=t["config"])
        for t in agents_repo.list_tools(conn, agent.id)
        if t["key"] in TOOL_OPERATIONS
    ]
    llm = agent.config.get("llm") or {"model": settings.llm_model_analysis}
    return AgentConfigDocument(
        agent_id=str(agent.id),
        org_id=str(agent.org_id),
        name=agent.name,
        industry=agent.industry_key,
        role=agent.role_key,
        llm=LlmSettings.model_validate(llm),
        tools=tools,
        memory={"namespaces": [f"org:{agent.org_id}", f"agent:{agent.id}"]},
        workflows=[WorkflowEntry.model_validate(w) for w in agent.config.get("workflows", [])],
        cloud=CloudConnection(
            region=settings.region,
            queue_url=agent.queue_url or "",
            api_url=api_url,
            aws_endpoint_url=settings.aws_endpoint_url,
        ),
    )
