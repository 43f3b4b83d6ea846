"""The platform's record of each agent workflow schedule (the scheduler holds the live definition)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from phi.db.connection import DbConnection

_COLUMNS = "id, agent_id, org_id, workflow_type, cron, timezone, input, enabled, overlap_policy, last_fired_at"


def upsert(
    conn: DbConnection,
    *,
    agent_id: UUID,
    org_id: UUID,
    workflow_type: str,
    cron: str,
    timezone: str,
    task_input: dict[str, Any],
    enabled: bool,
    overlap_policy: str,
) -> None:
    conn.execute(
        """INSERT INTO schedules (agent_id, org_id, workflow_type, cron, timezone, input, enabled, overlap_policy)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (agent_id, workflow_type) DO UPDATE SET cron = EXCLUDED.cron, timezone = EXCLUDED.timezone,
             input = EXCLUDED.input, enabled = EXCLUDED.enabled, overlap_policy = EXCLUDED.overlap_policy""",
        (agent_id, org_id, workflow_type, cron, timezone, Jsonb(task_input), enabled, overlap_policy),
    )


def list_for_agent(conn: DbConnection, agent_id: UUID, org_id: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        f"SELECT {_COLUMNS} FROM schedules WHERE agent_id = %s AND org_id = %s ORDER BY workflow_type",
        (agent_id, org_id),
    ).fetchall()


def delete(conn: DbConnection, agent_id: UUID, org_id: UUID, workflow_type: str) -> None:
    conn.execute(
        "DELETE FROM schedules WHERE agent_id = %s AND org_id = %s AND workflow_type = %s",
        (agent_id, org_id, workflow_type),
    )


def overlap_policy(conn: DbConnection, agent_id: UUID, org_id: UUID, workflow_type: str) -> str:
    row = conn.execute(
        "SELECT overlap_policy FROM schedules WHERE agent_id = %s AND org_id = %s AND workflow_type = %s",
        (agent_id, org_id, workflow_type),
    ).fetchone()
    return str(row["overlap_policy"]) if row else "SKIP"


def is_enabled(conn: DbConnection, agent_id: UUID, org_id: UUID, workflow_type: str) -> bool:
    """Whether the platform's record still holds this schedule, enabled (a disabled agent's are paused)."""
    row = conn.execute(
        "SELECT enabled FROM schedules WHERE agent_id = %s AND org_id = %s AND workflow_type = %s",
        (agent_id, org_id, workflow_type),
    ).fetchone()
    return bool(row and row["enabled"])


def mark_fired(conn: DbConnection, agent_id: UUID, org_id: UUID, workflow_type: str) -> None:
    conn.execute(
        "UPDATE schedules SET last_fired_at = now() WHERE agent_id = %s AND org_id = %s AND workflow_type = %s",
        (agent_id, org_id, workflow_type),
    )
