"""Endpoints the local agent calls with its agent key, and the fleet view for users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from phi.api.deps import CallerAgent, CallerOrg, Conn, CurrentAgentKey
from phi.db import agents as agents_repo
from phi.db import local_agents as fleet_repo
from phi.db.connection import DbConnection
from phi.domain.models import Agent, AgentKey
from phi.errors import Unauthorized
from phi.services.credentials import require_enabled, vend_credentials

router = APIRouter(tags=["local agents"])
HEARTBEAT_SECONDS = 30
MAX_HOSTS_PER_AGENT = 50
MAX_TOOLS_REPORTED = 100
MAX_TOOL_NAME_CHARS = 100


class Credentials(BaseModel):
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str
    region: str
    queue_url: str
    aws_endpoint_url: str | None


class Heartbeat(BaseModel):
    """What a local agent reports. Unlike a person's request body, an unknown field is ignored: agents run on
    customers' machines and are upgraded on their own schedule, so a newer agent's extra field must not make an
    older API refuse its heartbeats."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {"status": "ONLINE", "host": "wh-server-1", "pid": 4242, "version": "0.1.0", "tools": ["db.query"]}
            ]
        },
    )

    status: Literal["ONLINE", "OFFLINE"] = "ONLINE"
    host: str = Field(min_length=1, max_length=255)
    pid: int | None = Field(default=None, ge=0, le=2**31 - 1)
    version: str | None = Field(default=None, max_length=50)
    # The operations it serves (db.query, file.read): a handful; bounded, as every row is shown in the fleet views.
    tools: list[Annotated[str, Field(max_length=MAX_TOOL_NAME_CHARS)]] = Field(
        default_factory=list, max_length=MAX_TOOLS_REPORTED
    )
    os: str | None = Field(default=None, max_length=200)
    uptime_seconds: float | None = None
    cpu_percent: float | None = None
    memory_mb: float | None = None
    last_error: str | None = Field(default=None, max_length=4000)


class HeartbeatAck(BaseModel):
    status: str
    next_heartbeat_seconds: int


class LocalAgentStatus(BaseModel):
    id: UUID
    agent_id: UUID
    host: str | None
    pid: int | None
    version: str | None
    os: str | None
    tools: list[str]
    stats: dict[str, Any]
    last_error: str | None
    last_heartbeat_at: datetime | None
    status: Literal["ENROLLED", "ONLINE", "OFFLINE"]


def _key_agent(key: AgentKey, conn: DbConnection) -> Agent:
    agent = agents_repo.get_agent_in_org(conn, key.agent_id, key.org_id)
    if agent is None:
        raise Unauthorized("The agent key is not valid or has been revoked.")
    return agent


@router.post(
    "/local-agents/credentials",
    response_model=Credentials,
    summary="Short-lived AWS credentials for the key's agent (agent key)",
)
def credentials(key: CurrentAgentKey, conn: Conn) -> Credentials:
    return Credentials.model_validate(vend_credentials(_key_agent(key, conn)))


@router.post(
    "/local-agents/heartbeat", response_model=HeartbeatAck, summary="Report the local agent's health (agent key)"
)
def heartbeat(beat: Heartbeat, key: CurrentAgentKey, conn: Conn) -> HeartbeatAck:
    require_enabled(_key_agent(key, conn))  # a disabled agent's host is not shown as alive in the fleet
    fleet_repo.record_heartbeat(
        conn,
        agent_id=key.agent_id,
        org_id=key.org_id,
        key_id=key.id,
        beat=beat.model_dump(),
        interval=HEARTBEAT_SECONDS,
    )
    # Each host a key reports from is a row of the fleet: a key sending ever new host names (a looping script,
    # a stolen key) keeps the agent's most recently heard-from hosts only, so the fleet views stay bounded.
    fleet_repo.keep_latest_hosts(conn, key.agent_id, key.org_id, MAX_HOSTS_PER_AGENT)
    return HeartbeatAck(status=beat.status, next_heartbeat_seconds=HEARTBEAT_SECONDS)


@router.get(
    "/orgs/{org_id}/local-agents", response_model=list[LocalAgentStatus], summary="The organisation's local agents"
)
def fleet_for_org(org: CallerOrg, conn: Conn) -> list[dict[str, Any]]:
    return fleet_repo.list_local_agents(conn, org.id)


@router.get(
    "/agents/{agent_id}/local-agents", response_model=list[LocalAgentStatus], summary="The agent's local agents"
)
def fleet_for_agent(agent: CallerAgent, conn: Conn) -> list[dict[str, Any]]:
    return fleet_repo.list_local_agents(conn, agent.org_id, agent.id)
