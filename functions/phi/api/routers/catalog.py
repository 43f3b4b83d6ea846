"""The catalog a web app offers when creating an agent: industries, role templates, tools and workflow templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from phi.api.deps import Conn, CurrentUser
from phi.db import catalog as catalog_repo
from phi.definitions.templates import TemplateSummary, WorkflowTemplate, get_template, list_templates, summary_of
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


@router.get(
    "/workflow-templates",
    response_model=list[TemplateSummary],
    summary="The workflow template catalogue, optionally of one industry or role",
    description="Ready-made workflows in the definition format (GET /workflow-schema). A new agent gets the "
    "templates its role template names (default_workflows) as version 1 of its own workflows, which it then "
    "edits like any other version. The same for every organisation.",
)
def workflow_templates(
    _: CurrentUser,
    industry_key: Annotated[str | None, Query(max_length=100, examples=["logistics"])] = None,
    role_key: Annotated[str | None, Query(max_length=100, examples=["warehouse_analyst"])] = None,
) -> list[TemplateSummary]:
    return [summary_of(t) for t in list_templates(industry=industry_key, role=role_key)]


@router.get(
    "/workflow-templates/{key}",
    response_model=WorkflowTemplate,
    summary="One workflow template with its whole definition",
    responses={404: {"description": "No template has this key"}},
)
def workflow_template(
    _: CurrentUser, key: Annotated[str, Path(max_length=64, examples=["daily_warehouse_report"])]
) -> WorkflowTemplate:
    return get_template(key)
