"""Organisations of the caller."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import Field

from phi.api.deps import AdminOrg, CallerOrg, Conn, CurrentUser
from phi.db import orgs as orgs_repo
from phi.domain.models import Organization
from phi.domain.request_body import RequestBody
from phi.services.members import rename_org

router = APIRouter(tags=["organisations"])


class OrgCreate(RequestBody):
    name: str = Field(min_length=1, max_length=200, examples=["Northwind Logistics"])


class OrgUpdate(RequestBody):
    name: str = Field(min_length=1, max_length=200, examples=["Northwind Logistics UK"])


@router.post(
    "/orgs",
    status_code=status.HTTP_201_CREATED,
    response_model=Organization,
    summary="Create an organisation",
)
def create_org(body: OrgCreate, conn: Conn, user: CurrentUser) -> Organization:
    """The caller becomes its first owner."""
    return orgs_repo.create_org(conn, body.name, user.id)


@router.get("/orgs", response_model=list[Organization], summary="The caller's organisations")
def list_orgs(conn: Conn, user: CurrentUser) -> list[Organization]:
    return orgs_repo.list_orgs_for_user(conn, user.id)


@router.get("/orgs/{org_id}", response_model=Organization, summary="One organisation")
def get_org(org: CallerOrg) -> Organization:
    return org


@router.patch("/orgs/{org_id}", response_model=Organization, summary="Rename an organisation (owner, admin)")
def update_org(body: OrgUpdate, org: AdminOrg, conn: Conn) -> Organization:
    return rename_org(conn, org, body.name)
