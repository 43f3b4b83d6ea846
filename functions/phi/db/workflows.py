"""Agents' workflow definitions and their immutable versions. Every query is scoped to the organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from phi.db.connection import DbConnection


class WorkflowRow(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID
    key: str
    current_version: int
    created_at: datetime
    updated_at: datetime


class VersionRow(BaseModel):
    id: UUID
    workflow_id: UUID
    org_id: UUID
    version: int
    definition: dict[str, Any]
    source: str
    reason: str | None
    author_id: UUID | None
    author_email: str | None = None
    based_on: int | None
    created_at: datetime


_WORKFLOW = "w.id, w.org_id, w.agent_id, w.key, w.current_version, w.created_at, w.updated_at"
_VERSION = """v.id, v.workflow_id, v.org_id, v.version, v.definition, v.source, v.reason, v.author_id,
              u.email AS author_email, v.based_on, v.created_at"""


def list_for_agent(conn: DbConnection, agent_id: UUID, org_id: UUID) -> list[WorkflowRow]:
    rows = conn.execute(
        f"SELECT {_WORKFLOW} FROM workflows w WHERE w.agent_id = %s AND w.org_id = %s ORDER BY w.key",
        (agent_id, org_id),
    ).fetchall()
    return [WorkflowRow.model_validate(r) for r in rows]


def get(conn: DbConnection, agent_id: UUID, org_id: UUID, key: str, *, lock: bool = False) -> WorkflowRow | None:
    row = conn.execute(
        f"""SELECT {_WORKFLOW} FROM workflows w WHERE w.agent_id = %s AND w.org_id = %s AND w.key = %s
            {"FOR UPDATE" if lock else ""}""",
        (agent_id, org_id, key),
    ).fetchone()
    return WorkflowRow.model_validate(row) if row else None


def create(conn: DbConnection, agent_id: UUID, org_id: UUID, key: str) -> WorkflowRow:
    """A workflow with no version yet (current_version 0 until the first version is added)."""
    row = conn.execute(
        f"""INSERT INTO workflows AS w (agent_id, org_id, key, current_version) VALUES (%s, %s, %s, 0)
            ON CONFLICT (agent_id, key) DO UPDATE SET updated_at = w.updated_at
            RETURNING {_WORKFLOW}""",
        (agent_id, org_id, key),
    ).fetchone()
    return WorkflowRow.model_validate(row)


def add_version(
    conn: DbConnection,
    workflow: WorkflowRow,
    *,
    definition: dict[str, Any],
    source: str,
    reason: str | None,
    author_id: UUID | None,
    based_on: int | None,
) -> VersionRow:
    """The next version, made current. The caller holds the workflow row locked (get(..., lock=True))."""
    number = conn.execute(
        "SELECT coalesce(max(version), 0) + 1 AS n FROM workflow_versions WHERE workflow_id = %s",
        (workflow.id,),
    ).fetchone()
    version = int(number["n"]) if number else 1
    conn.execute(
        """INSERT INTO workflow_versions (workflow_id, org_id, version, definition, source, reason, author_id,
                                          based_on)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (workflow.id, workflow.org_id, version, Jsonb(definition), source, reason, author_id, based_on),
    )
    conn.execute(
        "UPDATE workflows SET current_version = %s, updated_at = now() WHERE id = %s AND org_id = %s",
        (version, workflow.id, workflow.org_id),
    )
    found = get_version(conn, workflow.id, workflow.org_id, version)
    assert found is not None
    return found


def get_version(conn: DbConnection, workflow_id: UUID, org_id: UUID, version: int) -> VersionRow | None:
    row = conn.execute(
        f"""SELECT {_VERSION} FROM workflow_versions v LEFT JOIN users u ON u.id = v.author_id
            WHERE v.workflow_id = %s AND v.org_id = %s AND v.version = %s""",
        (workflow_id, org_id, version),
    ).fetchone()
    return VersionRow.model_validate(row) if row else None


def get_version_by_id(conn: DbConnection, version_id: UUID, org_id: UUID) -> VersionRow | None:
    row = conn.execute(
        f"""SELECT {_VERSION} FROM workflow_versions v LEFT JOIN users u ON u.id = v.author_id
            WHERE v.id = %s AND v.org_id = %s""",
        (version_id, org_id),
    ).fetchone()
    return VersionRow.model_validate(row) if row else None


def list_versions(conn: DbConnection, workflow_id: UUID, org_id: UUID, limit: int, offset: int) -> list[VersionRow]:
    rows = conn.execute(
        f"""SELECT {_VERSION} FROM workflow_versions v LEFT JOIN users u ON u.id = v.author_id
            WHERE v.workflow_id = %s AND v.org_id = %s ORDER BY v.version DESC LIMIT %s OFFSET %s""",
        (workflow_id, org_id, limit, offset),
    ).fetchall()
    return [VersionRow.model_validate(r) for r in rows]


def current_definitions(conn: DbConnection, agent_id: UUID, org_id: UUID) -> list[VersionRow]:
    """The current version of each of the agent's workflows."""
    rows = conn.execute(
        f"""SELECT {_VERSION} FROM workflows w
            JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version
            LEFT JOIN users u ON u.id = v.author_id
            WHERE w.agent_id = %s AND w.org_id = %s ORDER BY w.key""",
        (agent_id, org_id),
    ).fetchall()
    return [VersionRow.model_validate(r) for r in rows]


def current_version_for_key(conn: DbConnection, agent_id: UUID, org_id: UUID, key: str) -> VersionRow | None:
    row = conn.execute(
        f"""SELECT {_VERSION} FROM workflows w
            JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version
            LEFT JOIN users u ON u.id = v.author_id
            WHERE w.agent_id = %s AND w.org_id = %s AND w.key = %s""",
        (agent_id, org_id, key),
    ).fetchone()
    return VersionRow.model_validate(row) if row else None
