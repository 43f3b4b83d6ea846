"""No task stays RUNNING past its overall deadline: overdue executions are stopped and their tasks FAILED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from phi.aws import stop_execution
from phi.db import approvals as approvals_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.domain.models import EventType, TaskStatus
from phi.settings import get_settings


def task_deadline_seconds() -> int:
    settings = get_settings()
    return settings.task_deadline_seconds or settings.max_steps * (settings.tool_timeout_seconds + 60)


def fail_overdue_tasks(now: datetime | None = None) -> int:
    deadline = task_deadline_seconds()
    now = now or datetime.now(UTC)
    with transaction() as conn:
        candidates = tasks_repo.running_started_before(conn, now - timedelta(seconds=deadline))
        # Time spent waiting for a person's approval does not count against the deadline.
        waited = approvals_repo.seconds_waited(conn, [t.id for t in candidates], now)
    overdue = [
        t
        for t in candidates
        if t.started_at is None or t.started_at + timedelta(seconds=deadline + waited.get(t.id, 0.0)) < now
    ]
    cause = f"The task passed its overall deadline of {deadline} s and was stopped."
    for task in overdue:
        if task.execution_arn:
            stop_execution(task.execution_arn, error="Task.DeadlineExceeded", cause=cause)
        with transaction() as conn:
            error = {"error": "Task.DeadlineExceeded", "cause": cause}
            if tasks_repo.finish(conn, task.id, task.org_id, TaskStatus.FAILED, error=error):
                message = f"Task.DeadlineExceeded: {cause}"
                tasks_repo.add_event(conn, task.id, task.org_id, EventType.TASK_FAILED, message, error)
                approvals_repo.cancel_pending_for_task(conn, task.id, task.org_id)
    return len(overdue)
