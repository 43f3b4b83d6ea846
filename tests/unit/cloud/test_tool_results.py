"""How Think reads what RunLocalTool left in the state."""

from __future__ import annotations

import json

import pytest

from phi.definitions.table_format import MAX_COLUMNS
from phi.workflows.tool_results import (
    MAX_CAUSE_CHARS,
    MAX_ERROR_NAME,
    MAX_INLINE_RESULT_TEXT,
    MAX_RESULT_DEPTH,
    outcome_from_state,
)


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


@pytest.mark.parametrize("answer", [None, [1, 2], "done", 7, True])
def test_an_answer_that_is_not_an_object_is_a_readable_bad_result(answer: object) -> None:
    outcome = outcome_from_state(answer, 30)
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert "not an object" in (outcome.cause or "")


def test_a_failure_cause_loses_its_control_characters_and_keeps_its_lines() -> None:
    outcome = outcome_from_state({"Error": "Tool.SqlError", "Cause": "bad\x00value\x1b[31m\tat line 1\nnext"}, 30)
    assert outcome.cause == "bad value [31m\tat line 1\nnext"


def test_a_huge_failure_cause_is_cut_to_a_readable_length() -> None:
    outcome = outcome_from_state({"Error": "Tool.SqlError", "Cause": "x" * 100_000}, 30)
    assert len(outcome.cause or "") < MAX_CAUSE_CHARS + 100
    assert (outcome.cause or "").endswith(f"({100_000 - MAX_CAUSE_CHARS:,} more characters left out)")


def test_a_hostile_error_name_is_bounded_to_a_dotted_name() -> None:
    outcome = outcome_from_state({"Error": "Tool.\x00Bad <b>" + "E" * 1000, "Cause": "c"}, 30)
    assert (outcome.error or "").startswith("Tool._Bad__b_EEE") and len(outcome.error or "") == MAX_ERROR_NAME


def test_nul_characters_in_a_result_become_replacement_characters() -> None:
    text = json.dumps({"columns": ["a\u0000", "b"], "rows": [["x\u0000y", {"k\u0000": ["\u0000"]}]], "row_count": 1})
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, "result_text": text}, 30)
    assert outcome.ok and outcome.result is not None
    assert outcome.result["columns"] == ["a\ufffd", "b"]
    assert outcome.result["rows"] == [["x\ufffdy", {"k\ufffd": ["\ufffd"]}]]


@pytest.mark.parametrize("key", ["result_text", "result"])
def test_a_result_nested_deeper_than_any_table_is_a_bad_result(key: str) -> None:
    deep: object = 1
    for _ in range(MAX_RESULT_DEPTH + 5):
        deep = [deep]
    result = {"columns": ["a"], "rows": [[deep]], "row_count": 1}
    value = json.dumps(result) if key == "result_text" else result
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, key: value}, 30)
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert f"more than {MAX_RESULT_DEPTH} levels" in (outcome.cause or "")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"columns": ["a"], "rows": "zzz"}, "rows that are not a list"),
        ({"columns": ["a", "b"], "rows": [[1, 2], [1]]}, "Row 2 of the local agent's inline result is not one list"),
        ({"columns": ["a"], "rows": [{"a": 1}]}, "Row 1 of"),
        ({"columns": [1, None], "rows": [[1, 2]]}, "no list of column names"),
        ({"columns": "a,b", "rows": []}, "no list of column names"),
        ({"rows": [[1]]}, "no list of column names"),
        ({"columns": [f"c{i}" for i in range(MAX_COLUMNS + 1)], "rows": []}, f"at most {MAX_COLUMNS:,}"),
    ],
)
@pytest.mark.parametrize("key", ["result_text", "result"])
def test_an_inline_table_is_held_to_the_rules_of_an_uploaded_one(
    result: dict[str, object], expected: str, key: str
) -> None:
    value = json.dumps(result) if key == "result_text" else result
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, key: value}, 30)
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert expected in (outcome.cause or "")
