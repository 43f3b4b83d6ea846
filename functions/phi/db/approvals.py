"""Approvals that running workflows wait for (DESIGN §9): the request, its task token, and the decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from phi.db.connection import DbConnection
from phi.domain.models import Approval, ApprovalStatus, ApprovalWithToken

_PUBLIC = """id, org_id, agent_id, task_id, step, node_id, title, summary, approver_roles, approver_emails,
             on_timeout, status, requested_at, expires_at, decided_by, decided_by_email, decided_at, comment,
             resumed_at"""
_WITH_TOKEN = f"{_PUBLIC}, task_token"


class NewApproval(BaseModel):
    org_id: UUID
    agent_id: UUID
    task_id: UUID
    step: int
    node_id: str
    title: str
    summary: str
    approver_roles: list[str]
    approver_emails: list[str]
    on_timeout: str
    task_token: str
    expires_at: datetime


def create(conn: DbConnection, new: NewApproval) -> tuple[Approval, bool]:
    """The approval for (task, step), and whether this call created it. A retried AwaitApproval step brings a
    new task token: it replaces the old one while the approval is pending."""
    row = conn.execute(
        f"""INSERT INTO approvals (org_id, agent_id, task_id, step, node_id, title, summary, approver_roles,
                                   approver_emails, on_timeout, task_token, expires_at)
            VALUES (%(org_id)s, %(agent_id)s, %(task_id)s, %(step)s, %(node_id)s, %(title)s, %(summary)s,
                    %(approver_roles)s, %(approver_emails)s, %(on_timeout)s, %(task_token)s, %(expires_at)s)
            ON CONFLICT (task_id, step) DO UPDATE
                SET task_token = EXCLUDED.task_token, expires_at = EXCLUDED.expires_at
                WHERE approvals.status = 'PENDING'
            RETURNING {_PUBLIC}, (xmax = 0) AS created""",
        new.model_dump(),
    ).fetchone()
    if row is None:  # decided already: the retry changes nothing
        existing = conn.execute(
            f"SELECT {_PUBLIC} FROM approvals WHERE task_id = %s AND step = %s", (new.task_id, new.step)
        ).fetchone()
        return Approval.model_validate(existing), False
    return Approval.model_validate(row), bool(row["created"])


def get(conn: DbConnection, approval_id: UUID, org_id: UUID) -> Approval | None:
    row = conn.execute(
        f"SELECT {_PUBLIC} FROM approvals WHERE id = %s AND org_id = %s", (approval_id, org_id)
    ).fetchone()
    return Approval.model_validate(row) if row else None


def get_for_user(conn: DbConnection, approval_id: UUID, user_id: UUID) -> Approval | None:
    """The approval when the user is a member of its organisation (else None: the API answers 404)."""
    columns = ", ".join("a." + c.strip() for c in _PUBLIC.split(","))
    row = conn.execute(
        f"""SELECT {columns} FROM approvals a JOIN organization_members m ON m.org_id = a.org_id
            WHERE a.id = %s AND m.user_id = %s""",
        (approval_id, user_id),
    ).fetchone()
    return Approval.model_validate(row) if row else None


class ApprovalFilter(BaseModel):
    status: ApprovalStatus | None = None
    agent_id: UUID | None = None
    task_id: UUID | None = None
    limit: int = 50
    offset: int = 0


def list_approvals(conn: DbConnection, org_id: UUID, where: ApprovalFilter) -> tuple[list[Approval], int]:
    """One page of the organisation's approvals, newest first, and the total that match."""
    params = {
        "org_id": org_id,
        "status": where.status.value if where.status else None,
        "agent_id": where.agent_id,
        "task_id": where.task_id,
        "limit": where.limit,
        "offset": where.offset,
    }
    condition = """org_id = %(org_id)s
                   AND (%(status)s::text IS NULL OR status = %(status)s::text)
                   AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
                   AND (%(task_id)s::uuid IS NULL OR task_id = %(task_id)s::uuid)"""
    rows = conn.execute(
        f"""SELECT {_PUBLIC} FROM approvals WHERE {condition}
            ORDER BY requested_at DESC, id LIMIT %(limit)s OFFSET %(offset)s""",
        params,
    ).fetchall()
    total: Any = conn.execute(f"SELECT count(*) AS n FROM approvals WHERE {condition}", params).fetchone()
    return [Approval.model_validate(r) for r in rows], int(total["n"]) if total else 0


