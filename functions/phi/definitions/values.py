"""Values as the table ops and expressions read them, whatever type they arrived as: a CSV cell (file.read, an
http node's CSV) is always text, so "1,234.5" must count as the number it says and an empty cell as no value.

- `number_in_text`: a text that is a plain number, as that number;
- `figure_in_text`, `order_pair` and `Figures`: a text written as a number for an order (`< <= > >=`, sort,
  top_k, min, max): a plain number as that number, an amount ("12%", "€12.50", "($1,234.50)") as its number
  beside amounts of its unit only, and a number that cannot be read ("1,500": 1500 or 1.5?) never beside
  numbers — ordered as text, "12%" would come before "5%" and "1,500" after "950" without a word;
- `is_blank`: an empty or blank text, which the aggregates and orders take as null;
- `timestamp_in_text` and `TextOrder`: a text that is an ISO-8601-like timestamp, in time order. As text,
  "2026-11-20 10:00:00" comes before "2026-11-20T09:00:00" (' ' < 'T') and "…10:00+01:00" after "…09:30Z".
  Timestamps that carry a zone or offset compare as instants, those that carry none as wall-clock times (a date
  alone is its midnight); one of each cannot be compared without the site's zone, and is refused naming both;
  a column is ordered as its pairs compare (`TextOrder`), or refused where no order could agree with them;
- `loosely_equal`: the expressions' `==`, which a join's keys follow (`forms_held`, `forms_sought`);
- `group_value`: a value as group_by and count_distinct hold it, so that 42 and "42" are one key."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time, timedelta
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


# --- texts written as numbers, for an order ----------------------------------------------------------------


class Unorderable(ValueError):
    """Two values, or the values of one column, that no order can compare without guessing (the caller names
    the op, and the column where there is one)."""


class Figure(NamedTuple):
    """A value written as a number, as an order reads it: `unit` None for a plain number, else "%" or a currency
    ("EUR", "$"…); `number` None when it is written like a number but cannot be read as one ("1,500")."""

    unit: str | None
    number: int | float | None


# Currency symbols, as the unit each writes: "$" and "¥" stand for several currencies, so stay as they are.
_CURRENCY_SYMBOLS = {
    **{"€": "EUR", "£": "GBP", "₹": "INR", "₽": "RUB", "₩": "KRW", "₺": "TRY", "₪": "ILS", "₫": "VND"},
    **{"฿": "THB", "₴": "UAH", "₦": "NGN", "₱": "PHP", "$": "$", "¥": "¥"},
}
# Currency codes read beside a number: the common ones, none an English word ("TOP 10" is no amount).
_CODES = "EUR USD GBP CHF JPY CNY CAD AUD NZD SEK NOK DKK PLN CZK HUF RON BGN INR BRL MXN ZAR RUB KRW SGD HKD"
_CURRENCY_CODES = frozenset([*_CODES.split(), "ILS", "AED", "SAR", "THB", "IDR", "MYR"])
# Written like a number, though perhaps not plainly: thousands in groups of three after commas, spaces (also
# no-break ones) or apostrophes ("1,500", "10 000", "1'234"), dots only with a decimal comma ("1.234,56"), a
# decimal comma ("1,5"). Not a version ("1.2.3"), an IP address ("10.0.0.1", "192.168.100.200"), a phone
# number ("+1 555 0100", "030 123 456"), a code ("A-12") or a date: those stay text.
_WRITTEN_NUMBER = re.compile(
    r"(?:(?:0|[1-9]\d{0,2})(?:[,' \u00a0\u202f\u2019]\d{3})+(?:[.,]\d+)?"
    r"|(?:0|[1-9]\d{0,2})(?:\.\d{3})+,\d+"
    r"|\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?",
    re.ASCII,
)
_UNREAD = Figure(None, None)
_SPACED_GROUPS = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+", re.ASCII)
# Distinct texts whose reading is kept: an amount column repeats its values (the cache is bounded; a miss only
# reads the text again). A longer text is read as a plain number or not at all, and not kept.
_LONGEST_FIGURE = 64
_CACHED_FIGURES = 65_536


def figure_in_text(text: str) -> Figure | None:
    """The number `text` writes, as an order reads it: a plain number (`number_in_text`); an amount, a plain
    number with a percent sign or one currency symbol or code before or after it, negative with a sign or in
    accounting parentheses ("12%", "€12.50", "12.50 EUR", "-$5", "($1,234.50)"); or, with `number` None, a text
    written like a number that is not read ("1,500" and "0,250", which may be 1.5 and 0.25; "1.234,56",
    "10 000", "€12,50", and "(2,000)", which sum does not read either). None for any other text (blank too)."""
    number = number_in_text(text)
    if number is not None:
        return Figure(None, number)
    return amount_in_text(text)


def amount_in_text(text: str) -> Figure | None:
    """`figure_in_text` for a text that is no plain number: an amount, a number not read, or None."""
    if text[:1] not in _FIGURE_FIRST and text[:3] not in _CURRENCY_CODES:  # a word or a code: cheap, per row
        return None
    if len(text) > _LONGEST_FIGURE or _ISO_DATE_FIRST.match(text):
        return None
    return _amount(text)


# What an amount or a number not read may begin with (an ISO date does too, and is told apart next).
_FIGURE_FIRST = frozenset("0123456789.,+-( \t\u00a0" + "".join(_CURRENCY_SYMBOLS))


@lru_cache(maxsize=_CACHED_FIGURES)
def _amount(text: str) -> Figure | None:
    body = text.strip()
    accounting = negative = False
    if body[:1] == "(" and body[-1:] == ")":
        body, accounting = body[1:-1].strip(), True
    if body[:1] in ("+", "-"):
        body, negative = body[1:].lstrip(), body[0] == "-"
    unit, body = _unit_before(body)
    if unit is not None:
        if not negative and body[:1] in ("+", "-"):  # "€-5"
            body, negative = body[1:].lstrip(), body[0] == "-"
        elif not accounting and body[:1] == "(" and body[-1:] == ")":  # "$(5)"
            body, accounting = body[1:-1].strip(), True
    else:
        unit, body = _unit_after(body)
    if not _WRITTEN_NUMBER.fullmatch(body):
        return None
    if unit is None:  # not a plain number (the caller read those): written otherwise ("1,500", "(2,000)")
        # Digits in groups split by spaces alone, with no unit or decimals, are far more often a phone number or
        # a registration number ("612 345 678", a SIREN) than an amount: text, which sorts; "10 000,5" is not.
        return None if not accounting and not negative and _SPACED_GROUPS.fullmatch(body) else _UNREAD
    number = number_in_text(body)
    if number is None or (negative and accounting):
        return Figure(unit, None)
    return Figure(unit, -number if negative or accounting else number)


def _unit_before(body: str) -> tuple[str | None, str]:
    symbol = _CURRENCY_SYMBOLS.get(body[:1])
    if symbol is not None:
        return symbol, body[1:].lstrip()
    if body[:3] in _CURRENCY_CODES and not body[3:4].isalpha():
        return body[:3], body[3:].lstrip()
    return None, body


def _unit_after(body: str) -> tuple[str | None, str]:
    if body[-1:] == "%":
        return "%", body[:-1].rstrip()
    symbol = _CURRENCY_SYMBOLS.get(body[-1:])
    if symbol is not None:
        return symbol, body[:-1].rstrip()
    if body[-3:] in _CURRENCY_CODES and not body[-4:-3].isalpha():
        return body[-3:], body[:-3].rstrip()
    return None, body


def figure_of(value: Any) -> Figure | None:
    """A value as an order reads it: a number as a plain number, a text as `figure_in_text`; None otherwise."""
    if type(value) is int or type(value) is float:
        return Figure(None, value)
    if type(value) is str:
        return figure_in_text(value)
    return None


def _kind(value: Any, figure: Figure) -> str:
    if figure.number is None:
        return "written like a number but not plainly"
    return "a plain number" if figure.unit is None else f"an amount in {figure.unit}"


def _in_different_units(a: Any, first: Figure, b: Any, second: Figure) -> Unorderable:
    percent_or_not = {first.unit, second.unit} == {"%", None}
    return Unorderable(
        f"cannot order {_shown(a)}, {_kind(a, first)}, with {_shown(b)}, {_kind(b, second)}: "
        + ("is 12% the number 12 or 0.12?" if percent_or_not else "numbers in different units do not compare")
        + "; make them plain numbers in one unit where the data comes from, or compare amounts with amounts "
        "of their unit ('10%', '€10')"
    )


def _not_read(text: Any, beside: Any) -> Unorderable:
    return Unorderable(
        f"cannot order {_shown(text)} with {_shown(beside)}: {_shown(text)} is written like a number but "
        f"{_why_not_read(str(text))}, so which number it is cannot be told; make it a plain number where the data "
        "comes from (1500, or 1.5 if its comma is a decimal comma)"
    )


def _why_not_read(text: str) -> str:
    if "(" in text:
        return "in parentheses (an accounting export's negative number), which sum does not read either"
    if "," in text and "." in text:
        return "with dots between thousands and a decimal comma"
    if any(mark in text.strip() for mark in " '\u00a0\u202f\u2019"):
        return "with spaces or apostrophes between thousands"
    if _COMMA_BEFORE_THOUSANDS.search(text):
        return "with a comma that may be a thousands separator or a decimal comma ('1,500': 1500 or 1.5?)"
    return "with a decimal comma" if "," in text else "not plainly"


_COMMA_BEFORE_THOUSANDS = re.compile(r",\d{3}(?!\d)", re.ASCII)


def order_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Two values (not null; two timestamp texts are compared before, see `timestamps`) as `< <= > >=` compare
    them: numbers, and texts written plainly as numbers, by number; amounts of one unit by number ("5%" <
    "12%"); anything else as it is (text with text as text). None when a blank text meets a number: a missing
    value, with which nothing compares. Raises Unorderable where no order can be told without a guess: a
    number beside a text that is no number (whether written 1000 or "1000"), an amount beside a plain number
    or another unit, and a text written like a number but not plainly ("1,500") beside any number."""
    first, second = figure_of(a), figure_of(b)
    if first is None and second is None:
        return a, b
    if first is None or second is None:
        figure, other = (first, b) if second is None else (second, a)
        assert figure is not None  # for mypy: one of them is a figure
        if is_blank(other):
            return None
        if figure.number is None or type(other) is not str:
            return a, b  # a text not read beside another text, as text; a boolean or list as Python says
        raise Unorderable(f"cannot compare {_shown(a)} with {_shown(b)}: a number with a text that is no number")
    if first.number is None:
        raise _not_read(a, b)
    if second.number is None:
        raise _not_read(b, a)
    if first.unit != second.unit:
        raise _in_different_units(a, first, b, second)
    return first.number, second.number


