"""Report days in a site's time zone, and timestamps read from customers' databases, made comparable.

Reusable by any workflow that reports on a local calendar day (the daily warehouse report first):

- `report_day(day, timezone)`: the day as a half-open interval of time-zone-aware instants, plus the wider
  window of instants a query asks for so that it catches every row of the day whatever form the source stores
  its timestamps in (see `ReportDay`).
- `parse_timestamp(value, zone)`: one row timestamp, in any common form, as an aware UTC datetime.
- `parse_event_time(value, zone)`: when something happened, as an `EventTime`: an instant, or for a date alone
  the local day it happened on, its time of day unknown (see `EventTime`).
- `parse_deadline(value, zone)`: a promise, as a `Deadline` (a date alone is met by the end of that local day).

The rule for zone-less values: a timestamp that carries no offset (SQLite text without `Z`/`+hh:mm`,
PostgreSQL `TIMESTAMP`, MySQL `DATETIME`, a spreadsheet cell) is a wall-clock time **in the site's time
zone**. Values with an offset or `Z`, and native time-zone-aware values, are exact instants. A zone-less
value in the hour a DST change repeats is taken at its first occurrence (fold=0); one in a skipped hour maps
with the offset in force before the change. A leap second (23:59:60, which ISO-8601 and RFC 2822 allow and Python
cannot hold) is read as the last microsecond of its minute: on its day, and before the next second.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TIMEZONE = "UTC"
MAX_TIMESTAMP_CHARS = 64
# The SQL window opens one second before UTC midnight of the day before the report day and closes at UTC
# midnight two days after it. Why these bounds:
# - zone-less columns compared with an aware bound are read by the database in its session time zone, which
#   may be up to 26 hours away from the site's (UTC-12 … UTC+14): a margin of a day or more each side
#   covers any session zone;
# - text columns (SQLite) compare as strings: a stored text carries the date in its own offset (one day
#   either side of the local date at most) and may use `T` or a space before the time, and ' ' < 'T'.
#   Bounds whose own text carries a date outside those dates (D-2 and D+2) order correctly against every
#   text of the day, whatever its separator or offset.
# Rows of the window outside the day are dropped in the cloud, where every timestamp is parsed exactly.
WINDOW_DAYS_BEFORE = 1
WINDOW_DAYS_AFTER = 2


class TimestampError(ValueError):
    """A value that is not a readable timestamp (the message says why, quoting a bounded part of it)."""


# In the tz database but no place: this machine's own zone (which a site's zone must not depend on), and "Factory".
_NOT_A_PLACE = frozenset({"localtime", "Factory"})


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_A_PLACE


def known_timezones() -> list[str]:
    """Every IANA time zone name a site may have, sorted."""
    return sorted(_known_zones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone, or a ValueError that names the bad value (only names of the tz database are
    opened: never a directory or another file of it)."""
    if not name or len(name) > 64 or name not in _known_zones():
        raise ValueError(f"unknown time zone {name[:64]!r}: use an IANA name such as 'Europe/London' or 'UTC'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/London' or 'UTC'") from None


@lru_cache(maxsize=1)
def _zones_by_lower_case() -> dict[str, str]:
    return {name.lower(): name for name in _known_zones()}  # no two IANA names differ by case alone


def check_timezone(name: str) -> str:
    """For pydantic validators: the IANA time zone's name as the tz database spells it ('america/chicago' is
    America/Chicago); a ValueError naming the value when there is none."""
    found = _zones_by_lower_case().get(name.lower()) if len(name) <= 64 else None
    if found is None:
        zone(name)  # raises, saying why
        return name
    return found


