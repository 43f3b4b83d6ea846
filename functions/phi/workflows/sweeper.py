"""No task stays RUNNING past its overall deadline: overdue executions are stopped and their tasks FAILED. Nor
after its execution ended without recording how the task ended (stopped outside the product, deleted, or failed
where no Catch reaches, e.g. States.DataLimitExceeded): such a task is FAILED with what ended it. Nor PENDING when
its execution never started."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from phi.aws import client, stop_execution
from phi.db import approvals as approvals_repo
from phi.db import checkpoints as checkpoints_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.domain.models import Task, TaskStatus
from phi.log import logger
from phi.settings import get_settings
from phi.workflows.failures import record_failure
from phi.workflows.tool_results import outcome_from_state

# An execution a task just started in is left alone this long: its ending is the state machine's to record.
ENDED_EXECUTION_GRACE_SECONDS = 60
# Each check is a DescribeExecution call (Step Functions refills ~15 a second): a sweep checks at most this many
# RUNNING tasks, drawn at random, so many tasks waiting for people are all checked over a few sweeps without
# one sweep being throttled or running out of time.
MAX_EXECUTION_CHECKS_PER_SWEEP = 100


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
            record_failure(conn, task.id, task.org_id, {"error": "Task.DeadlineExceeded", "cause": cause})
    return len(overdue)


def fail_tasks_whose_execution_ended(now: datetime | None = None) -> int:
    """FAILED, with the execution's own error and cause as the reason, for RUNNING tasks whose execution is no
    longer running. A task whose execution ends normally is final before it ends (FinishTask and MarkFailed run
    inside it), so this only finds executions that ended without them."""
    now = now or datetime.now(UTC)
    with transaction() as conn:
        # All of them (not the oldest 500 the deadline needs): the draw below must be able to reach every task.
        cutoff = now - timedelta(seconds=ENDED_EXECUTION_GRACE_SECONDS)
        candidates = tasks_repo.running_started_before(conn, cutoff, limit=None)
    return sum(fail_if_execution_ended(task) for task in tasks_to_check(candidates))


# A task is PENDING from the commit that creates it until its execution's StartTask runs, seconds later. One
# still PENDING after this long never had its execution started (the API process was cut off between that commit
# and StartExecution — a Lambda timeout, a crash), or its execution ended before StartTask could record anything;
# either way nothing else will ever end it. Far past the API's own call budget (under 29 s): a StartExecution
# still in flight cannot start the execution afterwards, and a StartTask that ran later would skip a final task.
UNSTARTED_TASK_GRACE_SECONDS = 900


def fail_tasks_never_started(now: datetime | None = None) -> int:
    """FAILED (`Task.StartFailed`, with the reason) for tasks still PENDING long after they were created. The
    database alone says it: the execution of such a task, named after it, is not recorded on it until StartTask
    runs, so there is no execution to ask about."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=UNSTARTED_TASK_GRACE_SECONDS)
    with transaction() as conn:
        candidates = tasks_repo.pending_created_before(conn, cutoff)
    error = {
        "error": "Task.StartFailed",
        "cause": f"The task's workflow did not start within {UNSTARTED_TASK_GRACE_SECONDS} s of the request "
        "(the request was cut off before it could start it); run the task again.",
    }
    failed = 0
    for task in candidates:
        with transaction() as conn:  # only while PENDING: a task that started or was cancelled meanwhile stays so
            failed += record_failure(conn, task.id, task.org_id, error, only_from=TaskStatus.PENDING)
    return failed


def tasks_to_check(candidates: list[Task], limit: int | None = None) -> list[Task]:
    """The tasks with an execution, at most `limit` of them (MAX_EXECUTION_CHECKS_PER_SWEEP by default), drawn at
    random when there are more."""
    limit = MAX_EXECUTION_CHECKS_PER_SWEEP if limit is None else limit
    with_execution = [t for t in candidates if t.execution_arn]
    return random.sample(with_execution, limit) if len(with_execution) > limit else with_execution


def fail_if_execution_ended(task: Task) -> bool:
    """True when the task's execution had ended and the task, still RUNNING, is now FAILED with its reason."""
    ending = _execution_ending(task.execution_arn) if task.execution_arn else None
    if ending is None:
        return False
    with transaction() as conn:
        return record_failure(conn, task.id, task.org_id, ending)


def _execution_ending(execution_arn: str) -> dict[str, str] | None:
    """The task's error for an execution that is no longer running; None while it runs or cannot be asked."""
    sfn = client("stepfunctions")
    try:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        return {"error": "Task.ExecutionEnded", "cause": "The task's execution no longer exists."}
    except Exception:  # throttled, or a malformed ARN: the next sweep asks again, the deadline still applies
        logger.warning("could not look up execution %s", execution_arn, exc_info=True)
        return None
    status = str(execution.get("status") or "")
    if status in ("RUNNING", "PENDING_REDRIVE"):
        return None
    # The execution's error and cause read like a step's: bounded, and a Lambda error's JSON (with its stack
    # trace) reduced to its message.
    reported = outcome_from_state({"Error": execution.get("error") or status, "Cause": execution.get("cause")}, 0)
    cause = f"The task's execution ended ({status}: {reported.error}) without recording how the task ended"
    return {"error": "Task.ExecutionEnded", "cause": f"{cause}: {reported.cause}" if execution.get("cause") else cause}


# An ended task's checkpoints are kept this long: a Think step already under way when the task ended still reads
# them (and then stops: it finds the task ended).
CHECKPOINT_GRACE_SECONDS = 600
PRUNE_BATCH = 200


def prune_ended_checkpoints(grace_seconds: int = CHECKPOINT_GRACE_SECONDS, batch: int = PRUNE_BATCH) -> int:
    """Deletes the checkpoints of tasks that ended (each of up to `batch` threads per call, one transaction
    each); returns how many threads were pruned."""
    with transaction() as conn:
        threads = checkpoints_repo.ended_threads(conn, grace_seconds, batch)
    for thread_id in threads:
        with transaction() as conn:
            checkpoints_repo.delete_threads(conn, [thread_id])
    return len(threads)