_UNSET: Any = object()


class Figures:
    """The values written as numbers in one column, for an order over it (sort, top_k, min, max), refusing
    those no order can place without a guess (see `order_pair`): an amount beside a plain number or another
    unit, and a text written like a number but not plainly beside any number or beside another such text (as
    text "12,50" would come before "5,00"). With `refusing_others` (min, max), also any other value beside
    numbers: min and max would leave it out without a word, where sort shows it after them."""

    __slots__ = ("first", "other", "refusing_others", "unit", "unread")

    def __init__(self, refusing_others: str | None = None) -> None:
        self.refusing_others = refusing_others
        self.first: Any = _UNSET  # the first number or amount
        self.unit: Any = _UNSET  # its unit (None for a plain number): a caller may skip figures of this unit
        self.unread: str | None = None
        self.other: Any = None

    def figure(self, value: Any, figure: Figure) -> None:
        """A number or an amount of the column (the caller need not call again for figures of `unit`)."""
        if self.first is _UNSET:
            self.first, self.unit = value, figure.unit
        elif figure.unit != self.unit:
            raise _in_different_units(self.first, figure_of(self.first) or _UNREAD, value, figure)
        if self.unread is not None:
            raise _not_read(self.unread, value)
        if self.refusing_others and self.other is not None:
            raise self._not_a_number(self.other)

    def not_read(self, text: str) -> None:
        """A text written like a number but not plainly."""
        if self.first is not _UNSET:
            raise _not_read(text, self.first)
        if self.unread is None:
            self.unread = text
        elif text != self.unread:
            raise _not_read(text, self.unread)

    def another(self, value: Any) -> None:
        """Any other value (not null nor blank), for min and max."""
        if self.first is not _UNSET:
            raise self._not_a_number(value)
        if self.other is None:
            self.other = value

    def _not_a_number(self, value: Any) -> Unorderable:
        return Unorderable(
            f"holds {_shown(value)}, which is not a plain number, beside numbers ({_shown(self.first)}): "
            f"{self.refusing_others} would leave it out without a word; filter such rows out first, or make the "
            "column plain numbers where the data comes from"
        )


