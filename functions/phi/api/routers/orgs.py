"""Organisations of the caller."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from phi.api.deps import CallerOrg, Conn, CurrentUser
from phi.db import orgs as orgs_repo
from phi.domain.models import Organization

router = APIRouter(tags=["organisations"])


class OrgCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Northwind Logistics"])


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=Organization)
def create_org(body: OrgCreate, conn: Conn, user: CurrentUser) -> Organization:
    return orgs_repo.create_org(conn, body.name, user.id)


@router.get("/orgs", response_model=list[Organization])
def list_orgs(conn: Conn, user: CurrentUser) -> list[Organization]:
    return orgs_repo.list_orgs_for_user(conn, user.id)


@router.get("/orgs/{org_id}", response_model=Organization)
def get_org(org: CallerOrg) -> Organization:
    return org
