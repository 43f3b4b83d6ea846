"""Cloud-side operations on tabular results: select, filter, derive, sort, top_k, group_by, join and limit.

The operations run as a pipeline over an iterator of rows (`run_ops`), so a table of any size passes through in
bounded memory, whether it came inline ({columns, rows}) or streams from a stored table (table_format):

- filter, select, derive, limit: one row at a time;
- top_k: a heap of k rows (k ≤ 10,000 by the schema);
- group_by: one accumulator per group, at most MAX_GROUPS groups (and MAX_DISTINCT_VALUES values held by the
  count_distinct aggregates), else a readable error;
- sort: in memory up to SORT_RUN_ROWS rows; beyond, an external merge sort: sorted runs are spilled to
  temporary files (gzip JSON lines) and merged, up to MAX_SORT_ROWS rows;
- join: a hash join that holds the right side (at most MAX_JOIN_RIGHT_ROWS rows) and streams the left; it gives
  at most MAX_JOIN_OUTPUT_ROWS rows, as keys repeated on both sides multiply (1,000 rows by 1,000 on one key give a
  million, and a second join a billion, with no table over the inline cap).

Every limit fails with a TableError naming the operation and the way out (filter or aggregate earlier).
`apply_ops` is the same pipeline on an inline table, returning an inline table of at most MAX_ROWS rows."""

from __future__ import annotations

import gzip
import heapq
import itertools
import json
import math
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import IO, Any

from phi.definitions.expressions import (
    MAX_TEXT_CHARS,
    ExpressionError,
    compile_condition,
    compile_expression,
    guarded_names,
    read_names,
)
from phi.definitions.nesting import TooLarge, measure
from phi.definitions.values import (
    Figure,
    Figures,
    TextOrder,
    Unorderable,
    amount_in_text,
    as_number,
    forms_held,
    forms_sought,
    group_value,
    is_blank,
    loosely_equal,
    number_in_text,
)

MAX_ROWS = 200_000  # an inline result (apply_ops), and what a compute node reads from a stored table
MAX_GROUPS = 100_000
MAX_DISTINCT_VALUES = 1_000_000
MAX_JOIN_RIGHT_ROWS = 200_000
MAX_JOIN_OUTPUT_ROWS = 5_000_000  # as many as a stored table holds (PHI_MAX_TOOL_RESULT_ROWS)
SORT_RUN_ROWS = 100_000
# Text a sort's run or a join's right side holds in memory, whatever its origin: the held-text budget below counts
# what this node derives, but a column an earlier node derived arrives as plain input (100,000 rows of 9,000
# characters made in one node and sorted in the next held 1.1 GB; Think has 1 GB).
SORT_RUN_CHARS = 32_000_000
MAX_JOIN_RIGHT_CHARS = 100_000_000
# Derived text the ops that hold rows may take in, per table node. One derived value is at most MAX_TEXT_CHARS, but
# those ops count rows, not bytes: 100,000 rows of one 100,000-character derived column would be 10 GB in a sort's
# run (Think has 1 GB). Counted where rows are held — every row a sort takes (its runs also go to disk), what
# top_k's heap may hold, each group's key and the text its min, max and count_distinct aggregates keep — and not
# where rows only pass through (select, filter, derive, limit, a join's left side): a stored output is bounded by
# the table store's own byte limit, so deriving a column over millions of streamed rows is no problem.
MAX_DERIVED_CHARS = 200_000_000
MAX_SORT_ROWS = 5_000_000

Row = dict[str, Any]
# The other table a join reads: its node id → (columns, rows).
RightTables = Callable[[str], tuple[list[str], Iterable[Row]]]


class TableError(ValueError):
    """An operation that cannot run on the data it was given (unknown column, too many rows…)."""


def rows_of(table: dict[str, Any]) -> Iterator[Row]:
    columns = table.get("columns") or []
    for values in table.get("rows") or []:
        yield dict(zip(columns, values, strict=False))


def total_rows(table: dict[str, Any]) -> int:
    """All the rows of a table result: a stored one reaches a renderer as its first rows and its row_count."""
    return max(len(table.get("rows") or []), int(table.get("row_count") or 0))


def repeated(columns: Sequence[str], names: Collection[str]) -> list[str]:
    """The `names` that stand more than once among `columns` (a mapped column beside one already called so, a header
    written twice, `SELECT o.*, s.*`): which of them a reader took would be an accident."""
    return sorted({column for column in columns if column in names and columns.count(column) > 1})


