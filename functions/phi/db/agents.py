"""Agents and their tools, always read through the caller's organisation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from phi.domain.models import Agent

_SELECT = """SELECT a.id, a.org_id, a.name, a.status, a.system_prompt, a.config, a.queue_url,
                    a.created_at, a.updated_at, i.key AS industry_key, r.key AS role_key
             FROM agents a
             LEFT JOIN industries i ON i.id = a.industry_id
             LEFT JOIN role_templates r ON r.id = a.role_template_id"""


def find_role_template(conn: psycopg.Connection, industry_key: str, role_key: str) -> dict[str, Any] | None:
    return conn.execute(
        """SELECT r.id AS role_template_id, i.id AS industry_id, r.default_tools, r.default_workflows
           FROM role_templates r JOIN industries i ON i.id = r.industry_id
           WHERE i.key = %s AND r.key = %s""",
        (industry_key, role_key),
    ).fetchone()


def create_agent(
    conn: psycopg.Connection,
    *,
    org_id: UUID,
    name: str,
    industry_id: UUID | None,
    role_template_id: UUID | None,
    config: dict[str, Any],
    created_by: UUID,
) -> UUID:
    row = conn.execute(
        """INSERT INTO agents (org_id, name, industry_id, role_template_id, config, created_by)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
        (org_id, name, industry_id, role_template_id, Jsonb(config), created_by),
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def set_tools(conn: psycopg.Connection, agent_id: UUID, tool_configs: dict[str, dict[str, Any]]) -> None:
    conn.execute("DELETE FROM agent_tools WHERE agent_id = %s", (agent_id,))
    for key, config in tool_configs.items():
        conn.execute(
            """INSERT INTO agent_tools (agent_id, tool_id, config)
               SELECT %s, id, %s FROM tools WHERE key = %s""",
            (agent_id, Jsonb(config), key),
        )


def list_tools(conn: psycopg.Connection, agent_id: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT t.key, t.operations, t.runs_on, at.config FROM agent_tools at
           JOIN tools t ON t.id = at.tool_id WHERE at.agent_id = %s ORDER BY t.key""",
        (agent_id,),
    ).fetchall()


def set_queue_url(conn: psycopg.Connection, agent_id: UUID, queue_url: str) -> None:
    conn.execute("UPDATE agents SET queue_url = %s, updated_at = now() WHERE id = %s", (queue_url, agent_id))


def get_agent_for_user(conn: psycopg.Connection, agent_id: UUID, user_id: UUID) -> Agent | None:
    row = conn.execute(
        _SELECT + """ JOIN organization_members m ON m.org_id = a.org_id
                      WHERE a.id = %s AND m.user_id = %s AND a.status <> 'DELETED'""",
        (agent_id, user_id),
    ).fetchone()
    return Agent.model_validate(row) if row else None


def get_agent_in_org(conn: psycopg.Connection, agent_id: UUID, org_id: UUID) -> Agent | None:
    row = conn.execute(
        _SELECT + " WHERE a.id = %s AND a.org_id = %s AND a.status <> 'DELETED'", (agent_id, org_id)
    ).fetchone()
    return Agent.model_validate(row) if row else None


def list_agents(conn: psycopg.Connection, org_id: UUID) -> list[Agent]:
    rows = conn.execute(
        _SELECT + " WHERE a.org_id = %s AND a.status <> 'DELETED' ORDER BY a.created_at, a.id", (org_id,)
    ).fetchall()
    return [Agent.model_validate(r) for r in rows]


def list_all_queues(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every live agent's queue, across organisations: only for platform maintenance (embedded restarts)."""
    return conn.execute(
        "SELECT id, org_id, queue_url FROM agents WHERE status <> 'DELETED' AND queue_url IS NOT NULL"
    ).fetchall()
