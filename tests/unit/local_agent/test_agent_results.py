from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from phi_agent.errors import ToolError, clip_cause
from phi_agent.logs import JsonFormatter, redact, token_hint
from phi_agent.messages import MalformedRequest, ToolRequest, parse_request, queued_seconds
from phi_agent.results import build_output
from phi_agent.tools.base import CappedRows, TabularResult, json_safe


def test_json_safe_follows_the_contract() -> None:
    row = [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        date(2026, 1, 2),
        time(7, 30),
        Decimal("12.50"),
        b"\x00\xff",
        None,
        uuid.UUID(int=1),
        float("nan"),
        True,
    ]
    safe = [json_safe(value) for value in row]
    assert safe == [
        "2026-01-02T03:04:05+00:00",
        "2026-01-02",
        "07:30:00",
        12.5,
        base64.b64encode(b"\x00\xff").decode(),
        None,
        "00000000-0000-0000-0000-000000000001",
        "NaN",
        True,
    ]
    json.dumps(safe, allow_nan=False)


def test_decimals_keep_their_value_and_non_finite_numbers_arrive_as_text() -> None:
    # Two 20-digit NUMERIC ids had become one float (1.2345678901234567e+19), merging them in a group or a join;
    # a NaN had become null, which a sum skips silently.
    cases = [
        (Decimal("12345678901234567891"), 12345678901234567891),
        (Decimal("12345678901234567892"), 12345678901234567892),
        (Decimal("1E+5"), 100000),
        (Decimal("12.50"), 12.5),
        (Decimal("0.1"), 0.1),
        (Decimal("12.00"), 12.0),
        (Decimal("12345678901234.5678"), "12345678901234.5678"),  # no float holds it
        (Decimal("1E+1000"), "1E+1000"),  # an integer, but not one worth 1,001 digits
        (Decimal("NaN"), "NaN"),
        (Decimal("sNaN"), "NaN"),
        (Decimal("-Infinity"), "-Infinity"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ]
    for value, expected in cases:
        safe = json_safe(value)
        assert safe == expected and type(safe) is type(expected), (value, safe)
        json.dumps(safe, allow_nan=False)


def test_capped_rows_reports_truncation_only_when_rows_remain() -> None:
    exact = CappedRows(iter([[1], [2]]), 2)
    assert list(exact) == [[1], [2]] and not exact.truncated and exact.count == 2
    more = CappedRows(iter([[1], [2], [3]]), 2)
    assert list(more) == [[1], [2]] and more.truncated


def test_small_result_is_inline() -> None:
    result = TabularResult(["sku", "qty"], CappedRows(iter([("A", 1), ("B", Decimal("2.5"))]), 10))
    output = build_output("call-1", result, 131072, upload=None)
    assert output == {
        "v": 1,
        "tool_call_id": "call-1",
        "ok": True,
        "result": {
            "columns": ["sku", "qty"],
            "rows": [["A", 1], ["B", 2.5]],
            "row_count": 2,
            "truncated": False,
        },
    }


def test_a_result_asked_as_text_is_one_json_text_of_the_same_result() -> None:
    rows = [("A", 1), ('say "hi" \\ é 💡', Decimal("2.5"))]
    as_object = build_output("call-1", TabularResult(["sku", "qty"], CappedRows(iter(rows), 10)), 131072, None)
    as_text = build_output(
        "call-1", TabularResult(["sku", "qty"], CappedRows(iter(rows), 10)), 131072, None, as_text=True
    )
    assert set(as_text) == {"v", "tool_call_id", "ok", "result_text"}
    assert isinstance(as_text["result_text"], str)
    assert json.loads(as_text["result_text"]) == as_object["result"]
    # Byte for byte what one compact UTF-8 encoding of the object gives (the text is assembled from the rows').
    compact = json.dumps(as_object["result"], ensure_ascii=False, separators=(",", ":"))
    assert as_text["result_text"] == compact


@pytest.mark.parametrize("rows, limit", [([], 10), ([(1,), (2,), (3,)], 2)])
def test_an_empty_or_truncated_result_as_text_is_the_same_result(rows: list[tuple[int]], limit: int) -> None:
    as_object = build_output("c", TabularResult(["n"], CappedRows(iter(rows), limit)), 131072, None)
    as_text = build_output("c", TabularResult(["n"], CappedRows(iter(rows), limit)), 131072, None, as_text=True)
    assert as_text["result_text"] == json.dumps(as_object["result"], separators=(",", ":"))
    assert as_object["result"]["truncated"] is (len(rows) > limit)


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize("cell", ["abcdefghij" * 3, '"quoted" \\path\\ ' * 2, "é漢字💡" * 4, "\n\t\x01"])
def test_the_answer_sent_never_exceeds_the_inline_limit(as_text: bool, cell: str) -> None:
    """Counted on what goes over the wire: UTF-8 JSON (not \\u-escaped), with a text's escaping backslashes."""
    limit = 2048
    for count in range(1, 200):
        rows = CappedRows(([i, cell] for i in range(count)), 1000)
        try:
            output = build_output("c", TabularResult(["i", "s"], rows), limit, upload=None, as_text=as_text)
        except ToolError:
            break
        inline = output["result_text"] if as_text else output["result"]
        sent = json.dumps(inline, separators=(",", ":"), ensure_ascii=False).encode()
        assert len(sent) <= limit
    else:
        pytest.fail("the limit was never reached")


def test_large_result_without_upload_target_fails_with_result_too_large() -> None:
    rows = CappedRows(([i, "x" * 100] for i in range(10_000)), 100_000)
    with pytest.raises(ToolError) as caught:
        build_output("call-1", TabularResult(["i", "pad"], rows), 4096, upload=None)
    assert caught.value.error == "Tool.ResultTooLarge"
    assert rows.count < 100, "the stream must stop as soon as the inline limit is passed"


def test_inline_result_never_exceeds_the_limit() -> None:
    limit = 2048
    for count in range(1, 60):
        rows = CappedRows(([i, "abcdefghij" * 3] for i in range(count)), 1000)
        try:
            output = build_output("c", TabularResult(["i", "s"], rows), limit, upload=None)
        except ToolError:
            break
        assert len(json.dumps(output["result"], separators=(",", ":")).encode()) <= limit
    else:
        pytest.fail("the limit was never reached")


def test_parse_request_accepts_the_contract_and_rejects_garbage() -> None:
    body = {
        "v": 1,
        "task_token": "tok",
        "task_id": "t1",
        "tool_call_id": "c1",
        "org_id": "o",
        "agent_id": "a",
        "tool": "db.query",
        "args": {"sql": "SELECT 1"},
        "deadline": "2030-01-01T00:00:00Z",
        "result_upload": {"url": "http://x/y", "key": "k"},
    }
    parsed = parse_request(json.dumps(body))
    assert isinstance(parsed, ToolRequest)
    seconds_left = parsed.seconds_left()
    assert seconds_left is not None and seconds_left > 0
    not_json = parse_request("not json")
    assert isinstance(not_json, MalformedRequest) and not_json.task_token is None
    assert "not JSON" in not_json.reason
    no_token = parse_request(json.dumps({"v": 1}))
    assert isinstance(no_token, MalformedRequest) and no_token.task_token is None
    assert parsed.result_as_text is False, "a cloud that does not ask gets the JSON object it knows"
    asked = parse_request(json.dumps({**body, "result_as_text": True}))
    assert isinstance(asked, ToolRequest) and asked.result_as_text is True
    bad_args = parse_request(json.dumps({**body, "args": "SELECT 1", "v": 2}))
    assert isinstance(bad_args, MalformedRequest)
    assert bad_args.task_token == "tok"
    assert "args" in bad_args.reason and "v" in bad_args.reason


def test_secrets_are_scrubbed() -> None:
    text = (
        "connect postgresql://bob:s3cret@db:5432/w failed; "
        "url http://s3/b/k?X-Amz-Credential=AKIA1&X-Amz-Signature=abcdef&X-Amz-Security-Token=zzz "
        "Authorization: Bearer agent-key-123"
    )
    cleaned = redact(text)
    for secret in ("s3cret", "AKIA1", "abcdef", "zzz", "agent-key-123"):
        assert secret not in cleaned
    assert "postgresql://bob:***@db:5432/w" in cleaned
    assert len(token_hint("a-long-task-token")) == 12
    assert len(clip_cause("é" * 40_000).encode()) <= 32_000


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # SQLAlchemy hands a URL's query to the driver as keywords: this login works, its password in the query
        (
            "postgresql+psycopg://reader@db/w?sslmode=require&password=s3cret&application_name=x",
            "postgresql+psycopg://reader@db/w?sslmode=require&password=***&application_name=x",
        ),
        ("mysql+pymysql://ro@h/db?PASSWD=s3cret", "mysql+pymysql://ro@h/db?PASSWD=***"),
        ("mssql+pyodbc://ro@dsn?PWD=s3cret;x", "mssql+pyodbc://ro@dsn?PWD=***"),
        ("host=db user=reader password='s3 cret\\' x' dbname=w", "host=db user=reader password=*** dbname=w"),
        ("sslpassword = s3cret", "sslpassword = ***"),
        ("passwords=are checked, password_reset=never", "passwords=are checked, password_reset=never"),
    ],
)
def test_a_password_given_as_a_keyword_is_scrubbed(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_json_log_lines_are_structured_and_scrubbed() -> None:
    import logging

    record = logging.LogRecord("phi", logging.INFO, __file__, 1, "db at %s", ("mysql://u:pw@h/db",), None)
    record.fields = {"task_id": "t1", "url": "postgresql://a:b@c/d"}
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO" and line["task_id"] == "t1"
    assert "pw" not in line["msg"] and ":b@" not in line["url"]


def test_a_lone_surrogate_in_a_log_line_is_written_as_its_json_escape_not_dropped() -> None:
    import logging

    record = logging.LogRecord("phi", logging.INFO, __file__, 1, "unknown tool %s at Zoë's", ("\ud800",), None)
    record.fields = {"tool": "db.\udcff"}
    text = JsonFormatter().format(record)

    assert text.encode("utf-8")  # a UTF-8 stream can write it (the handler dropped the line otherwise)
    line = json.loads(text)
    assert (line["msg"], line["tool"]) == ("unknown tool \ud800 at Zoë's", "db.\udcff")


def test_success_is_sent_as_utf8_json_not_escaped() -> None:
    """Escaping non-ASCII (\\u00e9, a surrogate pair for an emoji) would send up to 3x the bytes the limit counted."""
    from phi_agent.stepfunctions import TaskAnswerer

    sent: dict[str, str] = {}

    class RecordingStepFunctions:
        def send_task_success(self, taskToken: str, output: str) -> None:
            sent.update(token=taskToken, output=output)

    assert TaskAnswerer(RecordingStepFunctions()).succeed("tok", {"result_text": '["é💡"]'})
    assert sent["output"] == '{"result_text":"[\\"é💡\\"]"}'
    assert json.loads(sent["output"]) == {"result_text": '["é💡"]'}


@pytest.mark.parametrize(
    ("attributes", "waited"),
    [
        ({"SentTimestamp": "1764900000000"}, 42.5),
        ({"SentTimestamp": 1764900000000}, 42.5),
        ({}, None),
        (None, None),
        ({"SentTimestamp": "yesterday"}, None),
        ({"SentTimestamp": None}, None),
    ],
)
def test_how_long_a_message_waited_is_read_from_the_queue_s_sent_timestamp(attributes: Any, waited: Any) -> None:
    message = {"Body": "{}", "ReceiptHandle": "r", **({"Attributes": attributes} if attributes is not None else {})}
    assert queued_seconds(message, now=1_764_900_042.5) == waited
