"""Values as the table ops and expressions read them, whatever type they arrived as: a CSV cell (file.read, an
http node's CSV) is always text, so "1,234.5" must count as the number it says and an empty cell as no value.

- `number_in_text`: a text that is a plain number, as that number;
- `is_blank`: an empty or blank text, which the aggregates and orders take as null;
- `timestamp_in_text` and `TextOrder`: a text that is an ISO-8601-like timestamp, in time order. As text,
  "2026-11-20 10:00:00" comes before "2026-11-20T09:00:00" (' ' < 'T') and "…10:00+01:00" after "…09:30Z".
  Timestamps that carry a zone or offset compare as instants, those that carry none as wall-clock times (a date
  alone is its midnight); one of each cannot be compared without the site's zone, and is refused naming both."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from phi.workflows.timeframes import timestamp_as_written

# A plain number: optional sign, digits (thousands separators only in whole 3-digit groups: "1,234,567.5", never
# "1,23"), optional decimals, optional exponent. Not "nan" or "inf" (no value JSON could hold), not "0x1F".
_PLAIN_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Digits an integer text may have to be read as an exact integer (Python refuses 4,300); longer is a float.
_MOST_INTEGER_DIGITS = 400


def number_in_text(text: str) -> int | float | None:
    """The number `text` writes (surrounding spaces allowed): an integer exactly (an ID or a NUMERIC(38) kept
    as its digits stays exact), else a float; None when it is not a plain number."""
    plain = text.strip()
    if not plain or not _PLAIN_NUMBER.fullmatch(plain):
        return None
    plain = plain.replace(",", "")
    if "." in plain or "e" in plain or "E" in plain or len(plain) > _MOST_INTEGER_DIGITS:
        return float(plain)
    return int(plain)


def as_number(value: Any) -> int | float | None:
    """A number, or a text that is a plain number, as a number; None for anything else (booleans included:
    JSON tells them from numbers)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return number_in_text(value)
    return None


def is_blank(value: Any) -> bool:
    """An empty or blank text: a CSV's empty cell, no value."""
    return isinstance(value, str) and not value.strip()


# A text read as a timestamp begins with an ISO date (the project's parser reads other forms too, but a code or a
# name such as "Nov 20 batch" is not to be ordered as a time): cheap, so most texts are never parsed.
_ISO_DATE_FIRST = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?![\d])", re.ASCII)
# Distinct texts whose reading is kept: a column of timestamps repeats few of them per second of a day.
_CACHED_TIMESTAMPS = 65_536


class MixedZones(ValueError):
    """Two timestamps, one with a zone or offset and one without: their order depends on the site's zone."""

    def __init__(self, zoned: str, wall_clock: str) -> None:
        super().__init__(
            f"cannot compare {_quoted(zoned)}, which carries a time zone, with {_quoted(wall_clock)}, which does "
            "not: that would need the site's time zone; write both with their offset, or both without"
        )


@lru_cache(maxsize=_CACHED_TIMESTAMPS)
def timestamp_in_text(text: str) -> tuple[bool, datetime] | None:
    """Whether the timestamp `text` writes carries a zone, and its moment as a naive datetime that orders as it
    should: an instant in UTC, or the wall-clock time. None when the text is no such timestamp."""
    if not _ISO_DATE_FIRST.match(text):
        return None
    try:
        moment = timestamp_as_written(text)
    except (ValueError, OverflowError):  # begins like a date and is not one ("2026-13-45", "2026-11-20 lot 4")
        return None
    if moment.utcoffset() is None:
        return False, moment
    try:
        return True, moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant a datetime holds
        return None


def timestamps(a: str, b: str) -> tuple[datetime, datetime] | None:
    """Two texts as moments to compare, when both are timestamps; None when either is not. Raises MixedZones."""
    first = timestamp_in_text(a)
    if first is None:
        return None
    second = timestamp_in_text(b)
    if second is None:
        return None
    if first[0] != second[0]:
        raise MixedZones(a, b) if first[0] else MixedZones(b, a)
    return first[1], second[1]


class TextOrder:
    """Orders the texts of one column: timestamps in time order before other text, compared as text. Remembers
    a timestamp with a zone and one without, to refuse a column that mixes them (MixedZones)."""

    __slots__ = ("wall_clock", "zoned")

    def __init__(self) -> None:
        self.zoned: str | None = None
        self.wall_clock: str | None = None

    def key(self, text: str) -> tuple[int, Any]:
        found = timestamp_in_text(text)
        if found is None:
            return (1, text)
        has_zone, moment = found
        if has_zone and self.zoned is None:
            self.zoned = text
        elif not has_zone and self.wall_clock is None:
            self.wall_clock = text
        if self.zoned is not None and self.wall_clock is not None:
            raise MixedZones(self.zoned, self.wall_clock)
        return (0, moment)


def _quoted(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:60] + "…")