class ReportDay(BaseModel):
    """One calendar day in a time zone: the exact interval, and the wider window a query fetches."""

    model_config = ConfigDict(frozen=True)

    day: date
    timezone: str = Field(description="IANA name; zone-less timestamps are read as wall-clock times in it")
    start: datetime = Field(description="Local midnight starting the day (aware)")
    end: datetime = Field(description="Local midnight ending the day (aware); 23 or 25 hours later on DST days")
    query_start: datetime = Field(description="Aware UTC instant opening the SQL window (see module notes)")
    query_end: datetime = Field(description="Aware UTC instant closing the SQL window")

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    @cached_property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The day's bounds as UTC instants; computed once (the model is frozen): a report asks `contains` for
        every timestamp of every row."""
        return self.start.astimezone(UTC), self.end.astimezone(UTC)

    def contains(self, moment: datetime | None) -> bool:
        # Aware datetimes of different zones compare as instants; same-zone ones compare wall clocks, which for
        # UTC is the instant too (not so for a local zone on a DST day: hence bounds in UTC).
        if moment is None:
            return False
        start, end = self.utc_bounds
        return start <= moment < end

    def in_window(self, moment: datetime) -> bool:
        return self.query_start <= moment < self.query_end

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def hour_lengths(self) -> dict[int, float]:
        """How long each wall-clock hour of this day lasts, in hours: 1 on most days; 0.5 for the hour a 30-minute
        change shortens (Lord Howe Island), 2 for the hour an autumn change repeats; a skipped hour is absent.
        Every zone's offsets are whole quarter hours, so quarter-hour steps count exactly."""
        lengths: dict[int, float] = {}
        moment = self.start.astimezone(UTC)
        while moment < self.end:
            hour = moment.astimezone(self.tz).hour
            lengths[hour] = lengths.get(hour, 0.0) + 0.25
            moment += timedelta(minutes=15)
        return lengths

    @property
    def length_hours(self) -> float:
        return (self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds() / 3600


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    # A midnight skipped by a DST change (a few zones switch at 00:00) resolves, with fold=0, to the first
    # instant after the gap.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def _too_near_the_calendar_ends(day: date) -> ValueError:
    """For a report day or period whose bounds (a day after it, a window around it, its midnight in a zone east or
    west of UTC) fall before year 1 or after 9999, where Python's datetimes end."""
    return ValueError(f"{day.isoformat()} is too near the ends of the calendar (years 1 and 9999) to report on")


def report_day(day: date, timezone: str = DEFAULT_TIMEZONE) -> ReportDay:
    tz = zone(timezone)
    try:
        utc_midnight = datetime.combine(day, time(0), tzinfo=UTC)
        return ReportDay(
            day=day,
            timezone=timezone,
            start=_local_midnight(day, tz),
            end=_local_midnight(day + timedelta(days=1), tz),
            query_start=utc_midnight - timedelta(days=WINDOW_DAYS_BEFORE, seconds=1),
            query_end=utc_midnight + timedelta(days=WINDOW_DAYS_AFTER),
        )
    except OverflowError:
        raise _too_near_the_calendar_ends(day) from None


def yesterday(timezone: str = DEFAULT_TIMEZONE, now: datetime | None = None) -> date:
    """The calendar day before today, in the time zone."""
    return ((now or datetime.now(UTC)).astimezone(zone(timezone)) - timedelta(days=1)).date()


def iso_instant(moment: datetime) -> str:
    """An aware instant as ISO-8601 with its offset (what typed `$datetime` parameters carry)."""
    if moment.tzinfo is None:
        raise ValueError("a zone-less datetime is not an instant")
    return moment.isoformat()


def offset_text(offset: timedelta) -> str:
    """A UTC offset as people read it beside a clock time: "UTC", "UTC+01:00", "UTC-03:30"."""
    if not offset:
        return "UTC"
    minutes = round(abs(offset.total_seconds()) / 60)
    return f"UTC{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


# --- reading row timestamps ---------------------------------------------------------------------------

_ZONE_SUFFIXES = (" UTC", " GMT", "UTC", "GMT", "z")
# PostgreSQL's endless timestamps and dates; the local agent hands them over as this text.
_INFINITIES = frozenset({"infinity", "+infinity", "-infinity"})
# A date is at most 10 characters in every ISO form ('2026-11-20', '20261120', '2026-W47-5'); a timestamp
# needs at least 11 ('20261120T08').
_LONGEST_ISO_DATE = 10
# English month and weekday names, read without strptime's %b/%a (those follow the process's locale).
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")),
        start=1,
    )
    for name in names
}  # fmt: skip
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "wednesday"), ("thu", "thur", "thurs", "thursday"),
         ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday")),
    )
    for name in names
}  # fmt: skip
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")  # fmt: skip
_WORD = r"[A-Za-z]{3,9}"
# RFC 2822 / HTTP dates: '[Fri, ]20 Nov 2026 08:05[:00] +0100' (or GMT, UT, UTC, the US zones RFC 2822 names;
# a four-digit year only: a two-digit one is a guess). email.utils reads them once they have this shape.
_RFC_2822 = re.compile(
    rf"(?:(?P<weekday>{_WORD}),?\s+)?\d{{1,2}}\s+{_WORD}\s+\d{{4}}\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?\s+"
    r"(?:[+-]\d{4}|UTC?|GMT|Z|[ECMP][SD]T)(?P<comment>\s*\([^()]{0,40}\))?",
    re.IGNORECASE,
)
# A date with an English month name, day first or month first, then optionally a zone-less time of day:
# '20 Nov 2026', '20 November 2026 08:05', 'Nov 20, 2026 8:05 AM', 'Friday, November 20 2026 08:05:30', and
# Oracle's day-month-year with dashes, '20-Nov-2026 08:05' (its two-digit years, '20-NOV-26', are a guess).
_MONTH_NAME_DATE = re.compile(
    rf"(?:(?P<weekday>{_WORD}),?\s+)?"
    rf"(?:(?P<day>\d{{1,2}})(?:\s+|-)(?P<month>{_WORD})\.?|(?P<month_first>{_WORD})\.?\s+(?P<day_second>\d{{1,2}}))"
    r"(?:,?\s+|-)(?P<year>\d{4})"
    r"(?:,?\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?:\s*(?P<meridiem>[ap])\.?m\.?)?)?",
    re.IGNORECASE,
)
# Day first, as everywhere dots separate a date's parts: 20.11.2026, 20.11.2026 08:05, 20.11.2026 08:05:30.
_DOTTED_DATE = re.compile(
    r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})"
    r"(?P<time> (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
)
# The ISO-8601 shapes read, checked before `fromisoformat`, which also takes any character between a date and a
# time ('2026-11-20-05:00', a date with an offset, as 05:00) and reads '2026112008' or '1776010532' (epoch
# seconds) as a date, dropping the rest: a calendar date (extended or basic, YYYYMMDD) or a week date with its
# day, then optionally 'T' or a space, a time of day and an offset.
_ISO_FORM = re.compile(
    r"(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}-W\d{2}-\d|\d{4}W\d{3})"
    r"(?:[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?)?",
    re.ASCII,
)
# The parts of an _ISO_FORM value, to say what is wrong with one that `fromisoformat` refuses ('2026-02-29',
# '24:30', '+25:00') and to read a leap second.
_ISO_PARTS = re.compile(
    r"(?:(?P<year>\d{4})-?(?P<month>\d{2})-?(?P<day>\d{2})|(?P<week_year>\d{4})-?W(?P<week>\d{2})-?(?P<weekday>\d))"
    r"(?:[T ](?P<clock>(?P<hour>\d{2})(?::?(?P<minute>\d{2})(?::?(?P<second>\d{2})(?P<fraction>[.,]\d+)?)?)?)"
    r"(?P<offset>Z|[+-](?P<offset_hours>\d{2})(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?)?",
    re.ASCII,
)
_DATE_WITH_OFFSET = re.compile(r"\d{4}-?\d{2}-?\d{2}(?:Z|[+-]\d{2}(?::?\d{2})?)", re.ASCII)
_ISO_ORDINAL_DATE = re.compile(r"(?P<year>\d{4})-(?P<day>\d{3})(?=$|[T ])")
# ISO-8601's end of a day, '…T24:00[:00[.000]]' with an optional offset: the next day's midnight.
_ISO_END_OF_DAY = re.compile(r"(?P<date>.+?)[T ]24(?::00(?::00(?:[.,]0+)?)?)?(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?")
# Java's ZonedDateTime and RFC 9557: '2026-11-20T08:05+01:00[Europe/Berlin]'.
_ZONE_ID_SUFFIX = re.compile(r"(?P<moment>.+?)\[(?P<zone>[A-Za-z0-9_+\-/]{1,64})\]")
# The same zone ID after a space, as logs write it ('2026-11-20 08:05 Europe/London'): an Area/Location name only.
_ZONE_NAME_AFTER_SPACE = re.compile(r"(?P<moment>.+?\d) (?P<zone>[A-Za-z]{2,14}(?:/[A-Za-z0-9_+\-]{1,30}){1,2})")


