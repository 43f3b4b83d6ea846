"""Creating, changing and deleting agents, and exporting their configuration for the local agent."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self
from uuid import UUID

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from phi.db import agent_keys as keys_repo
from phi.db import agents as agents_repo
from phi.db import catalog as catalog_repo
from phi.db.connection import DbConnection, after_commit
from phi.definitions.registry import TimezoneName, validate_task_input
from phi.domain.agent_config import (
    AgentConfigDocument,
    CloudConnection,
    LlmSettings,
    LlmSettingsInput,
    ToolEntry,
    WorkflowEntry,
    WorkflowEntryInput,
)
from phi.domain.models import Agent, AgentKey, AgentStatus, Organization, RoleTemplate, Tool, is_manager_role
from phi.domain.request_body import RequestBody
from phi.errors import BadRequest, Forbidden, NotFound
from phi.services.catalog import validate_tool_config
from phi.services.queues import create_agent_queue, delete_agent_queue
from phi.services.schedules import delete_agent_schedules, sync_agent_schedules
from phi.services.security import new_agent_key
from phi.services.workflows import adopt_workflows, entry_of, follow_site_zone
from phi.settings import Settings, get_settings

CONFIG_FILENAME = "phi-agent-config"
_TOOL_EXAMPLE: dict[str, Any] = {"db": {"url_env": "PHI_WAREHOUSE_DB_URL", "max_rows": 100000}}


class ToolSelection(RequestBody):
    """Which tools the agent gets and how they are configured, by catalog id or by key."""

    tool_ids: list[UUID] | None = Field(
        default=None, max_length=20, description="Catalog ids of the agent's tools (GET /tools)"
    )
    tool_config: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="Per-tool configuration keyed by tool id or tool key; validated against the tool's config_schema",
        examples=[_TOOL_EXAMPLE],
    )
    tools: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="Tool key → configuration: the short form of tool_ids plus tool_config",
        examples=[_TOOL_EXAMPLE],
    )

    @model_validator(mode="after")
    def _one_way_to_name_tools(self) -> Self:
        if self.tool_ids is not None and self.tools is not None:
            raise ValueError("give either tool_ids (with tool_config) or tools, not both")
        if self.tools is not None and self.tool_config is not None:
            raise ValueError("tool_config goes with tool_ids; with tools, put each configuration in tools")
        return self

    def names_tools(self) -> bool:
        return self.tool_ids is not None or self.tools is not None


def _check_threshold_sources(sources: dict[str, str]) -> dict[str, str]:
    from phi.workflows.warehouse.sop_thresholds import READERS

    unknown = sorted(set(sources) - set(READERS))
    if unknown:
        raise ValueError(f"cannot read {', '.join(unknown)} from an SOP; readable: {', '.join(sorted(READERS))}")
    return sources


def _check_thresholds(values: dict[str, float]) -> dict[str, float]:
    """The daily report's limits (`Thresholds`), checked when they are saved: a misspelt name or a rate given as
    a percentage (5 for 5%) would otherwise be stored, then fail every report, or be silently ignored."""
    from pydantic import ValidationError

    from phi.workflows.warehouse.kpis import Thresholds

    unknown = sorted(set(values) - set(Thresholds.model_fields))
    if unknown:
        listed = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
        raise ValueError(f"unknown threshold(s) {listed}; known: {', '.join(Thresholds.model_fields)}")
    endless = sorted(name for name, value in values.items() if not math.isfinite(value))
    if endless:
        raise ValueError(f"{endless[0]}: a finite number is needed")
    try:
        Thresholds.model_validate(values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = str(problem["loc"][0]) if problem["loc"] else "thresholds"
        at_most_one = problem["type"] == "less_than_equal" and (problem.get("ctx") or {}).get("le") == 1
        shown = " (rates are fractions: 0.05 for 5%)" if at_most_one else ""
        raise ValueError(f"{name}: {problem['msg']}{shown}") from None
    return values


KpiThresholds = Annotated[
    dict[str, float],
    AfterValidator(_check_thresholds),
    Field(description="KPI thresholds for anomaly detection", examples=[{"max_late_rate": 0.04}]),
]


ThresholdSources = Annotated[
    dict[str, Annotated[str, Field(min_length=1, max_length=255)]],
    AfterValidator(_check_threshold_sources),
    Field(
        description="Threshold → the filename of the SOP that states it; the report then uses the SOP's value",
        examples=[{"max_late_rate": "SOP-OUT-04.docx"}],
    ),
]


class AgentCreate(ToolSelection):
    """A role template is all an agent needs: its name, tools (with their defaults) and workflows come from it."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        examples=["Warehouse analyst (Leeds DC)"],
        description="Defaults to the role template's name",
    )
    industry_id: UUID | None = Field(default=None, description="From GET /industries")
    role_template_id: UUID | None = Field(default=None, description="From GET /role-templates")
    industry_key: str | None = Field(default=None, max_length=100, examples=["logistics"])
    role_key: str | None = Field(default=None, max_length=100, examples=["warehouse_analyst"])
    workflows: list[WorkflowEntryInput] | None = Field(
        default=None, max_length=20, description="Defaults to the role template's workflows"
    )
    thresholds: KpiThresholds | None = None
    threshold_sources: ThresholdSources | None = None
    warehouse_timezone: TimezoneName = Field(
        default="UTC",
        description=(
            "IANA time zone of the warehouse: report days run from local midnight to local midnight, and "
            "timestamps the database stores without an offset are read as local times in it"
        ),
    )
    llm: LlmSettingsInput | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Warehouse analyst (Leeds DC)",
                    "industry_key": "logistics",
                    "role_key": "warehouse_analyst",
                    "tools": _TOOL_EXAMPLE,
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _names_a_role(self) -> Self:
        if self.role_template_id is None and self.role_key is None:
            raise ValueError("give role_template_id (with industry_id) or role_key (with industry_key)")
        return self


