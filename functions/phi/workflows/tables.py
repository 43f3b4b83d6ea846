"""Tables in a running graph: small ones inline in the state, large ones as references to stored objects
(phi.definitions.table_format), read and written through the ports' table store in bounded memory.

Who reads what:
- `table` nodes stream their input (and a join's right side) row by row: `open_rows`;
- `compute` functions take whole tables: `materialise`, at most table.MAX_ROWS rows (a readable error above;
  aggregate with a table node first);
- `render` shows the first rows of a table: `head`;
- every node result that is a table passes through `keep`: inline when small, else written and referenced."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing
from typing import Any

from phi.definitions.table import MAX_ROWS, TableError
from phi.definitions.table_format import (
    INLINE_MAX_BYTES,
    INLINE_MAX_ROWS,
    TableWriter,
    encode,
    inline_or_stored,
    is_reference,
    is_table,
    read_rows,
)
from phi.workflows.ports import Ports, TableStore

_SPOOL_BYTES = 8 * 1024 * 1024  # a written table is held in memory up to this, then in a temporary file


def _store(ports: Ports) -> TableStore:
    if ports.tables is None:
        raise TableError("a stored table cannot be read: no table store (bucket) is configured")
    return ports.tables


def open_rows(
    value: dict[str, Any], ports: Ports, stack: ExitStack, what: str
) -> tuple[list[str], Iterator[list[Any]]]:
    """The columns and a row iterator of an inline table or a stored one; `stack` closes the object's stream."""
    if is_reference(value):
        store = _store(ports)
        body = stack.enter_context(closing(store.open(str(value["table_ref"]["key"]))))
        return read_rows(body, store.limits, what)
    return list(value.get("columns") or []), iter(value.get("rows") or [])


def materialise(value: dict[str, Any], ports: Ports, what: str, max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """An inline table ({columns, rows, row_count}) of at most `max_rows` rows, read from the store if need be."""
    if not is_reference(value):
        return value
    if int(value.get("row_count") or 0) > max_rows:
        raise TableError(
            f"{what} has {int(value['row_count']):,} rows; at most {max_rows:,} are read into memory here — "
            "filter or aggregate it with a table node first"
        )
    rows: list[list[Any]] = []
    with ExitStack() as stack:
        columns, values = open_rows(value, ports, stack, what)
        for row in values:
            if len(rows) >= max_rows:
                raise TableError(f"{what} has more than {max_rows:,} rows; filter or aggregate it first")
            rows.append(row)
    return {"columns": columns, "rows": rows, "row_count": len(rows), "truncated": bool(value.get("truncated"))}


def head(value: dict[str, Any], ports: Ports, limit: int, what: str) -> dict[str, Any]:
    """The first `limit` rows of a table and its full row count (what a rendered table shows)."""
    if not is_reference(value):
        return value
    total = int(value.get("row_count") or 0)
    preview = list(value.get("preview") or [])
    if len(preview) < min(limit, total):
        with ExitStack() as stack:
            _, values = open_rows(value, ports, stack, what)
            preview = [row for _, row in zip(range(limit), values, strict=False)]
    return {"columns": list(value["columns"]), "rows": preview[:limit], "row_count": total}


def keep(ports: Ports, name: str, columns: list[str], rows: Iterable[list[Any]]) -> dict[str, Any]:
    """A node's table result as it goes into the state: inline when small, else stored under `name` and
    referenced. Without a store tables stay inline up to MAX_ROWS rows (the embedded stack always has one)."""
    store = ports.tables

    def write(columns: list[str], all_rows: Iterator[list[Any]]) -> dict[str, Any]:
        assert store is not None
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as file:
            writer = TableWriter(file, columns, store.limits, f"The result of {name}")
            for row in all_rows:
                writer.add(row)
            size = writer.finish()
            key = store.save(name, file)
        return writer.reference(key, size)

    return inline_or_stored(columns, rows, write if store is not None else None, MAX_ROWS)


def keep_tool_result(ports: Ports, name: str, result: dict[str, Any]) -> dict[str, Any]:
    """A local agent's inline result, kept as it is when small; a large one (up to the agent's inline limit,
    some hundred KiB) is stored like any other large table so that the state stays small."""
    if ports.tables is None or not is_table(result) or is_reference(result):
        return result
    rows = result.get("rows") or []
    if len(rows) <= INLINE_MAX_ROWS and len(encode(rows)) <= INLINE_MAX_BYTES:
        return result
    stored = keep(ports, name, list(result.get("columns") or []), rows)
    return {**stored, "truncated": bool(result.get("truncated"))}
