"""An agent's profile (system prompt, capabilities, example workflows, tool rules, safety constraints),
written by the profile LLM from the industry, the role template and the organisation's documents, or built
from the role template when no LLM is configured."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phi.db import agents as agents_repo
from phi.db import catalog as catalog_repo
from phi.db import documents as documents_repo
from phi.db.connection import DbConnection
from phi.db.documents import ProfileSource
from phi.definitions.templates import WorkflowTemplate, list_templates, template_for_workflow
from phi.domain.models import Agent, Industry, RoleTemplate, Tool
from phi.domain.request_body import RequestBody
from phi.errors import LlmBudgetExhausted
from phi.llm import ChatMessage, LlmProvider, get_llm
from phi.llm.accounting import DbLlmAccounting
from phi.llm.failures import explain
from phi.settings import get_settings

MAX_SOURCES = 10
_SOURCE_CHARS = 1500
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)

_TOOL_RULES: dict[str, str] = {
    "db": "Query the warehouse database only through db.query, read-only; never try to change data.",
    "file": "Read only CSV and Excel files under the configured base folder through file.read.",
    "email": "Send email only to the configured recipients, and only finished reports.",
    "cctv": "Use camera snapshots only for safety review; never identify or track individuals.",
}
_SAFETY = [
    "Never invent figures: every number in a report comes from a tool result or a computation in code.",
    "Say so when data is missing or a tool fails, instead of guessing.",
    "Never reveal credentials, connection strings or personal data found in tool results.",
    "Follow the organisation's SOPs; when a situation is not covered, recommend escalation to a person.",
]


class ExampleWorkflow(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    trigger: str = Field(min_length=1, max_length=200, description="What starts it, e.g. a schedule")
    steps: list[str] = Field(min_length=1, max_length=15)


class AgentProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_prompt: str = Field(min_length=40, max_length=8000)
    capabilities: list[str] = Field(min_length=1, max_length=20)
    example_workflows: list[ExampleWorkflow] = Field(max_length=10)
    tool_usage_rules: list[str] = Field(max_length=20)
    safety_constraints: list[str] = Field(min_length=1, max_length=20)


class ProfileRequest(RequestBody):
    instructions: str | None = Field(
        default=None,
        max_length=4000,
        description="Extra guidance for the profile, e.g. the site's priorities",
        examples=["Focus on late outbound orders; the site runs two shifts."],
    )


class GeneratedProfile(BaseModel):
    agent_id: UUID
    profile: AgentProfile
    generated_by: Literal["llm", "template"] = Field(
        description="llm: written by the profile model; template: built from the role template (no LLM, or its "
        "answer was unusable: see notice)"
    )
    model: str | None = None
    document_chunks_used: int
    notice: str | None = None


class ProfileContext(BaseModel):
    agent_name: str
    industry: Industry | None
    role: RoleTemplate | None
    tools: list[Tool]
    sources: list[ProfileSource]
    instructions: str | None = None
    templates: list[WorkflowTemplate] = Field(
        default_factory=list, description="The catalogue's workflows for the role (role_templates() fills it)"
    )


def role_templates(role: RoleTemplate | None) -> list[WorkflowTemplate]:
    """The workflows the catalogue proposes for a role: those its role template names first, then the
    catalogue's other templates for the same industry and role."""
    if role is None:
        return []
    named = [t for w in role.default_workflows if (t := template_for_workflow(str(w.get("type")))) is not None]
    others = [t for t in list_templates(industry=role.industry_key, role=role.key) if t not in named]
    return named + others


def _steps(template: WorkflowTemplate) -> list[str]:
    nodes = template.definition["nodes"]
    return [str(n.get("description") or f"{n['id']} ({n['kind']})") for n in nodes][:15]


def _trigger(template: WorkflowTemplate) -> str:
    schedule = template.schedule
    return f"Schedule {schedule['cron']} ({schedule.get('timezone', 'UTC')})" if schedule else "On request"


class ProfileParseError(ValueError):
    pass


def parse_profile(text: str) -> AgentProfile:
    """The profile from an LLM answer: JSON, optionally inside a Markdown code fence."""
    cleaned = _FENCE.sub("", text.strip())
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        raise ProfileParseError(f"the answer is not JSON ({exc.msg} at position {exc.pos})") from exc
    if not isinstance(data, dict):
        raise ProfileParseError("the answer is not a JSON object")
    try:
        return AgentProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'profile'}: {e['msg']}" for e in exc.errors())
        raise ProfileParseError(f"the answer does not match the profile schema ({problems})") from exc


def template_profile(context: ProfileContext) -> AgentProfile:
    role, industry = context.role, context.industry
    role_name = role.name if role else "virtual employee"
    lines = [
        f"You are {context.agent_name}, a {role_name.lower()}" + (f" in {industry.name.lower()}." if industry else ".")
    ]
    if role and role.description:
        lines.append(role.description)
    if context.tools:
        lines.append(
            "You can use these tools: "
            + "; ".join(f"{t.name} ({', '.join(t.operations)})" for t in context.tools)
            + "."
        )
    if context.sources:
        titles = sorted({s.filename for s in context.sources})
        lines.append("Follow the organisation's documents: " + ", ".join(titles) + ".")
    if context.instructions:
        lines.append(context.instructions)
    lines.append("Report facts from your tools, keep numbers exact, and escalate what you cannot resolve.")
    workflows = [ExampleWorkflow(name=t.title, trigger=_trigger(t), steps=_steps(t)) for t in context.templates][:10]
    return AgentProfile(
        system_prompt=" ".join(lines),
        capabilities=(role.default_capabilities if role and role.default_capabilities else ["Answer questions"]),
        example_workflows=workflows,
        tool_usage_rules=[
            _TOOL_RULES.get(t.key, f"Use {t.name} only for its purpose: {t.description}") for t in context.tools
        ],
        safety_constraints=list(_SAFETY),
    )