def to_table(rows: Iterable[Row], columns: list[str] | None = None, max_rows: int = MAX_ROWS) -> dict[str, Any]:
    out: list[list[Any]] = []
    names = list(columns) if columns is not None else None
    for row in rows:
        if names is None:
            names = list(row)
        if len(out) >= max_rows:
            raise TableError(f"result larger than {max_rows:,} rows; filter or aggregate earlier")
        out.append([row.get(name) for name in names])
    return {"columns": names or [], "rows": out, "row_count": len(out)}


def _need(columns: list[str], wanted: Iterable[str], op: str) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise TableError(f"{op}: unknown column(s) {', '.join(missing)} (has: {', '.join(columns)})")


def _quoted(value: Any) -> str:
    """A value as an error quotes it: JSON, bounded."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else f"{text[:80]}…"


def _need_read(columns: list[str], expression: Any, where: str) -> None:
    """Refuses an expression reading a column the table lacks: a row has every column, so such a `var` would
    be null on every row, and a filter on a misspelt column silently drops (or keeps) them all. A name is a
    column, or a dotted path into a column holding JSON ("address.city"); a `var` with a default is left alone
    (its default says the value may be absent), and so is one the expression asks `missing` about. A table with
    no columns (an http node's answer `[]`) has no row to read from: nothing to refuse."""
    if not columns:
        return
    present = set(columns) | set(guarded_names(expression))
    for name in read_names(expression):
        if name not in present and name.split(".", 1)[0] not in present:
            raise TableError(
                f"{where}: the expression reads the column {name!r}, which the table does not have "
                f"(has: {', '.join(columns)}); if only some rows may lack it (JSON that leaves out its null keys), "
                f'read it with a default: {{"var": [{json.dumps(name)}, null]}}'
            )


SortKey = tuple[Any, ...]


def order_key(descending: bool, column: str = "") -> Callable[[Any], SortKey]:
    """The key that orders one column's values for sort and top_k (one key per column: it follows the column's
    timestamps and numbers): numbers — and texts that are plain numbers, or amounts of one unit ("5%" before
    "12%") — before other text: timestamps in time order (see phi.definitions.values), then the rest compared
    as text, so that a column of numbers and words never raises; and null (and a blank text) after every value
    in either direction (a "bottom 2" of a column with gaps must not be two nulls). A descending order is the
    ascending one reversed, so there null takes the lowest key. Values no order could place without a guess
    are refused naming the column (Unorderable, see Figures and TextOrder): placed as text, "1,500" would
    come after 950 whether it is 1500 or 1.5, and "12%" before "5%"."""
    null: SortKey = (0,) if descending else (3,)
    texts = TextOrder()  # timestamps in time order; refuses a column mixing them with and without a zone
    figures = Figures()  # refuses amounts beside plain numbers or another unit, and numbers it cannot read

    def key(value: Any) -> SortKey:
        try:
            if value is None:
                return null
            if isinstance(value, bool):
                return (1, value)
            if isinstance(value, int | float):
                if figures.unit is not None:  # the first number, or one beside amounts
                    figures.figure(value, _PLAIN)
                return (1, value)
            if isinstance(value, str):
                number = number_in_text(value)  # a CSV's "10" after "9"
                if number is not None:
                    if figures.unit is not None:
                        figures.figure(value, _PLAIN)
                    return (1, number)
                figure = amount_in_text(value)
                if figure is None:  # no number: a blank one orders as null
                    return null if is_blank(value) else (2, *texts.key(value))
                if figure.number is None:
                    figures.not_read(value)
                    return (2, *texts.key(value))
                if figure.unit != figures.unit:
                    figures.figure(value, figure)
                return (1, figure.number)
            return (2, 1, str(value))
        except Unorderable as refused:
            raise Unorderable(f"column {column!r}: {refused}") from None

    return key


_PLAIN = Figure(None, 0)  # any plain number, as Figures tells one from an amount
_EXTREMES = frozenset({"min", "max"})


def _group_key(values: tuple[Any, ...], where: str, columns: list[str]) -> tuple[Any, ...]:
    """A row's key values as group_by holds them (`group_value`: 42 and "42" one key, `true` and 1 two), refusing
    lists and objects (they cannot be grouped on) readably. Runs for every row grouped: the key is built in one
    pass and the column is looked for only when it cannot be hashed."""
    key = tuple([group_value(value) for value in values])
    _need_hashable(key, values, where, columns)
    return key


def _need_hashable(key: Any, values: tuple[Any, ...], where: str, columns: list[str]) -> None:
    """Refuses a key holding a list or an object (it cannot be grouped or joined on), naming its column."""
    try:
        hash(key)
    except TypeError:
        for column, value in zip(columns, values, strict=True):
            if isinstance(value, list | dict):
                raise TableError(
                    f"{where}: column {column!r} holds a {type(value).__name__}; use plain values as keys"
                ) from None
        raise


class _NotANumber(ValueError):
    """A value a sum or avg cannot add (the group_by names the aggregate and the column)."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


class ExactSum:
    """A running sum: the integers added exactly (a Python int has no limit); the floats apart, as the exact
    partial sums math.fsum keeps (ten 0.1 add up to 1.0, not 0.9999999999999999), None until a float is added."""

    __slots__ = ("float_parts", "integers")

    def __init__(self) -> None:
        self.integers = 0
        self.float_parts: list[float] | None = None

    def add(self, number: int | float) -> None:
        if isinstance(number, int):
            self.integers += number
        else:
            self.float_parts = _add_exactly(self.float_parts or [], number)

    def total(self) -> int | float:
        """The exact integer total, or with floats the correctly rounded sum of them all (may raise
        OverflowError: an integer total past the floats' range)."""
        if self.float_parts is None:
            return self.integers
        if not all(map(math.isfinite, self.float_parts)):  # the floats' running sum went past their range
            raise OverflowError("the sum is not a finite number")
        return math.fsum([*self.float_parts, self.integers])


class _Accumulator:
    """One aggregate of one group, in constant memory (count_distinct keeps its distinct values)."""

    __slots__ = (
        "count",
        "figures",
        "fn",
        "high",
        "high_key",
        "high_text",
        "high_written",
        "low",
        "low_key",
        "low_text",
        "low_written",
        "seen",
        "texts",
        "total",
    )

    def __init__(self, fn: str) -> None:
        self.fn, self.count = fn, 0
        self.total = ExactSum()
        # min/max of the numbers: each as read, to compare, and as written, to give (a code "007" keeps its zeros)
        self.low: int | float | None = None
        self.high: int | float | None = None
        self.low_written: Any = None
        self.high_written: Any = None
        # min/max of a column without numbers: its text (ISO dates and times, codes), compared as text
        self.low_text: str | None = None
        self.high_text: str | None = None
        self.low_key: tuple[int, Any] = (0, None)  # the kept texts' TextOrder keys, once a text is kept
        self.high_key: tuple[int, Any] = (0, None)
        self.seen: set[Any] | None = set() if fn == "count_distinct" else None
        self.texts: TextOrder | None = None
        self.figures: Figures | None = None  # min and max: what the column holds, once it holds a value

    def add(self, value: Any, counted: bool) -> int:
        """Adds one row's value; the number of distinct values newly held (count_distinct only)."""
        if self.fn == "count":
            self.count += 1 if counted else 0
        elif self.seen is not None:
            if value is not None and not is_blank(value):
                value = group_value(value)  # 42 and "42" one value, as `==` says; `true` and 1 two, as JSON says
                if value not in self.seen:
                    self.seen.add(value)
                    return 1
        else:
            self._add_value(value)
        return 0

    def _add_value(self, value: Any) -> None:
        """A sum, avg, min or max takes numbers, and a text that is a plain number as that number (a CSV cell is
        always text). Null and an empty text (a CSV's empty cell) are no figure. A boolean and another text are
        refused by sum and avg (dropping them would give a wrong total without a word; SQL refuses sum(boolean)
        too); min and max read amounts too (`_add_extreme`)."""
        number = as_number(value)
        if number is not None:  # the common case first: per row
            if self.fn in _EXTREMES and self._figures().unit is not None:  # the first number, or one beside amounts
                self._figures().figure(value, _PLAIN)
            self._add_number(number, value)
        elif value is None or is_blank(value):
            return
        elif self.fn in _EXTREMES:
            self._add_extreme(value)
        else:
            raise _NotANumber(value)

    def _figures(self) -> Figures:
        """What a min or max column holds (see Figures), made with its first value."""
        if self.figures is None:
            self.figures = Figures(refusing_others=self.fn)
        return self.figures

    def _add_extreme(self, value: Any) -> None:
        """A value of min or max that is no plain number: an amount of the column's one unit ("12%", "€12.50"),
        compared by its number; in a column without numbers, a text (ISO dates and times, codes) in TextOrder's
        order, a boolean passed by. Anything else beside numbers is refused (Figures): left out, "1,500" or
        "n/a" would leave a maximum of 950 without a word."""
        figures = self._figures()
        figure = amount_in_text(value) if isinstance(value, str) else None
        if figure is not None and figure.number is not None:
            if figure.unit != figures.unit:
                figures.figure(value, figure)
            self._add_number(figure.number, value)
            return
        if figure is not None:  # written like a number, not plainly ("1,500"): not even beside another such text
            figures.not_read(value)
        if figures.other is None:  # the first such value (a number after it is refused by figures.figure)
            figures.another(value)
        if isinstance(value, str):
            self._add_text(value)

    def _add_text(self, text: str) -> None:
        """A text kept by min or max: timestamps in time order, others as text (TextOrder). The kept texts' keys
        are kept with them: each row's text is read once."""
        if self.texts is None:
            self.texts = TextOrder()
        key = self.texts.key(text)
        if self.low_text is None or key < self.low_key:
            self.low_text, self.low_key = text, key
        if self.high_text is None or key > self.high_key:
            self.high_text, self.high_key = text, key

    def _add_number(self, number: int | float, written: Any) -> None:
        """A number: added by sum and avg; compared by min and max, which keep it as written (the text "007", the
        first of equal numbers), so that a min over a CSV's codes is one of its codes and not a number."""
        self.count += 1
        if self.fn in ("sum", "avg"):
            self.total.add(number)
            return
        if self.low is None or number < self.low:
            self.low, self.low_written = number, written
        if self.high is None or number > self.high:
            self.high, self.high_written = number, written

    def text_chars(self) -> int:
        """The text a min or max keeps (count_distinct's values are counted as they are added)."""
        kept = (self.low_text, self.high_text, self.low_written, self.high_written)
        return sum(len(text) for text in kept if isinstance(text, str))

    def result(self) -> Any:
        if self.fn == "count":
            return self.count
        if self.seen is not None:
            return len(self.seen)
        if self.count == 0:
            return {"min": self.low_text, "max": self.high_text}.get(self.fn)
        if self.fn == "min":
            return self.low_written
        if self.fn == "max":
            return self.high_written
        total = self.total.total()
        return total if self.fn == "sum" else total / self.count  # may raise OverflowError (a huge int's avg)


def _add_exactly(parts: list[float], value: float) -> list[float]:
    """`value` added to the non-overlapping partial sums `parts` without rounding (Shewchuk's algorithm, the
    one math.fsum runs, kept as a running state: the partials stay few, whatever the number of rows)."""
    kept = 0
    for part in parts:
        if abs(value) < abs(part):
            value, part = part, value
        high = value + part
        low = part - (high - value)
        if low:
            parts[kept] = low
            kept += 1
        value = high
    parts[kept:] = [value]
    return parts


def apply_ops(table: dict[str, Any], ops: list[dict[str, Any]], tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Runs `ops` in order over an inline `table`; `tables` holds the other nodes' inline results (for join)."""

    def right(node_id: str) -> tuple[list[str], Iterable[Row]]:
        other = tables.get(node_id)
        if other is None:
            raise TableError(f"join: node {node_id!r} has no table result")
        return list(other.get("columns") or []), rows_of(other)

    columns, rows = run_ops(list(table.get("columns") or []), rows_of(table), ops, right)
    return to_table(rows, columns)


def run_ops(
    columns: list[str], rows: Iterable[Row], ops: list[dict[str, Any]], right: RightTables
) -> tuple[list[str], Iterator[Row]]:
    """The output columns, and the output rows as a lazy iterator: nothing is read until it is consumed."""
    current: Iterable[Row] = rows
    _distinct_columns(columns, "the input")
    held = _HeldText(_Budget(MAX_DERIVED_CHARS), frozenset())
    for index, op in enumerate(ops):
        where = f"ops[{index}] ({op['op']})"
        columns, current = _one_op(columns, current, op, where, right, held)
        held = held.after(op)
        _distinct_columns(columns, where)
    return columns, iter(current)


def _distinct_columns(columns: list[str], where: str) -> None:
    """Rows are dicts by column name: two columns of one name would silently show one value under both."""
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise TableError(
            f"{where} has the column(s) {', '.join(map(repr, twice))} twice; rename one (in the query, with "
            "select's rename, another aggregate name, or the join's right_prefix)"
        )


class _Budget:
    """The derived text the holding ops of one pipeline have taken in, against their common limit."""

    def __init__(self, limit: int) -> None:
        self.limit, self.spent = limit, 0

    def spend(self, amount: int, where: str) -> None:
        self.spent += amount
        if self.spent > self.limit:
            raise TableError(
                f"{where}: the derived values it holds come to more than {self.limit:,} characters of text; "
                "derive shorter values, or filter and aggregate before deriving"
            )


class _HeldText:
    """Which columns hold derived values at this point of the pipeline (they follow select's renames, and
    group_by's keys and min/max), and the budget the ops that hold rows spend their text from."""

    def __init__(self, budget: _Budget, columns: frozenset[str]) -> None:
        self.budget, self.columns = budget, columns

    def after(self, op: dict[str, Any]) -> _HeldText:
        name, columns = op["op"], self.columns
        if name == "derive":
            columns = columns | {op["column"]}
        elif name == "select":
            rename = op.get("rename") or {}
            columns = frozenset(rename.get(c, c) for c in op["columns"] if c in columns)
        elif name == "group_by":
            keys = {k for k in op.get("keys") or [] if k in columns}
            kept = {n for n, a in dict(op["aggs"]).items() if a["fn"] in ("min", "max") and a.get("column") in columns}
            columns = frozenset(keys | kept)
        return _HeldText(self.budget, columns)

    def chars(self, row: Row) -> int:
        """The derived text `row` carries (lists and objects as JSON, at most MAX_TEXT_CHARS each)."""
        return sum(_value_chars(row.get(column)) for column in self.columns)

    def spend(self, amount: int, where: str) -> None:
        self.budget.spend(amount, where)


def _row_chars(row: Row) -> int:
    """The text a row holds (lists and objects as about their JSON length)."""
    return sum(_value_chars(value) for value in row.values())


def _value_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | dict):
        return _json_chars(value)
    return 0


def _one_op(
    columns: list[str],
    rows: Iterable[Row],
    op: dict[str, Any],
    where: str,
    right: RightTables,
    held: _HeldText,
) -> tuple[list[str], Iterable[Row]]:
    name = op["op"]
    if name == "select":
        wanted = list(op["columns"])
        _need(columns, wanted, where)
        rename = op.get("rename") or {}
        return [rename.get(c, c) for c in wanted], ({rename.get(c, c): row.get(c) for c in wanted} for row in rows)
    if name == "filter":
        holds = compile_condition(op["where"])  # a text is no truth: "false" and "no" would keep their rows
        _need_read(columns, op["where"], where)
        return columns, _filtered(rows, holds, where)
    if name == "derive":
        column, value_of = op["column"], compile_expression(op["expr"])
        _need_read(columns, op["expr"], where)
        derived = _derived(rows, column, value_of, where)
        return ([*columns, column] if column not in columns else columns), derived
    if name == "limit":
        return columns, itertools.islice(rows, int(op["n"]))
    if name == "sort":
        by = list(op["by"])
        _need(columns, by, where)
        return columns, _order_refused(
            _sort(_taken(rows, held, where), columns, by, bool(op.get("descending")), where), where
        )
    if name == "top_k":
        by, k = op["by"], int(op["k"])
        _need(columns, [by], where)
        descending = bool(op.get("descending", True))
        pick, value_key = (heapq.nlargest if descending else heapq.nsmallest), order_key(descending, by)
        ordered = _lazy(lambda: iter(pick(k, _heaped(rows, k, held, where), key=lambda r: value_key(r.get(by)))))
        return columns, _order_refused(ordered, where)
    if name == "group_by":
        keys, aggs = list(op.get("keys") or []), dict(op["aggs"])
        _need(columns, keys, where)
        _need(columns, [a["column"] for a in aggs.values() if a.get("column")], where)
        return [*keys, *aggs], _group(rows, keys, aggs, where, held)
    if name == "join":
        on = list(op["on"])
        _need(columns, on, where)
        right_columns, right_rows = right(op["right"])
        _need(right_columns, on, f"{where} right side")
        extra = [c for c in right_columns if c not in on]
        prefix = op.get("right_prefix", "")
        if prefix:
            renamed = {c: f"{prefix}{c}" for c in extra}
        else:
            renamed = {c: (f"{op['right']}_{c}" if c in columns else c) for c in extra}
        joined = _join(rows, right_rows, on, renamed, op.get("how", "inner"), where)
        return [*columns, *renamed.values()], joined
    raise TableError(f"{where}: unknown operation")  # the schema admits no other operation


def _filtered(rows: Iterable[Row], holds: Callable[[Row], bool], where: str) -> Iterator[Row]:
    """The rows where the condition holds; its error names the op."""
    try:
        for row in rows:
            if holds(row):
                yield row
    except ExpressionError as exc:
        raise ExpressionError(f"{where}: {exc}") from None


def _derived(rows: Iterable[Row], column: str, value_of: Callable[[Row], Any], where: str) -> Iterator[Row]:
    """Each row with its derived value. A list or object value is measured (its items may be lists the previous
    ops built, shared rather than copied: a list of 900 lists of 900 texts is small in memory, 8 MB as JSON, and
    one more such op makes it 7 GB) and refused over MAX_TEXT_CHARS; text is bounded by the expressions
    themselves. What the values add up to is counted where rows are held (_HeldText)."""
    for row in rows:
        try:
            value = value_of(row)
        except ExpressionError as exc:  # named with the op, as every other failure of a table node
            raise ExpressionError(f"{where}: {column}: {exc}") from None
        if isinstance(value, list | dict) and _json_chars(value) > MAX_TEXT_CHARS:
            raise TableError(
                f"{where}: the value of {column!r} is larger than {MAX_TEXT_CHARS:,} characters as JSON; "
                "derive plain values"
            )
        yield {**row, column: value}


def _taken(rows: Iterable[Row], held: _HeldText, where: str) -> Iterable[Row]:
    """Rows an op takes in whole (a sort: in memory, then in its spilled runs), their derived text spent."""
    if not held.columns:
        return rows
    return (_spent(row, held, where) for row in rows)


def _spent(row: Row, held: _HeldText, where: str) -> Row:
    held.spend(held.chars(row), where)
    return row


def _heaped(rows: Iterable[Row], k: int, held: _HeldText, where: str) -> Iterable[Row]:
    """Rows on their way into top_k's heap: it holds at most k of them, none with more derived text than the
    widest seen, so that much is spent (and grows with it), not the text of every row that passes."""
    if not held.columns:
        yield from rows
        return
    widest = spent = 0
    for seen, row in enumerate(rows, start=1):
        widest = max(widest, held.chars(row))
        holds = min(seen, k) * widest
        held.spend(holds - spent, where)
        spent = holds
        yield row


def _json_chars(value: Any) -> int:
    """About the length of a list or object as JSON, or MAX_TEXT_CHARS + 1 once it is longer (the walk stops
    there: a value sharing its items may be huge as text and small in memory)."""
    try:
        return measure(value, MAX_TEXT_CHARS, max_depth=None)
    except TooLarge:
        return MAX_TEXT_CHARS + 1


def _order_refused(rows: Iterator[Row], where: str) -> Iterator[Row]:
    """The rows of an op that orders them; a column no order can place without a guess (timestamps with and
    without a zone, amounts beside plain numbers…) fails naming the op (the column and values are named)."""
    try:
        yield from rows
    except Unorderable as exc:
        raise TableError(f"{where}: {exc}") from None


def _lazy(make: Callable[[], Iterator[Row]]) -> Iterator[Row]:
    """Defers a blocking operation (top_k) until its rows are asked for, like the streaming ones."""
    yield from make()


def _group(
    rows: Iterable[Row], keys: list[str], aggs: dict[str, dict[str, Any]], where: str, held: _HeldText
) -> Iterator[Row]:
    groups: dict[tuple[Any, ...], dict[str, _Accumulator]] = {}
    distinct = 0
    first_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # each group's key values as its first row had them
    held_keys = [k for k in keys if k in held.columns]
    held_aggs = {name for name, a in aggs.items() if a.get("column") in held.columns}
    for row in rows:
        values = tuple([row.get(k) for k in keys])
        key = _group_key(values, where, keys)  # 42 and "42" are one group (see group_value)
        state = groups.get(key)
        if state is None:
            if len(groups) >= MAX_GROUPS:
                raise TableError(f"{where}: more than {MAX_GROUPS:,} groups; group by fewer or coarser keys")
            state = groups[key] = {name: _Accumulator(a["fn"]) for name, a in aggs.items()}
            first_keys[key] = values
            if held_keys:
                held.spend(sum(_value_chars(row.get(k)) for k in held_keys), where)
        for name, agg in aggs.items():
            column = agg.get("column")
            value = row.get(column) if column else None
            accumulator = state[name]
            before = accumulator.text_chars() if name in held_aggs else 0
            try:
                # count(column) counts values: not a null, nor an empty text (a CSV's empty cell, null elsewhere)
                added = accumulator.add(value, counted=column is None or not (value is None or is_blank(value)))
                distinct += added
            except TypeError:
                raise TableError(f"{where}: {name}: column {column!r} holds a list or object") from None
            except Unorderable as exc:  # timestamps or numbers min or max cannot order
                raise TableError(f"{where}: {name}: {agg['fn']} over column {column!r}: {exc}") from None
            except _NotANumber as refused:
                raise TableError(f"{where}: {name}: {_not_a_number(agg['fn'], str(column), refused.value)}") from None
            except OverflowError:
                raise TableError(f"{where}: {name}: column {column!r} holds a number too large to add") from None
            if name in held_aggs:  # the text a min or max now keeps, or a distinct value newly kept
                held.spend(accumulator.text_chars() - before + (_value_chars(value) if added else 0), where)
        if distinct > MAX_DISTINCT_VALUES:
            raise TableError(f"{where}: count_distinct holds more than {MAX_DISTINCT_VALUES:,} distinct values")
    if not keys and not groups:  # as SQL's aggregates without GROUP BY: one row, the counts 0, the others null
        groups[()] = {name: _Accumulator(a["fn"]) for name, a in aggs.items()}
        first_keys[()] = ()
    for key, state in groups.items():
        results = {name: _result(accumulator, name, where) for name, accumulator in state.items()}
        yield {**dict(zip(keys, first_keys[key], strict=True)), **results}


def _not_a_number(fn: str, column: str, value: Any) -> str:
    """Why a sum or avg refuses `value`, and the way out. A boolean is not taken as 1 (SQL refuses sum(boolean),
    and a flag summed with amounts is more likely a wrong column than a count): counting is said in words."""
    if isinstance(value, bool):
        wanted = json.dumps({"op": "filter", "where": {"==": [{"var": column}, value]}})
        return (
            f"column {column!r} holds {_quoted(value)}, a boolean, which {fn} does not take as a number; to count "
            f"the rows where it is {_quoted(value)}, filter them ({wanted}) and count them"
        )
    return (
        f"column {column!r} holds {_quoted(value)}, which is not a number; {fn} reads numbers only (a text written "
        "as a number, such as '1,234.5', counts as one): filter such rows out first"
    )


def _result(accumulator: _Accumulator, name: str, where: str) -> Any:
    """An aggregate's value, refused when it is not a finite number (JSON could hold no such result)."""
    overflows = f"{where}: {name}: the {accumulator.fn} overflows (it is not a finite number)"
    try:
        value = accumulator.result()
    except OverflowError:
        raise TableError(overflows) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise TableError(overflows)
    return value


def _no_key(values: tuple[Any, ...]) -> bool:
    """A join key with a null or an empty text (a CSV's empty cell, null elsewhere in the ops) in it."""
    return any(value is None or is_blank(value) for value in values)


# The right side of a join, by key: each form of the key (forms_held) → its variants, each the key values as
# written and the rows that have them (under the form 42: the rows with 42 or 42.0, those with "42", with "042"…).
_Variant = tuple[tuple[Any, ...], list[Row]]
_Index = dict[Any, list[_Variant]]


def _join(
    rows: Iterable[Row], right: Iterable[Row], on: list[str], renamed: dict[str, str], how: str, where: str
) -> Iterator[Row]:
    """A hash join whose keys match as `==` says (loosely_equal): a number matches a text that writes it (a
    database's 42 and a CSV's "42"), two timestamp texts the same moment; two other texts only the same text
    ("007" is not "7"). Booleans match booleans only: JSON tells `true` from 1 (where `==`, as Python, does not),
    as group_by does. Each left row looks its key up under its forms (forms_sought: one, or two for a date or a
    zoned midnight) — never a scan of the right side — and keeps the variants there that `==` holds equal."""
    index = _right_index(right, on, where)
    empty = dict.fromkeys(renamed.values())
    given = 0
    for row in rows:
        values = tuple([row.get(c) for c in on])
        matches = () if _no_key(values) else _matches(index, values, on, where)
        given += len(matches) or int(how == "left")
        if given > MAX_JOIN_OUTPUT_ROWS:
            raise TableError(
                f"{where}: the join gives more than {MAX_JOIN_OUTPUT_ROWS:,} rows (keys repeat on both sides); "
                "join on more columns, or aggregate one side by the keys first"
            )
        if not matches and how == "left":
            yield {**row, **empty}
        for match in matches:
            yield {**row, **{renamed[c]: match.get(c) for c in renamed}}


def _right_index(right: Iterable[Row], on: list[str], where: str) -> _Index:
    """The right side held by its keys' forms, within the join's row and text bounds."""
    index: _Index = {}
    held_chars = 0
    for count, row in enumerate(right):
        if count >= MAX_JOIN_RIGHT_ROWS:
            raise TableError(
                f"{where}: the right side has more than {MAX_JOIN_RIGHT_ROWS:,} rows; "
                "join the larger table as the input and the smaller one as the right side"
            )
        held_chars += _row_chars(row)
        if held_chars > MAX_JOIN_RIGHT_CHARS:
            raise TableError(
                f"{where}: the right side holds more than {MAX_JOIN_RIGHT_CHARS:,} characters of text; select only "
                "the columns the join needs from it, or join the larger table as the input"
            )
        values = tuple([row.get(c) for c in on])
        if _no_key(values):  # a null key matches nothing, as in SQL (not even another null)
            continue
        for form in _key_forms(values, forms_held):
            try:
                variants = index.setdefault(form, [])
            except TypeError:  # a list or an object
                _need_hashable(form, values, where, on)
                raise
            for held, held_rows in variants:
                if held == values:
                    held_rows.append(row)
                    break
            else:
                variants.append((values, [row]))
    return index


def _matches(index: _Index, values: tuple[Any, ...], on: list[str], where: str) -> Sequence[Row]:
    """The right rows whose key `==` holds equal to `values`, column by column. The common case — one form,
    one variant, the same values — gives the variant's rows themselves, without a copy."""
    forms = _key_forms(values, forms_sought)
    found: list[Row] = []
    for form in forms:
        try:
            variants = index.get(form, ())
        except TypeError:  # a list or an object
            _need_hashable(form, values, where, on)
            raise
        for held, held_rows in variants:
            # the same values as written are equal (the forms already keep `true` from 1); others are asked
            if held == values or all(map(loosely_equal, values, held)):
                if len(forms) == 1 and len(variants) == 1:
                    return held_rows
                found.extend(held_rows)
    return found


def _key_forms(values: tuple[Any, ...], forms: Callable[[Any], tuple[Any, ...]]) -> Sequence[Any]:
    """The forms of a row's key: a one-column key's own (no tuple to build per row: the index holds the forms of
    one join's keys only, all of one kind), else each combination of its columns' forms."""
    if len(values) == 1:
        return forms(values[0])
    per_column = [forms(value) for value in values]
    if all(len(column) == 1 for column in per_column):
        return [tuple([column[0] for column in per_column])]
    return list(itertools.product(*per_column))


# --- sort: in memory, or an external merge sort over spilled runs ------------------------------------------


def _sort(rows: Iterable[Row], columns: list[str], by: list[str], descending: bool, where: str) -> Iterator[Row]:
    value_keys = [(c, order_key(descending, c)) for c in by]

    def key(row: Row) -> tuple[Any, ...]:
        return tuple([value_key(row.get(c)) for c, value_key in value_keys])

    runs: list[IO[bytes]] = []
    buffer: list[Row] = []
    total = buffered_chars = 0
    try:
        for row in rows:
            total += 1
            if total > MAX_SORT_ROWS:
                raise TableError(f"{where}: more than {MAX_SORT_ROWS:,} rows to sort; filter or aggregate first")
            buffer.append(row)
            buffered_chars += _row_chars(row)
            if len(buffer) >= SORT_RUN_ROWS or buffered_chars >= SORT_RUN_CHARS:
                buffer.sort(key=key, reverse=descending)
                runs.append(_spill(buffer, columns))
                buffer, buffered_chars = [], 0
        buffer.sort(key=key, reverse=descending)  # stable: ties keep their order, as in one big sort
        if not runs:
            yield from buffer
            return
        if buffer:
            runs.append(_spill(buffer, columns))
            buffer = []
        # merge is stable too: on ties the earlier run (the earlier rows) comes first
        yield from heapq.merge(*(_unspill(run, columns) for run in runs), key=key, reverse=descending)
    finally:
        for run in runs:
            run.close()


def _spill(rows: list[Row], columns: list[str]) -> IO[bytes]:
    """A sorted run in an anonymous temporary file (removed when closed), as gzip JSON lines of values."""
    file: IO[bytes] = tempfile.TemporaryFile(prefix="phi-sort-run-")  # noqa: SIM115 (closed by _sort)
    with gzip.GzipFile(fileobj=file, mode="wb", compresslevel=1) as stream:
        for start in range(0, len(rows), 5_000):
            batch = rows[start : start + 5_000]
            text = "\n".join(json.dumps([row.get(c) for c in columns], default=str) for row in batch)
            stream.write(text.encode("utf-8") + b"\n")
    file.seek(0)
    return file


def _unspill(file: IO[bytes], columns: list[str]) -> Iterator[Row]:
    with gzip.GzipFile(fileobj=file, mode="rb") as stream:
        for line in stream:
            yield dict(zip(columns, json.loads(line), strict=False))
