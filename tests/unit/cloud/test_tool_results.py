"""How Think reads what RunLocalTool left in the state."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from phi.definitions.table_format import MAX_COLUMNS, MAX_VALUE_DEPTH, TableFormatError, TableLimits, read_rows
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


def test_a_heartbeat_timeout_is_a_tool_timeout_too_naming_the_limit_that_ran_out() -> None:
    # no local agent took the request: the heartbeat (120 s) ran out long before the step's own limit (300 s)
    outcome = outcome_from_state({"Error": "States.HeartbeatTimeout"}, 300, None, 120)
    assert outcome.error == "Tool.Timeout"
    assert "did not take the request or report progress within 120 s" in (outcome.cause or "")
    assert "300" not in (outcome.cause or "")


def test_a_tool_failure_keeps_the_agents_error_and_cause() -> None:
    outcome = outcome_from_state({"Error": "Tool.SqlError", "Cause": "no such table: orders"}, 30)
    assert (outcome.error, outcome.cause) == ("Tool.SqlError", "no such table: orders")


def test_a_lambda_error_cause_is_unwrapped_to_its_message() -> None:
    cause = json.dumps({"errorMessage": "Agent 1 not found", "errorType": "NotFound"})
    assert outcome_from_state({"Error": "NotFound", "Cause": cause}, 30).cause == "Agent 1 not found"


@pytest.mark.parametrize("cause", ["[" * 5000, '{"a":' * 5000, "{" + "[" * 5000])
def test_a_failure_cause_nested_past_json_s_limit_is_kept_as_text(cause: str) -> None:
    # A cause is whatever the sender of SendTaskFailure wrote: parsing it must not raise (it crashed Think)
    outcome = outcome_from_state({"Error": "Tool.SqlError", "Cause": cause}, 30)
    assert outcome.error == "Tool.SqlError" and outcome.cause.startswith(cause[:20])


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


def _nested(levels: int, innermost: object) -> object:
    value = innermost
    for index in range(levels - 1):
        value = [value] if index % 2 else {"k": value}
    return [value]


@pytest.mark.parametrize("innermost", [[], 7, "text", {}])
def test_the_agent_and_the_cloud_read_a_value_to_the_same_depth(innermost: object) -> None:
    """One limit end to end: what the local agent sends (its own check on a JSON column) the cloud reads, inline
    or uploaded, and one level more is refused at the source and again by the cloud."""
    from phi_agent.errors import ToolError
    from phi_agent.tools.db_query import MAX_JSON_DEPTH, load_bounded_json

    assert MAX_JSON_DEPTH == MAX_VALUE_DEPTH
    # An empty innermost list or object is a level of its own; a scalar is not.
    deepest = _nested(MAX_VALUE_DEPTH - (1 if isinstance(innermost, list | dict) else 0), innermost)
    too_deep = [deepest]
    assert load_bounded_json(json.dumps(deepest)) == deepest
    with pytest.raises(ToolError, match=f"nested more than {MAX_JSON_DEPTH} levels"):
        load_bounded_json(json.dumps(too_deep))

    def inline(value: object) -> object:
        text = json.dumps({"columns": ["a"], "rows": [[1], [value]], "row_count": 2})
        return outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, "result_text": text}, 30)

    assert inline(deepest).ok
    refused = inline(too_deep)
    assert not refused.ok and f"at most {MAX_VALUE_DEPTH}" in (refused.cause or "")

    def stored(value: object) -> list[list[object]]:
        lines = [json.dumps({"columns": ["a"]}), json.dumps([1]), json.dumps([value])]
        body = io.BytesIO(gzip.compress("\n".join(lines).encode()))
        _, rows = read_rows(body, TableLimits(max_bytes=10**7, max_rows=10))
        return list(rows)

    assert stored(deepest) == [[1], [deepest]]
    with pytest.raises(TableFormatError, match=f"Row 2 of .* nested more than {MAX_VALUE_DEPTH} levels"):
        stored(too_deep)


def test_a_stored_table_whose_text_holds_brackets_is_read_as_it_is() -> None:
    lines = [json.dumps({"columns": ["a", "b"]}), json.dumps(["[[{x}]]", [1, {"k": [2]}]])]
    _, rows = read_rows(io.BytesIO(gzip.compress("\n".join(lines).encode())), TableLimits(10**6, 10))
    assert list(rows) == [["[[{x}]]", [1, {"k": [2]}]]]


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


@pytest.mark.parametrize(
    ("row_count", "truncated", "expected"),
    [
        (float("nan"), False, "gives NaN as its row_count, but holds 1 rows"),
        (10**18, False, "gives 1000000000000000000 as its row_count"),
        ("1", False, 'gives "1" as its row_count'),
        (True, False, "gives true as its row_count"),
        (1, "yes", "a truncated flag that is not true or false"),
    ],
)
def test_an_inline_result_s_row_count_is_its_number_of_rows(
    row_count: object, truncated: object, expected: str
) -> None:
    # A NaN row count had failed the task in the database ("invalid input syntax for type json"), and 10**18 was
    # recorded as the rows returned.
    result = {"columns": ["a"], "rows": [[1]], "row_count": row_count, "truncated": truncated}
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, "result": result}, 30)
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert expected in (outcome.cause or ""), outcome.cause


@pytest.mark.parametrize("key", ["result_text", "result"])
def test_integers_past_64_bits_and_lone_surrogates_are_kept_as_the_task_can_hold_them(key: str) -> None:
    # The graph's checkpoints (MessagePack) had failed the task on 10**30 ("Integer exceeds 64-bit range") and on a
    # lone surrogate half ("string contains surrogates"), both valid JSON from the agent.
    result = {
        "columns": ["id", "name\ud800"],
        "rows": [[10**30, {"k\udfff": "a\ud83db"}], [-(2**63), "ok \U0001f600"], [2**63, None]],
        "row_count": 3,
    }
    value = json.dumps(result) if key == "result_text" else result
    outcome = outcome_from_state({"v": 1, "tool_call_id": "x", "ok": True, key: value}, 30)
    assert outcome.ok and outcome.result is not None
    assert outcome.result["columns"] == ["id", "name\ufffd"]
    assert outcome.result["rows"] == [
        ["1" + "0" * 30, {"k\ufffd": "a\ufffdb"}],
        [-(2**63), "ok \U0001f600"],
        [str(2**63), None],
    ]
    json.dumps(outcome.result).encode("utf-8")  # writable as UTF-8 now


def test_a_failure_cause_loses_lone_surrogates_and_a_lambda_stack_trace() -> None:
    # A lone surrogate in a SendTaskFailure cause had failed the task, then every answer about it (500).
    outcome = outcome_from_state({"Error": "Tool.Error", "Cause": "bad \ud800 thing"}, 30)
    assert outcome.cause == "bad   thing"
    trace = json.dumps({"errorType": "TypeError", "stackTrace": ['  File "/var/task/phi/x.py"']})
    assert outcome_from_state({"Error": "Lambda.Unknown", "Cause": trace}, 30).cause == "(details left out)"


def test_a_stored_table_with_long_integers_and_lone_surrogates_reads_as_the_task_can_hold_them() -> None:
    lines = [
        json.dumps({"columns": ["id", "note\ud800"]}),
        json.dumps([123456789012345678901234567890, "x\udc00y\u0000"]),
        json.dumps([-9223372036854775808, "plain"]),
        "[" + "9" * 5000 + ', "many digits"]',
    ]
    body = io.BytesIO(gzip.compress(("\n".join(lines) + "\n").encode()))
    columns, rows = read_rows(body, TableLimits(max_bytes=10**6, max_rows=10))
    assert columns == ["id", "note\ufffd"]
    assert list(rows) == [
        ["123456789012345678901234567890", "x\ufffdy\ufffd"],
        [-9223372036854775808, "plain"],
        ["9" * 5000, "many digits"],
    ]