class AgentUpdate(ToolSelection):
    name: str | None = Field(default=None, min_length=1, max_length=120, examples=["Warehouse analyst (York DC)"])
    status: Literal["ACTIVE", "DISABLED"] | None = Field(
        default=None, description="DISABLED stops new tasks and pauses the agent's schedules"
    )
    llm: LlmSettingsInput | None = None
    workflows: list[WorkflowEntryInput] | None = Field(default=None, max_length=20)
    thresholds: KpiThresholds | None = None
    threshold_sources: ThresholdSources | None = None
    warehouse_timezone: TimezoneName | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "DISABLED"}, {"name": "Night shift analyst"}]})


class RenderedConfig(BaseModel):
    body: str
    media_type: str
    filename: str


def require_admin(org: Organization) -> None:
    if not is_manager_role(org.role):
        raise Forbidden("Only an owner or admin of the organisation can do this.")


def resolve_template(conn: DbConnection, body: AgentCreate) -> RoleTemplate:
    if body.role_template_id is not None:
        template = catalog_repo.get_role_template(conn, body.role_template_id)
        if template is None:
            raise BadRequest("Unknown role_template_id; see GET /role-templates.")
    else:
        template = catalog_repo.find_role_template(conn, body.industry_key or "logistics", body.role_key or "")
        if template is None:
            raise BadRequest(f"Unknown industry/role template: {body.industry_key or 'logistics'}/{body.role_key}")
    if body.industry_id is not None and body.industry_id != template.industry_id:
        raise BadRequest("The role template does not belong to this industry.")
    if body.industry_key is not None and body.industry_key != template.industry_key:
        raise BadRequest("The role template does not belong to this industry.")
    return template


