"""Requests made to an agent (DESIGN §9) and the patch lane's proposals. Every query is scoped to the
organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from phi.db.connection import DbConnection


class RequestRow(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID
    created_by: UUID | None
    prompt: str
    lane: str
    lane_source: str
    confidence: float | None
    lane_reason: str
    outcome: str
    refusal: dict[str, Any] | None
    pipeline: dict[str, Any] | None
    task_id: UUID | None
    llm_usage: list[dict[str, Any]]
    created_at: datetime
    proposal_id: UUID | None = None


class ProposalRow(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID
    workflow_id: UUID
    workflow_key: str
    request_id: UUID | None
    base_version: int
    patch: list[dict[str, Any]]
    definition: dict[str, Any]
    summary: str
    explanation: str | None
    changes: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    status: str
    created_by: UUID | None
    decided_by: UUID | None
    decided_at: datetime | None
    decision_reason: str | None
    applied_version: int | None
    rebased_from: int | None
    created_at: datetime
    updated_at: datetime


_REQUEST = """r.id, r.org_id, r.agent_id, r.created_by, r.prompt, r.lane, r.lane_source, r.confidence, r.lane_reason,
              r.outcome, r.refusal, r.pipeline, r.task_id, r.llm_usage, r.created_at,
              (SELECT p.id FROM workflow_proposals p WHERE p.request_id = r.id AND p.org_id = r.org_id
               ORDER BY p.created_at LIMIT 1) AS proposal_id"""
_PROPOSAL = """p.id, p.org_id, p.agent_id, p.workflow_id, w.key AS workflow_key, p.request_id, p.base_version, p.patch,
               p.definition, p.summary, p.explanation, p.changes, p.warnings, p.status, p.created_by, p.decided_by,
               p.decided_at, p.decision_reason, p.applied_version, p.rebased_from, p.created_at, p.updated_at"""


def create_request(
    conn: DbConnection,
    *,
    org_id: UUID,
    agent_id: UUID,
    created_by: UUID | None,
    prompt: str,
    lane: str,
    lane_source: str,
    confidence: float | None,
    lane_reason: str,
    outcome: str,
    refusal: dict[str, Any] | None = None,
    pipeline: dict[str, Any] | None = None,
    task_id: UUID | None = None,
    llm_usage: list[dict[str, Any]] | None = None,
) -> RequestRow:
    row = conn.execute(
        """INSERT INTO agent_requests (org_id, agent_id, created_by, prompt, lane, lane_source, confidence,
                                       lane_reason, outcome, refusal, pipeline, task_id, llm_usage)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            org_id,
            agent_id,
            created_by,
            prompt,
            lane,
            lane_source,
            confidence,
            lane_reason,
            outcome,
            Jsonb(refusal) if refusal is not None else None,
            Jsonb(pipeline) if pipeline is not None else None,
            task_id,
            Jsonb(llm_usage or []),
        ),
    ).fetchone()
    assert row is not None
    found = get_request(conn, row["id"], org_id)
    assert found is not None
    return found


def set_task(conn: DbConnection, request_id: UUID, org_id: UUID, task_id: UUID) -> None:
    conn.execute(
        "UPDATE agent_requests SET task_id = %s, outcome = 'task' WHERE id = %s AND org_id = %s",
        (task_id, request_id, org_id),
    )


def get_request(conn: DbConnection, request_id: UUID, org_id: UUID) -> RequestRow | None:
    row = conn.execute(
        f"SELECT {_REQUEST} FROM agent_requests r WHERE r.id = %s AND r.org_id = %s", (request_id, org_id)
    ).fetchone()
    return RequestRow.model_validate(row) if row else None


def list_requests(
    conn: DbConnection, agent_id: UUID, org_id: UUID, limit: int, offset: int
) -> tuple[list[RequestRow], int]:
    rows = conn.execute(
        f"""SELECT {_REQUEST}, count(*) OVER () AS total FROM agent_requests r
            WHERE r.agent_id = %s AND r.org_id = %s ORDER BY r.created_at DESC, r.id LIMIT %s OFFSET %s""",
        (agent_id, org_id, limit, offset),
    ).fetchall()
    total = int(rows[0]["total"]) if rows else _count(conn, agent_id, org_id)
    return [RequestRow.model_validate(r) for r in rows], total


def _count(conn: DbConnection, agent_id: UUID, org_id: UUID) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM agent_requests WHERE agent_id = %s AND org_id = %s", (agent_id, org_id)
    ).fetchone()
    return int(row["n"]) if row else 0


