"""An ad-hoc request's result (DESIGN §9, execute lane): the full table goes to S3 as CSV (what people download,
through a pre-signed URL) next to its typed form (gzip JSON lines: the graph's own stored table when the result
was large, else written here); the task's output keeps the reference and a preview of the first rows, so neither
the database nor the state machine carries the whole table. A large result is streamed from its stored object,
row by row, in bounded memory."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from contextlib import ExitStack
from typing import IO, Any

from phi.aws import client
from phi.definitions.table_format import is_reference, is_table
from phi.settings import get_settings
from phi.workflows.ports import Ports
from phi.workflows.tables import open_rows

_SPOOL_BYTES = 8 * 1024 * 1024


# What makes a spreadsheet read a cell as a formula (OWASP's list): such text is prefixed with a quote, so opening
# the download never runs a formula that came with the data or with a column name of the customer's SQL.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _inert(json.dumps(value, default=str))
    if isinstance(value, str):
        return _inert(value)
    return value


# Excel reads a CSV file as the system's legacy code page ('Chloé' shows as 'ChloÃ©') unless it starts with
# UTF-8's byte-order mark; other readers (Python's utf-8-sig, pandas, LibreOffice, Google Sheets) skip it.
UTF8_BOM = "\ufeff".encode()


class _CsvWriter:
    """RFC 4180 CSV with a header row, texts quoted, encoded to UTF-8 (after a byte-order mark) into a binary file
    as rows arrive."""

    def __init__(self, target: IO[bytes], columns: list[str]) -> None:
        self.target, self.bytes = target, 0
        self._buffer = io.StringIO()
        # Every text quoted: where the system's list separator is ';', Excel splits an unquoted `x;=1+1` into two
        # cells, the second a formula the quote prefix never saw; a quoted field stays one cell (OWASP's advice).
        self._writer = csv.writer(self._buffer, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
        self._write(UTF8_BOM)
        self.add(columns, header=True)

    def _write(self, data: bytes) -> None:
        self.target.write(data)
        self.bytes += len(data)

    def add(self, row: list[Any], *, header: bool = False) -> None:
        self._writer.writerow([_inert(str(c)) for c in row] if header else [_cell(v) for v in row])
        data = self._buffer.getvalue().encode("utf-8")
        self._buffer.seek(0)
        self._buffer.truncate()
        self._write(data)


def to_csv(columns: list[str], rows: list[list[Any]]) -> bytes:
    target = io.BytesIO()
    writer = _CsvWriter(target, columns)
    for row in rows:
        writer.add(row)
    return target.getvalue()


def result_keys(org_id: str, task_id: str) -> tuple[str, str]:
    prefix = f"{get_settings().request_results_prefix}{org_id}/{task_id}/result"
    return f"{prefix}.csv", f"{prefix}.jsonl.gz"


def store_result(org_id: str, task_id: str, output: dict[str, Any], ports: Ports) -> dict[str, Any]:
    """The task output to keep: for a table (inline, or a reference to a stored one), its first rows and
    `result` {rows, csv_key, csv_bytes, json_key}; anything else as it is. Without a bucket the (small, inline)
    table stays inline, and `result` says so."""
    if not is_table(output):
        return output
    settings = get_settings()
    columns = [str(c) for c in output["columns"]]
    preview: list[list[Any]] = []
    kept = {k: v for k, v in output.items() if k != "rows"}
    if not settings.documents_bucket:
        rows = list(output.get("rows") or [])
        reference = {"rows": len(rows), "csv_bytes": len(to_csv(columns, rows)), "note": "no bucket: kept inline"}
        return {**kept, "rows": rows, "row_count": len(rows), "result": reference}
    csv_key, json_key = result_keys(org_id, task_id)
    s3 = client("s3")
    count = 0
    with ExitStack() as stack:
        _, rows_iter = open_rows(output, ports, stack, "The request's result")
        spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES))
        json_spool = None if is_reference(output) else stack.enter_context(io.BytesIO())
        gz = stack.enter_context(gzip.GzipFile(fileobj=json_spool, mode="wb")) if json_spool is not None else None
        if gz is not None:
            gz.write((json.dumps({"columns": columns}) + "\n").encode())
        writer = _CsvWriter(spool, columns)
        for row in rows_iter:
            count += 1
            writer.add(row)
            if len(preview) < settings.request_preview_rows:
                preview.append(row)
            if gz is not None:
                gz.write((json.dumps(row, default=str) + "\n").encode())
        spool.seek(0)
        s3.put_object(
            Bucket=settings.documents_bucket,
            Key=csv_key,
            Body=spool,
            ContentType="text/csv; charset=utf-8",
            ContentDisposition=f'attachment; filename="result-{task_id}.csv"',
        )
        if gz is not None and json_spool is not None:
            gz.close()
            s3.put_object(
                Bucket=settings.documents_bucket,
                Key=json_key,
                Body=json_spool.getvalue(),
                ContentType="application/gzip",
            )
        else:
            json_key = str(output["table_ref"]["key"])  # the graph's own stored table is the typed form
    reference = {"rows": count, "csv_key": csv_key, "csv_bytes": writer.bytes, "json_key": json_key}
    return {**kept, "rows": preview, "row_count": count, "result": reference}