def profile_messages(context: ProfileContext) -> list[ChatMessage]:
    facts: dict[str, Any] = {
        "agent_name": context.agent_name,
        "industry": context.industry.model_dump(mode="json", exclude={"id"}) if context.industry else None,
        "role_template": context.role.model_dump(mode="json", exclude={"id", "industry_id"}) if context.role else None,
        "tools": [
            {
                "key": t.key,
                "name": t.name,
                "description": t.description,
                "operations": t.operations,
                "runs_on": t.runs_on,
            }
            for t in context.tools
        ],
        "documents": [
            {"file": s.filename, "type": s.source_type, "heading": s.heading, "text": s.text[:_SOURCE_CHARS]}
            for s in context.sources
        ],
        "instructions": context.instructions,
        "workflow_catalogue": [
            {
                "template": t.key,
                "title": t.title,
                "description": t.description,
                "trigger": _trigger(t),
                "steps": _steps(t),
            }
            for t in context.templates
        ],
    }
    system = (
        "You write the operating profile of an AI virtual employee. Ground it in the role template and the "
        "organisation's documents. Use only the listed tools. Numbers in reports are computed by code, never by "
        "the model. Propose example_workflows from the workflow catalogue given (its titles, triggers and steps), "
        "not new ones. Answer with one JSON object matching the given schema and nothing else."
    )
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=json.dumps(facts))]


def llm_profile(llm: LlmProvider, context: ProfileContext) -> tuple[AgentProfile, str]:
    response = llm.chat(profile_messages(context), purpose="profile", json_schema=AgentProfile.model_json_schema())
    return parse_profile(response.text), response.model


class ProfileBudgetExceeded(TimeoutError):
    pass


def llm_profile_within(budget_seconds: float, llm: LlmProvider, context: ProfileContext) -> tuple[AgentProfile, str]:
    """One LLM request, cut off after ``budget_seconds`` whatever the client does (the request runs in a worker
    thread that is left to finish or time out on its own). Inside an API request there is no retry: API Gateway
    answers 504 after 29 s, and a template profile now is worth more than an LLM profile too late."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="profile-llm")
    future = pool.submit(llm_profile, llm, context)
    pool.shutdown(wait=False)
    try:
        return future.result(timeout=budget_seconds)
    except FuturesTimeout as exc:
        raise ProfileBudgetExceeded(f"the profile model did not answer within {budget_seconds:g} s") from exc


def load_context(conn: DbConnection, agent: Agent, request: ProfileRequest) -> ProfileContext:
    industry = catalog_repo.get_industry(conn, industry_id=agent.industry_id) if agent.industry_id else None
    role = catalog_repo.get_role_template(conn, agent.role_template_id) if agent.role_template_id else None
    tools = catalog_repo.tools_by_id(conn, [t.tool_id for t in agent.tools])
    return ProfileContext(
        agent_name=agent.name,
        industry=industry,
        role=role,
        tools=tools,
        sources=documents_repo.profile_sources(conn, agent.id, agent.org_id, MAX_SOURCES),
        instructions=request.instructions,
        templates=role_templates(role),
    )


def generate_profile(conn: DbConnection, agent: Agent, request: ProfileRequest) -> GeneratedProfile:
    from phi.log import logger

    context = load_context(conn, agent, request)
    notice: str | None = None
    model: str | None = None
    profile: AgentProfile | None = None
    budget = get_settings().profile_llm_budget_seconds
    try:
        llm = get_llm(timeout_seconds=budget, accounting=DbLlmAccounting(agent.org_id, agent_id=agent.id))
        if llm is None:
            notice = "No LLM is configured: the profile was built from the role template."
        else:
            profile, model = llm_profile_within(budget, llm, context)
    except LlmBudgetExhausted as exc:  # no model was asked
        notice = f"{exc.message} The profile was built from the role template."
    except Exception as exc:  # the template profile still gives the agent a usable prompt
        logger.warning("profile generation fell back to the template", extra={"agent_id": str(agent.id)})
        # a provider's error text can echo the request or a masked API key: its kind and status only
        why = str(exc) if isinstance(exc, ProfileParseError | ProfileBudgetExceeded) else explain(exc)
        notice = f"The LLM's answer could not be used ({why}); the profile was built from the role template."
    generated_by: Literal["llm", "template"] = "llm" if profile is not None else "template"
    profile = profile or template_profile(context)
    _save(conn, agent, profile, generated_by, model)
    return GeneratedProfile(
        agent_id=agent.id,
        profile=profile,
        generated_by=generated_by,
        model=model,
        document_chunks_used=len(context.sources),
        notice=notice,
    )


def _save(conn: DbConnection, agent: Agent, profile: AgentProfile, generated_by: str, model: str | None) -> None:
    stored = {
        **profile.model_dump(exclude={"system_prompt"}),
        "generated_by": generated_by,
        "model": model,
        "generated_at": datetime.now(UTC).isoformat(),
    }
    agents_repo.update_agent(
        conn,
        agent.id,
        agent.org_id,
        system_prompt=profile.system_prompt,
        config={**agent.config, "profile": stored},
    )
