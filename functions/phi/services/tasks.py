"""Starting tasks through Step Functions and reading them back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from time import monotonic
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from phi.aws import client, stop_execution
from phi.db import approvals as approvals_repo
from phi.db import tasks as tasks_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection, after_commit, commit
from phi.definitions.document import task_input_for
from phi.domain.models import FINAL_TASK_STATUSES, Agent, EventType, Task, TaskStatus, User
from phi.errors import Conflict, ServiceUnavailable
from phi.recently_used import RecentlyUsed
from phi.settings import get_settings
from phi.wording import error_cause_text, readable, workflow_name


def run_task(
    conn: DbConnection,
    agent: Agent,
    user_id: UUID | None,
    task_type: str,
    task_input: dict[str, Any],
    trigger: str,
) -> Task:
    """Uses the caller's connection and commits on it: a second pooled connection per request would let
    a burst of requests hold every connection while each waits for another."""
    if agent.status != "ACTIVE":
        raise Conflict("This agent is disabled; enable it to run tasks.")
    stored = workflows_repo.current_version_for_key(conn, agent.id, agent.org_id, task_type)
    clean_input = task_input_for(task_type, task_input, stored.definition if stored else None)
    return start_task(
        conn, agent, user_id, task_type, clean_input, trigger, workflow_version_id=stored.id if stored else None
    )


def start_task(
    conn: DbConnection,
    agent: Agent,
    user_id: UUID | None,
    task_type: str,
    clean_input: dict[str, Any],
    trigger: str,
    *,
    workflow_version_id: UUID | None = None,
    before_start: Callable[[Task], None] | None = None,
) -> Task:
    """Creates the task row with an already validated input, commits, starts its execution. `before_start`
    writes what the task needs in the same transaction, before StartTask can read it (an ad-hoc request's link)."""
    if agent.status != "ACTIVE":
        raise Conflict("This agent is disabled; enable it to run tasks.")
    task = tasks_repo.create_task(
        conn,
        org_id=agent.org_id,
        agent_id=agent.id,
        task_type=task_type,
        task_input=clean_input,
        trigger=trigger,
        created_by=user_id,
        workflow_version_id=workflow_version_id,
    )
    tasks_repo.add_event(
        conn,
        task.id,
        task.org_id,
        EventType.TASK_CREATED,
        f"{workflow_name(task_type)} requested",  # read in the timeline: words, not a key
        {
            "trigger": trigger,
        },
    )
    if before_start is not None:
        before_start(task)
    commit(conn)  # StartTask reads this row
    try:
        execution_arn = _start_execution(task)
    except Exception as exc:
        error = {"error": "Task.StartFailed", "cause": f"Could not start the workflow: {type(exc).__name__}"}
        tasks_repo.finish(conn, task.id, task.org_id, TaskStatus.FAILED, error=error)
        tasks_repo.add_event(conn, task.id, task.org_id, EventType.TASK_FAILED, error["cause"], error)
        commit(conn)
        raise ServiceUnavailable("The workflow engine is not reachable right now; try again shortly.") from exc
    tasks_repo.set_execution_arn(conn, task.id, execution_arn)
    return tasks_repo.get_task(conn, task.id, task.org_id) or task


def _start_execution(task: Task) -> str:
    payload = {
        "task_id": str(task.id),
        "org_id": str(task.org_id),
        "agent_id": str(task.agent_id),
        "type": task.type,
        "input": task.input,
        "trigger": task.trigger,
    }
    response = client("stepfunctions").start_execution(
        stateMachineArn=get_settings().required("state_machine_arn"), name=str(task.id), input=json.dumps(payload)
    )
    return str(response["executionArn"])


CANCELLED_ERROR = "Task.Cancelled"


def cancel_task(conn: DbConnection, task: Task, user: User, reason: str | None) -> Task:
    """Ends a pending or running task as CANCELLED, then stops its execution. The database first: the row, the
    event saying who cancelled and why, and the task's pending approval closed, all in one commit; StopExecution
    after it. The conditional update lets exactly one final status win, so a step finishing at the same moment
    either lands first (the cancel is a 409) or finds the task CANCELLED and changes nothing.

    Cancelling a cancelled task again is idempotent: the first cancel stands (its reason, its event) and the stop
    is asked again, which repairs an execution whose first StopExecution failed. A task finished otherwise is a
    409."""
    cause = f"Cancelled by {user.email}" + (f": {reason}" if reason else "")
    changed = tasks_repo.cancel(conn, task.id, task.org_id, {"error": CANCELLED_ERROR, "cause": cause})
    if changed is None:
        current = tasks_repo.get_task(conn, task.id, task.org_id) or task
        if current.status != TaskStatus.CANCELLED:
            raise Conflict(
                f"This task has already finished ({current.status.value}); only a pending or running task can be "
                "cancelled.",
                details={"status": current.status.value},
            )
        cancelled = current
    else:
        cancelled, previous_status = changed
        tasks_repo.add_event(
            conn,
            task.id,
            task.org_id,
            EventType.TASK_CANCELLED,
            cause,
            {
                "cancelled_by": str(user.id),
                "cancelled_by_email": user.email,
                "reason": reason,
                "previous_status": previous_status.value,
            },
        )
        approvals_repo.cancel_pending_for_task(conn, task.id, task.org_id)
    execution_arn = _execution_arn_of(cancelled)
    after_commit(conn, lambda: _stop_cancelled(execution_arn, cause))
    return cancelled


def _stop_cancelled(execution_arn: str, cause: str) -> None:
    stop_execution(execution_arn, error=CANCELLED_ERROR, cause=cause)


def _execution_arn_of(task: Task) -> str:
    """The task's execution: recorded once StartExecution answered; before that, the one StartExecution names
    after the task (an execution not started yet is not found; StartTask then skips the cancelled task)."""
    if task.execution_arn:
        return task.execution_arn
    state_machine_arn = get_settings().required("state_machine_arn")
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{task.id}"


class ExecutionEvent(BaseModel):
    """One Step Functions history event, trimmed to what an operator reads."""

    timestamp: datetime
    type: str
    state: str | None = None
    error: str | None = None
    cause: str | None = None


class ExecutionHistory(BaseModel):
    events: list[ExecutionEvent]
    complete: bool = Field(description="False when older events were left out (only the newest are kept)")


# Events that close an execution: its history never changes after one, so it is read once per process (a warm
# API Lambda), not at every GET of the task — GetExecutionHistory has an account-wide request quota, which a
# console or script polling finished tasks would otherwise spend.
_CLOSING_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
_closed_histories: RecentlyUsed[tuple[str, int], ExecutionHistory | None] = RecentlyUsed(size=256)


# A running execution's history changes at every state: it is read at most once a second per process (the
# same quota; a console showing running tasks polls them), unless its task has finished, when the closing
# event is what the reader waits for.
OPEN_HISTORY_SECONDS = 1.0
_open_histories: RecentlyUsed[tuple[str, int, int], ExecutionHistory | None] = RecentlyUsed(size=256)


def execution_history(execution_arn: str | None, limit: int = 200, *, fresh: bool = False) -> ExecutionHistory | None:
    """The newest `limit` events of the execution's state history, oldest first (how a long task ended matters
    more than how it began), next to the task's own events; None when it cannot be read. `fresh`: not one read
    in the last second (for a task that has finished)."""
    if not execution_arn:
        return None
    key = (execution_arn, limit)

    def read() -> ExecutionHistory | None:
        if fresh:
            return _read_history(execution_arn, limit)
        window = int(monotonic() / OPEN_HISTORY_SECONDS)
        return _open_histories.get((execution_arn, limit, window), lambda: _read_history(execution_arn, limit))

    history = _closed_histories.get(key, read, keep=False)
    if history is not None and history.events and history.events[-1].type in _CLOSING_EVENTS:
        _closed_histories.get(key, lambda: history)  # kept (a no-op when it was already)
    return history


def task_history(task: Task) -> ExecutionHistory | None:
    """The task's execution history as its view shows it: read fresh once the task has finished."""
    return execution_history(task.execution_arn, fresh=task.status in FINAL_TASK_STATUSES)


def _read_history(execution_arn: str, limit: int) -> ExecutionHistory | None:
    try:
        # Each event's input and output would carry the whole state at every step; only names, errors and
        # causes are shown.
        page = client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=limit, reverseOrder=True, includeExecutionData=False
        )
    except Exception:  # the workflow engine's history is a convenience; the task's own events remain
        return None
    newest = sorted(page["events"], key=lambda event: event["id"])[-limit:]
    complete = "nextToken" not in page and len(page["events"]) <= limit
    return ExecutionHistory(events=[_trim(event) for event in newest], complete=complete)


MAX_HISTORY_ERROR_CHARS = 200
MAX_HISTORY_CAUSE_CHARS = 500


def _trim(event: dict[str, Any]) -> ExecutionEvent:
    details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
    return ExecutionEvent(
        timestamp=event["timestamp"],
        type=event["type"],
        state=details.get("name"),
        # Written by whoever held a task token, or a Lambda's error object: its message only (no stack trace, which
        # names the server's files), as text a page can show.
        error=readable(str(details["error"]), MAX_HISTORY_ERROR_CHARS) if details.get("error") else None,
        cause=readable(error_cause_text(details.get("cause")), MAX_HISTORY_CAUSE_CHARS) or None,
    )
