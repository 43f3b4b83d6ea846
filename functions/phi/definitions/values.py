"""Values as the table ops and expressions read them, whatever type they arrived as: a CSV cell (file.read, an
http node's CSV) is always text, so "1,234.5" must count as the number it says and an empty cell as no value.

- `number_in_text`: a text that is a plain number, as that number;
- `is_blank`: an empty or blank text, which the aggregates and orders take as null;
- `timestamp_in_text` and `TextOrder`: a text that is an ISO-8601-like timestamp, in time order. As text,
  "2026-11-20 10:00:00" comes before "2026-11-20T09:00:00" (' ' < 'T') and "…10:00+01:00" after "…09:30Z".
  Timestamps that carry a zone or offset compare as instants, those that carry none as wall-clock times (a date
  alone is its midnight); one of each cannot be compared without the site's zone, and is refused naming both;
- `loosely_equal`: the expressions' `==`, which a join's keys follow (`forms_held`, `forms_sought`);
- `group_value`: a value as group_by and count_distinct hold it, so that 42 and "42" are one key."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any, NamedTuple

from phi.workflows.timeframes import timestamp_as_written

# A plain number: optional sign, digits, optional decimals, optional exponent; thousands separators only in
# whole 3-digit groups. Not "nan" or "inf" (no value JSON could hold), not "0x1F".
_PLAIN_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Digits an integer text may have to be read as an exact integer (Python refuses 4,300); longer is a float.
_MOST_INTEGER_DIGITS = 400


def number_in_text(text: str) -> int | float | None:
    """The number `text` writes (surrounding spaces allowed): an integer exactly (an ID or a NUMERIC(38) kept
    as its digits stays exact), else a float; None when it is not a plain number.

    A comma is read as a thousands separator only where it cannot be a decimal comma: "1,234,567" (two of them)
    or "1,234.5" (a decimal point after). "1,500" and "0,250" could be 1500 and 250 or, from a decimal-comma
    locale's export, 1.5 and 0.25: they are no number here, so that a sum over them is refused in words instead
    of being 1,000 times too large."""
    plain = text.strip()
    if not plain or not _PLAIN_NUMBER.fullmatch(plain):
        return None
    if "," in plain:
        if plain.count(",") < 2 and "." not in plain:
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
# name such as "Nov 20 batch" is not to be ordered as a time): cheap, so most texts are never parsed. No
# timestamp is longer than _LONGEST_TIMESTAMP characters: a longer text is not read, nor kept in the cache.
_ISO_DATE_FIRST = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?![\d])", re.ASCII)
_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*", re.ASCII)
_LONGEST_TIMESTAMP = 64
# Distinct texts whose reading is kept (each at most _LONGEST_TIMESTAMP characters: a few MB in all): a column of
# timestamps repeats few of them per second of a day.
_CACHED_TIMESTAMPS = 65_536
_MIDNIGHT = time()


class MixedZones(ValueError):
    """Two timestamps, one with a zone or offset and one without: their order depends on the site's zone."""

    def __init__(self, zoned: str, wall_clock: str) -> None:
        super().__init__(
            f"cannot compare {_quoted(zoned)}, which carries a time zone, with {_quoted(wall_clock)}, which does "
            "not: that would need the site's time zone; write both with their offset, or both without"
        )


class Reading(NamedTuple):
    """A timestamp text as read: whether it carries a zone, its moment as a naive datetime that orders as it
    should (an instant in UTC, or the wall-clock time), the date and time as written (offset dropped), and
    whether it is a date alone."""

    zoned: bool
    moment: datetime
    written: datetime
    date_only: bool


def timestamp_in_text(text: str) -> Reading | None:
    """The timestamp `text` writes; None when the text is no such timestamp."""
    if len(text) > _LONGEST_TIMESTAMP or not _ISO_DATE_FIRST.match(text):
        return None
    return _reading(text)


@lru_cache(maxsize=_CACHED_TIMESTAMPS)
def _reading(text: str) -> Reading | None:
    try:
        moment = timestamp_as_written(text)
    except (ValueError, OverflowError):  # begins like a date and is not one ("2026-13-45", "2026-11-20 lot 4")
        return None
    written = moment.replace(tzinfo=None)
    if moment.utcoffset() is None:
        return Reading(False, moment, written, _DATE_ONLY.fullmatch(text) is not None)
    try:
        return Reading(True, moment.astimezone(UTC).replace(tzinfo=None), written, False)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant a datetime holds
        return None


def timestamps(a: str, b: str) -> tuple[datetime, datetime] | None:
    """Two texts as moments to compare, when both are timestamps; None when either is not. Both with a zone
    compare as instants, both without as wall-clock times; a date alone beside a time with a zone compares with
    that time's date and time as written ("2026-11-20T23:30:00-05:00" is on 2026-11-20, as it reads). Raises
    MixedZones for a time with a zone beside one without."""
    first = timestamp_in_text(a)
    if first is None:
        return None
    second = timestamp_in_text(b)
    if second is None:
        return None
    if first.zoned == second.zoned:
        return first.moment, second.moment
    if first.date_only or second.date_only:
        return first.written, second.written
    raise MixedZones(a, b) if first.zoned else MixedZones(b, a)


