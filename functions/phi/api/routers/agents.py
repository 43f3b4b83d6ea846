"""Agents: create (with their own queue), read, export the local agent's configuration, agent keys."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import yaml
from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel

from phi.api.deps import CallerAgent, CallerOrg, Conn, CurrentUser, api_url
from phi.db import agent_keys as keys_repo
from phi.db import agents as agents_repo
from phi.db import orgs as orgs_repo
from phi.domain.models import Agent, AgentKey
from phi.errors import NotFound
from phi.services.agents import AgentCreate, build_config, create_agent, require_admin
from phi.services.security import new_agent_key

router = APIRouter(tags=["agents"])
ApiUrl = Annotated[str, Depends(api_url)]


class AgentKeyCreated(AgentKey):
    key: str


@router.post("/orgs/{org_id}/agents", status_code=status.HTTP_201_CREATED, response_model=Agent)
def create(body: AgentCreate, org: CallerOrg, conn: Conn, user: CurrentUser) -> Agent:
    return create_agent(conn, org, user.id, body)


@router.get("/orgs/{org_id}/agents", response_model=list[Agent])
def list_for_org(org: CallerOrg, conn: Conn) -> list[Agent]:
    return agents_repo.list_agents(conn, org.id)


@router.get("/agents/{agent_id}", response_model=Agent)
def get(agent: CallerAgent) -> Agent:
    return agent


@router.get(
    "/agents/{agent_id}/config",
    responses={200: {"content": {"application/yaml": {}, "application/json": {}}}},
)
def get_config(
    agent: CallerAgent,
    conn: Conn,
    base_url: ApiUrl,
    format: Annotated[Literal["yaml", "json"], Query(description="yaml (default) or json")] = "yaml",
) -> Response:
    document = build_config(conn, agent, base_url).model_dump(mode="json")
    filename = f"phi-agent-config.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "json":
        import json

        return Response(json.dumps(document, indent=2), media_type="application/json", headers=headers)
    return Response(yaml.safe_dump(document, sort_keys=False), media_type="application/yaml", headers=headers)


@router.post("/agents/{agent_id}/keys", status_code=status.HTTP_201_CREATED, response_model=AgentKeyCreated)
def create_key(agent: CallerAgent, conn: Conn, user: CurrentUser) -> AgentKeyCreated:
    org = orgs_repo.get_org_for_user(conn, agent.org_id, user.id)
    assert org is not None
    require_admin(org)
    key, prefix, key_hash = new_agent_key()
    stored = keys_repo.insert_key(conn, agent.id, agent.org_id, prefix, key_hash, user.id)
    return AgentKeyCreated(**stored.model_dump(), key=key)


@router.get("/agents/{agent_id}/keys", response_model=list[AgentKey])
def list_keys(agent: CallerAgent, conn: Conn) -> list[AgentKey]:
    return keys_repo.list_keys(conn, agent.id, agent.org_id)


@router.delete("/agents/{agent_id}/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: UUID, agent: CallerAgent, conn: Conn, user: CurrentUser) -> Response:
    org = orgs_repo.get_org_for_user(conn, agent.org_id, user.id)
    assert org is not None
    require_admin(org)
    if not keys_repo.revoke_key(conn, key_id, agent.id, agent.org_id):
        raise NotFound("Agent key not found.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


