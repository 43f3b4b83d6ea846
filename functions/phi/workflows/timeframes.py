"""Report days in a site's time zone, and timestamps read from customers' databases, made comparable.

Reusable by any workflow that reports on a local calendar day (the daily warehouse report first):

- `report_day(day, timezone)`: the day as a half-open interval of time-zone-aware instants, plus the wider
  window of instants a query asks for so that it catches every row of the day whatever form the source stores
  its timestamps in (see `ReportDay`).
- `parse_timestamp(value, zone)`: one row timestamp, in any common form, as an aware UTC datetime.

The rule for zone-less values: a timestamp that carries no offset (SQLite text without `Z`/`+hh:mm`,
PostgreSQL `TIMESTAMP`, MySQL `DATETIME`, a spreadsheet cell) is a wall-clock time **in the site's time
zone**. Values with an offset or `Z`, and native time-zone-aware values, are exact instants. A zone-less
value in the hour a DST change repeats is taken at its first occurrence (fold=0); one in a skipped hour maps
with the offset in force before the change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, Field

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


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone, or a ValueError that names the bad value (only names of the tz database are
    opened: never a directory or another file of it)."""
    if not name or len(name) > 64 or name not in _known_zones():
        raise ValueError(f"unknown time zone {name[:64]!r}: use an IANA name such as 'Europe/London' or 'UTC'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/London' or 'UTC'") from None


def check_timezone(name: str) -> str:
    """For pydantic validators: the name when it is a known IANA time zone."""
    zone(name)
    return name


class ReportDay(BaseModel):
    """One calendar day in a time zone: the exact interval, and the wider window a query fetches."""

    day: date
    timezone: str = Field(description="IANA name; zone-less timestamps are read as wall-clock times in it")
    start: datetime = Field(description="Local midnight starting the day (aware)")
    end: datetime = Field(description="Local midnight ending the day (aware); 23 or 25 hours later on DST days")
    query_start: datetime = Field(description="Aware UTC instant opening the SQL window (see module notes)")
    query_end: datetime = Field(description="Aware UTC instant closing the SQL window")

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def contains(self, moment: datetime | None) -> bool:
        # Aware datetimes of different zones compare as instants (same-zone ones would compare wall clocks).
        return moment is not None and self.start.astimezone(UTC) <= moment.astimezone(UTC) < self.end.astimezone(UTC)

    def in_window(self, moment: datetime) -> bool:
        return self.query_start <= moment < self.query_end

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def local_hours(self) -> set[int]:
        """The wall-clock hours that exist on this day (a spring-forward day lacks one)."""
        hours, moment = set(), self.start.astimezone(UTC)
        while moment < self.end:
            hours.add(moment.astimezone(self.tz).hour)
            moment += timedelta(hours=1)
        return hours

    @property
    def length_hours(self) -> float:
        return (self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds() / 3600


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # A midnight skipped by a DST change (a few zones switch at 00:00) resolves, with fold=0, to the first
    # instant after the gap.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def report_day(day: date, timezone: str = DEFAULT_TIMEZONE) -> ReportDay:
    tz = zone(timezone)
    utc_midnight = datetime.combine(day, time(0), tzinfo=UTC)
    return ReportDay(
        day=day,
        timezone=timezone,
        start=_local_midnight(day, tz),
        end=_local_midnight(day + timedelta(days=1), tz),
        query_start=utc_midnight - timedelta(days=WINDOW_DAYS_BEFORE, seconds=1),
        query_end=utc_midnight + timedelta(days=WINDOW_DAYS_AFTER),
    )


def yesterday(timezone: str = DEFAULT_TIMEZONE, now: datetime | None = None) -> date:
    """The calendar day before today, in the time zone."""
    return ((now or datetime.now(UTC)).astimezone(zone(timezone)) - timedelta(days=1)).date()


def iso_instant(moment: datetime) -> str:
    """An aware instant as ISO-8601 with its offset (what typed `$datetime` parameters carry)."""
    if moment.tzinfo is None:
        raise ValueError("a zone-less datetime is not an instant")
    return moment.isoformat()


# --- reading row timestamps ---------------------------------------------------------------------------

_ZONE_SUFFIXES = (" UTC", " GMT", "UTC", "GMT", "z")


def _text_timestamp(text: str) -> datetime:
    value = text.strip()
    if not value:
        raise TimestampError("empty text")
    if len(value) > MAX_TIMESTAMP_CHARS:
        raise TimestampError(f"text of {len(value)} characters is too long for a timestamp ({value[:24]!r}…)")
    for suffix in _ZONE_SUFFIXES:  # '… UTC', '…z': forms fromisoformat does not take
        if value.endswith(suffix) and value[: -len(suffix)][-1:].isdigit():
            value = value[: -len(suffix)].rstrip() + "Z"
            break
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise TimestampError(f"{text.strip()[:40]!r} is not an ISO-8601 date or timestamp") from None


def parse_timestamp(value: object, tz: tzinfo) -> datetime:
    """A row value as an aware UTC datetime: native datetimes and dates, or ISO-8601 text with `T` or a
    space before the time, with or without fractional seconds, with or without an offset or `Z`.
    Zone-less values are wall-clock times in `tz`; a date alone is its local midnight.
    Raises TimestampError for anything else (numbers are refused: seconds or milliseconds is a guess)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    elif isinstance(value, str):
        moment = _text_timestamp(value)
    elif isinstance(value, int | float):  # bool is an int
        raise TimestampError(f"the number {value!r} is not a timestamp (epoch values are not read)")
    else:
        raise TimestampError(f"a {type(value).__name__} is not a timestamp")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


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
    return LocalPeriod(
        first_day=first_day,
        last_day=last_day,
        timezone=timezone,
        start=_local_midnight(first_day, tz),
        end=_local_midnight(last_day + timedelta(days=1), tz),
    )


def rows_within_period(
    columns: list[str], rows: list[list[object]], column: str, period: LocalPeriod
) -> tuple[list[list[object]], int, int]:
    """The rows whose `column` falls in the period (timestamps read by `parse_timestamp` in the period's
    zone), the number outside it and the number whose value is not a readable timestamp."""
    if column not in columns:
        raise ValueError(f"no column {column!r} (has: {', '.join(columns)})")
    index, tz = columns.index(column), zone(period.timezone)
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    kept, outside, unreadable = [], 0, 0
    for row in rows:
        try:
            moment = parse_timestamp(row[index], tz)
        except TimestampError:
            unreadable += 1
            continue
        if start <= moment < end:
            kept.append(row)
        else:
            outside += 1
    return kept, outside, unreadable