# Year first with its parts unpadded or parted by slashes ('2026/11/20 14:05', Japanese and Chinese exports), a
# one-digit hour ('2026-11-20 8:05:00', .NET's and some locales' default) or a 12-hour clock ('2026-11-20 2:05 PM'):
# a four-digit year first leaves no doubt that month follows, then day. Rewritten to ISO-8601 before it is read.
_YEAR_FIRST_LOOSE = re.compile(
    r"(?P<year>\d{4})(?P<sep>[/-])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"(?:(?:T|\s+)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>[.,]\d{1,9})?)?"
    r"(?:\s*(?P<meridiem>[ap])\.?m\.?)?"
    r"(?:\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT))?)?",
    re.IGNORECASE | re.ASCII,
)
# MySQL's zero date, which it stores for "no date" (a DATETIME column NOT NULL without a value, an unknown day).
_ZERO_DATE = re.compile(r"0000-00-00(?:[T ]00:00(?::00(?:\.0+)?)?)?", re.ASCII)


# A slash date with its year last ('03/12/2026'), which the reason for a refusal names.
_YEAR_LAST_SLASH_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}", re.ASCII)
# A number written as text ('46000.5', '1776010532'), which the reason for a refusal names as what it may be.
_NUMBER_TEXT = re.compile(r"[+-]?\d+(?:[.,]\d+)?", re.ASCII)
_NUMBER_CANNOT_BE_TOLD = "seconds since 1970, milliseconds, or an Excel serial date cannot be told apart"


class NoDateError(TimestampError):
    """MySQL's zero date ('0000-00-00 00:00:00'): a placeholder for no date, not an instant."""


def is_zero_date(value: object) -> bool:
    # Called for every timestamp cell of a report: the regex only runs on text that starts like one.
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith("0000-00-00") and _ZERO_DATE.fullmatch(text) is not None


