"""Who may change an organisation's membership.

OWNER: everything, including making (inviting) and removing owners. ADMIN: invites and removes admins and
members. Nobody adds an account directly: a member joins by accepting an invitation (phi.services.invitations).
MEMBER: reads, and may leave. An organisation always keeps at least one owner."""

from __future__ import annotations

from uuid import UUID

from phi.db import members as members_repo
from phi.db import orgs as orgs_repo
from phi.db.connection import DbConnection
from phi.domain.models import Member, Organization, OrgRole, User, is_manager_role
from phi.errors import Conflict, Forbidden, NotFound


class LastOwner(Conflict):
    code = "last_owner"


def require_manager(org: Organization) -> None:
    if not is_manager_role(org.role):
        raise Forbidden("Only an owner or admin of the organisation can change its members.")


def require_owner_for(org: Organization, *roles: OrgRole) -> None:
    if OrgRole.OWNER in roles and org.role != OrgRole.OWNER:
        raise Forbidden("Only an owner can make, change or remove owners.")


def _member(conn: DbConnection, org: Organization, user_id: UUID) -> Member:
    member = members_repo.get_member(conn, org.id, user_id)
    if member is None:
        raise NotFound("Member not found.")
    return member


def _keep_an_owner(conn: DbConnection, org: Organization, leaving_owner: UUID) -> None:
    owners = members_repo.lock_owners(conn, org.id)
    if owners == [leaving_owner]:
        raise LastOwner("The organisation's last owner cannot leave or step down; make another member owner first.")


def change_role(conn: DbConnection, org: Organization, user_id: UUID, role: OrgRole) -> Member:
    require_manager(org)
    member = _member(conn, org, user_id)
    require_owner_for(org, role, member.role)
    if member.role == OrgRole.OWNER and role != OrgRole.OWNER:
        _keep_an_owner(conn, org, member.user_id)
    members_repo.set_role(conn, org.id, user_id, role)
    return _member(conn, org, user_id)


def remove_member(conn: DbConnection, org: Organization, caller: User, user_id: UUID) -> None:
    leaving = caller.id == user_id
    if not leaving:
        require_manager(org)
    member = _member(conn, org, user_id)
    if not leaving:
        require_owner_for(org, member.role)
    if member.role == OrgRole.OWNER:
        _keep_an_owner(conn, org, member.user_id)
    members_repo.remove_member(conn, org.id, user_id)


def rename_org(conn: DbConnection, org: Organization, name: str) -> Organization:
    if not is_manager_role(org.role):
        raise Forbidden("Only an owner or admin can rename the organisation.")
    orgs_repo.rename_org(conn, org.id, name)
    return org.model_copy(update={"name": name})
