"""Invitations: owners and admins invite an e-mail address; the invitee accepts with the link e-mailed to it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from pydantic import EmailStr, Field

from phi.api.deps import AdminOrg, Conn, CurrentUser, console_url
from phi.domain.models import Organization, OrgRole
from phi.domain.request_body import RequestBody
from phi.services import invitations as service
from phi.services.invitations import Invitation, SentInvitation

router = APIRouter(tags=["members"])
ConsoleUrl = Annotated[str, Depends(console_url)]


class InvitationCreate(RequestBody):
    email: EmailStr = Field(description="Where the invitation's link is sent", examples=["bo@example.com"])
    role: OrgRole = Field(default=OrgRole.MEMBER, description="Only an owner can invite an owner", examples=["ADMIN"])


class InvitationAccept(RequestBody):
    token: str = Field(
        min_length=1,
        max_length=200,
        description="The token of the link in the invitation e-mail (token=…)",
        examples=["Zm9vYmFyYmF6cXV4LWFuLWludml0YXRpb24tdG9rZW4"],
    )


@router.post(
    "/orgs/{org_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=SentInvitation,
    summary="Invite an e-mail address to join (owner, admin)",
    description="E-mails the address a link that works once, for 7 days, and only for an account using that "
    "address. The answer is the same whether or not an account uses it; an address already a member is a 409. "
    "Inviting an address again replaces its pending invitation (the earlier link stops working). Without an "
    "e-mail service (the embedded stack) nothing is sent: the answer's `link_to_pass_on` is the link to pass on, "
    "given this once (the organisation's outbox keeps the message without it).",
)
def invite(body: InvitationCreate, org: AdminOrg, conn: Conn, user: CurrentUser, console: ConsoleUrl) -> SentInvitation:
    return service.invite(conn, org, user, str(body.email), body.role, console)


@router.get(
    "/orgs/{org_id}/invitations",
    response_model=list[Invitation],
    summary="Invitations not yet accepted or revoked (owner, admin)",
    description="Newest first: PENDING ones, and EXPIRED ones (unused within 7 days: inviting the address again "
    "sends a new link, revoking removes it from this list).",
)
def list_invitations(org: AdminOrg, conn: Conn) -> list[Invitation]:
    return service.list_open(conn, org)


@router.delete(
    "/orgs/{org_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a pending invitation (owner, admin)",
)
def revoke_invitation(invitation_id: UUID, org: AdminOrg, conn: Conn) -> Response:
    service.revoke(conn, org, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/accept",
    response_model=Organization,
    summary="Accept an invitation (the invited address's account)",
    description="Makes the caller a member with the invited role and answers with the organisation. An unknown, "
    "expired, used or revoked token, or one for another address than the caller's, is one and the same 404.",
)
def accept_invitation(body: InvitationAccept, conn: Conn, user: CurrentUser) -> Organization:
    return service.accept(conn, user, body.token)
