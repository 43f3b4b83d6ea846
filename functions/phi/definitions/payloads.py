"""An `http` node's response body as a table {columns, rows, row_count}: JSON (a list of objects, found at a
dotted path) or CSV (a header row, then rows). The body is already capped in bytes by the guarded client;
here rows and columns are capped too, and every refusal says why."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from phi.definitions.table_format import loads_storable

MAX_COLUMNS = 200
MAX_ROWS = 200_000
MAX_CELL_CHARS = 10_000


class PayloadError(ValueError):
    """A response that is not the table it should be, with the reason."""


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:MAX_CELL_CHARS]


def json_table(content: bytes, rows_path: str | None, max_rows: int) -> dict[str, Any]:
    try:
        # as graph state can keep it: a number past 64 bits (even past Python's 4,300 digits) as its digits
        data: Any = loads_storable(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"the response is not JSON: {str(exc)[:200]}") from exc
    for part in (rows_path or "").split(".") if rows_path else []:
        if not isinstance(data, dict) or part not in data:
            raise PayloadError(f"the JSON has no {rows_path!r} (missing {part!r})")
        data = data[part]
    records = data if isinstance(data, list) else [data]
    if len(records) > max_rows:
        raise PayloadError(f"{len(records):,} rows; the limit is {max_rows:,}")
    columns: dict[str, None] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise PayloadError(f"row {index} is {type(record).__name__}, not an object")
        for key in record:
            columns.setdefault(str(key), None)
            if len(columns) > MAX_COLUMNS:
                raise PayloadError(f"more than {MAX_COLUMNS} columns")
    names = list(columns)
    rows = [[_cell(record.get(name)) for name in names] for record in records]
    return {"columns": names, "rows": rows, "row_count": len(rows)}


def csv_table(content: bytes, max_rows: int) -> dict[str, Any]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"the CSV is not UTF-8: {exc}") from exc
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header:
            raise PayloadError("the CSV is empty (no header row)")
        if len(header) > MAX_COLUMNS:
            raise PayloadError(f"more than {MAX_COLUMNS} columns")
        rows: list[list[Any]] = []
        for line in reader:
            if not line:
                continue
            if len(rows) >= max_rows:
                raise PayloadError(f"more than {max_rows:,} rows; the limit")
            if len(line) != len(header):
                raise PayloadError(f"row {len(rows) + 1} has {len(line)} fields; the header has {len(header)}")
            rows.append([cell[:MAX_CELL_CHARS] for cell in line])
    except csv.Error as exc:
        raise PayloadError(f"the CSV does not parse: {exc}") from exc
    return {"columns": header, "rows": rows, "row_count": len(rows)}
