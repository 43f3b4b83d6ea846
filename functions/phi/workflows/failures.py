"""Recording that a task failed, the one way MarkFailed and the sweeper's checks all do it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from phi.db import approvals as approvals_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import DbConnection
from phi.domain.models import EventType, TaskStatus


def record_failure(
    conn: DbConnection,
    task_id: UUID,
    org_id: UUID,
    error: dict[str, str],
    data: dict[str, Any] | None = None,
    *,
    only_from: TaskStatus | None = None,
) -> bool:
    """FAILED with `error` ({error, cause}) and its TASK_FAILED event (`data`, the error itself by default), unless
    the task is final already (the first final status wins) or, with `only_from`, no longer has that status; either
    way no approval of the task stays pending: it could no longer be decided. True when this call recorded the
    failure."""
    recorded = tasks_repo.finish(conn, task_id, org_id, TaskStatus.FAILED, error=error, only_from=only_from)
    if recorded:
        message = f"{error['error']}: {error['cause']}"
        tasks_repo.add_event(conn, task_id, org_id, EventType.TASK_FAILED, message, data or error)
    approvals_repo.cancel_pending_for_task(conn, task_id, org_id)
    return recorded
