"""Which RUNNING tasks one sweep asks Step Functions about: those with an execution, at most a bounded number,
drawn anew each sweep so that every task is checked over a few sweeps (each check is a DescribeExecution call)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from phi.domain.models import Task, TaskStatus
from phi.workflows.sweeper import MAX_EXECUTION_CHECKS_PER_SWEEP, tasks_to_check


def _task(execution_arn: str | None) -> Task:
    return Task(
        id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        type="DAILY_WAREHOUSE_REPORT",
        trigger="api",
        status=TaskStatus.RUNNING,
        execution_arn=execution_arn,
        created_at=datetime.now(UTC),
    )


def test_tasks_without_an_execution_are_not_checked_and_a_few_are_all_checked() -> None:
    with_execution = [_task(f"arn:aws:states:us-east-1:1:execution:m:{i}") for i in range(3)]

    chosen = tasks_to_check([_task(None), *with_execution, _task(None)])

    assert chosen == with_execution


def test_a_sweep_checks_a_bounded_random_draw_and_successive_sweeps_cover_every_task() -> None:
    tasks = [_task(f"arn:aws:states:us-east-1:1:execution:m:{i}") for i in range(5 * MAX_EXECUTION_CHECKS_PER_SWEEP)]

    draws = [tasks_to_check(tasks) for _ in range(60)]

    assert all(len(d) == MAX_EXECUTION_CHECKS_PER_SWEEP and len({t.id for t in d}) == len(d) for d in draws)
    # 60 draws of a fifth each leave ~500 * 0.8^60 < 0.001 tasks undrawn on average; over 100 undrawn is out of reach
    assert len({t.id for d in draws for t in d}) > 4 * MAX_EXECUTION_CHECKS_PER_SWEEP
