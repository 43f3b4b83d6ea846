"""The catalog a web app offers when creating an agent: industries, role templates and tools."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from phi.api.deps import Conn, CurrentUser
from phi.db import catalog as catalog_repo
from phi.domain.models import Industry, RoleTemplate, Tool

router = APIRouter(tags=["catalog"])


@router.get("/industries", response_model=list[Industry], summary="Industries")
def industries(conn: Conn, _: CurrentUser) -> list[Industry]:
    return catalog_repo.list_industries(conn)


@router.get("/role-templates", response_model=list[RoleTemplate], summary="Role templates, optionally of one industry")
def role_templates(
    conn: Conn,
    _: CurrentUser,
    industry_key: Annotated[str | None, Query(max_length=100, examples=["logistics"])] = None,
) -> list[RoleTemplate]:
    return catalog_repo.list_role_templates(conn, industry_key)


@router.get(
    "/tools",
    response_model=list[Tool],
    summary="Tools, each with the JSON Schema of its configuration",
    description="`config_schema` validates the per-tool configuration given when creating or changing an agent; "
    "tools with `available: false` cannot be given to an agent yet.",
)
def tools(conn: Conn, _: CurrentUser) -> list[Tool]:
    return catalog_repo.list_tools(conn)