def _shown(value: Any) -> str:
    """A value as an order's error quotes it: a text as Python writes it, JSON's words for null and the
    booleans, bounded."""
    if isinstance(value, str):
        return _quoted(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


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


class MixedZones(Unorderable):
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
    offset: timedelta = timedelta(0)  # a zoned time's, from UTC


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
    offset = moment.utcoffset()
    if offset is None:
        return Reading(False, moment, written, _DATE_ONLY.fullmatch(text) is not None)
    try:
        return Reading(True, moment.astimezone(UTC).replace(tzinfo=None), written, False, offset)
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


class MixedOffsets(Unorderable):
    """A date alone beside times written at different offsets: no order of them agrees with their comparisons."""

    def __init__(self, date_alone: str, zoned: str, other_offset: str) -> None:
        super().__init__(
            f"cannot order the date {_quoted(date_alone)} among times written at different offsets "
            f"({_quoted(zoned)}, {_quoted(other_offset)}): a date alone compares with such a time by the date and "
            "time it is written at, which times at different offsets do not keep in the order of their instants "
            "(02:00+05:00 on one day is before 23:00-05:00 on the one before); write the dates as times with an "
            "offset, or the times at one offset"
        )


class TextOrder:
    """Orders the texts of one column: timestamps in time order before other text, compared as text. Remembers
    a timestamp with a zone and one without (a date alone is neither), to refuse a column that mixes them
    (MixedZones).

    A date alone compares with a zoned time by that time's date and time as written (`timestamps`), and two
    zoned times by their instants: while the zoned times share one offset, those agree, and a zoned time is keyed
    by its instant at the first one's offset — its written time, beside which a date alone sits at its midnight.
    Times at different offsets are ordered by their instants too, but no order of them agrees with a date alone's
    comparisons (02:00+05:00 is before 23:00-05:00 the day before, yet on or after the date between): a column
    holding a date alone and zoned times at two offsets is refused (MixedOffsets)."""

    __slots__ = ("date_alone", "offset", "other_offset", "wall_clock", "zoned")

    def __init__(self) -> None:
        self.zoned: str | None = None
        self.wall_clock: str | None = None
        self.date_alone: str | None = None
        self.offset = timedelta(0)  # the first zoned time's
        self.other_offset: str | None = None  # the first zoned time at another offset

    def key(self, text: str) -> tuple[int, Any]:
        found = timestamp_in_text(text)
        if found is None:
            return (1, text)
        if found.zoned:
            return (0, self._zoned_key(text, found))
        if found.date_only:
            if self.date_alone is None:
                self.date_alone = text
                self._refuse_a_mix()
        elif self.wall_clock is None:
            self.wall_clock = text
            self._refuse_a_mix()
        return (0, found.moment)

    def _zoned_key(self, text: str, found: Reading) -> datetime:
        if self.zoned is None:
            self.zoned, self.offset = text, found.offset
            self._refuse_a_mix()
        if found.offset == self.offset:  # the common case: as written, the instant at that offset
            return found.written
        if self.other_offset is None:
            self.other_offset = text
            self._refuse_a_mix()
        try:
            return found.moment + self.offset
        except OverflowError:  # within a day of the calendar's ends (year 1 or 9999)
            raise Unorderable(
                f"cannot order {_quoted(text)} beside {_quoted(self.zoned)}: it is too near the end of the "
                "calendar to be placed among times at another offset"
            ) from None

    def _refuse_a_mix(self) -> None:
        if self.zoned is not None and self.wall_clock is not None:
            raise MixedZones(self.zoned, self.wall_clock)
        if self.date_alone is not None and self.zoned is not None and self.other_offset is not None:
            raise MixedOffsets(self.date_alone, self.zoned, self.other_offset)


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
