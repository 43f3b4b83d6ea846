"""Organisations and memberships. Every read is through the caller's membership, so other tenants stay
invisible."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from phi.db.connection import DbConnection
from phi.domain.models import Organization, OrgRole


def create_org(conn: DbConnection, name: str, owner_id: UUID) -> Organization:
    row: Any = conn.execute(
        "INSERT INTO organizations (name, created_by) VALUES (%s, %s) RETURNING id, name, created_at",
        (name, owner_id),
    ).fetchone()
    assert row is not None
    conn.execute(
        "INSERT INTO organization_members (org_id, user_id, role) VALUES (%s, %s, 'OWNER')",
        (row["id"], owner_id),
    )
    return Organization.model_validate({**row, "role": OrgRole.OWNER})


def list_orgs_for_user(conn: DbConnection, user_id: UUID) -> list[Organization]:
    rows = conn.execute(
        """SELECT o.id, o.name, o.created_at, m.role FROM organizations o
           JOIN organization_members m ON m.org_id = o.id WHERE m.user_id = %s ORDER BY o.created_at, o.id""",
        (user_id,),
    ).fetchall()
    return [Organization.model_validate(r) for r in rows]


def get_org_for_user(conn: DbConnection, org_id: UUID, user_id: UUID) -> Organization | None:
    row = conn.execute(
        """SELECT o.id, o.name, o.created_at, m.role FROM organizations o
           JOIN organization_members m ON m.org_id = o.id WHERE o.id = %s AND m.user_id = %s""",
        (org_id, user_id),
    ).fetchone()
    return Organization.model_validate(row) if row else None


def rename_org(conn: DbConnection, org_id: UUID, name: str) -> None:
    conn.execute("UPDATE organizations SET name = %s WHERE id = %s", (name, org_id))


def list_orgs_by_id(conn: DbConnection, org_ids: list[UUID]) -> list[Organization]:
    """Organisations by id with no membership check: only for platform administrators' views."""
    if not org_ids:
        return []
    rows = conn.execute(
        "SELECT id, name, created_at FROM organizations WHERE id = ANY(%s) ORDER BY name", (org_ids,)
    ).fetchall()
    return [Organization.model_validate(r) for r in rows]
