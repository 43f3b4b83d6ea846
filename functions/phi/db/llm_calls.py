"""LLM calls and the organisations' monthly token budgets."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from phi.db.connection import DbConnection
from phi.domain.models import LlmCall

_CALL_COLUMNS = """purpose, route, model, attempt, ok, error, prompt_tokens, completion_tokens, latency_ms,
                   created_at"""


def add_call(conn: DbConnection, org_id: UUID, task_id: UUID | None, agent_id: UUID | None, call: LlmCall) -> None:
    conn.execute(
        """INSERT INTO llm_calls (org_id, task_id, agent_id, purpose, route, model, attempt, ok, error,
                                  prompt_tokens, completion_tokens, latency_ms)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            org_id,
            task_id,
            agent_id,
            call.purpose,
            call.route,
            call.model,
            call.attempt,
            call.ok,
            call.error,
            call.prompt_tokens,
            call.completion_tokens,
            call.latency_ms,
        ),
    )


def list_for_task(conn: DbConnection, task_id: UUID, org_id: UUID) -> list[LlmCall]:
    rows = conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM llm_calls WHERE task_id = %s AND org_id = %s ORDER BY id",
        (task_id, org_id),
    ).fetchall()
    return [LlmCall.model_validate(r) for r in rows]


def tokens_since(conn: DbConnection, org_id: UUID, since: datetime) -> int:
    row = conn.execute(
        """SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens FROM llm_calls
           WHERE org_id = %s AND created_at >= %s""",
        (org_id, since),
    ).fetchone()
    return int(row["tokens"]) if row else 0


class UsageRow(BaseModel):
    model: str
    purpose: str
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int


def usage_since(conn: DbConnection, org_id: UUID, since: datetime) -> list[UsageRow]:
    rows = conn.execute(
        """SELECT model, purpose, count(*) AS calls, count(*) FILTER (WHERE NOT ok) AS failed_calls,
                  coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
                  coalesce(sum(completion_tokens), 0) AS completion_tokens
           FROM llm_calls WHERE org_id = %s AND created_at >= %s
           GROUP BY model, purpose ORDER BY model, purpose""",
        (org_id, since),
    ).fetchall()
    return [UsageRow.model_validate(r) for r in rows]


def get_budget(conn: DbConnection, org_id: UUID) -> int | None:
    row = conn.execute("SELECT llm_monthly_token_budget FROM organizations WHERE id = %s", (org_id,)).fetchone()
    return int(row["llm_monthly_token_budget"]) if row and row["llm_monthly_token_budget"] is not None else None


def set_budget(conn: DbConnection, org_id: UUID, monthly_tokens: int | None) -> None:
    conn.execute("UPDATE organizations SET llm_monthly_token_budget = %s WHERE id = %s", (monthly_tokens, org_id))
