"""What every tool returns: column names and a lazily read, capped stream of rows."""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from phi_agent.errors import ToolError

ArgsT = TypeVar("ArgsT", bound=BaseModel)


class CappedRows:
    """Yields at most `limit` rows; reading one extra row tells whether the source was truncated.

    Also enforces the byte budget (a row over `max_row_bytes`, or all rows over `max_bytes`, fail the call
    with `Tool.ResultTooLarge`) and the wall-clock deadline (`Tool.Timeout`), checked at every row read.
    """

    def __init__(
        self,
        rows: Iterable[Sequence[Any]],
        limit: int,
        *,
        max_bytes: int | None = None,
        max_row_bytes: int | None = None,
        deadline: float | None = None,
    ) -> None:
        self._rows = iter(rows)
        self._limit = limit
        self._max_bytes = max_bytes
        self._max_row_bytes = max_row_bytes
        self._deadline = deadline
        self.count = 0
        self.bytes = 0
        self.truncated = False

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self._rows:
            check_deadline(self._deadline)
            if self.count >= self._limit:
                self.truncated = True
                return
            self._account(row)
            self.count += 1
            yield row
        check_deadline(self._deadline)

    def _account(self, row: Sequence[Any]) -> None:
        if self._max_bytes is None and self._max_row_bytes is None:
            return
        budget = self._max_row_bytes if self._max_row_bytes is not None else self._max_bytes
        size = row_size(row, budget)
        if self._max_row_bytes is not None and size > self._max_row_bytes:
            raise ToolError(
                "Tool.ResultTooLarge",
                f"row {self.count + 1} holds more than {self._max_row_bytes} bytes (the per-row limit); "
                "select fewer or shorter columns (e.g. left(text_column, 1000))",
            )
        self.bytes += size
        if self._max_bytes is not None and self.bytes > self._max_bytes:
            raise ToolError(
                "Tool.ResultTooLarge",
                f"the result exceeds {self._max_bytes} bytes after {self.count} rows (the result size limit); "
                "ask for fewer rows (max_rows) or columns, or aggregate in the query",
            )


def check_deadline(deadline: float | None) -> None:
    if deadline is not None and monotonic() > deadline:
        raise ToolError("Tool.Timeout", "the tool ran past its time limit while reading rows")


def value_size(value: Any, budget: int | None = None) -> int:
    """Approximate size in bytes of a value once written as JSON (fast; stops early past `budget`)."""
    if value is None or isinstance(value, bool):
        return 4
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, bytes | bytearray | memoryview):
        return (len(value) * 4) // 3 + 4
    if isinstance(value, int | float | Decimal):
        return 24
    if isinstance(value, list | tuple):
        return row_size(value, budget) + 2
    if isinstance(value, dict):
        total = 2
        for key, item in value.items():
            total += len(str(key)) + 3 + value_size(item, budget)
            if budget is not None and total > budget:
                return total
        return total
    return 40


def row_size(row: Sequence[Any], budget: int | None = None) -> int:
    total = 0
    for item in row:
        total += value_size(item, budget) + 1
        if budget is not None and total > budget:
            return total
    return total


class TabularResult:
    def __init__(self, columns: list[str], rows: CappedRows) -> None:
        self.columns = columns
        self.rows = rows


class Tool(Protocol):
    key: str

    def open(self, args: dict[str, Any], timeout_seconds: float | None) -> AbstractContextManager[TabularResult]:
        """Start the tool; rows are read while the context is open (the data source stays open meanwhile)."""
        ...

    def check(self) -> str:
        """Prove the tool can reach its data source; return a one-line description, raise on failure."""
        ...


def parse_args(model: type[ArgsT], args: dict[str, Any]) -> ArgsT:
    try:
        return model.model_validate(args)
    except ValidationError as error:
        problems = [f"args.{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()]
        raise ToolError("Tool.BadRequest", "; ".join(problems)) from None


def effective_max_rows(requested: int | None, configured: int) -> int:
    if requested is None:
        return configured
    return max(0, min(requested, configured))


_PLAIN_TYPES = frozenset({type(None), bool, int, str})


# An integral DECIMAL/NUMERIC written without places (a NUMERIC(20) order id) stays an integer up to this many
# digits; past it (1E+1000) its text: JSON carries any integer exactly, but a 100,000-digit one helps no one.
_MAX_INTEGER_DIGITS = 64


def _non_finite_text(value: float | Decimal) -> str:
    """NaN and the infinities (PostgreSQL's float and numeric NaN) as text: JSON has no such numbers, and a null
    would let a sum or an average skip the row silently, where the cloud refuses a text in one by name."""
    if value.is_nan() if isinstance(value, Decimal) else math.isnan(value):  # a signalling NaN cannot compare
        return "NaN"
    return "-Infinity" if value < 0 else "Infinity"


def _decimal(value: Decimal) -> int | float | str:
    """A DECIMAL/NUMERIC without losing it: written without places and integral, an integer (two 20-digit ids
    must not become one float); else a float when the float reads back as the same decimal (12.50 → 12.5,
    0.1 → 0.1); else its digits as text (NUMERIC(30,10) amounts), which the cloud reads as a number where it
    computes."""
    if not value.is_finite():
        return _non_finite_text(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0 and value.adjusted() < _MAX_INTEGER_DIGITS:
        return int(value)
    as_float = float(value)
    if math.isfinite(as_float) and Decimal(repr(as_float)) == value:
        return as_float
    return str(value)


def json_safe(value: Any) -> Any:
    """Convert a database or spreadsheet value to the JSON form the contract fixes."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite_text(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    return str(value)
