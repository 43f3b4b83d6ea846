"""Members of an organisation and their roles (OWNER, ADMIN, MEMBER). One joins by accepting an invitation
(phi.api.routers.invitations); there is no adding an account by its address."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import Field

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, AdminOrg, CallerOrg, Conn, CurrentUser, Page
from phi.db import members as members_repo
from phi.domain.models import Member, OrgRole
from phi.domain.request_body import RequestBody
from phi.services import members as members_service

router = APIRouter(tags=["members"])


class RoleChange(RequestBody):
    role: OrgRole = Field(examples=["ADMIN"])


@router.get(
    "/orgs/{org_id}/members", response_model=list[Member], responses=LIST_HEADERS, summary="Members and their roles"
)
def list_members(org: CallerOrg, conn: Conn, page: Page, response: Response) -> list[Member]:
    members, total = members_repo.page_of_members(conn, org.id, page.limit, page.offset)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return members


@router.patch(
    "/orgs/{org_id}/members/{user_id}", response_model=Member, summary="Change a member's role (owner, admin)"
)
def change_role(user_id: UUID, body: RoleChange, org: AdminOrg, conn: Conn) -> Member:
    """Admins manage admins and members; only an owner makes or demotes owners. The last owner cannot step
    down."""
    return members_service.change_role(conn, org, user_id, body.role)


@router.delete(
    "/orgs/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member, or leave (anyone may remove themselves)",
)
def remove_member(user_id: UUID, org: CallerOrg, conn: Conn, user: CurrentUser) -> Response:
    """The last owner cannot leave (409 last_owner)."""
    members_service.remove_member(conn, org, user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
