"""Typed query parameters: how `db.query` decodes `args.params` before binding them.

Plain JSON values (string, number, boolean, null) are bound as they are. JSON has no date type, so a
value may also be a one-key object naming its type:

- `{"$datetime": "2026-11-20T00:00:00+01:00"}` (ISO-8601 with an offset or `Z`; a time without one is
  refused, it would be read in whatever zone the database session happens to use) → a time-zone-aware
  `datetime`. PostgreSQL (psycopg) binds it natively as `timestamptz`. MySQL and SQL Server drivers drop
  offsets, so there it is bound as the same instant in UTC (and MySQL sessions run with `time_zone='+00:00'`).
  SQLite has no datetime type: it is bound as ISO-8601 text in the offset given
  (`2026-11-20T00:00:00+01:00`; `Z` is written `+00:00`).
- `{"$date": "2026-11-20"}` → a `datetime.date` (SQLite: the text `2026-11-20`).

Any other object (`{"$time": …}`, two keys, a plain mapping) or a list is `Tool.BadRequest` naming the
parameter, and so is a value the database cannot hold (an integer outside SQLite's 64 bits, a date and time
that leaves the years 1 to 9999 once moved to UTC). The names given must be exactly the query's placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from phi_agent.errors import ToolError

TYPED_KEYS = ("$datetime", "$date")
SQLITE_INTEGERS = range(-(2**63), 2**63)
PlainValue = bool | int | float | str | None
BoundValue = PlainValue | datetime | date


def _bad(name: str, reason: str) -> ToolError:
    return ToolError("Tool.BadRequest", f"args.params.{name}: {reason}")


def decode_datetime(name: str, raw: object) -> datetime:
    if not isinstance(raw, str) or not raw.strip():
        raise _bad(name, '"$datetime" must be an ISO-8601 string such as "2026-11-20T00:00:00+01:00"')
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in {"Z", "z"} else text)
    except ValueError:
        raise _bad(name, f'"$datetime" {raw!r} is not an ISO-8601 date and time') from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _bad(name, f'"$datetime" {raw!r} has no UTC offset; add one (e.g. "+01:00") or "Z"')
    return value


def decode_date(name: str, raw: object) -> date:
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(name, f'"$date" {raw!r} is not a date "YYYY-MM-DD"') from None


def decode_value(name: str, value: Any) -> BoundValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        keys = list(value)
        if len(keys) == 1 and keys[0] == "$datetime":
            return decode_datetime(name, value["$datetime"])
        if len(keys) == 1 and keys[0] == "$date":
            return decode_date(name, value["$date"])
        typed = [key for key in keys if isinstance(key, str) and key.startswith("$")]
        if typed and len(keys) == 1:
            raise _bad(name, f"unknown typed value {typed[0]!r} (supported: {', '.join(TYPED_KEYS)})")
        raise _bad(
            name,
            'an object parameter must be exactly {"$datetime": "<ISO-8601 with offset>"} or {"$date": "YYYY-MM-DD"}',
        )
    raise _bad(name, f"unsupported value of type {type(value).__name__} (use a string, number, boolean or null)")


def for_driver(value: BoundValue, dialect_name: str) -> Any:
    """The Python value handed to the driver for this database."""
    if isinstance(value, datetime):
        if dialect_name == "sqlite":
            return value.isoformat()
        if dialect_name in {"mysql", "mariadb", "mssql"}:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return value.isoformat() if dialect_name == "sqlite" else value
    return value


def decode_params(params: Mapping[str, Any] | None, dialect_name: str) -> dict[str, Any]:
    """`args.params` decoded and converted for the database; raises Tool.BadRequest naming the parameter."""
    return {str(name): _driver_value(str(name), value, dialect_name) for name, value in (params or {}).items()}


def _driver_value(name: str, raw: Any, dialect_name: str) -> Any:
    value = decode_value(name, raw)
    if dialect_name == "sqlite" and isinstance(value, int) and value not in SQLITE_INTEGERS:
        raise _bad(
            name,
            f"{value} does not fit in a SQLite integer (64 bits); pass it as a string or a number with a decimal point",
        )
    try:
        return for_driver(value, dialect_name)
    except OverflowError:
        raise _bad(name, f"{raw!r} is out of range for {dialect_name} once converted to UTC") from None


def match_placeholders(params: Mapping[str, Any], placeholders: frozenset[str]) -> None:
    """The query's `:name` placeholders and the names in `args.params` must be the same."""
    missing = sorted(placeholders - set(params))
    unused = sorted(set(params) - placeholders)
    used = ", ".join(f":{name}" for name in sorted(placeholders)) or "no parameters"
    if missing:
        raise ToolError(
            "Tool.BadRequest",
            f"args.params: no value for {', '.join(':' + name for name in missing)} (the query uses {used})",
        )
    if unused:
        raise _bad(unused[0], f"the query has no placeholder :{unused[0]} (it uses {used})")


def check_short_texts(params: Mapping[str, Any], names: frozenset[str], max_chars: int) -> None:
    """The values of the placeholders that stand for a LIKE pattern or a searched text (the guard's
    `bounded_parameters`) are at most `max_chars` long, as such a text written in the query must be."""
    for name in sorted(names):
        value = params.get(name)
        if isinstance(value, str) and len(value) > max_chars:
            raise _bad(
                name,
                f"it stands for a LIKE pattern or a searched text, which may be at most {max_chars:,} characters "
                f"long ({len(value):,} given)",
            )
