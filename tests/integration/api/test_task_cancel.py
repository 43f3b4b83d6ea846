"""Cancelling a task (POST /tasks/{id}/cancel) on the embedded stack: a task waiting on a local agent that is not
running ends CANCELLED and its execution ABORTED; a task waiting on an approval has the approval cancelled; a
finished task is a 409, another organisation's a 404; and the task loop's steps that run after a cancel (a
stopped execution's last step, or one StopExecution did not reach) never overwrite CANCELLED."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest

from phi.aws import client
from phi.workflows.runner import think
from phi.workflows.steps import StartEvent, finish_task, mark_failed, start_task
from phi_agent.stepfunctions import TaskAnswerer
from tests.integration.api.tenant_fixtures import insert_approval, insert_task, signed_up, sql
from tests.support.api import ApiSession
from tests.support.task_loop import PAY_SUPPLIER, first_tool_request, late_step_context
from tests.support.waiting import wait_until


def _execution_status(execution_arn: str) -> str:
    return str(client("stepfunctions").describe_execution(executionArn=execution_arn)["status"])


def _waiting_on_its_local_agent(session: ApiSession, task_id: str) -> dict[str, Any] | None:
    task: dict[str, Any] = session.ok("GET", f"/tasks/{task_id}")
    asked = task["status"] == "RUNNING" and any(e["type"] == "TOOL_REQUESTED" for e in task["events"])
    return task if asked else None


def test_a_task_waiting_on_an_offline_local_agent_is_cancelled_and_its_execution_aborted(
    stack: Any, new_user: ApiSession, api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a task whose local agent is not running: it sits in RunLocalTool (its tool request taken off the queue
    # here, for the agent that comes back below)
    task_id, request, agent = first_tool_request(stack, new_user)
    waiting = wait_until(lambda: _waiting_on_its_local_agent(new_user, task_id), timeout=120, interval=0.3)

    # Another organisation's member cannot cancel it: not found, as everywhere
    intruder = signed_up(api_url, "intruder")
    intruder.create_org("Intruder Inc")
    refused = intruder.request("POST", f"/tasks/{task_id}/cancel", json={"reason": "mine now"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "RUNNING"

    # When a member cancels it, with a reason
    caplog.set_level(logging.DEBUG, logger="moto")
    response = new_user.request("POST", f"/tasks/{task_id}/cancel", json={"reason": "Started by mistake"})

    # Then the task is CANCELLED at once, with who and why on its timeline
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELLED"
    task = new_user.ok("GET", f"/tasks/{task_id}")
    assert task["status"] == "CANCELLED" and task["finished_at"] is not None
    assert task["error"]["error"] == "Task.Cancelled" and "Started by mistake" in task["error"]["cause"]
    cancelled = [e for e in task["events"] if e["type"] == "TASK_CANCELLED"]
    assert len(cancelled) == 1
    me = new_user.ok("GET", "/me")["user"]
    assert cancelled[0]["data"]["cancelled_by"] == me["id"]
    assert cancelled[0]["data"]["cancelled_by_email"] == me["email"]
    assert cancelled[0]["data"]["reason"] == "Started by mistake"
    assert cancelled[0]["data"]["previous_status"] == "RUNNING"

    # And its Step Functions execution is stopped
    wait_until(lambda: _execution_status(waiting["execution_arn"]) == "ABORTED", timeout=60, interval=0.2)
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "CANCELLED"
    # without an error in the stack's log: the interpreter's failure events are what the history shows
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and "FailureEventException" in r.getMessage()]

    # A local agent that comes back and answers the tool request drops its answer (the step is over) and stops
    # the tool's work (its heartbeat says so): it neither fails nor retries the message
    token = request["task_token"]
    answerer = TaskAnswerer(client("stepfunctions"))
    assert answerer.heartbeat(token) is False
    assert answerer.succeed(token, {"v": 1, "ok": True, "result_text": "[]"}) is True
    assert answerer.fail(token, "Tool.Error", "late") is True
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "CANCELLED"

    # Cancelling again is idempotent: the same answer, the first reason and event stand
    again = new_user.request("POST", f"/tasks/{task_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "CANCELLED"
    task = new_user.ok("GET", f"/tasks/{task_id}")
    assert "Started by mistake" in task["error"]["cause"]
    assert [e["type"] for e in task["events"]].count("TASK_CANCELLED") == 1

    # And the status filter knows the new status
    listed = new_user.ok("GET", f"/agents/{agent['id']}/tasks", params={"status": "CANCELLED"})
    assert [t["id"] for t in listed] == [task_id]


def test_a_finished_task_cannot_be_cancelled(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    assert new_user.org_id
    task_id = insert_task(new_user.org_id, agent["id"], status="SUCCEEDED")

    response = new_user.request("POST", f"/tasks/{task_id}/cancel", json={"reason": "too late"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and error["details"] == {"status": "SUCCEEDED"}
    assert "already finished" in error["message"]
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "SUCCEEDED"


def test_the_cancel_records_the_status_the_task_had_when_it_was_cancelled(new_user: ApiSession) -> None:
    """The task a request read may start running before the cancel's update: the event says RUNNING, not the
    PENDING the request had read."""
    from phi.db import tasks as tasks_repo
    from phi.db import users as users_repo
    from phi.db.connection import transaction
    from phi.services.tasks import cancel_task

    agent = new_user.create_agent()
    assert new_user.org_id
    task_id = insert_task(new_user.org_id, agent["id"], status="PENDING")
    me = new_user.ok("GET", "/me")["user"]
    with transaction() as conn:
        read_by_the_request = tasks_repo.get_task(conn, UUID(task_id), UUID(new_user.org_id))
        user = users_repo.get_user(conn, UUID(me["id"]))
    assert read_by_the_request is not None and read_by_the_request.status.value == "PENDING" and user is not None
    sql("UPDATE tasks SET status = 'RUNNING', started_at = now() WHERE id = %s", (UUID(task_id),))

    with transaction() as conn:
        cancelled = cancel_task(conn, read_by_the_request, user, "changed my mind")

    assert cancelled.status.value == "CANCELLED"
    events = new_user.ok("GET", f"/tasks/{task_id}")["events"]
    (event,) = [e for e in events if e["type"] == "TASK_CANCELLED"]
    assert event["data"]["previous_status"] == "RUNNING"


def test_a_reason_longer_than_allowed_is_refused_naming_the_field(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    assert new_user.org_id
    task_id = insert_task(new_user.org_id, agent["id"], status="RUNNING")

    response = new_user.request("POST", f"/tasks/{task_id}/cancel", json={"reason": "x" * 501})

    assert response.status_code == 422 and "reason" in response.json()["error"]["message"]
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "RUNNING"


def test_cancelling_a_task_waiting_on_an_approval_cancels_the_approval(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": PAY_SUPPLIER})
    run = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "pay_supplier", "input": {"amount": 9}})
    task_id = run["task_id"]

    def pending_approval() -> dict[str, Any] | None:
        approvals = new_user.ok("GET", f"/orgs/{new_user.org_id}/approvals", params={"task_id": task_id})
        return approvals[0] if approvals and approvals[0]["status"] == "PENDING" else None

    approval = wait_until(pending_approval, timeout=120, interval=0.3)

    response = new_user.request("POST", f"/tasks/{task_id}/cancel")

    assert response.status_code == 200, response.text
    assert new_user.ok("GET", f"/approvals/{approval['id']}")["status"] == "CANCELLED"
    decided = new_user.request("POST", f"/approvals/{approval['id']}/approve", json={"comment": "too late"})
    assert decided.status_code == 409
    execution_arn = new_user.ok("GET", f"/tasks/{task_id}")["execution_arn"]
    wait_until(lambda: _execution_status(execution_arn) == "ABORTED", timeout=60, interval=0.2)
    task = new_user.ok("GET", f"/tasks/{task_id}")
    assert task["status"] == "CANCELLED"
    assert task["events"][-1]["type"] == "TASK_CANCELLED"  # nothing ran after the cancel
    assert task["events"][-1]["data"]["previous_status"] == "RUNNING"


def test_the_task_loop_s_steps_after_a_cancel_leave_it_cancelled(new_user: ApiSession) -> None:
    # Given a task cancelled before any step of its execution ran (StopExecution cannot reach an execution
    # that has not started, so each step must see the cancel for itself)
    agent = new_user.create_agent()
    assert new_user.org_id
    task_id = insert_task(new_user.org_id, agent["id"], status="PENDING")
    assert new_user.ok("POST", f"/tasks/{task_id}/cancel", json={"reason": "not wanted"})["status"] == "CANCELLED"
    ctx = late_step_context(task_id, new_user.org_id, agent["id"])

    # StartTask skips it, Think ends the execution, FinishTask and MarkFailed change nothing
    start = StartEvent(task_id=task_id, org_id=new_user.org_id, agent_id=agent["id"], type="DAILY_WAREHOUSE_REPORT")
    assert start_task(start, ctx.execution_id) == {"skipped": True, "task_id": task_id}
    thought = think(ctx, 1, None)
    assert thought.status == "failed" and thought.error and thought.error["error"] == "Task.Cancelled"
    finished = finish_task(ctx)
    failed = mark_failed(
        {"ctx": ctx.model_dump(), "error": {"Error": "States.TaskFailed", "Cause": "late"}}, ctx.execution_id
    )
    # ... and say so: the task keeps its status, and no success or failure is counted for it
    assert finished == {"task_id": task_id, "status": "CANCELLED", "recorded": False}
    assert failed == {"recorded": False, "error": "States.TaskFailed"}

    row = sql("SELECT status, error, started_at FROM tasks WHERE id = %s", (UUID(task_id),))[0]
    assert row["status"] == "CANCELLED" and row["error"]["error"] == "Task.Cancelled"
    assert row["started_at"] is None
    events = [e["type"] for e in new_user.ok("GET", f"/tasks/{task_id}")["events"]]
    assert events == ["TASK_CANCELLED"]


def test_an_approval_of_a_task_that_ended_without_it_cannot_be_decided(new_user: ApiSession) -> None:
    # Given an approval left pending on a task that failed by a way that did not close it
    from tests.integration.api.tenant_fixtures import insert_approval

    agent = new_user.create_agent()
    task_id = insert_task(new_user.org_id, agent["id"], status="FAILED")
    approval_id = insert_approval(new_user.org_id, agent["id"], task_id)

    # When an approver approves it, it is refused: the decision could resume nothing
    late = new_user.request("POST", f"/approvals/{approval_id}/approve", json={"comment": "ok"})
    assert late.status_code == 409, late.text
    assert late.json()["error"]["details"]["status"] == "task_finished"
    assert "its task has finished" in late.json()["error"]["message"]
    assert new_user.ok("GET", f"/approvals/{approval_id}")["status"] == "PENDING"  # nothing was recorded
    assert "APPROVAL_APPROVED" not in [e["type"] for e in new_user.ok("GET", f"/tasks/{task_id}")["events"]]


def test_a_decision_and_a_cancel_of_the_same_task_at_once_do_not_deadlock(new_user: ApiSession) -> None:
    """The cancel locked the task FOR UPDATE and then waited for the approval's row, while the decision held that
    row and waited to add the task an event (its foreign key's KEY SHARE on the task): PostgreSQL broke the
    deadlock by failing one, answered 503 "the database is not reachable". Driven here step by step on two
    connections, in the order that deadlocked."""
    from phi.db import approvals as approvals_repo
    from phi.db import tasks as tasks_repo
    from phi.db.connection import transaction
    from phi.domain.models import ApprovalStatus, EventType

    agent = new_user.create_agent()
    assert new_user.org_id
    org = UUID(new_user.org_id)
    task_id = UUID(insert_task(new_user.org_id, agent["id"], status="RUNNING"))
    approval_id = UUID(insert_approval(new_user.org_id, agent["id"], str(task_id)))
    decision_holds_the_approval, cancel_holds_the_task = threading.Event(), threading.Event()
    owner = UUID(new_user.ok("GET", "/me")["user"]["id"])

    def decide() -> str:
        with transaction() as conn:
            decided = approvals_repo.decide(
                conn, approval_id, org, status=ApprovalStatus.APPROVED, user_id=owner, email="a@x", comment=None
            )
            assert decided is not None
            decision_holds_the_approval.set()
            assert cancel_holds_the_task.wait(timeout=60)
            tasks_repo.add_event(conn, task_id, org, EventType.APPROVAL_APPROVED, "sign_off: approved")
        return "decided"

    def cancel() -> int:
        assert decision_holds_the_approval.wait(timeout=60)
        with transaction() as conn:
            assert tasks_repo.cancel(conn, task_id, org, {"error": "Task.Cancelled", "cause": "test"}) is not None
            cancel_holds_the_task.set()
            return approvals_repo.cancel_pending_for_task(conn, task_id, org)  # waits for the decision's commit

    with ThreadPoolExecutor(max_workers=2) as pool:
        decided, cancelled = pool.submit(decide), pool.submit(cancel)
        assert (decided.result(timeout=120), cancelled.result(timeout=120)) == ("decided", 0)

    assert sql("SELECT status FROM approvals WHERE id = %s", (approval_id,))[0]["status"] == "APPROVED"
    assert sql("SELECT status FROM tasks WHERE id = %s", (task_id,))[0]["status"] == "CANCELLED"