def decide(
    conn: DbConnection,
    approval_id: UUID,
    org_id: UUID,
    *,
    status: ApprovalStatus,
    user_id: UUID,
    email: str,
    comment: str | None,
) -> ApprovalWithToken | None:
    """PENDING → APPROVED/REJECTED once, while it has not expired and its task is still unfinished; None when it
    is no longer open."""
    row = conn.execute(
        f"""UPDATE approvals SET status = %s, decided_by = %s, decided_by_email = %s, decided_at = now(),
                   comment = %s
            WHERE id = %s AND org_id = %s AND status = 'PENDING' AND expires_at > now()
              AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = approvals.task_id AND t.org_id = approvals.org_id
                          AND t.status IN ('PENDING', 'RUNNING'))
            RETURNING {_WITH_TOKEN}""",
        (status.value, user_id, email, comment, approval_id, org_id),
    ).fetchone()
    return ApprovalWithToken.model_validate(row) if row else None


def open_for_task(conn: DbConnection, task_id: UUID, org_id: UUID) -> Approval | None:
    """The task's latest approval the workflow has not been resumed with yet, locked until the commit."""
    row = conn.execute(
        f"""SELECT {_PUBLIC} FROM approvals WHERE task_id = %s AND org_id = %s AND resumed_at IS NULL
            ORDER BY requested_at DESC, step DESC LIMIT 1 FOR UPDATE""",
        (task_id, org_id),
    ).fetchone()
    return Approval.model_validate(row) if row else None


def close_pending(conn: DbConnection, approval_id: UUID, org_id: UUID, status: ApprovalStatus) -> bool:
    """PENDING → TIMED_OUT or CANCELLED; False when a decision came first."""
    row = conn.execute(
        "UPDATE approvals SET status = %s WHERE id = %s AND org_id = %s AND status = 'PENDING' RETURNING id",
        (status.value, approval_id, org_id),
    ).fetchone()
    return row is not None


def mark_resumed(conn: DbConnection, approval_id: UUID, org_id: UUID) -> None:
    conn.execute("UPDATE approvals SET resumed_at = now() WHERE id = %s AND org_id = %s", (approval_id, org_id))


def cancel_pending_for_task(conn: DbConnection, task_id: UUID, org_id: UUID) -> int:
    """The task ended: its pending approvals can no longer be decided."""
    cursor = conn.execute(
        "UPDATE approvals SET status = 'CANCELLED' WHERE task_id = %s AND org_id = %s AND status = 'PENDING'",
        (task_id, org_id),
    )
    return cursor.rowcount


def seconds_waited(conn: DbConnection, task_ids: list[UUID], now: datetime) -> dict[UUID, float]:
    """Platform maintenance (the deadline sweeper): how long each task has waited for people's decisions, a
    pending approval counting until `now` or its expiry — time that does not count against the task's deadline."""
    if not task_ids:
        return {}
    rows = conn.execute(
        """SELECT task_id, SUM(GREATEST(0, EXTRACT(EPOCH FROM
                      COALESCE(resumed_at, LEAST(%(now)s::timestamptz, expires_at)) - requested_at))) AS waited
           FROM approvals WHERE task_id = ANY(%(ids)s) GROUP BY task_id""",
        {"ids": task_ids, "now": now},
    ).fetchall()
    return {row["task_id"]: float(row["waited"]) for row in rows}
