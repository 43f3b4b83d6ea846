"""The task view's Step Functions history: a closed execution's is read once per process, a running one's at most
once a second (every time once its task has finished). (The AWS client is a stand-in counting its calls, the
clock a stand-in too: what is tested is when the client is called.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from phi.services import tasks as tasks_service


class CountingStepFunctions:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.calls = 0

    def get_execution_history(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"events": list(self.events)}


def _event(number: int, kind: str) -> dict[str, Any]:
    return {"id": number, "timestamp": datetime(2026, 12, 5, 8, 0, number, tzinfo=UTC), "type": kind}


@pytest.fixture
def step_functions(monkeypatch: pytest.MonkeyPatch) -> CountingStepFunctions:
    fake = CountingStepFunctions([_event(1, "ExecutionStarted"), _event(2, "TaskStateEntered")])
    monkeypatch.setattr(tasks_service, "client", lambda service: fake)
    return fake


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000.0]
    monkeypatch.setattr(tasks_service, "monotonic", lambda: now[0])
    return now


def test_a_running_execution_is_read_once_a_second_and_a_closed_one_once(
    step_functions: CountingStepFunctions, clock: list[float]
) -> None:
    arn = f"arn:aws:states:eu-west-1:123456789012:execution:tasks:{uuid.uuid4()}"
    for _ in range(3):
        history = tasks_service.execution_history(arn)
        assert history is not None and [e.type for e in history.events][-1] == "TaskStateEntered"
    assert step_functions.calls == 1  # three views of a running task within a second: one read
    clock[0] += tasks_service.OPEN_HISTORY_SECONDS
    assert tasks_service.execution_history(arn) is not None
    assert step_functions.calls == 2

    # Its task has finished: read at once, whatever was read this second; once closed, never again
    step_functions.events.append(_event(3, "ExecutionAborted"))
    history = tasks_service.execution_history(arn, fresh=True)
    assert history is not None and history.events[-1].type == "ExecutionAborted"
    clock[0] += 10 * tasks_service.OPEN_HISTORY_SECONDS
    for fresh in (True, False, True):
        history = tasks_service.execution_history(arn, fresh=fresh)
        assert history is not None and history.events[-1].type == "ExecutionAborted"
    assert step_functions.calls == 3
    # Another execution, and another page size, are read on their own.
    assert tasks_service.execution_history(arn, limit=5) is not None
    assert tasks_service.execution_history(arn.replace("tasks:", "other:")) is not None
    assert step_functions.calls == 5


def test_a_history_that_cannot_be_read_is_none_and_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Failing:
        def get_execution_history(self, **_: Any) -> dict[str, Any]:
            calls.append("x")
            raise RuntimeError("throttled")

    monkeypatch.setattr(tasks_service, "client", lambda service: Failing())
    arn = f"arn:aws:states:eu-west-1:123456789012:execution:tasks:{uuid.uuid4()}"
    assert tasks_service.execution_history(arn, fresh=True) is None
    assert tasks_service.execution_history(arn, fresh=True) is None
    assert len(calls) == 2


def test_a_failure_s_cause_shows_its_message_without_stack_trace_or_unwritable_characters(
    step_functions: CountingStepFunctions,
) -> None:
    lambda_error = (
        '{"errorMessage": "boom", "errorType": "TypeError", "stackTrace": ["  File \\"/var/task/phi/x.py\\""]}'
    )
    trace_only = '{"errorType": "TypeError", "stackTrace": ["  File \\"/var/task/phi/x.py\\""]}'
    step_functions.events[:] = [
        {
            **_event(1, "LambdaFunctionFailed"),
            "lambdaFunctionFailedEventDetails": {"error": "TypeError", "cause": lambda_error},
        },
        {
            **_event(2, "TaskFailed"),
            "taskFailedEventDetails": {"error": "Tool.\ud800Error", "cause": "bad \ud800 thing"},
        },
        {
            **_event(3, "ExecutionFailed"),
            "executionFailedEventDetails": {"error": "States.Runtime", "cause": trace_only},
        },
    ]
    history = tasks_service.execution_history(f"arn:aws:states:eu-west-1:123456789012:execution:tasks:{uuid.uuid4()}")
    assert history is not None
    assert [(e.error, e.cause) for e in history.events] == [
        ("TypeError", "boom"),
        ("Tool. Error", "bad   thing"),
        ("States.Runtime", "(details left out)"),
    ]
    assert "/var/task" not in history.model_dump_json()
