"""Turns what RunLocalTool left in `$.tool_result` into a ToolOutcome; reads large results from S3 transparently."""

from __future__ import annotations

import gzip
import json
from typing import Any

from phi.aws import client
from phi.settings import get_settings
from phi.workflows.contracts import ToolOutcome

_FRIENDLY_ERRORS = {
    "States.Timeout": "Tool.Timeout",
    "States.HeartbeatTimeout": "Tool.Timeout",
}


def outcome_from_state(tool_result: dict[str, Any], timeout_seconds: int) -> ToolOutcome:
    if "Error" in tool_result:
        return _failure(tool_result, timeout_seconds)
    if not tool_result.get("ok", False):
        return ToolOutcome(ok=False, error="Tool.BadResult", cause="The local agent answered without a result.")
    if "result_ref" in tool_result:
        return _from_reference(tool_result["result_ref"])
    result = tool_result.get("result") or {}
    return ToolOutcome(ok=True, result=result, result_bytes=len(json.dumps(result)))


def _failure(tool_result: dict[str, Any], timeout_seconds: int) -> ToolOutcome:
    raw_error = str(tool_result.get("Error") or "Tool.Error")
    error = _FRIENDLY_ERRORS.get(raw_error, raw_error)
    cause = _cause_text(tool_result.get("Cause"))
    if error == "Tool.Timeout" and not cause:
        cause = (
            f"The local agent did not answer within {timeout_seconds} s ({raw_error}). "
            "Is phi-agent running and connected for this agent?"
        )
    return ToolOutcome(ok=False, error=error, cause=cause or "no details given")


def _cause_text(cause: Any) -> str:
    if not cause:
        return ""
    try:  # Lambda/SDK errors carry a JSON cause with an errorMessage
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return str(cause)
    if isinstance(parsed, dict):
        return str(parsed.get("errorMessage") or parsed.get("message") or cause)
    return str(cause)


def _from_reference(ref: dict[str, Any]) -> ToolOutcome:
    bucket = get_settings().documents_bucket
    body = client("s3").get_object(Bucket=bucket, Key=ref["key"])["Body"].read()
    lines = gzip.decompress(body).decode().splitlines()
    header = json.loads(lines[0])
    rows = [json.loads(line) for line in lines[1:] if line]
    result = {
        "columns": header["columns"],
        "rows": rows,
        "row_count": len(rows),
        "truncated": bool(ref.get("truncated", False)),
    }
    return ToolOutcome(ok=True, result=result, result_bytes=int(ref.get("bytes", len(body))))


def presigned_upload(task_id: str, tool_call_id: str) -> dict[str, str] | None:
    """A pre-signed PUT for results too large to return inline; None when no bucket is configured."""
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
