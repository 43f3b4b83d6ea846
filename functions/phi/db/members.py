"""Organisation memberships and roles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from phi.db.connection import DbConnection
from phi.domain.models import Member, OrgRole
from phi.errors import Conflict

_SELECT = """SELECT m.user_id, u.email, u.full_name, m.role, m.created_at AS joined_at
             FROM organization_members m JOIN users u ON u.id = m.user_id"""


def list_members(conn: DbConnection, org_id: UUID) -> list[Member]:
    rows = conn.execute(_SELECT + " WHERE m.org_id = %s ORDER BY m.created_at, u.email", (org_id,)).fetchall()
    return [Member.model_validate(r) for r in rows]


def page_of_members(conn: DbConnection, org_id: UUID, limit: int, offset: int) -> tuple[list[Member], int]:
    """One page of `list_members` (earliest to join first), and how many members there are in all."""
    rows = conn.execute(
        _SELECT + " WHERE m.org_id = %s ORDER BY m.created_at, u.email, m.user_id LIMIT %s OFFSET %s",
        (org_id, limit, offset),
    ).fetchall()
    total = conn.execute("SELECT count(*) AS n FROM organization_members WHERE org_id = %s", (org_id,)).fetchone()
    return [Member.model_validate(r) for r in rows], int(total["n"]) if total else 0


def get_member(conn: DbConnection, org_id: UUID, user_id: UUID) -> Member | None:
    row = conn.execute(_SELECT + " WHERE m.org_id = %s AND m.user_id = %s", (org_id, user_id)).fetchone()
    return Member.model_validate(row) if row else None


def is_member_email(conn: DbConnection, org_id: UUID, email: str) -> bool:
    """Whether the account using this e-mail (any case) is a member of the organisation."""
    row = conn.execute(
        """SELECT 1 FROM organization_members m JOIN users u ON u.id = m.user_id
           WHERE m.org_id = %s AND lower(u.email) = lower(%s)""",
        (org_id, email),
    ).fetchone()
    return row is not None


def add_member(conn: DbConnection, org_id: UUID, user_id: UUID, role: OrgRole) -> None:
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO organization_members (org_id, user_id, role) VALUES (%s, %s, %s)",
                (org_id, user_id, role.value),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("This user is already a member of the organisation.") from exc


def set_role(conn: DbConnection, org_id: UUID, user_id: UUID, role: OrgRole) -> None:
    conn.execute(
        "UPDATE organization_members SET role = %s WHERE org_id = %s AND user_id = %s",
        (role.value, org_id, user_id),
    )


def remove_member(conn: DbConnection, org_id: UUID, user_id: UUID) -> None:
    conn.execute("DELETE FROM organization_members WHERE org_id = %s AND user_id = %s", (org_id, user_id))


def lock_owners(conn: DbConnection, org_id: UUID) -> list[UUID]:
    """The owners, row-locked until commit, so two concurrent demotions cannot leave an organisation ownerless."""
    rows: Any = conn.execute(
        "SELECT user_id FROM organization_members WHERE org_id = %s AND role = 'OWNER' ORDER BY user_id FOR UPDATE",
        (org_id,),
    ).fetchall()
    return [UUID(str(r["user_id"])) for r in rows]