class InfiniteTimestampError(TimestampError):
    """PostgreSQL's 'infinity' or '-infinity': no real instant (as a promise: none was made)."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A promise or deadline read from a row. A timestamp is met by anything up to and including it; a date
    alone ('ship by 2026-11-20', a `DATE` column) is met by anything before the next local midnight, and
    falls due on that local day. (A dataclass: one is built per row.)"""

    due: datetime  # aware UTC: the timestamp, or the local midnight that starts the promised day
    ends: datetime  # aware UTC: the timestamp, or the local midnight that ends the promised day
    whole_day: bool

    def missed_by(self, moment: datetime) -> bool:
        """Whether something done at `moment` (aware) is late for it."""
        return moment >= self.ends if self.whole_day else moment > self.ends


@dataclass(frozen=True, slots=True)
class EventTime:
    """When something happened, read from a row (a pick, a shipment, an order's creation): an instant; or, for a
    date alone ('2026-11-20', a `DATE` column, a spreadsheet cell formatted as a date), the local day it happened
    on, its time of day unknown. `at` places it on its day exactly either way; a figure that needs the time of
    day (an hour, an age, lateness against a promise with a time) must ask `time_known`, or `missed`.
    (A dataclass: one is built per row.)"""

    at: datetime  # aware UTC: the instant, or the local midnight that starts the day
    latest: datetime  # aware UTC: the instant, or the day's last microsecond (before the next local midnight)
    time_known: bool

    def missed(self, promise: Deadline) -> bool | None:
        """Whether this was late for `promise`; None when the day alone cannot tell (a date alone on the day of a
        promise with a time of day: shipped at 09:00 or 17:00 against 10:00)."""
        if promise.missed_by(self.at):
            return True
        if not promise.missed_by(self.latest):
            return False
        return None


def _quoted(text: str) -> str:
    return repr(text.strip()[:40])


def _calendar_date(year: int, month: int, day: int) -> date:
    """The date, or a TimestampError saying why there is none ('February 2026 has 28 days'); an OverflowError
    for year 0, before the calendar Python holds (reported as out of the range of instants)."""
    written = f"{year:04d}-{month:02d}-{day:02d}"
    if year == 0:
        raise OverflowError(written)
    if not 1 <= month <= 12:
        raise TimestampError(f"{written} is not a date: there is no month {month}")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise TimestampError(f"{written} is not a date: {_MONTH_NAMES[month - 1]} {year} has {days} days")
    return date(year, month, day)


def _week_date_problem(year: int, week: int, weekday: int, written: str) -> str:
    if not 1 <= weekday <= 7:
        return f"{written} is not a date: a week's days run from 1 (Monday) to 7 (Sunday)"
    weeks = date(year, 12, 28).isocalendar().week  # 28 December is always in the year's last ISO week
    if not 1 <= week <= weeks:
        return f"{written} is not a date: {year} has {weeks} weeks"
    raise OverflowError(written)  # a real week date, past 9999-12-31 ('9999-W52-7' is 10000-01-02)


def _clock_problem(hour: int, minute: int, second: int, fraction: str, written: str) -> str | None:
    """What makes a time of day none ('24:30', '25:00', '08:61'); None when it is one. A second of 60 is a leap
    second, read as the last microsecond of its minute (see the module notes)."""
    if hour == 24 and (minute or second or fraction.strip(".,0")):
        return f"{written} is past 24:00, the end of the day"
    if hour > 24:
        return f"{written} is not a time of day: hours run from 00 to 23, and 24:00 ends the day"
    if minute > 59:
        return f"{written} is not a time of day: minutes run from 00 to 59"
    if second > 60:
        return f"{written} is not a time of day: seconds run from 00 to 59 (60 in a leap second)"
    return None


def _iso_problem(value: str) -> str | None:
    """What makes an ISO-8601-shaped value no instant ('2026-02-29 is not a date: February 2026 has 28 days',
    '24:30 is past the end of the day', '+25:00 is not a UTC offset'); None when it is not that. An
    OverflowError for a real date the calendar Python holds does not reach."""
    parts = _ISO_PARTS.fullmatch(value)
    if parts is None:
        return None
    if parts["year"]:
        try:
            _calendar_date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except TimestampError as error:
            return str(error)
    else:
        written = value[: parts.end("weekday")]
        return _week_date_problem(int(parts["week_year"]), int(parts["week"]), int(parts["weekday"]), written)
    if parts["clock"]:
        hour, minute, second = (int(parts[name] or 0) for name in ("hour", "minute", "second"))
        if problem := _clock_problem(hour, minute, second, parts["fraction"] or "", parts["clock"]):
            return problem
    if parts["offset_hours"] and int(parts["offset_hours"]) > 23:
        return f"{parts['offset']} is not a UTC offset: offsets are less than 24 hours"
    return None


