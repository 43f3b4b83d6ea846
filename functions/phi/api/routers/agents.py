"""Agents: create (with their own queue), list, change, delete, generate their profile, export the local
agent's configuration, and the agent keys a local agent authenticates with."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response, status

from phi.api.deps import (
    LIST_HEADERS,
    TOTAL_COUNT_HEADER,
    AdminAgent,
    AdminOrg,
    CallerAgent,
    CallerOrg,
    Conn,
    CurrentUser,
    Page,
    api_url,
)
from phi.db import agent_keys as keys_repo
from phi.db import agents as agents_repo
from phi.db.connection import commit
from phi.domain.models import Agent, AgentKey, AgentStatus
from phi.services.agents import (
    AgentCreate,
    AgentKeyCreated,
    AgentUpdate,
    build_config,
    create_agent,
    delete_agent,
    issue_agent_key,
    render_config,
    revoke_agent_key,
)
from phi.services.agents import update_agent as apply_update
from phi.services.profiles import GeneratedProfile, ProfileRequest, generate_profile

router = APIRouter(tags=["agents"])
ApiUrl = Annotated[str, Depends(api_url)]


@router.post(
    "/orgs/{org_id}/agents",
    status_code=status.HTTP_201_CREATED,
    response_model=Agent,
    summary="Create an agent (owner, admin)",
    description="Name the role by `role_template_id` (with `industry_id`) or by `role_key` (with `industry_key`); "
    "that is all an agent needs: its name, tools and workflows default to the role template's, and each tool "
    "gets its schema's defaults (the file tool's folder is then decided by the local agent). To choose, name "
    "the tools by `tool_ids` with `tool_config`, or by `tools` (key → configuration); each configuration is "
    "validated against the tool's `config_schema` (GET /tools). Creates the agent's own task queue.",
)
def create(body: AgentCreate, org: AdminOrg, conn: Conn, user: CurrentUser) -> Agent:
    created = create_agent(conn, org, user.id, body)
    commit(conn)  # the queue is made after the agent is committed; the response carries its URL
    return agents_repo.get_agent_in_org(conn, created.id, org.id) or created


@router.get("/orgs/{org_id}/agents", response_model=list[Agent], responses=LIST_HEADERS, summary="List agents")
def list_for_org(
    org: CallerOrg,
    conn: Conn,
    page: Page,
    response: Response,
    status_filter: Annotated[
        Literal["ACTIVE", "DISABLED"] | None, Query(alias="status", description="Only agents in this status")
    ] = None,
    role_key: Annotated[str | None, Query(max_length=100, examples=["warehouse_analyst"])] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains (case-insensitive)")] = None,
) -> list[Agent]:
    where = agents_repo.AgentFilter(
        status=AgentStatus(status_filter) if status_filter else None,
        role_key=role_key,
        name_contains=q,
        limit=page.limit,
        offset=page.offset,
    )
    agents, total = agents_repo.list_agents(conn, org.id, where)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return agents


@router.get("/agents/{agent_id}", response_model=Agent, summary="One agent")
def get(agent: CallerAgent) -> Agent:
    return agent


@router.patch(
    "/agents/{agent_id}",
    response_model=Agent,
    summary="Change an agent (owner, admin)",
    description="Only the fields given change. `status: DISABLED` stops new tasks and pauses schedules; changing "
    "`workflows` updates the schedules. Tools: `tool_ids`/`tools` replace the set; `tool_config` alone changes "
    "the configuration of tools the agent has.",
)
def update(body: AgentUpdate, agent: AdminAgent, conn: Conn, user: CurrentUser) -> Agent:
    return apply_update(conn, agent, body, user.id)


@router.delete(
    "/agents/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an agent (owner, admin)",
    description="Removes its queue, schedules and keys; its tasks stay readable (GET /tasks/{task_id}, "
    "GET /orgs/{org_id}/tasks).",
)
def delete(agent: AdminAgent, conn: Conn) -> Response:
    delete_agent(conn, agent)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/agents/{agent_id}/generate-profile",
    response_model=GeneratedProfile,
    summary="Generate the agent's profile (owner, admin)",
    description="From the industry, the role template and up to 10 chunks of the agent's and the organisation's "
    "documents: system prompt, capabilities, example workflows, tool usage rules and safety constraints, saved "
    "on the agent. Without an LLM the profile is built from the role template (`generated_by: template`).",
)
def generate(agent: AdminAgent, conn: Conn, body: ProfileRequest | None = None) -> GeneratedProfile:
    return generate_profile(conn, agent, body or ProfileRequest())


@router.get(
    "/agents/{agent_id}/config",
    summary="The local agent's configuration file",
    description="YAML by default; JSON with `?format=json` or `Accept: application/json`. Sent as a download "
    "(Content-Disposition: attachment). Holds no secrets: the agent key is issued separately.",
    responses={
        200: {
            "content": {
                "application/yaml": {"example": "version: 1\nagent_id: 0b6f…\ntools:\n- key: db.query\n"},
                "application/json": {"example": {"version": 1, "agent_id": "0b6f…", "tools": [{"key": "db.query"}]}},
            }
        }
    },
)
def get_config(
    agent: CallerAgent,
    conn: Conn,
    base_url: ApiUrl,
    format: Annotated[Literal["yaml", "json"] | None, Query(description="yaml (default) or json")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    chosen: Literal["yaml", "json"] = format or ("json" if accept and "application/json" in accept else "yaml")
    rendered = render_config(build_config(conn, agent, base_url), chosen)
    headers = {"Content-Disposition": f'attachment; filename="{rendered.filename}"'}
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


@router.post(
    "/agents/{agent_id}/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentKeyCreated,
    summary="Issue an agent key (owner, admin)",
    description="The key is returned once and stored only as a hash; the local agent sends it as a bearer token.",
)
def create_key(agent: AdminAgent, conn: Conn, user: CurrentUser) -> AgentKeyCreated:
    return issue_agent_key(conn, agent, user.id)


@router.get(
    "/agents/{agent_id}/keys",
    response_model=list[AgentKey],
    summary="The agent's keys (prefix, created, last used)",
)
def list_keys(agent: CallerAgent, conn: Conn) -> list[AgentKey]:
    return keys_repo.list_keys(conn, agent.id, agent.org_id)


@router.delete(
    "/agents/{agent_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a key (owner, admin)",
)
def revoke_key(key_id: UUID, agent: AdminAgent, conn: Conn) -> Response:
    revoke_agent_key(conn, agent, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
