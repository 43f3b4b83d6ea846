"""An agent's workflows as versioned definitions (DESIGN §8), and the JSON Schema of the format.

Reading is open to every member of the agent's organisation; adding versions and rolling back to owners and
admins. Another organisation's agent answers 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from phi.api.deps import AdminAgent, CallerAgent, Conn, CurrentUser, Page
from phi.definitions.document import published_schema
from phi.services import workflows as service
from phi.services.workflows import (
    NewVersion,
    Rollback,
    VersionDiff,
    VersionInfo,
    VersionView,
    WorkflowSummary,
    WorkflowView,
)

router = APIRouter(tags=["workflows"])
_INVALID: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "The definition does not validate: `error.details.errors` lists each problem as "
        "{node, field, message}"
    },
}
_EXAMPLE_DEFINITION: dict[str, Any] = {
    "key": "late_by_carrier",
    "name": "Late shipments by carrier",
    "inputs": {"date": {"type": "date", "default": "yesterday"}},
    "schedule": {"cron": "0 7 * * 1-5", "timezone": "Europe/London", "overlap": "SKIP"},
    "nodes": [
        {
            "id": "shipments",
            "kind": "local_tool",
            "settings": {
                "tool": "db.query",
                "sql": "SELECT carrier, promised_at, shipped_at FROM shipments "
                "WHERE promised_at >= :start AND promised_at < :end",
                "params": {"start": "{{ day_start(inputs.date) }}", "end": "{{ day_end(inputs.date) }}"},
            },
        },
        {
            "id": "late",
            "kind": "table",
            "settings": {
                "input": "shipments",
                "ops": [
                    {"op": "filter", "where": {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}},
                    {"op": "group_by", "keys": ["carrier"], "aggs": {"late": {"fn": "count"}}},
                    {"op": "top_k", "k": 5, "by": "late"},
                ],
            },
        },
        {"id": "report", "kind": "render", "settings": {"template": "sections", "title": "Late on {{ inputs.date }}"}},
    ],
    "edges": [["shipments", "late"], ["late", "report"]],
}


@router.get(
    "/workflow-schema",
    summary="The JSON Schema of workflow definitions",
    description="Node kinds, each with its settings; the same file is kept in the repository "
    "(functions/phi/definitions/workflow-definition.schema.json).",
)
def schema(_: CurrentUser) -> dict[str, Any]:
    return published_schema()


@router.get(
    "/agents/{agent_id}/workflows",
    response_model=list[WorkflowSummary],
    summary="The agent's workflow definitions (any member)",
)
def list_workflows(agent: CallerAgent, conn: Conn) -> list[WorkflowSummary]:
    return service.list_workflows(conn, agent)


@router.post(
    "/agents/{agent_id}/workflows",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkflowView,
    responses=_INVALID,
    summary="Add a workflow to the agent (owner, admin)",
    description="Version 1 of a new workflow; its key is the task type it runs as (run-task `type`). "
    "A schedule in the definition is created with it.",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {"definition": _EXAMPLE_DEFINITION, "reason": "Late shipments every weekday morning"}
                }
            }
        }
    },
)
def create(body: NewVersion, agent: AdminAgent, conn: Conn, user: CurrentUser) -> WorkflowView:
    key = str(body.definition.get("key") or "")
    return service.add_version(conn, agent, key, body, user.id, must_be_new=True)


@router.get(
    "/agents/{agent_id}/workflows/{key}",
    response_model=WorkflowView,
    summary="A workflow's current definition (any member)",
)
def get(key: str, agent: CallerAgent, conn: Conn) -> WorkflowView:
    return service.get_workflow(conn, agent, key)


@router.put(
    "/agents/{agent_id}/workflows/{key}",
    response_model=WorkflowView,
    responses=_INVALID,
    summary="Save a new version of a workflow (owner, admin)",
    description="Validated first (errors name the node and the field); versions are immutable, so this "
    "adds one and makes it current — unless nothing changed. Give `based_on` (the version you edited) to "
    "be refused with 409 when someone else saved in between. A changed schedule is resynced.",
)
def put(key: str, body: NewVersion, agent: AdminAgent, conn: Conn, user: CurrentUser) -> WorkflowView:
    return service.add_version(conn, agent, key, body, user.id)


@router.get(
    "/agents/{agent_id}/workflows/{key}/versions",
    response_model=list[VersionInfo],
    summary="A workflow's versions, newest first (any member)",
)
def versions(key: str, agent: CallerAgent, conn: Conn, page: Page) -> list[VersionInfo]:
    return service.list_versions(conn, agent, key, page.limit, page.offset)


@router.get(
    "/agents/{agent_id}/workflows/{key}/versions/{version}",
    response_model=VersionView,
    summary="One version of a workflow (any member)",
)
def version(key: str, version: int, agent: CallerAgent, conn: Conn) -> VersionView:
    return service.get_version(conn, agent, key, version)


@router.get(
    "/agents/{agent_id}/workflows/{key}/diff",
    response_model=VersionDiff,
    summary="What changed between two versions (any member)",
    description="Changes as {op, path, old, new}; paths are JSON pointers with nodes addressed by id.",
)
def compare(
    key: str,
    agent: CallerAgent,
    conn: Conn,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> VersionDiff:
    return service.compare(conn, agent, key, from_version, to_version)


@router.post(
    "/agents/{agent_id}/workflows/{key}/rollback",
    response_model=WorkflowView,
    summary="Roll back to an earlier version (owner, admin)",
    description="Adds a new version with the old definition (source `rollback`); history is kept.",
)
def rollback(key: str, body: Rollback, agent: AdminAgent, conn: Conn, user: CurrentUser) -> WorkflowView:
    return service.rollback(conn, agent, key, body, user.id)
