"""Cloud-side operations on tabular results ({columns, rows}): select, filter, derive, sort, top_k, group_by,
join and limit. Rows stream through filter/select/derive/limit one at a time; top_k keeps k rows (a heap);
group_by keeps one accumulator per group; sort and join's right side are the only ones held whole, and
every result is capped (MAX_ROWS) with a readable error rather than an unbounded list."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from phi.definitions.expressions import evaluate

MAX_ROWS = 200_000
MAX_GROUPS = 100_000

Row = dict[str, Any]


class TableError(ValueError):
    """An operation that cannot run on the data it was given (unknown column, too many rows…)."""


def rows_of(table: dict[str, Any]) -> Iterator[Row]:
    columns = table.get("columns") or []
    for values in table.get("rows") or []:
        yield dict(zip(columns, values, strict=False))


def to_table(rows: Iterable[Row], columns: list[str] | None = None) -> dict[str, Any]:
    out: list[list[Any]] = []
    names = list(columns) if columns is not None else None
    for row in rows:
        if names is None:
            names = list(row)
        if len(out) >= MAX_ROWS:
            raise TableError(f"result larger than {MAX_ROWS:,} rows; filter or aggregate earlier")
        out.append([row.get(name) for name in names])
    return {"columns": names or [], "rows": out, "row_count": len(out)}


def _need(columns: list[str], wanted: Iterable[str], op: str) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise TableError(f"{op}: unknown column(s) {', '.join(missing)} (has: {', '.join(columns)})")


def _sort_key(value: Any) -> tuple[int, Any]:
    # None sorts first; numbers before text so mixed columns never raise
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


class _Accumulator:
    """One aggregate of one group, in constant memory (count_distinct keeps its distinct values)."""

    __slots__ = ("count", "fn", "high", "low", "seen", "total")

    def __init__(self, fn: str) -> None:
        self.fn, self.count, self.total = fn, 0, 0.0
        self.low: Any = None
        self.high: Any = None
        self.seen: set[Any] = set()

    def add(self, value: Any, counted: bool) -> None:
        if self.fn == "count":
            self.count += 1 if counted else 0
        elif self.fn == "count_distinct":
            if value is not None:
                self.seen.add(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self.count += 1
            self.total += value
            self.low = value if self.low is None else min(self.low, value)
            self.high = value if self.high is None else max(self.high, value)

    def result(self) -> Any:
        if self.fn == "count":
            return self.count
        if self.fn == "count_distinct":
            return len(self.seen)
        if self.count == 0:
            return None
        return {"sum": self.total, "min": self.low, "max": self.high}.get(self.fn, self.total / self.count)


def apply_ops(table: dict[str, Any], ops: list[dict[str, Any]], tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Runs `ops` in order over `table`; `tables` holds the other nodes' results (for join)."""
    columns = list(table.get("columns") or [])
    rows: Iterable[Row] = rows_of(table)
    for index, op in enumerate(ops):
        name = op["op"]
        where = f"ops[{index}] ({name})"
        if name == "select":
            wanted = list(op["columns"])
            _need(columns, wanted, where)
            rename = op.get("rename") or {}
            rows = ({rename.get(c, c): row[c] for c in wanted} for row in rows)
            columns = [rename.get(c, c) for c in wanted]
        elif name == "filter":
            condition = op["where"]
            rows = (row for row in rows if evaluate(condition, row))
        elif name == "derive":
            column, expression = op["column"], op["expr"]
            rows = ({**row, column: evaluate(expression, row)} for row in rows)
            columns = [*columns, column] if column not in columns else columns
        elif name == "limit":
            rows = itertools.islice(rows, int(op["n"]))
        elif name == "sort":
            by = list(op["by"])
            _need(columns, by, where)
            materialised = list(itertools.islice(rows, MAX_ROWS + 1))
            if len(materialised) > MAX_ROWS:
                raise TableError(f"{where}: more than {MAX_ROWS:,} rows to sort")
            materialised.sort(key=lambda r: tuple(_sort_key(r[c]) for c in by), reverse=bool(op.get("descending")))
            rows = iter(materialised)
        elif name == "top_k":
            by, k = op["by"], int(op["k"])
            _need(columns, [by], where)
            if op.get("descending", True):
                rows = iter(heapq.nlargest(k, rows, key=lambda r: _sort_key(r[by])))
            else:
                rows = iter(heapq.nsmallest(k, rows, key=lambda r: _sort_key(r[by])))
        elif name == "group_by":
            keys, aggs = list(op.get("keys") or []), dict(op["aggs"])
            _need(columns, keys, where)
            _need(columns, [a["column"] for a in aggs.values() if a.get("column")], where)
            rows = _group(rows, keys, aggs, where)
            columns = [*keys, *aggs]
        elif name == "join":
            right = tables.get(op["right"])
            if right is None:
                raise TableError(f"{where}: node {op['right']!r} has no table result")
            on = list(op["on"])
            _need(columns, on, where)
            _need(list(right.get("columns") or []), on, f"{where} right side")
            extra = [c for c in right.get("columns") or [] if c not in on]
            prefix = op.get("right_prefix", "")
            renamed = {c: (f"{prefix}{c}" if prefix or c in columns else c) for c in extra}
            if not prefix:
                renamed = {c: (f"{op['right']}_{c}" if c in columns else c) for c in extra}
            rows = _join(rows, right, on, renamed, op.get("how", "inner"))
            columns = [*columns, *renamed.values()]
        else:  # the schema admits no other operation
            raise TableError(f"{where}: unknown operation")
    return to_table(rows, columns)


def _group(rows: Iterable[Row], keys: list[str], aggs: dict[str, dict[str, Any]], where: str) -> Iterator[Row]:
    groups: dict[tuple[Any, ...], dict[str, _Accumulator]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        state = groups.get(key)
        if state is None:
            if len(groups) >= MAX_GROUPS:
                raise TableError(f"{where}: more than {MAX_GROUPS:,} groups")
            state = groups[key] = {name: _Accumulator(a["fn"]) for name, a in aggs.items()}
        for name, agg in aggs.items():
            column = agg.get("column")
            value = row.get(column) if column else None
            state[name].add(value, counted=column is None or value is not None)
    for key, state in groups.items():
        yield {**dict(zip(keys, key, strict=True)), **{name: acc.result() for name, acc in state.items()}}


def _join(
    rows: Iterable[Row], right: dict[str, Any], on: list[str], renamed: dict[str, str], how: str
) -> Iterator[Row]:
    index: dict[tuple[Any, ...], list[Row]] = {}
    for count, row in enumerate(rows_of(right)):
        if count >= MAX_ROWS:
            raise TableError(f"join: the right side has more than {MAX_ROWS:,} rows")
        index.setdefault(tuple(row[c] for c in on), []).append(row)
    empty = dict.fromkeys(renamed.values())
    for row in rows:
        matches = index.get(tuple(row[c] for c in on), [])
        if not matches and how == "left":
            yield {**row, **empty}
        for match in matches:
            yield {**row, **{renamed[c]: match[c] for c in renamed}}
