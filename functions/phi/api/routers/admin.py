"""Platform administration: every organisation's tasks, and the platform's metrics (platform admins only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, Conn, Page, PlatformAdmin
from phi.db import tasks as tasks_repo
from phi.domain.models import Task, TaskStatus
from phi.services.metrics import CONTENT_TYPE, render_metrics

router = APIRouter(tags=["admin"])


@router.get(
    "/admin/tasks",
    response_model=list[Task],
    summary="Tasks across all organisations, newest first (platform admins only)",
    responses=LIST_HEADERS,
)
def list_all_tasks(
    admin: PlatformAdmin,
    conn: Conn,
    page: Page,
    response: Response,
    org_id: Annotated[UUID | None, Query()] = None,
    agent_id: Annotated[UUID | None, Query()] = None,
    status: Annotated[TaskStatus | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
) -> list[Task]:
    where = tasks_repo.TaskFilter(agent_id=agent_id, status=status, type=type, limit=page.limit, offset=page.offset)
    tasks, total = tasks_repo.list_tasks(conn, org_id, where)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return tasks


_METRICS_EXAMPLE = """# HELP phi_tasks Tasks by organisation, status and type
# TYPE phi_tasks gauge
phi_tasks{org_id="9f0c…",status="SUCCEEDED",type="DAILY_WAREHOUSE_REPORT"} 42.0
"""


@router.get(
    "/metrics",
    summary="Platform metrics in the Prometheus text format (platform admins only)",
    description="Tasks by status and type, documents by status (both per organisation), LLM tokens and calls by "
    "model and purpose, a histogram of tool round trips, and agent queue depths (SQS, cached briefly). Scrape "
    "with a platform administrator's bearer token.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}, "example": _METRICS_EXAMPLE}}}},
)
def metrics(admin: PlatformAdmin, conn: Conn) -> Response:
    return Response(content=render_metrics(conn), media_type=CONTENT_TYPE)
