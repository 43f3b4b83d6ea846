"""Invitations to an organisation. The token is stored only as its hash; every query is scoped to the
organisation, except the invitee's look-up by token (the token is the invitee's only handle on it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from phi.db.connection import DbConnection
from phi.domain.models import OrgRole

# EXPIRED is never stored: it is a PENDING invitation whose time ran out, as its readers are told.
InvitationStatus = Literal["PENDING", "EXPIRED", "ACCEPTED", "REVOKED"]


class InvitationRow(BaseModel):
    id: UUID
    org_id: UUID
    email: str
    role: OrgRole
    status: InvitationStatus
    invited_by: UUID | None
    created_at: datetime
    expires_at: datetime


class InvitationForInvitee(BaseModel):
    """A pending invitation as the invitee sees it before accepting: which organisation, which role."""

    id: UUID
    org_id: UUID
    org_name: str
    role: OrgRole
    expires_at: datetime


_COLUMNS = "id, org_id, email, role, status, invited_by, created_at, expires_at"
# The one test of a usable invitation, shared by the invitee's look-up and the acceptance itself: its token, still
# pending (neither accepted nor revoked), not expired, and addressed to the caller's e-mail (any case).
_USABLE = "token_hash = %s AND status = 'PENDING' AND expires_at > now() AND lower(email) = lower(%s)"


def invite(
    conn: DbConnection, org_id: UUID, email: str, role: OrgRole, token_hash: str, invited_by: UUID, valid_for: int
) -> InvitationRow:
    """A pending invitation for the address, valid for `valid_for` seconds. An invitation already pending for
    that address (any case) is replaced: new token, role, inviter and dates, so its earlier link stops working."""
    row = conn.execute(
        f"""INSERT INTO org_invitations (org_id, email, role, token_hash, status, invited_by, expires_at)
            VALUES (%s, %s, %s, %s, 'PENDING', %s, now() + make_interval(secs => %s))
            ON CONFLICT (org_id, lower(email)) WHERE status = 'PENDING'
            DO UPDATE SET email = excluded.email, role = excluded.role, token_hash = excluded.token_hash,
                          invited_by = excluded.invited_by, created_at = now(), expires_at = excluded.expires_at
            RETURNING {_COLUMNS}""",
        (org_id, email, role.value, token_hash, invited_by, valid_for),
    ).fetchone()
    assert row is not None
    return InvitationRow.model_validate(row)


def pending_role(
    conn: DbConnection, org_id: UUID, *, email: str = "", invitation_id: UUID | None = None
) -> OrgRole | None:
    """The role of the invitation pending for the address (any case) or with the id, locked until the transaction
    ends (whoever replaces or revokes it must be allowed to make that role); None when there is none."""
    if invitation_id is not None:
        where, value = "id = %s", str(invitation_id)
    else:
        where, value = "lower(email) = lower(%s)", email
    row: Any = conn.execute(
        f"SELECT role FROM org_invitations WHERE org_id = %s AND status = 'PENDING' AND {where} FOR UPDATE",
        (org_id, value),
    ).fetchone()
    return OrgRole(row["role"]) if row else None


def list_open(conn: DbConnection, org_id: UUID) -> list[InvitationRow]:
    """The invitations neither accepted nor revoked: still pending, or EXPIRED (unused in time; inviting the
    address again renews it, revoking removes it)."""
    rows = conn.execute(
        """SELECT id, org_id, email, role,
                  CASE WHEN expires_at <= now() THEN 'EXPIRED' ELSE status END AS status,
                  invited_by, created_at, expires_at
             FROM org_invitations WHERE org_id = %s AND status = 'PENDING'
            ORDER BY created_at DESC, id""",
        (org_id,),
    ).fetchall()
    return [InvitationRow.model_validate(r) for r in rows]


def revoke(conn: DbConnection, org_id: UUID, invitation_id: UUID) -> bool:
    """True when a pending invitation of this organisation was revoked."""
    revoked = conn.execute(
        "UPDATE org_invitations SET status = 'REVOKED' WHERE id = %s AND org_id = %s AND status = 'PENDING'",
        (invitation_id, org_id),
    )
    return revoked.rowcount > 0


def find_usable(conn: DbConnection, token_hash: str, email: str) -> InvitationForInvitee | None:
    row = conn.execute(
        f"""SELECT i.id, i.org_id, o.name AS org_name, i.role, i.expires_at
            FROM (SELECT * FROM org_invitations WHERE {_USABLE}) i JOIN organizations o ON o.id = i.org_id""",
        (token_hash, email),
    ).fetchone()
    return InvitationForInvitee.model_validate(row) if row else None


def mark_accepted(conn: DbConnection, token_hash: str, email: str, user_id: UUID) -> InvitationRow | None:
    """Accepts the usable invitation this token names, once: the condition is re-checked under the row's lock,
    so of two concurrent acceptances the second finds it ACCEPTED and gets None."""
    row = conn.execute(
        f"""UPDATE org_invitations SET status = 'ACCEPTED', accepted_by = %s, accepted_at = now()
            WHERE {_USABLE} RETURNING {_COLUMNS}""",
        (user_id, token_hash, email),
    ).fetchone()
    return InvitationRow.model_validate(row) if row else None
