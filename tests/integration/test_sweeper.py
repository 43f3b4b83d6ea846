"""No task stays RUNNING past its overall deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from phi.db.connection import transaction
from phi.workflows.sweeper import fail_overdue_tasks
from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.waiting import wait_until


def _status(task_id: str) -> Any:
    with transaction() as conn:
        return conn.execute("SELECT status, started_at FROM tasks WHERE id = %s", (UUID(task_id),)).fetchone()


def test_a_task_past_its_deadline_is_stopped_and_failed_with_the_reason(
    new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    # Given a task waiting for a local agent that is not running, and a 60 s overall deadline
    apply_settings({"PHI_TASK_DEADLINE_SECONDS": "60"})
    agent = new_user.create_agent()
    run = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    started = wait_until(lambda: _status(run["task_id"])["status"] == "RUNNING" and _status(run["task_id"]), 60)

    # When the sweeper runs at a time past the deadline (and once before it)
    early = fail_overdue_tasks(now=started["started_at"] + timedelta(seconds=30))
    late = fail_overdue_tasks(now=datetime.now(UTC) + timedelta(seconds=61))

    # Then only the late sweep fails it, with the deadline as the recorded reason
    task = new_user.ok("GET", f"/tasks/{run['task_id']}")
    assert early == 0 and late >= 1
    assert task["status"] == "FAILED"
    assert task["error"]["error"] == "Task.DeadlineExceeded"
    assert task["events"][-1]["type"] == "TASK_FAILED"
    assert "60 s" in task["events"][-1]["message"]
