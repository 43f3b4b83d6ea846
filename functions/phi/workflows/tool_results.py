"""Turns what RunLocalTool left in `$.tool_result` into a ToolOutcome; reads large results from S3 transparently.

Large results are a claim check: Think issues a pre-signed upload for one S3 key with each tool request and
records that key with the tool call. A `result_ref` naming any other key is refused (it could name another
task's, or another organisation's, result), and the object is decompressed as a stream within size limits,
so a gzip bomb fails the step instead of the Think function. The object is read once, to check it and count
its rows; the rows stay in S3 and the graph gets a table reference (phi.definitions.table_format).
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from phi.aws import client
from phi.definitions.table_format import (
    MAX_COLUMNS,
    MAX_VALUE_DEPTH,
    TableFormatError,
    TableLimits,
    reference,
    scan,
    storable_number,
    storable_text,
    too_large,
)
from phi.domain.models import ToolCall
from phi.settings import get_settings
from phi.wording import error_cause_text, readable
from phi.workflows.contracts import ToolOutcome

BAD_RESULT = "Tool.BadResult"
# Step Functions passes at most 256 KiB of state; an inline result is never longer (larger ones go through S3).
MAX_INLINE_RESULT_TEXT = 256 * 1024
# What of the agent's own words (an error name, a cause) is kept: they reach the tool call, the task's events
# and its error, which the state machine carries on (256 KiB in all) and people read.
MAX_ERROR_NAME = 128
MAX_CAUSE_CHARS = 4000
# A tool's result is a table, a few levels deep; thousands of levels only exhaust the recursion of whatever
# serialises the graph's state later, far from the agent's answer. A value of a row sits three levels down (the
# result, its rows, the row), so an inline value may nest as deep as a stored table's (the local agent's limit).
MAX_RESULT_DEPTH = 3 + MAX_VALUE_DEPTH
_NOT_IN_AN_ERROR_NAME = re.compile(r"[^\w.:-]")
_FRIENDLY_ERRORS = {
    "States.Timeout": "Tool.Timeout",
    "States.HeartbeatTimeout": "Tool.Timeout",
}


class BadResult(Exception):
    """The local agent's answer cannot be accepted; the message is the readable cause."""


def outcome_from_state(
    tool_result: Any, timeout_seconds: int, call: ToolCall | None = None, heartbeat_seconds: int | None = None
) -> ToolOutcome:
    """`call` is the open tool call the answer belongs to (None when there is none, e.g. a late duplicate).
    `tool_result` is whatever the step left: the agent's SendTaskSuccess output may be any JSON, or none.
    `timeout_seconds` and `heartbeat_seconds` are the step's limits, named in a timeout's cause."""
    if not isinstance(tool_result, dict):
        kind = "no answer" if tool_result is None else f"a JSON {type(tool_result).__name__}"
        return ToolOutcome(ok=False, error=BAD_RESULT, cause=f"The local agent answered with {kind}, not an object.")
    if "Error" in tool_result:
        return _failure(tool_result, timeout_seconds, heartbeat_seconds)
    try:
        return _success(tool_result, call)
    except BadResult as problem:
        return ToolOutcome(ok=False, error=BAD_RESULT, cause=str(problem))


def _success(tool_result: dict[str, Any], call: ToolCall | None) -> ToolOutcome:
    if not tool_result.get("ok", False):
        raise BadResult("The local agent answered without a result.")
    if call is not None and str(tool_result.get("tool_call_id")) != str(call.id):
        raise BadResult(
            f"The local agent answered for tool call {str(tool_result.get('tool_call_id'))[:64]!r}, "
            f"but this step is waiting for {call.id}."
        )
    if "result_ref" in tool_result:
        return _from_reference(tool_result["result_ref"], call)
    if "result_text" in tool_result:
        return _from_text(tool_result["result_text"])
    result = tool_result.get("result") or {}
    if not isinstance(result, dict):
        raise BadResult("The local agent's inline result is not an object.")
    return ToolOutcome(ok=True, result=_storable(_inline_table(result)), result_bytes=len(json.dumps(result)))


def _from_text(text: Any) -> ToolOutcome:
    """An inline result sent as one JSON text (the tool request's `result_as_text`), carried opaque by the state
    machine. Bounded by Step Functions' own 256 KiB limit on AWS; checked here as well, as any outside JSON."""
    if not isinstance(text, str):
        raise BadResult("The local agent's result_text is not a string.")
    if len(text) > MAX_INLINE_RESULT_TEXT:
        raise BadResult(f"The local agent's inline result is longer than {MAX_INLINE_RESULT_TEXT:,} characters.")
    try:
        result = json.loads(text)
    except (ValueError, RecursionError) as problem:
        raise BadResult(f"The local agent's result_text is not JSON: {str(problem)[:200]}") from None
    if not isinstance(result, dict):
        raise BadResult("The local agent's inline result is not an object.")
    result = _storable(_inline_table(result))
    return ToolOutcome(ok=True, result=result, result_bytes=len(text.encode("utf-8", "replace")))


