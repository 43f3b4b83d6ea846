"""An ad-hoc request's result (DESIGN §9, execute lane): the full table goes to S3 as CSV (what people download,
through a pre-signed URL) and as gzip JSON lines (typed values, the same form as large tool results); the task's
output keeps the reference and a preview of the first rows, so neither the database nor the state machine
carries the whole table."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any

from phi.aws import client
from phi.settings import get_settings


def is_table(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("columns"), list) and isinstance(value.get("rows"), list)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return value


def to_csv(columns: list[str], rows: list[list[Any]]) -> bytes:
    """RFC 4180 CSV with a header row; cells that look like formulas are prefixed with ' so that a spreadsheet
    opening the download never runs them (CSV injection)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        cells = [_cell(v) for v in row]
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return buffer.getvalue().encode("utf-8")


def to_json_lines(columns: list[str], rows: list[list[Any]]) -> bytes:
    lines = [json.dumps({"columns": columns})] + [json.dumps(r, default=str) for r in rows]
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=6)


def result_keys(org_id: str, task_id: str) -> tuple[str, str]:
    prefix = f"{get_settings().request_results_prefix}{org_id}/{task_id}/result"
    return f"{prefix}.csv", f"{prefix}.jsonl.gz"


def store_result(org_id: str, task_id: str, output: dict[str, Any]) -> dict[str, Any]:
    """The task output to keep: for a table, its preview rows and `result` {csv_key, json_key, rows, bytes};
    anything else as it is. Without a bucket (no S3 configured) the table stays inline, said so in `result`."""
    if not is_table(output):
        return output
    settings = get_settings()
    columns = [str(c) for c in output["columns"]]
    rows = output["rows"]
    preview = rows[: settings.request_preview_rows]
    kept = {k: v for k, v in output.items() if k not in ("rows",)}
    csv_bytes = to_csv(columns, rows)
    reference: dict[str, Any] = {"rows": len(rows), "columns": len(columns), "csv_bytes": len(csv_bytes)}
    if settings.documents_bucket:
        csv_key, json_key = result_keys(org_id, task_id)
        json_bytes = to_json_lines(columns, rows)
        s3 = client("s3")
        s3.put_object(
            Bucket=settings.documents_bucket,
            Key=csv_key,
            Body=csv_bytes,
            ContentType="text/csv; charset=utf-8",
            ContentDisposition=f'attachment; filename="result-{task_id}.csv"',
        )
        s3.put_object(
            Bucket=settings.documents_bucket,
            Key=json_key,
            Body=json_bytes,
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )
        reference.update(csv_key=csv_key, json_key=json_key, json_bytes=len(json_bytes))
        return {**kept, "rows": preview, "row_count": len(rows), "preview_rows": len(preview), "result": reference}
    reference["note"] = "no result bucket is configured: the whole table is kept inline"
    return {**kept, "rows": rows, "row_count": len(rows), "preview_rows": len(rows), "result": reference}
