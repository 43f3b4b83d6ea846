"""Platform administration: every organisation's tasks (platform admins only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, Conn, Page, PlatformAdmin
from phi.db import tasks as tasks_repo
from phi.domain.models import Task, TaskStatus

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