def _inline_table(result: dict[str, Any]) -> dict[str, Any]:
    """An inline table is held to the rules of an uploaded one (phi.definitions.table_format): columns named by
    strings, within MAX_COLUMNS, and every row a list of one value per column."""
    if "columns" not in result and "rows" not in result:
        return result
    columns = result.get("columns")
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        raise BadResult("The local agent's inline result has no list of column names.")
    if len(columns) > MAX_COLUMNS:
        raise BadResult(
            f"The local agent's inline result has {len(columns):,} columns; at most {MAX_COLUMNS:,} are read."
        )
    rows = result.get("rows", [])
    if not isinstance(rows, list):
        raise BadResult("The local agent's inline result has rows that are not a list.")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            raise BadResult(
                f"Row {number:,} of the local agent's inline result is not one list of {len(columns)} values."
            )
    # The count the task's events and reports say: an inline result holds all its rows, so it is their number.
    row_count = result.get("row_count", len(rows))
    if isinstance(row_count, bool) or not isinstance(row_count, int) or row_count != len(rows):
        raise BadResult(
            f"The local agent's inline result gives {json.dumps(row_count)[:40]} as its row_count, "
            f"but holds {len(rows):,} rows."
        )
    if not isinstance(result.get("truncated", False), bool):
        raise BadResult("The local agent's inline result gives a truncated flag that is not true or false.")
    return result


def _storable(value: Any, depth: int = 0) -> Any:
    """The result as the task can keep it: PostgreSQL holds no NUL character in text or jsonb (a database column
    may), and UTF-8 no lone surrogate half, so each becomes U+FFFD; an integer past 64 bits, which the graph's
    checkpoints cannot hold, becomes its digits as text; a result of more than MAX_RESULT_DEPTH levels of lists and
    objects is refused (the result is the first)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, int):
        return storable_number(value)
    if isinstance(value, list | dict) and depth >= MAX_RESULT_DEPTH:
        raise BadResult(
            f"The local agent's result is nested more than {MAX_RESULT_DEPTH} levels deep (a value of a row at "
            f"most {MAX_VALUE_DEPTH}); select a part of the value or cast it to text."
        )
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {storable_text(str(key)): _storable(item, depth + 1) for key, item in value.items()}
    return value


def _failure(tool_result: dict[str, Any], timeout_seconds: int, heartbeat_seconds: int | None) -> ToolOutcome:
    raw_error = error_name(tool_result.get("Error"))
    error = _FRIENDLY_ERRORS.get(raw_error, raw_error)
    cause = readable(error_cause_text(tool_result.get("Cause")), MAX_CAUSE_CHARS)
    if error == "Tool.Timeout" and not cause:
        if raw_error == "States.HeartbeatTimeout" and heartbeat_seconds:
            # the limit that ran out: no sign of life (a running agent reports one while it works)
            what = f"did not take the request or report progress within {heartbeat_seconds} s"
        else:
            what = f"did not answer within {timeout_seconds} s"
        cause = f"The local agent {what} ({raw_error}). Is phi-agent running and connected for this agent?"
    return ToolOutcome(ok=False, error=error, cause=cause or "no details given")


def error_name(name: Any) -> str:
    """An error name as recorded: the characters of a dotted name only, bounded (the agent's is any string)."""
    cleaned = _NOT_IN_AN_ERROR_NAME.sub("_", str(name or ""))[:MAX_ERROR_NAME]
    return cleaned or "Tool.Error"


def _from_reference(ref: Any, call: ToolCall | None) -> ToolOutcome:
    if not isinstance(ref, dict) or not isinstance(ref.get("key"), str):
        raise BadResult("The local agent's result_ref has no object key.")
    if call is None or not call.result_key:
        raise BadResult("The local agent referred to an uploaded result, but no upload was issued for this step.")
    if ref["key"] != call.result_key:
        raise BadResult(
            "The local agent referred to a result object that was not issued for this tool call; "
            "a large result is read only from the upload issued with the request."
        )
    settings = get_settings()
    try:
        stored = client("s3").get_object(Bucket=settings.documents_bucket, Key=call.result_key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise BadResult("The local agent referred to a result it did not upload.") from None
        raise
    body = stored["Body"]
    limits = TableLimits(max_bytes=settings.max_tool_result_bytes, max_rows=settings.max_tool_result_rows)
    try:
        compressed = int(stored.get("ContentLength") or 0)
        if compressed > limits.max_bytes:
            raise BadResult(too_large("The tool result", limits.max_bytes))
        columns, row_count, preview = scan(body, limits)
    except TableFormatError as problem:
        raise BadResult(str(problem)) from None
    finally:
        body.close()
    # The rows stay in the object: the graph gets a reference (read by table nodes as a stream).
    result = reference(
        columns, row_count, preview, call.result_key, compressed, truncated=bool(ref.get("truncated", False))
    )
    return ToolOutcome(ok=True, result=_storable(result), result_bytes=compressed)


def presigned_upload(task_id: str, tool_call_id: str) -> dict[str, str] | None:
    """A pre-signed PUT for results too large to return inline; None when no bucket is configured.
    The caller records the key with the tool call: it is the only key the result will be read from."""
    settings = get_settings()
    if not settings.documents_bucket:
        return None
    key = f"{settings.tool_results_prefix}{task_id}/{tool_call_id}.jsonl.gz"
    url = client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": settings.documents_bucket, "Key": key},
        ExpiresIn=settings.tool_timeout_seconds + 300,
    )
    return {"url": url, "key": key}
