"""No task stays RUNNING past its overall deadline, nor PENDING when its execution never started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

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


class _CutOff(BaseException):
    """The API process cut off between the task's commit and its StartExecution (a Lambda timeout, a crash): no
    `except Exception` in the process runs."""


def test_a_task_whose_execution_never_started_is_failed_with_the_reason_not_left_pending(
    new_user: ApiSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phi.db import agents as agents_repo
    from phi.services import tasks as tasks_service
    from phi.workflows.sweeper import UNSTARTED_TASK_GRACE_SECONDS, fail_tasks_never_started

    # Given a run whose request was cut off after committing its task, before StartExecution
    agent = new_user.create_agent()

    def cut_off(task: Any) -> str:
        raise _CutOff

    monkeypatch.setattr(tasks_service, "_start_execution", cut_off)
    with pytest.raises(_CutOff), transaction() as conn:
        stored = agents_repo.get_agent_in_org(conn, UUID(agent["id"]), UUID(new_user.org_id))
        assert stored is not None
        tasks_service.run_task(conn, stored, None, "DAILY_WAREHOUSE_REPORT", {}, trigger="api")
    with transaction() as conn:
        row = conn.execute("SELECT id, status, created_at FROM tasks WHERE agent_id = %s", (UUID(agent["id"]),))
        task = row.fetchone()
    assert task is not None and task["status"] == "PENDING"

    # When the sweeper runs within the grace the task is left alone (its execution may still be on its way)
    fail_tasks_never_started(now=task["created_at"] + timedelta(seconds=60))
    assert _status(str(task["id"]))["status"] == "PENDING"

    # And after it, the task is FAILED with the reason, not PENDING for ever
    fail_tasks_never_started(now=task["created_at"] + timedelta(seconds=UNSTARTED_TASK_GRACE_SECONDS + 1))
    ended = new_user.ok("GET", f"/tasks/{task['id']}")
    assert ended["status"] == "FAILED" and ended["error"]["error"] == "Task.StartFailed", ended["error"]
    assert "did not start" in ended["error"]["cause"]
    assert [e["type"] for e in ended["events"]] == ["TASK_CREATED", "TASK_FAILED"]


def test_the_never_started_check_leaves_a_task_that_started_meanwhile_running(new_user: ApiSession) -> None:
    from phi.domain.models import TaskStatus
    from phi.workflows.failures import record_failure

    # Given a task read as PENDING by the sweep, which StartTask has made RUNNING since
    agent = new_user.create_agent()
    with transaction() as conn:
        row = conn.execute(
            """INSERT INTO tasks (org_id, agent_id, type, status, trigger, started_at)
               VALUES (%s, %s, 'DAILY_WAREHOUSE_REPORT', 'RUNNING', 'api', now()) RETURNING id""",
            (UUID(new_user.org_id), UUID(agent["id"])),
        ).fetchone()
        assert row is not None
        # Then the sweep's failure does not take it (rolled back: no sweeper ever sees this task)
        failure = {"error": "Task.StartFailed", "cause": "test"}
        recorded = record_failure(conn, row["id"], UUID(new_user.org_id), failure, only_from=TaskStatus.PENDING)
        status = conn.execute("SELECT status FROM tasks WHERE id = %s", (row["id"],)).fetchone()
        conn.rollback()
    assert recorded is False and status is not None and status["status"] == "RUNNING"