def _without_leap_second(value: str) -> tuple[str, bool]:
    """An ISO-8601 value with a leap second ('…23:59:60Z') as the last microsecond of its minute, which Python
    can hold, and whether it had one."""
    parts = _ISO_PARTS.fullmatch(value)
    if parts is None or parts["second"] != "60" or int(parts["hour"]) > 23:
        return value, False
    end = parts.end("fraction") if parts["fraction"] else parts.end("second")
    return value[: parts.start("second")] + "59.999999" + value[end:], True


def _from_iso(value: str, is_date: bool) -> datetime | date:
    """`fromisoformat` of an _ISO_FORM value, or a TimestampError saying what is wrong with it."""
    value, _ = _without_leap_second(value)
    try:
        return date.fromisoformat(value) if is_date else datetime.fromisoformat(value)
    except ValueError:
        problem = _iso_problem(value)
        if problem is None:
            raise
        raise TimestampError(problem) from None


def _iso_text(value: str) -> datetime | date:
    """ISO-8601 text, including the forms `fromisoformat` does not read: ' UTC'/'GMT'/'z' for Z, ordinal dates
    ('2026-324'), 24:00 (the next midnight) and a trailing zone ID ('…+01:00[Europe/Berlin]': the offset
    decides the instant; without one the wall clock is read in that zone)."""
    zone_id = None
    match = None
    if value.endswith("]"):
        match = _ZONE_ID_SUFFIX.fullmatch(value)
    elif "/" in value[10:]:
        match = _ZONE_NAME_AFTER_SPACE.fullmatch(value)
    if match:
        try:
            value, zone_id = match["moment"], zone(match["zone"])
        except ValueError as error:
            raise TimestampError(str(error)) from None
    for suffix in _ZONE_SUFFIXES:
        if value.endswith(suffix) and value[: -len(suffix)][-1:].isdigit():
            value = value[: -len(suffix)].rstrip() + "Z"
            break
    if match := _ISO_ORDINAL_DATE.match(value):
        year, day_of_year = int(match["year"]), int(match["day"])
        if not 1 <= day_of_year <= 365 + calendar.isleap(year):
            raise TimestampError(f"{year} has no day {day_of_year}")
        value = (_calendar_date(year, 1, 1) + timedelta(days=day_of_year - 1)).isoformat() + value[match.end() :]
    next_day = False
    if "24" in value[8:] and (match := _ISO_END_OF_DAY.fullmatch(value)) and len(match["date"]) >= 8:
        value, next_day = f"{match['date']}T00:00{match['offset'] or ''}", True
    if not _ISO_FORM.fullmatch(value):
        _refuse_other_iso_shape(value)
    if len(value) <= _LONGEST_ISO_DATE and not next_day:
        if zone_id is not None:
            raise TimestampError("a time zone without a time of day")
        return _from_iso(value, is_date=True)
    moment = _from_iso(value, is_date=False) + timedelta(days=next_day)  # OverflowError past 9999-12-31T24:00
    assert isinstance(moment, datetime)
    if zone_id is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_id)
    return moment


def _refuse_other_iso_shape(value: str) -> NoReturn:
    if _DATE_WITH_OFFSET.fullmatch(value):
        raise TimestampError(
            "a date with a UTC offset and no time of day, whose day begins at another instant in each zone: give "
            "the date alone or a whole timestamp"
        )
    if value.isdigit():
        raise TimestampError(f"digits alone: only YYYYMMDD is read as a date ({_NUMBER_CANNOT_BE_TOLD})")
    raise ValueError("no known form")


_RFC_2822_LEAP_SECOND = re.compile(r"(?<=\d:\d{2}):60(?=\s)", re.ASCII)


def _rfc_2822(value: str, comment: str | None) -> datetime:
    """An RFC 2822 date; a trailing comment ('… +0000 (UTC)', as mail headers carry) is only a comment, and
    'Z' is UTC (RFC 822's military zone, which email.utils does not read)."""
    value = value[: -len(comment)].rstrip() if comment else value
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+0000"
    leap = _RFC_2822_LEAP_SECOND.search(value)
    if leap:  # '23:59:60': the last microsecond of its minute, as in ISO text
        value = value[: leap.start()] + ":59" + value[leap.end() :]
    moment = parsedate_to_datetime(value)
    if leap:
        moment = moment.replace(microsecond=999_999)
    if moment.tzinfo is None:  # '-0000': UTC, its local zone unknown (RFC 2822 3.3)
        moment = moment.replace(tzinfo=UTC)
    return moment


def _hour_of_day(match: re.Match[str]) -> int:
    """The match's `hour`, on a 24-hour clock: with a `meridiem` (a or p) it is 1-12, 12 AM being midnight."""
    hour = int(match["hour"])
    if match["meridiem"]:
        if not 1 <= hour <= 12:
            raise TimestampError(f"hour {hour} with AM/PM")
        hour = hour % 12 + (12 if match["meridiem"].lower() == "p" else 0)
    return hour


