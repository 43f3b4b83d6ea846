"""Platform-wide aggregates for GET /metrics (platform administrators only: these read every organisation)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from pydantic import BaseModel

from phi.db.connection import DbConnection


class TaskCount(BaseModel):
    org_id: UUID
    status: str
    type: str
    count: int


class DocumentCount(BaseModel):
    org_id: UUID
    status: str
    count: int


class LlmTokens(BaseModel):
    org_id: UUID
    model: str
    purpose: str
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int


class ToolLatency(BaseModel):
    """Cumulative counts of finished tool calls at or under each bound, as a Prometheus histogram wants them."""

    tool: str
    buckets: list[int]
    count: int
    sum_seconds: float


class AgentQueue(BaseModel):
    org_id: UUID
    agent_id: UUID
    queue_url: str


def task_counts(conn: DbConnection) -> list[TaskCount]:
    rows = conn.execute(
        "SELECT org_id, status, type, count(*) AS count FROM tasks GROUP BY org_id, status, type"
    ).fetchall()
    return [TaskCount.model_validate(r) for r in rows]


def document_counts(conn: DbConnection) -> list[DocumentCount]:
    rows = conn.execute("SELECT org_id, status, count(*) AS count FROM documents GROUP BY org_id, status").fetchall()
    return [DocumentCount.model_validate(r) for r in rows]


def llm_tokens(conn: DbConnection) -> list[LlmTokens]:
    rows = conn.execute(
        """SELECT org_id, model, purpose, count(*) AS calls, count(*) FILTER (WHERE NOT ok) AS failed_calls,
                  coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
                  coalesce(sum(completion_tokens), 0) AS completion_tokens
           FROM llm_calls GROUP BY org_id, model, purpose"""
    ).fetchall()
    return [LlmTokens.model_validate(r) for r in rows]


def tool_latencies(conn: DbConnection, bounds_seconds: Sequence[float]) -> list[ToolLatency]:
    """Round trip = requested → completed (the local agent's answer reached the cloud), for finished calls."""
    rows = conn.execute(
        """WITH finished AS (
               SELECT tool, extract(epoch FROM completed_at - requested_at)::float8 AS seconds
               FROM tool_calls WHERE completed_at IS NOT NULL),
           per_bound AS (
               SELECT f.tool, b.ord, count(*) FILTER (WHERE f.seconds <= b.bound) AS n
               FROM finished f CROSS JOIN unnest(%s::float8[]) WITH ORDINALITY AS b(bound, ord)
               GROUP BY f.tool, b.ord),
           totals AS (
               SELECT tool, count(*) AS count, coalesce(sum(seconds), 0) AS sum_seconds FROM finished GROUP BY tool)
           SELECT p.tool, array_agg(p.n ORDER BY p.ord) AS buckets, t.count, t.sum_seconds
           FROM per_bound p JOIN totals t USING (tool) GROUP BY p.tool, t.count, t.sum_seconds""",
        (list(bounds_seconds),),
    ).fetchall()
    return [ToolLatency.model_validate(r) for r in rows]


def agent_queues(conn: DbConnection, limit: int) -> tuple[list[AgentQueue], int]:
    """The queues of agents that have one and are not deleted (at most ``limit``, oldest agents first), and how
    many there are in all."""
    rows = conn.execute(
        """SELECT org_id, id AS agent_id, queue_url, count(*) OVER () AS total FROM agents
           WHERE queue_url IS NOT NULL AND status <> 'DELETED' ORDER BY created_at, id LIMIT %s""",
        (limit,),
    ).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    return [AgentQueue.model_validate(r) for r in rows], total
