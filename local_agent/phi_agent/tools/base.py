"""What every tool returns: column names and a lazily read, capped stream of rows."""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from phi_agent.errors import ToolError

ArgsT = TypeVar("ArgsT", bound=BaseModel)


class CappedRows:
    """Yields at most `limit` rows; reading one extra row tells whether the source was truncated."""

    def __init__(self, rows: Iterable[Sequence[Any]], limit: int) -> None:
        self._rows = iter(rows)
        self._limit = limit
        self.count = 0
        self.truncated = False

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self._rows:
            if self.count >= self._limit:
                self.truncated = True
                return
            self.count += 1
            yield row


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


def json_safe(value: Any) -> Any:
    """Convert a database or spreadsheet value to the JSON form the contract fixes."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if math.isfinite(as_float) else None
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