def _clock(match: re.Match[str], hour: int) -> time:
    """The match's time of day; a fraction of a second to the microsecond (SQL Server's 7 digits, 9 of a
    nanosecond clock), as ISO text is read."""
    minute, second, fraction = int(match["minute"]), int(match["second"] or 0), match["fraction"] or ""
    written = ":".join(part for part in (match["hour"], match["minute"], match["second"]) if part)
    if problem := _clock_problem(hour, minute, second, fraction, written):
        raise TimestampError(problem)
    if hour == 24:
        raise TimestampError("24:00, the end of a day, is read in ISO-8601 text only (write 00:00 of the next day)")
    if second == 60:  # a leap second: the last microsecond of its minute, as in ISO text
        return time(hour, minute, 59, 999_999)
    return time(hour, minute, second, int(fraction[:6].ljust(6, "0")))


def _month_name_date(match: re.Match[str]) -> datetime | date:
    month = _MONTHS.get((match["month"] or match["month_first"]).lower())
    if month is None:
        raise TimestampError(f"{(match['month'] or match['month_first'])!r} is not an English month name")
    day = _calendar_date(int(match["year"]), month, int(match["day"] or match["day_second"]))
    if match["hour"] is None:
        return day
    return datetime.combine(day, _clock(match, _hour_of_day(match)))


def _check_weekday(match: re.Match[str], moment: datetime | date) -> None:
    if match["weekday"] is None:
        return
    weekday = _WEEKDAYS.get(match["weekday"].lower())
    if weekday is None:
        raise TimestampError(f"{match['weekday']!r} is not an English weekday name")
    if weekday != moment.weekday():
        raise TimestampError(f"{moment:%Y-%m-%d} is a {moment:%A}, not a {match['weekday']}")


def _year_first_as_iso(match: re.Match[str]) -> str:
    """A _YEAR_FIRST_LOOSE value as ISO-8601 text (the date checked here, so that the reason names it)."""
    text = _calendar_date(int(match["year"]), int(match["month"]), int(match["day"])).isoformat()
    if match["hour"] is None:
        return text
    hour = _hour_of_day(match)
    offset = match["offset"] or ""
    if offset.upper() in ("UTC", "GMT"):
        offset = "Z"
    seconds = f":{match['second']}{match['fraction'] or ''}" if match["second"] else ""
    return f"{text}T{hour:02d}:{match['minute']}{seconds}{offset}"


def _other_text(value: str) -> datetime | date:
    """The forms `fromisoformat` does not read; ValueError for anything else."""
    if value[:4].isdigit():  # a year first: ISO-8601 or a loose form of it (none of the other forms starts so)
        if _ZERO_DATE.fullmatch(value):
            raise NoDateError(f"{_quoted(value)} is MySQL's zero date, which stands for no date")
        if not _ISO_FORM.fullmatch(value) and (match := _YEAR_FIRST_LOOSE.fullmatch(value)):
            return _iso_text(_year_first_as_iso(match))
        return _iso_text(value)
    if match := _RFC_2822.fullmatch(value):
        moment: datetime | date = _rfc_2822(value, match["comment"])
    elif match := _MONTH_NAME_DATE.fullmatch(value):
        moment = _month_name_date(match)
    elif match := _DOTTED_DATE.fullmatch(value):
        day = _calendar_date(int(match["year"]), int(match["month"]), int(match["day"]))
        if not match["time"]:
            return day
        return datetime.combine(day, _clock(match, int(match["hour"])))
    else:
        raise ValueError("no known form")
    _check_weekday(match, moment)
    return moment


# A trailing offset (before a zone ID): Python reads '+05:60' as +06:00 and email.utils '+0599' as +06:39.
_TRAILING_OFFSET = re.compile(r"[T :.\d][+-](?P<hours>\d{2}):?(?P<minutes>\d{2})(?:\[[^\]]*\])?", re.ASCII)


def _text_timestamp(text: str) -> datetime | date:
    """A timestamp written as text, or a `date` when it is a date alone."""
    try:
        return _read_text(text)
    except OverflowError:  # a day added to 9999-12-31 ('9999-12-31T24:00'), a week date past it, year 0
        raise TimestampError(f"{_quoted(text)} is out of the range of instants") from None


