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
    # Given a task waiting for a local agent that is not running, and a one-hour overall deadline (long, so that
    # neither the stack's own sweeper nor the tool step's timeout can end the task however slow the machine is)
    apply_settings(
        {"PHI_TASK_DEADLINE_SECONDS": "3600", "PHI_TOOL_TIMEOUT_SECONDS": "3600", "PHI_TOOL_HEARTBEAT_SECONDS": "3600"}
    )
    agent = new_user.create_agent()
    run = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    started = wait_until(lambda: _status(run["task_id"])["status"] == "RUNNING" and _status(run["task_id"]), 300)

    # When the sweeper runs at a time before the deadline, the task is left alone (other tests' tasks in the
    # shared database may be swept: only this test's task is looked at)
    fail_overdue_tasks(now=started["started_at"] + timedelta(seconds=1800))
    assert _status(run["task_id"])["status"] == "RUNNING"

    # When it runs past the deadline, the task is stopped and failed, with the deadline as the recorded reason
    assert fail_overdue_tasks(now=datetime.now(UTC) + timedelta(seconds=3601)) >= 1
    task = new_user.ok("GET", f"/tasks/{run['task_id']}")
    assert task["status"] == "FAILED"
    assert task["error"]["error"] == "Task.DeadlineExceeded"
    assert task["events"][-1]["type"] == "TASK_FAILED"
    assert "3600 s" in task["events"][-1]["message"]


def test_the_ended_execution_check_can_reach_every_running_task_not_only_the_oldest_500(new_user: ApiSession) -> None:
    from phi.db import tasks as tasks_repo

    agent = new_user.create_agent()
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    with transaction() as conn:
        # 501 RUNNING tasks, inserted and read in one transaction that is rolled back: no sweeper ever sees them
        rows = sorted(
            conn.execute(
                """INSERT INTO tasks (org_id, agent_id, type, status, trigger, started_at, execution_arn)
                   SELECT %s, %s, 'DAILY_WAREHOUSE_REPORT', 'RUNNING', 'api', %s + make_interval(secs => i),
                          'arn:aws:states:us-east-1:123456789012:execution:phi-test:' || i
                   FROM generate_series(1, 501) AS i
                   RETURNING id, started_at""",
                (UUID(new_user.org_id), UUID(agent["id"]), long_ago),
            ).fetchall(),
            key=lambda row: row["started_at"],
        )
        ids = [row["id"] for row in rows]  # oldest first
        cutoff = long_ago + timedelta(seconds=1000)
        every = {t.id for t in tasks_repo.running_started_before(conn, cutoff, limit=None)}
        oldest = {t.id for t in tasks_repo.running_started_before(conn, cutoff)}
        conn.rollback()

    assert set(ids) <= every
    assert len(oldest) == 500 and ids[500] not in oldest  # the deadline's query: the oldest 500 only
