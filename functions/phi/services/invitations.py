"""Invitations: how someone joins an organisation.

An owner or admin invites an e-mail address (the role rules of phi.services.members: only an owner invites an
owner). The invitation's token is random, kept only as its hash, and reaches the invitee only in the e-mail
sent to that address (Amazon SES; on a stack without e-mail, the message captured in the organisation's outbox,
where the inviter finds the link to pass on). Accepting needs both the token and an account using the invited
address: signing up with someone else's address (accounts' addresses are not verified) is not enough, and
neither is a token from another invitation. Whether an account uses the address is never told to the inviter.

An invitation that cannot be used (unknown, expired, accepted, revoked or addressed to another e-mail) is one
and the same "not found", so the answer tells nothing about which check failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from phi.db import invitations as repo
from phi.db import members as members_repo
from phi.db import notifications as notifications_repo
from phi.db import orgs as orgs_repo
from phi.db.connection import DbConnection, after_commit
from phi.db.invitations import InvitationForInvitee, InvitationStatus
from phi.domain.models import Organization, OrgRole, User
from phi.email_delivery import send_with_ses
from phi.errors import Conflict, NotFound
from phi.services.members import require_manager, require_owner_for
from phi.services.security import hash_secret_token, new_invitation_token
from phi.settings import get_settings

VALID_FOR = timedelta(days=7)
ACCEPT_PATH = "/invitations/accept"  # under the console's URL
UNUSABLE = (
    "No such invitation: it may have expired, been used or revoked, or be for another e-mail address than your "
    "account's. Ask the organisation for a new one."
)
LINK_NOT_KEPT = "(the link was sent to the invitee only and is not kept)"
LINK_GIVEN_TO_INVITER = "(no e-mail was sent: the link was shown once to whoever sent the invitation, and is not kept)"


class Invitation(BaseModel):
    """An invitation as the organisation's owners and admins see it: never its token."""

    id: UUID
    email: str
    role: OrgRole
    status: InvitationStatus
    invited_by: UUID | None = Field(description="the owner or admin who sent it")
    created_at: datetime
    expires_at: datetime = Field(description="7 days after it was sent; invite again once it has expired")


class SentInvitation(Invitation):
    """What inviting answers the inviter: the invitation and, when no e-mail service sends it (the embedded stack),
    the link to pass on — this once: the organisation's outbox keeps the e-mail without it."""

    link_to_pass_on: str | None = Field(
        default=None,
        description="Only when no e-mail was sent (no e-mail service): the invitation's link, for the inviter to "
        "pass on; shown this once, kept nowhere",
    )


def _invitation(row: repo.InvitationRow) -> Invitation:
    return Invitation.model_validate(row.model_dump())


def invite(
    conn: DbConnection, org: Organization, inviter: User, email: str, role: OrgRole, console_url: str
) -> SentInvitation:
    """Invites the address (replacing an invitation pending for it) and e-mails it the link once this
    transaction commits. The same answer whether or not an account uses the address."""
    require_manager(org)
    # Replacing an invitation pending for the address changes its role too: an owner's invitation of an owner is
    # an owner's to change.
    replaced = repo.pending_role(conn, org.id, email=email)
    require_owner_for(org, role, *([replaced] if replaced else []))
    if members_repo.is_member_email(conn, org.id, email):
        raise Conflict("This address is already a member of the organisation.")
    token, token_hash = new_invitation_token()
    row = repo.invite(conn, org.id, email, role, token_hash, inviter.id, int(VALID_FOR.total_seconds()))
    link = f"{console_url}{ACCEPT_PATH}?token={token}"
    captured = _email_invitation(conn, org, inviter, row, link)
    return SentInvitation(**_invitation(row).model_dump(), link_to_pass_on=link if captured else None)


def _email_invitation(
    conn: DbConnection, org: Organization, inviter: User, invitation: repo.InvitationRow, link: str
) -> bool:
    """The invitation e-mail, through the notifications' path: a PENDING row of the organisation's outbox, then
    the delivery after the commit (a rolled-back invitation sends nothing). The row never keeps the link: whoever
    reads the outbox (owners and admins) could otherwise take a seat it was not invited to — an admin an OWNER's,
    since addresses are not verified. Captured (no e-mail service), the row is the delivery and the inviter gets
    the link in the answer, once. True when captured (nothing is sent)."""
    settings = get_settings()
    delivery: notifications_repo.Delivery = "ses" if settings.email_delivery == "ses" else "outbox"
    subject = f"You are invited to {org.name} on Phi Agents"
    kept = _invitation_text(org, inviter, invitation, LINK_GIVEN_TO_INVITER if delivery == "outbox" else LINK_NOT_KEPT)
    row = notifications_repo.add_pending_email(
        conn, org_id=org.id, delivery=delivery, recipients=[invitation.email], subject=subject, body=kept
    )

    def deliver() -> None:  # after the invitation and its PENDING e-mail are committed
        outcome: dict[str, Any]
        if delivery == "outbox":
            outcome = {"status": "CAPTURED"}
        else:
            sent = _invitation_text(org, inviter, invitation, link)  # the only text that holds the link
            outcome = send_with_ses(settings.required("email_sender"), [invitation.email], subject, sent)
        notifications_repo.record_delivery(conn, row.id, org.id, **outcome)

    after_commit(conn, deliver)
    return delivery == "outbox"


def _invitation_text(org: Organization, inviter: User, invitation: repo.InvitationRow, link: str) -> str:
    inviter_name = f"{inviter.full_name} ({inviter.email})" if inviter.full_name else inviter.email
    return (
        f"{inviter_name} invites you to join {org.name} on Phi Agents as {invitation.role.value}.\n\n"
        f"To accept, open this link and sign in (or sign up) with this e-mail address, {invitation.email}:\n\n"
        f"{link}\n\n"
        f"The link works once, until {invitation.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC. "
        "If you did not expect this invitation, ignore this e-mail.\n"
    )


def list_open(conn: DbConnection, org: Organization) -> list[Invitation]:
    require_manager(org)
    return [_invitation(r) for r in repo.list_open(conn, org.id)]


def revoke(conn: DbConnection, org: Organization, invitation_id: UUID) -> None:
    require_manager(org)
    role = repo.pending_role(conn, org.id, invitation_id=invitation_id)
    if role is None:
        raise NotFound("No pending invitation with this id.")
    require_owner_for(org, role)  # an invitation of an owner is an owner's to withdraw
    if not repo.revoke(conn, org.id, invitation_id):
        raise NotFound("No pending invitation with this id.")


def for_invitee(conn: DbConnection, user: User, token: str) -> InvitationForInvitee:
    """The organisation and role a usable invitation offers the signed-in user, before they accept it."""
    found = repo.find_usable(conn, hash_secret_token(token), user.email)
    if found is None:
        raise NotFound(UNUSABLE)
    return found


def accept(conn: DbConnection, user: User, token: str) -> Organization:
    """Makes the signed-in user a member with the invited role; the invitation is used up. Of concurrent
    acceptances of one token, one succeeds and the others find it used."""
    accepted = repo.mark_accepted(conn, hash_secret_token(token), user.email, user.id)
    if accepted is None:
        raise NotFound(UNUSABLE)
    members_repo.add_member(conn, accepted.org_id, user.id, accepted.role)
    org = orgs_repo.get_org_for_user(conn, accepted.org_id, user.id)
    assert org is not None  # the membership was made just above
    return org
