"""Agents and their tools, always read through the caller's organisation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from phi.db.connection import DbConnection
from phi.domain.models import Agent, AgentStatus

_SELECT = """SELECT a.id, a.org_id, a.name, a.status, a.system_prompt, a.config, a.queue_url,
                    a.created_at, a.updated_at, a.industry_id, i.key AS industry_key,
                    a.role_template_id, r.key AS role_key,
                    COALESCE((SELECT jsonb_agg(jsonb_build_object('tool_id', t.id, 'key', t.key,
                    'config', at.config)
                                               ORDER BY t.key)
                              FROM agent_tools at JOIN tools t ON t.id = at.tool_id
                              WHERE at.agent_id = a.id), '[]'::jsonb) AS tools
             FROM agents a
             LEFT JOIN industries i ON i.id = a.industry_id
             LEFT JOIN role_templates r ON r.id = a.role_template_id"""


class AgentFilter(BaseModel):
    status: AgentStatus | None = None
    role_key: str | None = None
    name_contains: str | None = None
    limit: int = 50
    offset: int = 0


def create_agent(
    conn: DbConnection,
    *,
    org_id: UUID,
    name: str,
    industry_id: UUID | None,
    role_template_id: UUID | None,
    config: dict[str, Any],
    created_by: UUID,
) -> UUID:
    row: Any = conn.execute(
        """INSERT INTO agents (org_id, name, industry_id, role_template_id, config, created_by)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
        (org_id, name, industry_id, role_template_id, Jsonb(config), created_by),
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def set_tools(conn: DbConnection, agent_id: UUID, tool_configs: dict[str, dict[str, Any]]) -> None:
    conn.execute("DELETE FROM agent_tools WHERE agent_id = %s", (agent_id,))
    for key, config in tool_configs.items():
        conn.execute(
            """INSERT INTO agent_tools (agent_id, tool_id, config)
               SELECT %s, id, %s FROM tools WHERE key = %s""",
            (agent_id, Jsonb(config), key),
        )


def list_tools(conn: DbConnection, agent_id: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT t.key, t.operations, t.runs_on, at.config FROM agent_tools at
           JOIN tools t ON t.id = at.tool_id WHERE at.agent_id = %s ORDER BY t.key""",
        (agent_id,),
    ).fetchall()


def set_queue_url(conn: DbConnection, agent_id: UUID, queue_url: str) -> None:
    conn.execute("UPDATE agents SET queue_url = %s, updated_at = now() WHERE id = %s", (queue_url, agent_id))


def get_agent_for_user(conn: DbConnection, agent_id: UUID, user_id: UUID) -> Agent | None:
    row = conn.execute(
        _SELECT
        + """ JOIN organization_members m ON m.org_id = a.org_id
                      WHERE a.id = %s AND m.user_id = %s AND a.status <> 'DELETED'""",
        (agent_id, user_id),
    ).fetchone()
    return Agent.model_validate(row) if row else None


def get_agent_in_org(conn: DbConnection, agent_id: UUID, org_id: UUID) -> Agent | None:
    row = conn.execute(
        _SELECT + " WHERE a.id = %s AND a.org_id = %s AND a.status <> 'DELETED'", (agent_id, org_id)
    ).fetchone()
    return Agent.model_validate(row) if row else None


def list_agents(conn: DbConnection, org_id: UUID, where: AgentFilter | None = None) -> tuple[list[Agent], int]:
    """One page of the organisation's live agents, oldest first, and the total that match."""
    where = where or AgentFilter()
    params = {
        "org_id": org_id,
        "status": where.status.value if where.status else None,
        "role_key": where.role_key,
        "name": f"%{_escape_like(where.name_contains)}%" if where.name_contains else None,
        "limit": where.limit,
        "offset": where.offset,
    }
    rows = conn.execute(
        _SELECT
        + """ WHERE a.org_id = %(org_id)s AND a.status <> 'DELETED'
                        AND (%(status)s::text IS NULL OR a.status = %(status)s::text)
                        AND (%(role_key)s::text IS NULL OR r.key = %(role_key)s::text)
                        AND (%(name)s::text IS NULL OR a.name ILIKE %(name)s::text)
                      ORDER BY a.created_at, a.id LIMIT %(limit)s OFFSET %(offset)s""",
        params,
    ).fetchall()
    total = conn.execute(
        """SELECT count(*) AS n FROM agents a LEFT JOIN role_templates r ON r.id = a.role_template_id
           WHERE a.org_id = %(org_id)s AND a.status <> 'DELETED'
             AND (%(status)s::text IS NULL OR a.status = %(status)s::text)
             AND (%(role_key)s::text IS NULL OR r.key = %(role_key)s::text)
             AND (%(name)s::text IS NULL OR a.name ILIKE %(name)s::text)""",
        params,
    ).fetchone()
    return [Agent.model_validate(r) for r in rows], _count(total)


def _count(row: Any) -> int:
    return int(row["n"]) if row else 0


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def update_agent(
    conn: DbConnection,
    agent_id: UUID,
    org_id: UUID,
    *,
    name: str | None = None,
    status: AgentStatus | None = None,
    config: dict[str, Any] | None = None,
    system_prompt: str | None = None,
) -> None:
    """Sets the given fields; None leaves a field as it is."""
    conn.execute(
        """UPDATE agents SET name = COALESCE(%s, name), status = COALESCE(%s, status),
                             config = COALESCE(%s, config), system_prompt = COALESCE(%s, system_prompt),
                             updated_at = now()
           WHERE id = %s AND org_id = %s AND status <> 'DELETED'""",
        (
            name,
            status.value if status else None,
            Jsonb(config) if config is not None else None,
            system_prompt,
            agent_id,
            org_id,
        ),
    )


def mark_deleted(conn: DbConnection, agent_id: UUID, org_id: UUID) -> None:
    """Soft delete: the row stays so that the agent's task history keeps its owner."""
    conn.execute(
        "UPDATE agents SET status = 'DELETED', updated_at = now() WHERE id = %s AND org_id = %s",
        (agent_id, org_id),
    )


def list_all_queues(conn: DbConnection) -> list[dict[str, Any]]:
    """Every live agent's queue, across organisations: only for platform maintenance (embedded restarts)."""
    return conn.execute(
        "SELECT id, org_id, queue_url FROM agents WHERE status <> 'DELETED' AND queue_url IS NOT NULL"
    ).fetchall()
