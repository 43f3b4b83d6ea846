"""The claim check on large tool results: Think reads a result only from the S3 key it issued for that tool
call, decompresses it as a stream within limits, and fails the step with Tool.BadResult otherwise."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from phi.definitions.table_format import MAX_LINE_BYTES, TableLimits, read_rows
from phi.domain.models import ToolCall
from phi.settings import get_settings
from phi.workflows.tool_results import outcome_from_state
from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.task_loop import aws_client, first_tool_request
from tests.support.waiting import wait_until


def _jsonl_gz(columns: list[str], rows: list[list[Any]]) -> bytes:
    lines = [json.dumps({"columns": columns})] + [json.dumps(row) for row in rows]
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=5)


def _gzip_bomb(uncompressed_bytes: int) -> bytes:
    """A valid header line, then one endless row of zero bytes: about a thousandth of its uncompressed size."""
    out = io.BytesIO()
    block = b"\0" * (1024 * 1024)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6) as stream:
        stream.write(b'{"columns":["a"]}\n')
        for _ in range(uncompressed_bytes // len(block)):
            stream.write(block)
    return out.getvalue()


def _issued_call(key: str | None) -> ToolCall:
    return ToolCall(
        id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        step=1,
        tool="db.query",
        args={},
        status="REQUESTED",
        result_key=key,
        requested_at=datetime.now(UTC),
    )


def _put(stack: Any, body: bytes) -> str:
    key = f"{get_settings().tool_results_prefix}{uuid.uuid4()}/{uuid.uuid4()}.jsonl.gz"
    aws_client(stack, "s3").put_object(Bucket=get_settings().documents_bucket, Key=key, Body=body)
    return key


def _answer(call: ToolCall, key: str, **ref: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "tool_call_id": str(call.id),
        "ok": True,
        "result_ref": {"key": key, "bytes": 0, "format": "jsonl.gz", **ref},
    }


# --- The rules, on Think's reader with objects in the embedded stack's S3 ---------------------------------


def test_a_ten_megabyte_result_from_the_issued_key_comes_back_intact(stack: Any) -> None:
    columns = ["id", "sku", "qty", "note"]
    rows = [[i, f"SKU-{i % 997:05d}", i / 4, f"pallet move {i} é ✓" + "x" * 40] for i in range(110_000)]
    body = _jsonl_gz(columns, rows)
    key = _put(stack, body)
    call = _issued_call(key)

    outcome = outcome_from_state(_answer(call, key), 30, call)

    assert outcome.ok, outcome.cause
    assert outcome.result is not None
    assert sum(len(json.dumps(r)) + 1 for r in rows) > 10_000_000, "the uncompressed result should be over 10 MB"
    # the graph gets a reference with a preview; the rows stay in the object, which reads back intact
    assert outcome.result["columns"] == columns and "rows" not in outcome.result
    assert outcome.result["row_count"] == len(rows) and outcome.result_bytes == len(body)
    assert outcome.result["preview"] == rows[: len(outcome.result["preview"])] and outcome.result["preview"]
    assert outcome.result["table_ref"] == {"key": key, "bytes": len(body), "format": "jsonl.gz"}
    assert len(json.dumps(outcome.result)) < 16 * 1024
    stored = aws_client(stack, "s3").get_object(Bucket=get_settings().documents_bucket, Key=key)["Body"]
    limits = TableLimits(max_bytes=get_settings().max_tool_result_bytes, max_rows=len(rows))
    read_columns, read_rows_ = read_rows(stored, limits)
    assert read_columns == columns and list(read_rows_) == rows


def test_a_key_other_than_the_one_issued_for_the_call_is_refused_unread(stack: Any) -> None:
    someone_elses = _put(stack, _jsonl_gz(["secret"], [["another tenant's figures"]]))
    call = _issued_call(f"{get_settings().tool_results_prefix}{uuid.uuid4()}/{uuid.uuid4()}.jsonl.gz")

    outcome = outcome_from_state(_answer(call, someone_elses), 30, call)

    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert "not issued for this tool call" in (outcome.cause or "")
    assert outcome.result is None


@pytest.mark.parametrize("call_key", [None, ""], ids=["no-call", "no-upload-issued"])
def test_a_reference_without_an_issued_upload_is_refused(stack: Any, call_key: str | None) -> None:
    key = _put(stack, _jsonl_gz(["a"], [[1]]))
    call = None if call_key is None else _issued_call(call_key)
    answer = {"v": 1, "tool_call_id": str(call.id) if call else "x", "ok": True, "result_ref": {"key": key}}
    outcome = outcome_from_state(answer, 30, call)
    assert outcome.error == "Tool.BadResult" and "no upload was issued" in (outcome.cause or "")


def test_an_answer_for_another_tool_call_is_refused(stack: Any) -> None:
    call = _issued_call(None)
    answer = {"v": 1, "tool_call_id": str(uuid.uuid4()), "ok": True, "result": {"columns": [], "rows": []}}
    outcome = outcome_from_state(answer, 30, call)
    assert outcome.error == "Tool.BadResult" and str(call.id) in (outcome.cause or "")


def test_a_gzip_bomb_is_refused_at_the_size_limit_without_holding_it_in_memory(stack: Any) -> None:
    # Given a 1 GiB (uncompressed) object of about 1 MB at the issued key
    bomb = _gzip_bomb(1024 * 1024 * 1024)
    assert len(bomb) < 5 * 1024 * 1024
    key = _put(stack, bomb)
    call = _issued_call(key)

    # When Think reads it
    tracemalloc.start()
    try:
        outcome = outcome_from_state(_answer(call, key), 30, call)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then the step fails with a readable cause, and no more than one line's limit was ever held in memory
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert f"line longer than the {MAX_LINE_BYTES:,}-byte limit" in (outcome.cause or "")
    assert peak < MAX_LINE_BYTES + 16 * 1024 * 1024, f"peak {peak:,} bytes while reading a bomb"


def test_a_result_past_the_byte_limit_is_refused(stack: Any, settings_override: dict[str, str]) -> None:
    apply_settings({"PHI_MAX_TOOL_RESULT_BYTES": "100000"})
    body = gzip.compress(b'{"columns":["a"]}\n' + b'["0123456789"]\n' * 20_000)
    key = _put(stack, body)
    call = _issued_call(key)
    outcome = outcome_from_state(_answer(call, key), 30, call)
    assert outcome.error == "Tool.BadResult" and "100,000-byte limit" in (outcome.cause or ""), outcome.cause


def test_a_bomb_of_tiny_rows_stops_at_the_row_limit(stack: Any, settings_override: dict[str, str]) -> None:
    apply_settings({"PHI_MAX_TOOL_RESULT_ROWS": "1000"})
    body = gzip.compress(b'{"columns":["a"]}\n' + b"[0]\n" * 200_000)
    key = _put(stack, body)
    call = _issued_call(key)
    outcome = outcome_from_state(_answer(call, key), 30, call)
    assert outcome.error == "Tool.BadResult" and "more than 1,000 rows" in (outcome.cause or "")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not gzip at all", "not gzip-compressed JSON lines"),
        (gzip.compress(b'{"columns":["a"]}\n[1]\n')[:-12], "not gzip-compressed JSON lines"),
        (gzip.compress(b'{"rows":[]}\n'), "header line"),
        (gzip.compress(b'{"columns":["a","b"]}\n[1]\n'), "not one list of 2 values"),
        (gzip.compress(b'{"columns":["a"]}\n[1],[2]\n'), "not one list of 1 values"),
        (gzip.compress(b'{"columns":["a"]}\n[1\n'), "not gzip-compressed JSON lines"),
        (gzip.compress(b'{"columns":["a"]}\n\n\n\n[1]\n'), "empty line"),
        (gzip.compress(b""), "empty"),
        (gzip.compress(b"[" * 100_000 + b"\n"), "RecursionError"),
    ],
    ids=[
        "not-gzip",
        "cut-short",
        "no-columns",
        "ragged-row",
        "two-rows-a-line",
        "bad-json",
        "blank-lines",
        "empty",
        "deep-nesting",
    ],
)
def test_a_malformed_result_fails_the_step_with_a_readable_cause(stack: Any, body: bytes, expected: str) -> None:
    key = _put(stack, body)
    call = _issued_call(key)
    outcome = outcome_from_state(_answer(call, key), 30, call)
    assert not outcome.ok and outcome.error == "Tool.BadResult"
    assert expected in (outcome.cause or ""), outcome.cause


def test_a_result_never_uploaded_is_a_bad_result(stack: Any) -> None:
    call = _issued_call(f"{get_settings().tool_results_prefix}{uuid.uuid4()}/{uuid.uuid4()}.jsonl.gz")
    assert call.result_key is not None
    outcome = outcome_from_state(_answer(call, call.result_key), 30, call)
    assert outcome.error == "Tool.BadResult" and "did not upload" in (outcome.cause or "")


# --- The attack, through the whole loop: one organisation's agent key names another's result -----------------


def _tool_events(session: ApiSession, task_id: str) -> list[dict[str, Any]]:
    events = session.ok("GET", f"/tasks/{task_id}")["events"]
    return [e for e in events if e["type"] in ("TOOL_COMPLETED", "TOOL_FAILED")]


def test_an_agent_cannot_pull_another_organisations_result_into_its_task(stack: Any, api_url: str) -> None:
    victim, attacker = ApiSession(api_url), ApiSession(api_url)
    for session in (victim, attacker):
        session.sign_up(f"claims-{uuid.uuid4().hex[:12]}@example.com")
        session.create_org("Claims")
    sfn = aws_client(stack, "stepfunctions")

    # Given the victim's agent uploaded a large result through its own pre-signed URL, and it was accepted
    victim_task, victim_request, _ = first_tool_request(stack, victim)
    secret = _jsonl_gz(["order_id", "customer"], [["V-1", "Victim Customer Ltd"]])
    assert httpx.put(victim_request["result_upload"]["url"], content=secret).status_code == 200
    sfn.send_task_success(
        taskToken=victim_request["task_token"],
        output=json.dumps(
            {
                "v": 1,
                "tool_call_id": victim_request["tool_call_id"],
                "ok": True,
                "result_ref": {
                    "key": victim_request["result_upload"]["key"],
                    "bytes": len(secret),
                    "format": "jsonl.gz",
                },
            }
        ),
    )
    completed = wait_until(lambda: _tool_events(victim, victim_task), timeout=60)
    assert completed[0]["type"] == "TOOL_COMPLETED", completed

    # When the attacker's agent answers its own step naming the victim's result object
    attacker_task, attacker_request, _ = first_tool_request(stack, attacker)
    sfn.send_task_success(
        taskToken=attacker_request["task_token"],
        output=json.dumps(
            {
                "v": 1,
                "tool_call_id": attacker_request["tool_call_id"],
                "ok": True,
                "result_ref": {
                    "key": victim_request["result_upload"]["key"],
                    "bytes": len(secret),
                    "format": "jsonl.gz",
                },
            }
        ),
    )

    # Then the attacker's step fails with Tool.BadResult, and nothing of the victim's result reaches its task
    failed = wait_until(lambda: _tool_events(attacker, attacker_task), timeout=60)
    assert failed[0]["type"] == "TOOL_FAILED" and failed[0]["data"]["error"] == "Tool.BadResult", failed
    task = attacker.wait_for_task(attacker_task, timeout=60)
    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.BadResult"
    assert "Victim Customer" not in json.dumps(task)


def test_a_gzip_bomb_at_the_issued_key_fails_the_step_and_the_task(stack: Any, new_user: ApiSession) -> None:
    task_id, request, _ = first_tool_request(stack, new_user)
    bomb = _gzip_bomb(256 * 1024 * 1024)
    assert httpx.put(request["result_upload"]["url"], content=bomb).status_code == 200
    aws_client(stack, "stepfunctions").send_task_success(
        taskToken=request["task_token"],
        output=json.dumps(
            {
                "v": 1,
                "tool_call_id": request["tool_call_id"],
                "ok": True,
                "result_ref": {"key": request["result_upload"]["key"], "bytes": len(bomb), "format": "jsonl.gz"},
            }
        ),
    )

    task = new_user.wait_for_task(task_id, timeout=90)

    assert task["status"] == "FAILED" and task["error"]["error"] == "Tool.BadResult"
    failed = [e for e in task["events"] if e["type"] == "TOOL_FAILED"]
    assert failed and "-byte limit" in failed[0]["data"]["cause"], failed


# --- Answers valid as JSON that the task's own storage could not hold -----------------------------------------


def test_an_integer_past_64_bits_and_lone_surrogates_in_a_result_reach_the_next_step(
    stack: Any, new_user: ApiSession
) -> None:
    """They had failed the task in the graph's checkpoint ("Integer exceeds 64-bit range", "string contains
    surrogates"); kept as text and U+FFFD, the report goes on to its next query."""
    task_id, request, agent = first_tool_request(stack, new_user)
    result = {"columns": ["order_id", "customer\ud800"], "rows": [[10**30, "Zürich \udc00"]], "row_count": 1}
    aws_client(stack, "stepfunctions").send_task_success(
        taskToken=request["task_token"],
        output=json.dumps({"v": 1, "tool_call_id": request["tool_call_id"], "ok": True, "result": result}),
    )

    sqs = aws_client(stack, "sqs")
    wait_until(lambda: sqs.receive_message(QueueUrl=agent["queue_url"], WaitTimeSeconds=1).get("Messages"), timeout=90)
    [completed] = [
        e for e in _tool_events(new_user, task_id) if e["data"].get("tool_call_id") == request["tool_call_id"]
    ]
    assert completed["type"] == "TOOL_COMPLETED", completed
    new_user.ok("POST", f"/tasks/{task_id}/cancel", json={"reason": "test done"})


def test_a_lone_surrogate_in_a_failure_cause_is_recorded_and_the_task_still_reads(
    stack: Any, new_user: ApiSession
) -> None:
    """It had failed the task with UnicodeEncodeError, and every answer about the task with 500 since."""
    task_id, request, _ = first_tool_request(stack, new_user)
    aws_client(stack, "stepfunctions").send_task_failure(
        taskToken=request["task_token"], error="Tool.SqlError", cause="bad \ud800 thing"
    )

    task = new_user.wait_for_task(task_id, timeout=90)  # each read answers 200

    failed = [e for e in task["events"] if e["type"] == "TOOL_FAILED"]
    assert failed and failed[0]["data"]["cause"] == "bad   thing", failed
    assert task["status"] == "FAILED" and "\ud800" not in json.dumps(task, ensure_ascii=False)
    assert "stackTrace" not in json.dumps(task)
