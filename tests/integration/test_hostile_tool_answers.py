"""What a local agent sends back is outside input: whatever it answers, the task ends as a readable tool error or a
FAILED task with a readable reason — never a crashed Think, a graph started over or a task left RUNNING."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.domain.models import TaskStatus
from phi.settings import get_settings
from phi.workflows import sweeper
from phi.workflows.contracts import TaskContext
from phi.workflows.runner import StartEvent, start_task, think
from phi.workflows.sweeper import fail_if_execution_ended, fail_tasks_whose_execution_ended
from tests.support.api import ApiSession
from tests.support.task_loop import aws_client, first_tool_request
from tests.support.waiting import wait_until


def _ended(session: ApiSession, task_id: str) -> dict[str, Any]:
    return session.wait_for_task(task_id)


def _success(output: str) -> Callable[[Any, dict[str, Any]], None]:
    return lambda sfn, request: sfn.send_task_success(taskToken=request["task_token"], output=output)


@pytest.mark.parametrize(
    ("send", "expected_cause"),
    [
        (_success("[1, 2]"), "answered with a JSON list, not an object"),
        (_success('"done"'), "answered with a JSON str, not an object"),
        (_success("null"), "answered with no answer, not an object"),
    ],
    ids=["list", "string", "null"],
)
def test_an_answer_that_is_not_an_object_fails_the_task_as_a_bad_result(
    stack: Any, new_user: ApiSession, send: Callable[[Any, dict[str, Any]], None], expected_cause: str
) -> None:
    task_id, request, _ = first_tool_request(stack, new_user)

    send(aws_client(stack, "stepfunctions"), request)

    task = _ended(new_user, task_id)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.BadResult", task["error"]
    assert expected_cause in task["error"]["cause"]
    # the graph was resumed with the bad answer, not started over (which asks for the first query again)
    assert [e["type"] for e in task["events"]].count("TOOL_REQUESTED") == 1


def test_a_failure_cause_with_control_characters_is_recorded_readable(stack: Any, new_user: ApiSession) -> None:
    task_id, request, _ = first_tool_request(stack, new_user)

    aws_client(stack, "stepfunctions").send_task_failure(
        taskToken=request["task_token"], error="Tool.SqlError", cause="no such\x00 table\x1b[0m: orders"
    )

    task = _ended(new_user, task_id)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.SqlError", task["error"]
    assert "no such  table [0m: orders" in task["error"]["cause"]
    failed = [e for e in task["events"] if e["type"] == "TOOL_FAILED"]
    assert failed and failed[0]["data"]["cause"] == "no such  table [0m: orders"


def test_a_huge_failure_cause_fails_the_task_instead_of_leaving_it_running(stack: Any, new_user: ApiSession) -> None:
    task_id, request, _ = first_tool_request(stack, new_user)

    aws_client(stack, "stepfunctions").send_task_failure(
        taskToken=request["task_token"], error="Tool.SqlError", cause="x" * 100_000
    )

    task = _ended(new_user, task_id)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.SqlError", task["error"]
    assert "more characters left out" in task["error"]["cause"] and len(task["error"]["cause"]) < 5000


def test_a_deeply_nested_result_is_a_bad_result(stack: Any, new_user: ApiSession) -> None:
    task_id, request, _ = first_tool_request(stack, new_user)
    text = '{"columns": ["a"], "rows": [[' + "[" * 900 + "]" * 900 + ']], "row_count": 1}'

    aws_client(stack, "stepfunctions").send_task_success(
        taskToken=request["task_token"],
        output=json.dumps({"v": 1, "tool_call_id": request["tool_call_id"], "ok": True, "result_text": text}),
    )

    task = _ended(new_user, task_id)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.BadResult", task["error"]
    assert "levels deep" in task["error"]["cause"]


def _tool_calls(task_id: str) -> list[dict[str, Any]]:
    with transaction() as conn:
        rows = conn.execute(
            "SELECT id, step, status FROM tool_calls WHERE task_id = %s ORDER BY requested_at", (UUID(task_id),)
        ).fetchall()
    return [dict(r) for r in rows]


def test_a_retried_think_answers_as_the_first_attempt_did(stack: Any, new_user: ApiSession) -> None:
    # Given a task waiting at step 0's tool call, and the answer to it (the execution itself is left waiting:
    # the test plays Step Functions, calling Think for step 1 twice with the same input, as a Retry does)
    task_id, request, agent = first_tool_request(stack, new_user)
    settings = get_settings()
    ctx = TaskContext(
        task_id=task_id,
        org_id=request["org_id"],
        agent_id=request["agent_id"],
        type="DAILY_WAREHOUSE_REPORT",
        queue_url=agent["queue_url"],
        max_steps=settings.max_steps,
        tool_timeout_seconds=settings.tool_timeout_seconds,
        tool_heartbeat_seconds=settings.tool_heartbeat_seconds,
    )
    result = {"columns": ["order_id"], "rows": [], "row_count": 0, "truncated": False}
    answer = {"v": 1, "tool_call_id": request["tool_call_id"], "ok": True, "result_text": json.dumps(result)}

    first = think(ctx, 1, answer)
    again = think(ctx, 1, answer)

    # Then the retry hands out the same next tool call, and nothing was recorded twice or answered wrongly
    assert first.status == "tool" and first.tool_call is not None, first
    assert again.status == "tool" and again.tool_call is not None, again
    assert again.tool_call.tool_call_id == first.tool_call.tool_call_id
    assert again.tool_call.args == first.tool_call.args
    calls = _tool_calls(task_id)
    assert [(c["step"], c["status"]) for c in calls] == [(0, "COMPLETED"), (1, "REQUESTED")]
    events = new_user.ok("GET", f"/tasks/{task_id}")["events"]
    assert [e["type"] for e in events].count("TOOL_REQUESTED") == 2
    assert [e["type"] for e in events].count("TOOL_COMPLETED") == 1
    assert "TOOL_FAILED" not in [e["type"] for e in events]


def _execution_arn(task_id: str) -> str:
    with transaction() as conn:
        row = conn.execute("SELECT execution_arn FROM tasks WHERE id = %s", (UUID(task_id),)).fetchone()
    return str(row["execution_arn"])


def _ended_execution(stack: Any, error: str, cause: str) -> str:
    """An execution that failed where no Catch reaches (as States.DataLimitExceeded does, or a MarkFailed that
    failed every retry): moto's StopExecution does not end an execution waiting on a task token."""
    sfn = aws_client(stack, "stepfunctions")
    definition = {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": error, "Cause": cause}}}
    machine = sfn.create_state_machine(
        name=f"ended-{uuid.uuid4().hex[:12]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/phi-test",
    )["stateMachineArn"]
    arn = str(sfn.start_execution(stateMachineArn=machine)["executionArn"])
    wait_until(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", timeout=30)
    return arn


def _sweep(session: ApiSession, task_id: str) -> bool:
    """The sweeper's check of this test's own task (the sweep itself checks a random draw of every RUNNING task,
    other tests' included)."""
    with transaction() as conn:
        task = tasks_repo.get_task(conn, UUID(task_id), UUID(session.org_id))
    assert task is not None and task.status == TaskStatus.RUNNING
    return fail_if_execution_ended(task)


def _use_execution(task_id: str, execution_arn: str) -> None:
    """The task runs in `execution_arn` from now on, started just now: the stack's own sweeper leaves it alone
    for its first minute, whatever the time this test took to get here."""
    with transaction() as conn:
        conn.execute(
            "UPDATE tasks SET execution_arn = %s, started_at = now() WHERE id = %s", (execution_arn, UUID(task_id))
        )


def test_a_task_whose_execution_ended_without_it_is_failed_with_a_readable_reason(
    stack: Any, new_user: ApiSession
) -> None:
    task_id, _, _ = first_tool_request(stack, new_user)
    lambda_error = {"errorType": "DataError", "errorMessage": "the database went away", "stackTrace": ["File x"]}
    _use_execution(task_id, _ended_execution(stack, "DataError", json.dumps(lambda_error)))

    assert _sweep(new_user, task_id) is True

    task = new_user.ok("GET", f"/tasks/{task_id}")
    assert task["status"] == "FAILED" and task["error"]["error"] == "Task.ExecutionEnded", task["error"]
    assert task["error"]["cause"] == (
        "The task's execution ended (FAILED: DataError) without recording how the task ended: the database went away"
    )
    assert task["events"][-1]["type"] == "TASK_FAILED"


def test_a_task_whose_execution_vanished_is_failed(stack: Any, new_user: ApiSession) -> None:
    task_id, _, _ = first_tool_request(stack, new_user)
    _use_execution(task_id, _execution_arn(task_id).rsplit(":", 1)[0] + f":{uuid.uuid4()}")

    assert _sweep(new_user, task_id) is True

    task = new_user.ok("GET", f"/tasks/{task_id}")
    assert task["status"] == "FAILED" and task["error"] == {
        "error": "Task.ExecutionEnded",
        "cause": "The task's execution no longer exists.",
    }


def test_a_running_execution_is_left_alone(stack: Any, new_user: ApiSession) -> None:
    task_id, _, _ = first_tool_request(stack, new_user)

    assert _sweep(new_user, task_id) is False
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "RUNNING"


@pytest.mark.parametrize("overlap", ["SKIP", "ALLOW"])
def test_a_retried_scheduled_start_runs_the_task_it_already_created(
    stack: Any, new_user: ApiSession, overlap: str
) -> None:
    # Given a scheduled workflow, and StartTask for one execution run twice (Step Functions retries it when the
    # invoke fails after the function committed)
    # (once a year: the stack's own scheduler must not fire it during the test)
    workflow = {"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 6 1 1 *", "timezone": "UTC", "input": {}}
    agent = new_user.create_agent(workflows=[workflow])
    with transaction() as conn:
        conn.execute("UPDATE schedules SET overlap_policy = %s WHERE agent_id = %s", (overlap, UUID(agent["id"])))
    start = StartEvent(
        org_id=str(new_user.org_id), agent_id=agent["id"], type="DAILY_WAREHOUSE_REPORT", trigger="schedule"
    )
    execution = f"arn:aws:states:us-east-1:123456789012:execution:phi-test:{uuid.uuid4()}"

    first = start_task(start, execution)
    again = start_task(start, execution)

    # Then both attempts run the same single task, started once
    assert not first["skipped"] and not again["skipped"], again
    assert again["ctx"]["task_id"] == first["ctx"]["task_id"]
    with transaction() as conn:
        rows = conn.execute("SELECT id, status FROM tasks WHERE agent_id = %s", (UUID(agent["id"]),)).fetchall()
    assert [(str(r["id"]), r["status"]) for r in rows] == [(first["ctx"]["task_id"], "RUNNING")]
    events = new_user.ok("GET", f"/tasks/{first['ctx']['task_id']}")["events"]
    assert [e["type"] for e in events].count("TASK_STARTED") == 1


def _answer_every_request(stack: Any, session: ApiSession, agent: dict[str, Any], task_id: str, text: str) -> None:
    """Play the local agent until the task ends, answering every tool request with the same result."""
    sqs, sfn = aws_client(stack, "sqs"), aws_client(stack, "stepfunctions")

    def answered_or_ended() -> bool:
        # (PENDING until StartTask runs: on a busy machine the first look may come before it)
        if session.ok("GET", f"/tasks/{task_id}")["status"] not in ("PENDING", "RUNNING"):
            return True
        for message in sqs.receive_message(QueueUrl=agent["queue_url"], WaitTimeSeconds=1).get("Messages", []):
            request = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=agent["queue_url"], ReceiptHandle=message["ReceiptHandle"])
            answer = {"v": 1, "tool_call_id": request["tool_call_id"], "ok": True, "result_text": text}
            sfn.send_task_success(taskToken=request["task_token"], output=json.dumps(answer))
        return False

    wait_until(answered_or_ended, timeout=300)


def test_a_table_wider_than_the_column_limit_is_a_bad_result(stack: Any, new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    task_id = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})["task_id"]
    wide = {"columns": [f"c{i}" for i in range(10_000)], "rows": [[1] * 10_000], "row_count": 1}

    _answer_every_request(stack, new_user, agent, task_id, json.dumps(wide))

    task = _ended(new_user, task_id)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.BadResult", task["error"]
    assert "10,000 columns" in task["error"]["cause"]