def resolve_tools(
    conn: DbConnection,
    selection: ToolSelection,
    default_keys: list[str],
    current: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Tool key → validated configuration (schema defaults filled in); a tool without a configuration given
    keeps its current one."""
    per_tool = selection.tool_config or {}
    if selection.tool_ids is not None:
        tools = catalog_repo.tools_by_id(conn, selection.tool_ids)
        unknown = {str(i) for i in selection.tool_ids} - {str(t.id) for t in tools}
        if unknown:
            raise BadRequest(f"Unknown tool ids: {', '.join(sorted(unknown))}; see GET /tools.")
    else:
        wanted = list(selection.tools) if selection.tools is not None else default_keys
        per_tool = selection.tools if selection.tools is not None else per_tool
        tools = catalog_repo.tools_by_key(conn, wanted)
        unknown = set(wanted) - {t.key for t in tools}
        if unknown:
            raise BadRequest(_unknown_tools_message(unknown, catalog_repo.list_tools(conn)))
        if selection.tools is None:
            # A role's defaults may name a tool that is not available yet (the safety officer's CCTV): the agent
            # gets the others; asking for it by name is still refused in words.
            tools = [t for t in tools if t.available]
    stray = set(per_tool) - {t.key for t in tools} - {str(t.id) for t in tools}
    if stray:
        raise BadRequest(f"Configuration given for tools the agent does not get: {', '.join(sorted(stray))}")
    return {t.key: validate_tool_config(t, _config_for(t, per_tool, current or {})) for t in tools}


def _unknown_tools_message(unknown: set[str], catalog: Sequence[Tool]) -> str:
    """Names the tools not found, and for an operation's name (`db.query`, as the local agent's configuration
    file lists it) the tool that offers it (`db`), which is what an agent is given."""
    offered_by = {operation: tool.key for tool in catalog for operation in tool.operations}
    named = [
        f"{name} (an operation of the tool {offered_by[name]!r}: name the tool)" if name in offered_by else name
        for name in sorted(unknown)
    ]
    known = ", ".join(sorted(tool.key for tool in catalog))
    return f"Unknown tools: {', '.join(named)}. The tools are: {known} (GET /tools)."


def _config_for(tool: Tool, per_tool: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> dict[str, Any]:
    for name in (str(tool.id), tool.key):
        if name in per_tool:
            return per_tool[name]
    return current.get(tool.key, {})


def check_workflows(workflows: Sequence[WorkflowEntry]) -> list[dict[str, Any]]:
    types = [w.type for w in workflows]
    if len(set(types)) != len(types):
        raise BadRequest("Each workflow type may appear once per agent.")
    return [{**w.model_dump(), "input": validate_task_input(w.type, w.input)} for w in workflows]


def create_agent(conn: DbConnection, org: Organization, user_id: UUID, body: AgentCreate) -> Agent:
    """The agent's rows now; its queue and schedules after the caller's transaction commits (the returned
    agent has no queue_url until then: commit with phi.db.connection.commit and reload to read it)."""
    require_admin(org)
    template = resolve_template(conn, body)
    tools = resolve_tools(conn, body, template.default_tools)
    # A role's scheduled workflows run on the site's clock (their definitions get the site's zone: in_site_zone).
    workflows: Sequence[WorkflowEntry] = body.workflows or [
        w.model_copy(update={"timezone": body.warehouse_timezone}) if w.schedule else w
        for w in _role_workflows(template)
    ]
    settings = get_settings()
    config = {
        "llm": (
            body.llm or LlmSettings(model=settings.llm_model_analysis, temperature=settings.llm_temperature)
        ).model_dump(),
        "workflows": check_workflows(workflows),
        "thresholds": body.thresholds or {},
        "threshold_sources": body.threshold_sources or {},
        "warehouse_timezone": body.warehouse_timezone,
    }
    agent_id = agents_repo.create_agent(
        conn,
        org_id=org.id,
        name=body.name or template.name,
        industry_id=template.industry_id,
        role_template_id=template.id,
        config=config,
        created_by=user_id,
    )
    agents_repo.set_tools(conn, agent_id, tools)
    agent = _reload(conn, agent_id, org.id)
    adopt_workflows(conn, agent, workflows, user_id, from_role=body.workflows is None)
    sync_agent_schedules(conn, agent)
    after_commit(conn, lambda: _provision_queue(conn, agent_id, org.id))
    return agent


def _role_workflows(template: RoleTemplate) -> list[WorkflowEntry]:
    """The role's workflows (its default_workflows name them): as the catalogue's templates define them, with
    their schedules; an entry the catalogue lacks stays as the role states it."""
    from phi.definitions.templates import template_for_workflow

    entries = []
    for raw in template.default_workflows:
        entry = WorkflowEntry.model_validate(raw)
        found = template_for_workflow(entry.type)
        entries.append(entry_of(found) if found is not None else entry)
    return entries


def _provision_queue(conn: DbConnection, agent_id: UUID, org_id: UUID) -> None:
    """After the agent is committed: its queue, then its URL (committed by the same unit of work). A failure
    here leaves an agent without a queue (its tasks refuse to start), never a queue without an agent."""
    agents_repo.set_queue_url(conn, agent_id, create_agent_queue(agent_id, org_id))


def update_agent(conn: DbConnection, agent: Agent, body: AgentUpdate, user_id: UUID | None = None) -> Agent:
    config = dict(agent.config)
    if body.llm is not None:
        config["llm"] = body.llm.model_dump()
    if body.workflows is not None:
        config["workflows"] = check_workflows(body.workflows)
    if body.thresholds is not None:
        config["thresholds"] = body.thresholds
    if body.threshold_sources is not None:
        config["threshold_sources"] = body.threshold_sources
    site_zone_before = agent.config.get("warehouse_timezone") or "UTC"
    zone_moved = body.warehouse_timezone is not None and body.warehouse_timezone != site_zone_before
    if body.warehouse_timezone is not None:
        config["warehouse_timezone"] = body.warehouse_timezone
    if body.names_tools() or body.tool_config is not None:
        current = {t.key: t.config for t in agent.tools}
        selection = (
            body
            if body.names_tools()
            else ToolSelection(tool_ids=[t.tool_id for t in agent.tools], tool_config=body.tool_config)
        )
        agents_repo.set_tools(conn, agent.id, resolve_tools(conn, selection, [], current))
    status = AgentStatus(body.status) if body.status else None
    agents_repo.update_agent(
        conn,
        agent.id,
        agent.org_id,
        name=body.name,
        status=status,
        config=config if config != agent.config else None,
    )
    updated = _reload(conn, agent.id, agent.org_id)
    if body.workflows is not None:
        adopt_workflows(conn, updated, body.workflows, user_id, from_role=False)
    moved: list[str] = []
    if zone_moved:  # the schedules on the site's old clock follow it (not those this change gives)
        given = {w.type for w in body.workflows or []}
        moved = follow_site_zone(conn, updated, site_zone_before, user_id, keep=given)
        if moved:  # the config's entries say the same zone as the definitions
            entries = [
                {**w, "timezone": updated.config["warehouse_timezone"]} if w.get("type") in moved else w
                for w in updated.config.get("workflows", [])
            ]
            agents_repo.update_agent(conn, agent.id, agent.org_id, config={**updated.config, "workflows": entries})
            updated = _reload(conn, agent.id, agent.org_id)
    if body.workflows is not None or updated.status != agent.status or moved:
        sync_agent_schedules(conn, updated)
    return updated


def delete_agent(conn: DbConnection, agent: Agent) -> None:
    """Soft delete: tasks keep their history; the queue, keys and schedules go."""
    agents_repo.mark_deleted(conn, agent.id, agent.org_id)
    keys_repo.revoke_all(conn, agent.id, agent.org_id)
    delete_agent_schedules(conn, agent)
    if agent.queue_url:
        queue_url = agent.queue_url
        after_commit(conn, lambda: delete_agent_queue(queue_url))


class AgentKeyCreated(AgentKey):
    key: str = Field(description="The secret; shown once, store it in the local agent's PHI_AGENT_KEY")


def issue_agent_key(conn: DbConnection, agent: Agent, user_id: UUID) -> AgentKeyCreated:
    """A new key for the agent's local agent: stored only as a hash, its secret returned this once."""
    key, prefix, key_hash = new_agent_key()
    stored = keys_repo.insert_key(conn, agent.id, agent.org_id, prefix, key_hash, user_id)
    return AgentKeyCreated(**stored.model_dump(), key=key)