def _read_text(text: str) -> datetime | date:
    value = text.strip()
    if not value:
        raise TimestampError("empty text")
    if len(value) > MAX_TIMESTAMP_CHARS:
        raise TimestampError(f"text of {len(value)} characters is too long for a timestamp ({value[:24]!r}…)")
    tail = value[-24:]
    offset = _TRAILING_OFFSET.search(tail) if ("+" in tail or "-" in tail[8:]) else None
    if offset and offset.end() == len(tail) and int(offset["minutes"]) > 59:
        raise TimestampError(f"{_quoted(text)} has an offset with {offset['minutes']} minutes (at most 59)")
    if _ISO_FORM.fullmatch(value):  # the common case first: plain ISO-8601
        try:
            return date.fromisoformat(value) if len(value) <= _LONGEST_ISO_DATE else datetime.fromisoformat(value)
        except ValueError:
            pass
    if value.lower() in _INFINITIES:
        raise InfiniteTimestampError(f"{_quoted(text)} (PostgreSQL's endless value) is not a real instant")
    try:
        return _other_text(value)
    except NoDateError:
        raise
    except ValueError as error:  # a TimestampError of the readers says what is wrong with a value of their form
        if isinstance(error, TimestampError):
            why = str(error)
        elif _YEAR_LAST_SLASH_DATE.match(value):
            why = "a slash date is ambiguous: 03/12/2026 is March or December"
        elif _NUMBER_TEXT.fullmatch(value):
            why = f"a number: {_NUMBER_CANNOT_BE_TOLD}"
        else:
            why = (
                "not ISO-8601 (nor a year-first date such as 2026/11/20 08:05), RFC 2822, an English month name "
                "or DD.MM.YYYY"
            )
        raise TimestampError(f"{_quoted(text)} is not a readable date or timestamp ({why})") from None


def _value(value: object) -> datetime | date:
    if isinstance(value, date):  # a datetime is a date too
        return value
    if isinstance(value, str):
        return _text_timestamp(value)
    if isinstance(value, bool):
        raise TimestampError(f"a boolean ({value}) is not a timestamp")
    if isinstance(value, int | float | Decimal):
        raise TimestampError(f"the number {value} is not read as a timestamp: {_NUMBER_CANNOT_BE_TOLD}")
    raise TimestampError(f"a {type(value).__name__} is not a timestamp")


def _utc(moment: datetime, tz: tzinfo, value: object) -> datetime:
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=tz)
    try:
        instant = moment.astimezone(UTC)
        if not 1 < instant.year < 9999:  # at the calendar's ends: the day's own zone must reach it too (a report
            instant.astimezone(tz)  # reads it on a local clock: 0001-01-01T00:00Z is still year 0 in New York)
        return instant
    except OverflowError:  # e.g. 0001-01-01 east of UTC, 9999-12-31 west of it
        raise TimestampError(f"{_quoted(str(value))} is out of the range of instants") from None


def parse_timestamp(value: object, tz: tzinfo) -> datetime:
    """A row value as an aware UTC datetime: native datetimes and dates, or text in an unambiguous form —
    ISO-8601 (`T` or a space before the time, fractional seconds, an offset, `Z` or ` UTC`, week and ordinal
    dates, 24:00, a trailing `[Zone/Name]`), RFC 2822 / HTTP dates, English month names ('20 Nov 2026 08:05',
    'Nov 20, 2026 8:05 AM') and day-first dotted dates ('20.11.2026 08:05').
    Zone-less values are wall-clock times in `tz`; a date alone is its local midnight (which places it on its
    day, but says nothing of its time: where the time of day matters, use `parse_event_time`).
    Raises TimestampError for anything else: numbers and digits alone other than YYYYMMDD (seconds, milliseconds
    or an Excel serial date is a guess), a date with an offset and no time, slash dates (03/12/2026 is March or
    December), instants out of Python's range or that the zone `tz` cannot show (year 0 or 10000 there), dates
    and times that do not exist (2026-02-29, 24:30, an offset of +25:00), PostgreSQL's 'infinity'
    (InfiniteTimestampError), MySQL's zero date (NoDateError). A leap second (23:59:60) is the last microsecond
    of its minute. Also read: year-first dates with slashes or unpadded parts, a one-digit hour
    and a 12-hour clock after a year-first date ('2026/11/20 2:05 PM'), Oracle's '20-Nov-2026 08:05'."""
    moment = _value(value)
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0))
    return _utc(moment, tz, value)


def timestamp_as_written(text: str) -> datetime:
    """A timestamp text read as `parse_timestamp` reads it, but left as written: aware when it carries an offset
    or a zone, naive (a wall-clock time in a zone it does not say) when not; a date alone is its midnight.
    Raises TimestampError as `parse_timestamp` does."""
    moment = _text_timestamp(text)
    return moment if isinstance(moment, datetime) else datetime.combine(moment, time(0))


def parse_deadline(value: object, tz: tzinfo) -> Deadline | None:
    """A promise or deadline (see `Deadline`); None for PostgreSQL's 'infinity' and '-infinity' (no promise
    made). Raises TimestampError as `parse_timestamp` does."""
    try:
        moment = _value(value)
    except InfiniteTimestampError:
        return None
    if isinstance(moment, datetime):
        instant = _utc(moment, tz, value)
        return Deadline(due=instant, ends=instant, whole_day=False)
    starts, ends = _local_day_bounds(moment, tz, value)
    return Deadline(due=starts, ends=ends, whole_day=True)