def test_a_node_failure_quoting_much_data_fails_the_task_with_a_bounded_cause(stack: Any, new_user: ApiSession) -> None:
    # Given tables the report cannot use whose column names the failure lists: ~90 KB of names, three times
    agent = new_user.create_agent()
    task_id = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})["task_id"]
    columns = [f"column_{i:04d}_" + "x" * 90 for i in range(900)]
    unusable = {"columns": columns, "rows": [[1] * 900], "row_count": 1}

    _answer_every_request(stack, new_user, agent, task_id, json.dumps(unusable))

    # Then the task fails with the node's own error, its cause cut short, not at Step Functions' payload limit
    task = _ended(new_user, task_id)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Workflow.ContractError", task["error"]
    assert task["error"]["cause"].endswith("more characters left out)") and len(task["error"]["cause"]) < 5000


def test_the_sweep_leaves_a_task_alone_in_its_first_minute_even_if_its_execution_ended(
    stack: Any, new_user: ApiSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (its ending is the state machine's to record: MarkFailed may still be on its way)
    task_id, _, _ = first_tool_request(stack, new_user)
    _use_execution(task_id, _ended_execution(stack, "DataError", "late"))
    with transaction() as conn:
        task = tasks_repo.get_task(conn, UUID(task_id), UUID(new_user.org_id))
    assert task is not None and task.started_at is not None
    # every RUNNING task is checked, so this one is surely among them
    monkeypatch.setattr(sweeper, "MAX_EXECUTION_CHECKS_PER_SWEEP", 1_000_000)

    fail_tasks_whose_execution_ended(now=task.started_at + timedelta(seconds=30))
    within_the_minute = new_user.ok("GET", f"/tasks/{task_id}")["status"]
    fail_tasks_whose_execution_ended(now=task.started_at + timedelta(seconds=61))
    after_it = new_user.ok("GET", f"/tasks/{task_id}")["status"]

    assert (within_the_minute, after_it) == ("RUNNING", "FAILED")