def revoke_agent_key(conn: DbConnection, agent: Agent, key_id: UUID) -> None:
    """Revoke one of the agent's keys (revoking a revoked key again changes nothing). A local agent using it is
    refused at its next heartbeat or credentials renewal and stops; the credentials it holds lapse within 15
    minutes."""
    if not keys_repo.revoke_key(conn, key_id, agent.id, agent.org_id):
        raise NotFound("Agent key not found.")


def _reload(conn: DbConnection, agent_id: UUID, org_id: UUID) -> Agent:
    agent = agents_repo.get_agent_in_org(conn, agent_id, org_id)
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


def config_document(agent: Agent, catalog_tools: list[Tool], settings: Settings, api_url: str) -> AgentConfigDocument:
    """The local agent's configuration (DESIGN §3): the operations of the agent's local tools, never secrets."""
    by_id = {t.id: t for t in catalog_tools}
    tools = [
        ToolEntry(key=operation, settings=agent_tool.config)
        for agent_tool in agent.tools
        if (tool := by_id.get(agent_tool.tool_id)) is not None and tool.runs_on == "LOCAL"
        for operation in tool.operations
    ]
    llm = agent.config.get("llm") or {
        "model": settings.llm_model_analysis,
        "temperature": settings.llm_temperature,
    }
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
            results_bucket=settings.documents_bucket,
            results_endpoint_url=settings.aws_endpoint_url,
        ),
    )


def build_config(conn: DbConnection, agent: Agent, api_url: str) -> AgentConfigDocument:
    return config_document(agent, catalog_repo.list_tools(conn), get_settings(), api_url)


def render_config(document: AgentConfigDocument, fmt: Literal["yaml", "json"]) -> RenderedConfig:
    data = document.model_dump(mode="json")
    if fmt == "json":
        return RenderedConfig(
            body=json.dumps(data, indent=2), media_type="application/json", filename=f"{CONFIG_FILENAME}.json"
        )
    return RenderedConfig(
        body=yaml.safe_dump(data, sort_keys=False),
        media_type="application/yaml",
        filename=f"{CONFIG_FILENAME}.yaml",
    )