def parse_event_time(value: object, tz: tzinfo) -> EventTime:
    """When something happened (see `EventTime`): an instant, or for a date alone its local day, its time of day
    unknown. Raises TimestampError as `parse_timestamp` does."""
    moment = _value(value)
    if isinstance(moment, datetime):
        instant = _utc(moment, tz, value)
        return EventTime(at=instant, latest=instant, time_known=True)
    starts, ends = _local_day_bounds(moment, tz, value)
    return EventTime(at=starts, latest=ends - timedelta(microseconds=1), time_known=False)


def _local_day_bounds(day: date, tz: tzinfo, value: object) -> tuple[datetime, datetime]:
    """The local midnights starting and ending `day` in `tz`, as UTC instants (TimestampError naming `value` when
    one is out of the range of instants: 9999-12-31 has no next midnight)."""
    try:
        following = day + timedelta(days=1)
    except OverflowError:
        raise TimestampError(f"{_quoted(str(value))} is out of the range of instants") from None
    return _utc(datetime.combine(day, time(0)), tz, value), _utc(datetime.combine(following, time(0)), tz, value)


# --- keeping the rows of a span of local days ---------------------------------------------------------

MAX_SPAN_DAYS = 366


class LocalPeriod(BaseModel):
    """Whole calendar days first_day … last_day in a time zone, as the half-open interval [start, end)."""

    first_day: date
    last_day: date
    timezone: str
    start: datetime
    end: datetime


def local_period(first_day: date, last_day: date, timezone: str = DEFAULT_TIMEZONE) -> LocalPeriod:
    if last_day < first_day:
        raise ValueError(f"the period ends ({last_day}) before it starts ({first_day})")
    if (last_day - first_day).days >= MAX_SPAN_DAYS:
        raise ValueError(f"a period of at most {MAX_SPAN_DAYS} days, got {(last_day - first_day).days + 1}")
    tz = zone(timezone)
    try:
        return LocalPeriod(
            first_day=first_day,
            last_day=last_day,
            timezone=timezone,
            start=_local_midnight(first_day, tz),
            end=_local_midnight(last_day + timedelta(days=1), tz),
        )
    except OverflowError:
        raise _too_near_the_calendar_ends(first_day if first_day.year == 1 else last_day) from None


def rows_within_period(
    columns: list[str], rows: list[list[object]], column: str, period: LocalPeriod
) -> tuple[list[list[object]], int, int]:
    """The rows whose `column` falls in the period (timestamps read by `parse_timestamp` in the period's
    zone), the number outside it and the number whose value is not a readable timestamp."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    return _split_rows(columns, rows, column, zone(period.timezone), lambda moment: start <= moment < end)


def _split_rows(
    columns: list[str],
    rows: list[list[object]],
    column: str,
    tz: tzinfo,
    keep: Callable[[datetime], bool],
    keep_empty: bool = False,
) -> tuple[list[list[object]], int, int]:
    """The rows whose `column`, read by `parse_timestamp` in `tz`, is one to `keep` (an empty value kept too with
    `keep_empty`, else unreadable); the number of the others, and of the values that are not readable timestamps."""
    if column not in columns:
        raise ValueError(f"no column {column!r} (has: {', '.join(columns)})")
    index = columns.index(column)
    kept, others, unreadable = [], 0, 0
    for row in rows:
        value = row[index]
        # MySQL's zero date is its "no date": kept as an empty value is (an action never closed)
        if keep_empty and (value is None or (isinstance(value, str) and not value.strip()) or is_zero_date(value)):
            kept.append(row)
            continue
        try:
            moment = parse_timestamp(value, tz)
        except TimestampError:
            unreadable += 1
            continue
        if keep(moment):
            kept.append(row)
        else:
            others += 1
    return kept, others, unreadable


def end_of_local_day(day: date, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """The instant a local calendar day ends: the next local midnight in the zone."""
    tz = zone(timezone)
    try:
        return _local_midnight(day + timedelta(days=1), tz)
    except OverflowError:
        raise _too_near_the_calendar_ends(day) from None


def rows_open_at(
    columns: list[str], rows: list[list[object]], column: str, moment: datetime, tz: tzinfo
) -> tuple[list[list[object]], int, int]:
    """The rows still open at `moment`: `column` (when a row was closed — completed, resolved, shipped) empty or
    at or after it, read by `parse_timestamp` in `tz`; the number closed before it and the number whose value is
    not a readable timestamp (neither open nor closed as far as can be told)."""
    at = moment.astimezone(UTC)
    return _split_rows(columns, rows, column, tz, lambda closed_at: closed_at >= at, keep_empty=True)
