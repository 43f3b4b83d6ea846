"""How Think reads what RunLocalTool left in the state."""

from __future__ import annotations

import json

import pytest

from phi.workflows.tool_results import MAX_INLINE_RESULT_TEXT, outcome_from_state


def test_inline_success_carries_the_result() -> None:
    result = {"columns": ["a"], "rows": [[1]], "row_count": 1, "truncated": False}
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, "result": result}, 30)
    assert outcome.ok and outcome.result == result and outcome.result_bytes == len(json.dumps(result))


def test_an_inline_result_sent_as_text_is_read_as_the_same_result() -> None:
    result = {"columns": ["a", "b"], "rows": [[1, 'say "hi" é']], "row_count": 1, "truncated": False}
    text = json.dumps(result, ensure_ascii=False)
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, "result_text": text}, 30)
    assert outcome.ok and outcome.result == result and outcome.result_bytes == len(text.encode())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ({"columns": []}, "not a string"),
        ("[1, 2]", "not an object"),
        ('{"columns": [', "not JSON"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
        (" " * (MAX_INLINE_RESULT_TEXT + 1), "longer than"),
    ],
)
def test_a_bad_result_text_fails_the_step_with_a_readable_cause(text: object, expected: str) -> None:
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, "result_text": text}, 30)
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert expected in (outcome.cause or "")


def test_a_step_timeout_becomes_a_readable_tool_timeout() -> None:
    outcome = outcome_from_state({"Error": "States.Timeout", "Cause": ""}, 45)
    assert not outcome.ok
    assert outcome.error == "Tool.Timeout"
    assert "did not answer within 45 s" in (outcome.cause or "")


def test_a_heartbeat_timeout_is_a_tool_timeout_too() -> None:
    assert outcome_from_state({"Error": "States.HeartbeatTimeout"}, 10).error == "Tool.Timeout"


def test_a_tool_failure_keeps_the_agents_error_and_cause() -> None:
    outcome = outcome_from_state({"Error": "Tool.SqlError", "Cause": "no such table: orders"}, 30)
    assert (outcome.error, outcome.cause) == ("Tool.SqlError", "no such table: orders")


def test_a_lambda_error_cause_is_unwrapped_to_its_message() -> None:
    cause = json.dumps({"errorMessage": "Agent 1 not found", "errorType": "NotFound"})
    assert outcome_from_state({"Error": "NotFound", "Cause": cause}, 30).cause == "Agent 1 not found"


def test_an_answer_without_ok_is_not_taken_as_success() -> None:
    assert not outcome_from_state({"v": 1, "tool_call_id": "x"}, 30).ok