def pipeline_for_task(conn: DbConnection, task_id: UUID, org_id: UUID) -> dict[str, Any] | None:
    """The one-off pipeline an AD_HOC task runs (kept with its request, never changed after it started)."""
    row = conn.execute(
        "SELECT pipeline FROM agent_requests WHERE task_id = %s AND org_id = %s", (task_id, org_id)
    ).fetchone()
    return row["pipeline"] if row else None


# --- proposals -------------------------------------------------------------------------------------------------


def create_proposal(
    conn: DbConnection,
    *,
    org_id: UUID,
    agent_id: UUID,
    workflow_id: UUID,
    request_id: UUID | None,
    base_version: int,
    patch: list[dict[str, Any]],
    definition: dict[str, Any],
    summary: str,
    explanation: str | None,
    changes: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
    created_by: UUID | None,
) -> ProposalRow:
    row = conn.execute(
        """INSERT INTO workflow_proposals (org_id, agent_id, workflow_id, request_id, base_version, patch, definition,
                                           summary, explanation, changes, warnings, created_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            org_id,
            agent_id,
            workflow_id,
            request_id,
            base_version,
            Jsonb(patch),
            Jsonb(definition),
            summary,
            explanation,
            Jsonb(changes),
            Jsonb(warnings),
            created_by,
        ),
    ).fetchone()
    assert row is not None
    found = get_proposal(conn, row["id"], org_id)
    assert found is not None
    return found


def get_proposal(conn: DbConnection, proposal_id: UUID, org_id: UUID, *, lock: bool = False) -> ProposalRow | None:
    row = conn.execute(
        f"""SELECT {_PROPOSAL} FROM workflow_proposals p JOIN workflows w ON w.id = p.workflow_id
            WHERE p.id = %s AND p.org_id = %s {"FOR UPDATE OF p" if lock else ""}""",
        (proposal_id, org_id),
    ).fetchone()
    return ProposalRow.model_validate(row) if row else None


def list_proposals(
    conn: DbConnection,
    org_id: UUID,
    *,
    agent_id: UUID | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ProposalRow], int]:
    where = """p.org_id = %(org)s AND (%(agent)s::uuid IS NULL OR p.agent_id = %(agent)s::uuid)
               AND (%(status)s::text IS NULL OR p.status = %(status)s::text)"""
    params = {"org": org_id, "agent": agent_id, "status": status, "limit": limit, "offset": offset}
    rows = conn.execute(
        f"""SELECT {_PROPOSAL}, count(*) OVER () AS total FROM workflow_proposals p
            JOIN workflows w ON w.id = p.workflow_id
            WHERE {where}
            ORDER BY p.created_at DESC, p.id LIMIT %(limit)s OFFSET %(offset)s""",
        params,
    ).fetchall()
    if rows:
        return [ProposalRow.model_validate(r) for r in rows], int(rows[0]["total"])
    # a page past the last one has no row to carry the count: the total is still the total
    counted = conn.execute(f"SELECT count(*) AS n FROM workflow_proposals p WHERE {where}", params).fetchone()
    return [], int(counted["n"]) if counted else 0


def decide(
    conn: DbConnection,
    proposal_id: UUID,
    org_id: UUID,
    *,
    status: str,
    decided_by: UUID | None,
    reason: str | None,
    applied_version: int | None,
) -> None:
    conn.execute(
        """UPDATE workflow_proposals SET status = %s, decided_by = %s, decided_at = now(), decision_reason = %s,
                  applied_version = %s, updated_at = now()
           WHERE id = %s AND org_id = %s AND status = 'PENDING'""",
        (status, decided_by, reason, applied_version, proposal_id, org_id),
    )


def rebase(
    conn: DbConnection,
    proposal_id: UUID,
    org_id: UUID,
    *,
    base_version: int,
    definition: dict[str, Any],
    summary: str,
    changes: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
) -> None:
    conn.execute(
        """UPDATE workflow_proposals SET rebased_from = base_version, base_version = %s, definition = %s,
                  summary = %s, changes = %s, warnings = %s, updated_at = now()
           WHERE id = %s AND org_id = %s AND status = 'PENDING'""",
        (base_version, Jsonb(definition), summary, Jsonb(changes), Jsonb(warnings), proposal_id, org_id),
    )


class ToolCallSummary(BaseModel):
    tool: str
    status: str
    error_code: str | None
    result_bytes: int | None
    requested_at: datetime
    completed_at: datetime | None


def tool_calls_of_task(conn: DbConnection, task_id: UUID, org_id: UUID) -> list[ToolCallSummary]:
    rows = conn.execute(
        """SELECT tool, status, error_code, result_bytes, requested_at, completed_at FROM tool_calls
           WHERE task_id = %s AND org_id = %s ORDER BY requested_at""",
        (task_id, org_id),
    ).fetchall()
    return [ToolCallSummary.model_validate(r) for r in rows]