class TextOrder:
    """Orders the texts of one column: timestamps in time order before other text, compared as text. Remembers
    a timestamp with a zone and one without (a date alone is neither), to refuse a column that mixes them
    (MixedZones)."""

    __slots__ = ("wall_clock", "zoned")

    def __init__(self) -> None:
        self.zoned: str | None = None
        self.wall_clock: str | None = None

    def key(self, text: str) -> tuple[int, Any]:
        found = timestamp_in_text(text)
        if found is None:
            return (1, text)
        if found.zoned and self.zoned is None:
            self.zoned = text
        elif not found.zoned and not found.date_only and self.wall_clock is None:
            self.wall_clock = text
        if self.zoned is not None and self.wall_clock is not None:
            raise MixedZones(self.zoned, self.wall_clock)
        return (0, found.moment)


def _quoted(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:60] + "…")


# --- equality, and the keys that follow it -------------------------------------------------------------------


def loosely_equal(a: Any, b: Any) -> bool:
    """The expressions' `==` (JSON Logic's loose one): a number equals a text that writes it (42 == "42" == " 42 "
    == "042", as a CSV cell holds it), two timestamp texts are equal when they are the same moment; two other
    texts only when they are the same text ("007" is not "7"); otherwise the values themselves, as Python
    compares them (1 == 1.0, and true == 1)."""
    if type(a) is str and type(b) is str and a != b:
        try:
            moments = timestamps(a, b)
        except MixedZones:  # a time with a zone is not the same as one without, whatever the site's zone
            return False
        return moments is not None and moments[0] == moments[1]
    if isinstance(a, str) != isinstance(b, str):
        first, second = as_number(a), as_number(b)
        if first is not None and second is not None:
            return bool(first == second)
    return bool(a == b)


def group_value(value: Any) -> Any:
    """`value` as group_by holds a key and count_distinct a value: a number as the text that writes it plainly
    (42 and 42.0 as "42", 2.5 as "2.5"), so that it is one key with that text, as `==` says (a join's 42 matches
    a CSV's "42"); a boolean tagged (no JSON value is a tuple), so that `true` and `1` stay two keys as JSON
    tells them apart; anything else as it is.

    Why not every text that `==` equates with the number: `==` is no equivalence there — 42 == "42" and 42 ==
    "042", but "42" != "042" (a CSV's codes keep their leading zeros) — and a group needs one. So texts stay
    keys as written, and a number joins the one text that writes it plainly; "042", " 42 " or "1,234,567" are
    their own keys."""
    if value is True or value is False:
        return (bool, value)
    if type(value) is int:
        return str(value) if value.bit_length() <= _PLAIN_INTEGER_BITS else value
    if type(value) is float and math.isfinite(value):
        if value.is_integer():  # 42.0 as "42", the same number as 42 (at most 309 digits: a float is < 2**1024)
            return str(int(value))
        return repr(value)  # the shortest text that reads back as this float: 2.5 as "2.5", 1e-05 as "1e-05"
    return value


# An integer up to this size is keyed as its digits (at most 392): number_in_text reads a text of more than 400
# digits as a float, so no text equals a larger integer, which stays a key of its own.
_PLAIN_INTEGER_BITS = 1_300


# The tags of a join key's forms read as timestamps (a form that is a tuple is no JSON value: no tag meets a text).
_ZONED, _WALL_CLOCK = "instant", "wall-clock time"
_DATE_ALONE, _ZONED_MIDNIGHT = "date alone", "zoned midnight"
# What a plain number or an ISO date may begin with, after any spaces.
_NUMBER_OR_DATE_FIRST = frozenset("0123456789+-.")


def forms_held(value: Any) -> tuple[Any, ...]:
    """The forms under which a join's right side holds a (non-null) key value: every value `==` says equal to it
    (`loosely_equal`; a boolean aside, which matches booleans only) seeks one of them (`forms_sought`), and finds
    it under exactly one, so no right row is found twice. A form is coarse (the texts "007" and "7" are both held
    as 7): the join then asks `loosely_equal` of the values found."""
    return _forms(value, sought=False)


def forms_sought(value: Any) -> tuple[Any, ...]:
    """The forms under which a join's left (streamed) key value looks for its matches (see `forms_held`)."""
    return _forms(value, sought=True)


def _forms(value: Any, sought: bool) -> tuple[Any, ...]:
    """The value's main form: a number (or the text of one) as the number, a boolean tagged (JSON tells `true`
    from 1), a timestamp text as its moment (an instant with a zone, a wall-clock time without), other text as
    itself. `==` also equates a date alone with a time with a zone written at that date's midnight
    ("2026-11-20" == "2026-11-20T00:00:00+05:00"), though that time is another instant than the same midnight
    at -03:00: that pair meets under a second form, held by one side's kind and sought by the other's."""
    if type(value) is not str:
        return ((bool, value),) if value is True or value is False else (value,)
    first = value[:1]
    if first not in _NUMBER_OR_DATE_FIRST and not first.isspace():  # a code, a name: no reading to try (cheap)
        return (value,)
    number = number_in_text(value)
    if number is not None:
        return (number,)
    found = timestamp_in_text(value)
    if found is None:
        return (value,)
    main = (_ZONED if found.zoned else _WALL_CLOCK, found.moment)
    if found.date_only:
        return (main, (_ZONED_MIDNIGHT if sought else _DATE_ALONE, found.written.date()))
    if found.zoned and found.written.time() == _MIDNIGHT:
        return (main, (_DATE_ALONE if sought else _ZONED_MIDNIGHT, found.written.date()))
    return (main,)
