"""Deterministic warehouse KPIs for one report day, computed from the `db.query` results.

Definitions (the report day is the half-open interval [local midnight, next local midnight) in the
warehouse's time zone, `phi.workflows.timeframes.ReportDay`; zone-less timestamps are wall-clock times in
that zone):
- throughput: orders with a shipment shipped during the day; pick lines (rows of `picks`) and units
  picked during the day; orders received (created) during the day.
- pick rate per picker: lines / active hours, active hours = first to last pick of the day, at least
  `Thresholds.min_picker_active_hours`.
- promises (shipments.promised_at, orders.promised_ship_at) are `phi.workflows.timeframes.Deadline`s: a
  timestamp is kept by shipping at or before it; a date alone ('2026-11-20', a `DATE` column) by shipping
  before the next local midnight, and it falls due on that local day. PostgreSQL's 'infinity' /
  '-infinity' there means no promise: never due, never late.
- late orders: shipped during the day after their promise, plus promised during the day and not
  shipped by its end. The late rate is late orders / orders counted for the rate, where the orders counted
  are those promised during the day plus those promised earlier that shipped late during it (so it stays
  within 0-100%); the report shows that denominator next to the rate.
- backlog: orders created by the end of the day and not shipped by it; age of the oldest in hours; overdue:
  those whose promise the end of the day has missed.
- hourly: lines per local wall-clock hour; a dip is an hour strictly inside the picking window (first to
  last hour with picks) whose lines fall below `min_hourly_pick_ratio` times the median hour of that window.
- event times given as a date alone (picked_at, shipped_at, created_at: a `DATE` column, '2026-11-20', a
  spreadsheet cell formatted as a date) are `phi.workflows.timeframes.EventTime`s with no time of day. They
  place the row on its day exactly (throughput, lines and units, orders shipped and received, who is open at
  the end of the day) but are left out of whatever needs the time of day: the picks per hour (and a dip is
  flagged only if the hour would still be one with all such picks in it), a picker's first and last pick and
  rate, the oldest open order's age, and lateness against a promise with a time of day unless the dates decide
  it (shipped on a later date than the promise's: late; on an earlier date: on time; on its date: neither, and
  not counted for the rate). The data notes say how many rows of which column had no time of day.
- data quality: the queries fetch a window wider than the day; every row's timestamps are parsed and the
  day is kept exactly. Rows whose timestamps (or numbers) cannot be read — including a required timestamp that
  is empty or PostgreSQL's 'infinity' — are skipped and counted (with the reason), as are rows
  the database returned although their timestamps lie far outside the window it was asked for; a notable
  share raises DATA_QUALITY. A day with no rows at all raises NO_DATA; orders due or shipped with no pick
  recorded all day raises NO_PICKS.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, model_validator

from phi.definitions.table import repeated
from phi.definitions.values import number_in_text
from phi.workflows.timeframes import (
    Deadline,
    EventTime,
    ReportDay,
    TimestampError,
    is_zero_date,
    parse_deadline,
    parse_event_time,
    report_day,
)
from phi.workflows.warehouse.columns import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from phi.workflows.warehouse.queries import DATASETS

LATE_ORDER_IDS_CAP = 50
NO_CARRIER = "(no carrier given)"  # a shipment whose carrier is empty, in the late orders by carrier
CARRIER_NAME_CHARS = 80
CARRIERS_CAP = 50  # a carrier column holding tracking numbers would otherwise list thousands
CRITICAL_FACTOR = 2.0  # a crossing this many times beyond its threshold is critical
QUALITY_EXAMPLES = 3
# Rows the database returns as inside the window may read a little outside it (text compared as text ignores
# offsets, and ' ' sorts before 'T'); further out than this, the database and the report disagree.
WINDOW_TOLERANCE = timedelta(days=2)
# The text a window comparison can order (what the SQLite variants' GLOB keeps in the window); the variants return
# every other row whatever its date, so such a row read far from the window is no disagreement with the database.
_WINDOW_COMPARABLE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATA_CODES = ("NO_DATA", "DATA_QUALITY", "NO_PICKS")  # anomalies about the data itself, shown first

Severity = Literal["warning", "critical"]
T = TypeVar("T")


class TabularData(BaseModel):
    """A `db.query` result: columns, rows, row count, and whether the agent's row cap cut it short."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int = -1
    truncated: bool = False

    @model_validator(mode="after")
    def _default_row_count(self) -> TabularData:
        if self.row_count < 0:
            self.row_count = len(self.rows)
        return self

    def iter_dicts(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=False))


class Thresholds(BaseModel):
    max_late_rate: float = Field(default=0.05, ge=0, le=1, description="late orders / orders counted for the rate")
    min_picker_lines_per_hour: float = Field(default=10.0, ge=0)
    min_picker_lines_for_rating: int = Field(default=20, ge=0, description="fewer lines: picker not rated")
    min_picker_active_hours: float = Field(default=1.0, gt=0, description="shortest active span used")
    max_backlog_orders: int = Field(default=200, ge=0)
    max_backlog_age_hours: float = Field(default=24.0, ge=0)
    min_hourly_pick_ratio: float = Field(default=0.5, ge=0, le=1, description="hour's lines / median hour")
    max_unreadable_share: float = Field(
        default=0.01, ge=0, le=1, description="share of a dataset's rows that may be unreadable or misplaced"
    )


class Throughput(BaseModel):
    orders_received: int
    orders_shipped: int
    lines_picked: int
    units_picked: float
    lines_without_time_of_day: int = Field(
        default=0, description="Of lines_picked, those picked on a date with no time of day: not in `hourly`"
    )


class HourlyPicks(BaseModel):
    hour: int = Field(description="Local wall-clock hour in the warehouse's time zone")
    lines: int
    units: float
    length_hours: float = Field(
        default=1.0,
        description="How long this wall-clock hour lasted on the day: 0 when a clock change skipped it, 2 when one "
        "repeated it (0.5 and 1.5 for Lord Howe Island's 30-minute change); its lines are that span's",
    )

    def clock_change(self) -> str:
        """What a clock change did to the hour ('' on most days): a repeated hour holds two hours' picks, and must
        not read as a busy one; a skipped one is no hour nobody picked in."""
        if self.length_hours == 1:
            return ""
        if self.length_hours == 0:
            return "skipped: the clocks went forward"
        minutes = round(self.length_hours * 60)
        length = " ".join(part for part in (f"{minutes // 60} h" if minutes >= 60 else "",
                                            f"{minutes % 60} min" if minutes % 60 else "") if part)  # fmt: skip
        return f"{length} long: the clocks went {'forward' if self.length_hours < 1 else 'back'}"


class PickerRate(BaseModel):
    """A picker's day. The times and rate are None when some of the picker's picks have a date and no time of day
    (`lines_without_time_of_day`): when those were picked, and so the rate, cannot be told."""

    picker_id: str
    picker_name: str | None
    shift: str | None
    lines: int
    units: float
    first_pick_at: datetime | None
    last_pick_at: datetime | None
    active_hours: float | None
    lines_per_hour: float | None
    lines_without_time_of_day: int = 0


class CarrierLateness(BaseModel):
    carrier: str = Field(description="The shipments' carrier; NO_CARRIER when a shipment names none")
    counted: int = Field(description="Orders counted for the rate with a counted shipment of this carrier")
    late: int = Field(description="Of those, the orders late with this carrier")
    late_rate: float


class LateOrders(BaseModel):
    orders_due: int = Field(description="Orders promised during the day")
    promised_earlier_shipped_late: int = Field(
        default=0, description="Orders promised before the day that shipped (late) during it"
    )
    rate_base: int = Field(default=0, description="Orders counted for the rate: the two above, each once")
    late_count: int
    late_rate: float = Field(description="late_count / rate_base (0 when nothing is counted)")
    shipped_late: int
    unshipped_past_promise: int
    late_order_ids: list[str]
    late_order_ids_truncated: bool
    by_carrier: list[CarrierLateness] = Field(
        default_factory=list,
        description="Per carrier, most late orders first; empty when the shipments have no carrier column. An order "
        "shipped in parts with two carriers counts once under each. At most CARRIERS_CAP (50) of them.",
    )
    carriers: int = Field(
        default=0, description="How many carriers the counted shipments name (by_carrier may list fewer)"
    )
    lateness_unknown: int = Field(
        default=0,
        description="Orders due this day shipped on it with a date and no time of day, against a promise with a time "
        "of day: neither late nor on time, and left out of rate_base (the orders due and promised earlier, less these)",
    )


class Backlog(BaseModel):
    orders: int
    lines: int | None
    overdue: int
    oldest_created_at: datetime | None = Field(description="Of the open orders whose creation has a time of day")
    oldest_age_hours: float = Field(description="Of the open orders whose creation has a time of day")
    without_time_of_day: int = Field(
        default=0, description="Open orders created on a date with no time of day: left out of the oldest's age"
    )
    earliest_date_without_time: date | None = Field(default=None, description="The earliest of those dates")
    earliest_date_age_at_least: float = Field(
        default=0.0,
        description="The least age, in hours at end of day, an order created on that earliest date can have "
        "(created at the latest as that date ended): certain, so it is checked against the age limit too",
    )

    @property
    def oldest_age_known(self) -> float:
        """The oldest open order's age as far as it is certain: with a time of creation, or at least this old."""
        return max(self.oldest_age_hours, self.earliest_date_age_at_least)


class DatasetQuality(BaseModel):
    """How many of a dataset's rows the report could use."""

    dataset: str
    rows: int = Field(description="Rows the query returned (the day and its surrounding window)")
    unreadable: int = Field(default=0, description="Rows skipped: a timestamp or number could not be read")
    unreadable_timestamps: int = Field(
        default=0, description="Of the unreadable rows, those whose timestamp is missing or in a form not read"
    )
    outside_window: int = Field(
        default=0, description="Rows skipped: their timestamps lie far outside the window the query asked for"
    )
    in_day: int = Field(default=0, description="Rows whose timestamps fall on the report day")
    without_time_of_day: dict[str, int] = Field(
        default_factory=dict,
        description="Rows read whose event time (picked_at, shipped_at, created_at) is a date with no time of day, by "
        "column: they count on their day, not in the figures that need the time of day",
    )
    examples: list[str] = Field(default_factory=list, description="Why the first skipped rows were skipped")

    @property
    def skipped(self) -> int:
        return self.unreadable + self.outside_window

    @property
    def skipped_share(self) -> float:
        return self.skipped / self.rows if self.rows else 0.0


class Anomaly(BaseModel):
    code: str
    metric: str
    value: float
    threshold: float
    severity: Severity
    message: str
    subject: str | None = None


class WarehouseKpis(BaseModel):
    day: date
    timezone: str = "UTC"
    period_start: datetime
    period_end: datetime
    throughput: Throughput
    hourly: list[HourlyPicks]
    pickers: list[PickerRate]
    late: LateOrders
    backlog: Backlog
    anomalies: list[Anomaly]
    data_quality: list[DatasetQuality] = Field(default_factory=list)
    data_warnings: list[str]
    thresholds: Thresholds

    def picker_lines(self) -> dict[str, int]:
        return {picker.picker_id: picker.lines for picker in self.pickers}


# --- reading rows -----------------------------------------------------------------------------------


class RowError(ValueError):
    """One row the report cannot use; it is skipped and counted."""


class RowTimestampError(RowError):
    """A row whose timestamp is missing or not in a form the report reads."""


# A number text with one comma and three digits after it ('1,500', '0,250'): 1500 with a thousands comma, or 1.5
# with a decimal comma. `number_in_text` reads neither, so that the table ops and the report agree.
# (An exponent of at most two digits: "1,500e999999" is no quantity either way, and Decimal would overflow
# writing it out; the two readings are quoted at most 40 characters long.)
_ONE_THOUSANDS_GROUP = re.compile(r"\s*[+-]?\d{1,3},\d{3}(?:[eE][+-]?\d{1,2})?\s*", re.ASCII)
_NOT_FINITE_WORDS = frozenset({"nan", "inf", "infinity"})


def _plain(number_text: str) -> str:
    """A number text as its plain digits: '0250' is 250, '0.250' is 0.25."""
    plain = format(Decimal(number_text).normalize(), "f")
    return plain if len(plain) <= 40 else f"{plain[:37]}..."


def _shown(value: Any) -> str:
    """A cell's value as an error quotes it: its text, at most 40 characters."""
    return repr(str(value)[:40])


def _is_empty(value: Any) -> bool:
    """No value: null, or text of blanks only (a padded export's empty field)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _no_timestamp(value: Any) -> bool:
    """No timestamp: empty, or MySQL's zero date, which it stores for "no date" (an order not shipped yet)."""
    return _is_empty(value) or is_zero_date(value)


@dataclass(frozen=True)
class _Row:
    dataset: str
    index: int
    values: dict[str, Any]
    tz: tzinfo
    dates_alone: list[str] = field(default_factory=list)  # the event-time columns read as a date with no time

    def _fail(self, column: str, problem: str) -> RowError:
        return RowError(f"row {self.index}, {column}: {problem}")

    def text(self, column: str) -> str:
        value = self.values.get(column)
        if _is_empty(value):
            raise self._fail(column, "missing value")
        return str(value)

    def optional_text(self, column: str) -> str | None:
        value = self.values.get(column)
        return None if value is None else str(value)

    def number(self, column: str) -> float:
        """A count or quantity: a native number, or text read as the table ops read it (`number_in_text`:
        '1,234.5' and '1,234,567' are numbers; '1,500' is refused, 1500 or 1.5 being a guess)."""
        value = self.values.get(column)
        if value is None:  # older local agents sent a NaN or infinite float or NUMERIC as null (now as text)
            raise self._fail(column, "no number (null: none was given, or a NaN or infinity from an older local agent)")
        if isinstance(value, str):
            return self._finite(column, value, self._number_in_text(column, value))
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self._fail(column, f"expected a number, got {_shown(value)}")
        return self._finite(column, value, value)

    def _number_in_text(self, column: str, text: str) -> int | float:
        number = number_in_text(text)
        if number is not None:
            return number
        if _is_empty(text):
            raise self._fail(column, "missing value")
        if _ONE_THOUSANDS_GROUP.fullmatch(text):
            thousands, decimal = (_plain(text.strip().replace(",", mark)) for mark in ("", "."))
            raise self._fail(
                column,
                f"{_shown(text)} is ambiguous: {thousands} with a thousands comma, or {decimal} with a decimal comma",
            )
        if text.strip().lower().lstrip("+-") in _NOT_FINITE_WORDS:
            raise self._fail(column, f"expected a finite number, got {_shown(text)}")
        raise self._fail(column, f"expected a number, got {_shown(text)}")

    def _finite(self, column: str, value: Any, number: int | float | Decimal) -> float:
        try:
            as_float = float(number)
        except (ValueError, OverflowError):  # an int past float's range; Decimal's signalling NaN
            raise self._fail(column, f"expected a number, got {_shown(value)}") from None
        if not math.isfinite(as_float):  # NaN or infinity (PostgreSQL's numeric NaN, '1e999'): no count or quantity
            raise self._fail(column, f"expected a finite number, got {_shown(value)}")
        return as_float

    def optional_int(self, column: str) -> int | None:
        """A count (an order's lines): a whole number, or none. 2.5 lines is refused rather than cut to 2."""
        if _is_empty(self.values.get(column)):
            return None
        number = self.number(column)
        if not number.is_integer():
            raise self._fail(column, f"expected a whole number, got {_shown(self.values.get(column))}")
        return int(number)

    def event_time(self, column: str) -> EventTime:
        moment = self.optional_event_time(column)
        if moment is None:
            raise RowTimestampError(f"row {self.index}, {column}: missing timestamp")
        return moment

    def optional_event_time(self, column: str) -> EventTime | None:
        """When something happened; a date alone is noted in `dates_alone` (see `EventTime`)."""
        moment = self._parsed(column, parse_event_time)
        if moment is not None and not moment.time_known:
            self.dates_alone.append(column)
        return moment

    def deadline(self, column: str, *, required: bool) -> Deadline | None:
        """A promise: None when the row has none ('infinity'; an empty value where it is optional)."""
        if required and _no_timestamp(self.values.get(column)):
            raise RowTimestampError(f"row {self.index}, {column}: missing timestamp")
        return self._parsed(column, parse_deadline)

    def _parsed(self, column: str, parse: Callable[[Any, tzinfo], T]) -> T | None:
        """The column's value read by `parse`; None when empty; a RowTimestampError naming the row otherwise."""
        value = self.values.get(column)
        if _no_timestamp(value):
            return None
        try:
            return parse(value, self.tz)
        except TimestampError as error:
            raise RowTimestampError(f"row {self.index}, {column}: {error}") from None


def _rows(name: str, data: TabularData, tz: tzinfo) -> Iterator[_Row]:
    missing = [column for column in REQUIRED_COLUMNS[name] if column not in data.columns]
    if missing:
        raise ValueError(f"dataset {name!r} lacks column(s) {', '.join(missing)} (has: {', '.join(data.columns)})")
    twice = repeated(data.columns, {*REQUIRED_COLUMNS[name], *OPTIONAL_COLUMNS.get(name, ())})
    if twice:
        raise ValueError(f"dataset {name!r} has column(s) {', '.join(twice)} more than once; keep one of each")
    width = len(data.columns)
    for index, values in enumerate(data.rows):
        if len(values) != width:
            raise ValueError(f"dataset {name!r}, row {index}: {len(values)} values for {width} columns")
        yield _Row(name, index, dict(zip(data.columns, values, strict=True)), tz)


@dataclass(frozen=True)
class _Pick:
    picker_id: str
    picker_name: str | None
    shift: str | None
    qty: float
    picked_at: EventTime


@dataclass(frozen=True)
class _Shipment:
    order_id: str
    promise: Deadline | None
    shipped: EventTime | None
    carrier: str | None = None

    @property
    def due(self) -> datetime | None:
        return self.promise.due if self.promise else None

    @property
    def shipped_at(self) -> datetime | None:
        """The instant shipped, or the local midnight starting the day shipped (which places it on that day)."""
        return self.shipped.at if self.shipped else None


@dataclass(frozen=True)
class _Order:
    order_id: str
    created: EventTime
    promise: Deadline | None
    shipped: EventTime | None
    line_count: int | None

    @property
    def created_at(self) -> datetime:
        return self.created.at

    @property
    def shipped_at(self) -> datetime | None:
        return self.shipped.at if self.shipped else None


@dataclass
class _Reading(Generic[T]):
    items: list[T] = field(default_factory=list)
    quality: DatasetQuality | None = None


def _read(
    name: str,
    data: TabularData,
    day: ReportDay,
    build: Callable[[_Row], T],
    in_window: Callable[[T, datetime, datetime], bool],
    on_day: Callable[[T], bool],
    windowed: bool = True,
    window_columns: tuple[str, ...] = (),
) -> _Reading[T]:
    """Every row read (timestamps normalised to UTC); unreadable and far-out rows skipped and counted (far-out
    rows are left out silently when the dataset is a whole export rather than a query's window)."""
    quality = DatasetQuality(dataset=name, rows=len(data.rows))
    reading: _Reading[T] = _Reading(quality=quality)
    low, high = _widened_window(day)
    for row in _rows(name, data, day.tz):
        try:
            item = build(row)
        except RowError as error:
            quality.unreadable += 1
            quality.unreadable_timestamps += isinstance(error, RowTimestampError)
            if len(quality.examples) < QUALITY_EXAMPLES:
                quality.examples.append(str(error))
            continue
        if not in_window(item, low, high):
            if not windowed or _fetched_whatever_its_date(row, window_columns):
                continue
            quality.outside_window += 1
            if len(quality.examples) < QUALITY_EXAMPLES:
                quality.examples.append(f"row {row.index}: outside the window the query asked for")
            continue
        quality.in_day += on_day(item)
        for column in row.dates_alone:
            quality.without_time_of_day[column] = quality.without_time_of_day.get(column, 0) + 1
        reading.items.append(item)
    return reading


def _widened_window(day: ReportDay) -> tuple[datetime, datetime]:
    """The query's window widened by WINDOW_TOLERANCE each side, within the instants a datetime holds (a report
    day in year 1 or 9999 would otherwise fail every report with an OverflowError)."""
    try:
        low = day.query_start - WINDOW_TOLERANCE
    except OverflowError:
        low = datetime.min.replace(tzinfo=UTC)
    try:
        high = day.query_end + WINDOW_TOLERANCE
    except OverflowError:
        high = datetime.max.replace(tzinfo=UTC)
    return low, high


def _fetched_whatever_its_date(row: _Row, columns: tuple[str, ...]) -> bool:
    """A text timestamp a window cannot compare (e.g. `20261120T080500`), which the query returned although it
    could not tell its date: read far from the window, it is simply not the day's."""
    return any(
        isinstance(value, str) and not _WINDOW_COMPARABLE_TEXT.match(value)
        for value in (row.values.get(column) for column in columns)
    )


def _between(moment: datetime | None, low: datetime, high: datetime) -> bool:
    return moment is not None and low <= moment < high


def _picks(data: TabularData, day: ReportDay, windowed: bool = True) -> _Reading[_Pick]:
    def build(row: _Row) -> _Pick:
        return _Pick(
            row.text("picker_id"),
            row.optional_text("picker_name"),
            row.optional_text("picker_shift"),
            row.number("qty"),
            row.event_time("picked_at"),
        )

    return _read(
        "picks", data, day, build,
        lambda p, low, high: _between(p.picked_at.at, low, high), lambda p: day.contains(p.picked_at.at), windowed,
        ("picked_at",),
    )  # fmt: skip


def _shipments(data: TabularData, day: ReportDay, windowed: bool = True) -> _Reading[_Shipment]:
    def build(row: _Row) -> _Shipment:
        return _Shipment(
            row.text("order_id"),
            row.deadline("promised_at", required=True),
            row.optional_event_time("shipped_at"),
            _carrier(row) if "carrier" in row.values else None,
        )

    return _read(
        "shipments", data, day, build,
        lambda s, low, high: _between(s.due, low, high) or _between(s.shipped_at, low, high),
        lambda s: day.contains(s.due) or day.contains(s.shipped_at), windowed,
        ("promised_at", "shipped_at"),
    )  # fmt: skip


def _orders(data: TabularData, day: ReportDay, windowed: bool = True) -> _Reading[_Order]:
    def build(row: _Row) -> _Order:
        return _Order(
            row.text("order_id"),
            row.event_time("created_at"),
            row.deadline("promised_ship_at", required=False),
            row.optional_event_time("shipped_at"),
            row.optional_int("line_count"),
        )

    return _read(
        "orders", data, day, build,
        lambda o, low, high: o.created_at < high and (o.shipped_at is None or o.shipped_at >= low),
        lambda o: day.contains(o.created_at) or day.contains(o.shipped_at), windowed,
        ("created_at", "shipped_at"),
    )  # fmt: skip


# --- figures ----------------------------------------------------------------------------------------


def _hourly(picks: Sequence[_Pick], day: ReportDay) -> list[HourlyPicks]:
    """Lines and units per local hour, of the picks whose time of day is known, with each hour's length that day (a
    repeated hour holds two hours' picks; a skipped one none, and must not read as an hour nobody picked)."""
    lines, units = [0] * 24, [0.0] * 24
    for pick in picks:
        if not pick.picked_at.time_known:
            continue
        hour = day.local(pick.picked_at.at).hour
        lines[hour] += 1
        units[hour] += pick.qty
    lengths = day.hour_lengths()
    return [
        HourlyPicks(hour=hour, lines=lines[hour], units=units[hour], length_hours=lengths.get(hour, 0.0))
        for hour in range(24)
    ]


def _picker_rates(picks: Sequence[_Pick], min_active_hours: float, day: ReportDay) -> list[PickerRate]:
    by_picker: dict[str, list[_Pick]] = defaultdict(list)
    for pick in picks:
        by_picker[pick.picker_id].append(pick)
    return [_picker_rate(picker_id, by_picker[picker_id], min_active_hours, day) for picker_id in sorted(by_picker)]


def _picker_rate(picker_id: str, picks: list[_Pick], min_active_hours: float, day: ReportDay) -> PickerRate:
    named = next((pick for pick in picks if pick.picker_name), picks[0])
    rate = PickerRate(
        picker_id=picker_id,
        picker_name=named.picker_name,
        shift=named.shift,
        lines=len(picks),
        units=sum(pick.qty for pick in picks),
        first_pick_at=None,
        last_pick_at=None,
        active_hours=None,
        lines_per_hour=None,
        lines_without_time_of_day=sum(1 for pick in picks if not pick.picked_at.time_known),
    )
    if rate.lines_without_time_of_day:
        # Those picks may have widened the span or fallen inside it: no rate is better than a wrong one.
        return rate
    first = min(pick.picked_at.at for pick in picks)
    last = max(pick.picked_at.at for pick in picks)
    active_hours = max((last - first).total_seconds() / 3600, min_active_hours)
    return rate.model_copy(
        update={
            "first_pick_at": day.local(first),
            "last_pick_at": day.local(last),
            "active_hours": round(active_hours, 3),
            "lines_per_hour": round(len(picks) / active_hours, 2),
        }
    )


def _carrier(row: _Row) -> str:
    value = row.values.get("carrier")
    return NO_CARRIER if _is_empty(value) else " ".join(str(value).split())[:CARRIER_NAME_CHARS]


def _lateness_on_day(s: _Shipment, day: ReportDay) -> bool | None:
    """For a shipment shipped during the day with a promise: whether it missed it (None when its shipping date
    alone cannot tell: the promise's own date, against a time of day). False for any other shipment."""
    if s.promise is None or s.shipped is None or not day.contains(s.shipped.at):
        return False
    return s.shipped.missed(s.promise)


def _shipped_late(s: _Shipment, day: ReportDay) -> bool:
    return _lateness_on_day(s, day) is True


def _lateness_unknown(s: _Shipment, day: ReportDay) -> bool:
    return _lateness_on_day(s, day) is None


def _unshipped_past_promise(s: _Shipment, day: ReportDay) -> bool:
    return s.promise is not None and day.contains(s.promise.due) and (s.shipped_at is None or s.shipped_at >= day.end)


def _late_orders(shipments: Sequence[_Shipment], day: ReportDay) -> LateOrders:
    shipped_late = {s.order_id: s.promise.due for s in shipments if s.promise is not None and _shipped_late(s, day)}
    unshipped = {
        s.order_id: s.promise.due for s in shipments if s.promise is not None and _unshipped_past_promise(s, day)
    }
    due = {s.order_id for s in shipments if day.contains(s.due)}
    late = shipped_late | unshipped
    # An order with a shipment that may or may not be late (and none that is) is neither: left out of the rate.
    unknown = {s.order_id for s in shipments if _lateness_unknown(s, day)} - late.keys()
    counted = (due | late.keys()) - unknown
    listed = sorted(late, key=lambda order_id: (late[order_id], order_id))
    by_carrier = _late_by_carrier(shipments, day)
    return LateOrders(
        orders_due=len(due),
        promised_earlier_shipped_late=len(counted - due),
        rate_base=len(counted),
        late_count=len(late),
        late_rate=len(late) / len(counted) if counted else 0.0,
        shipped_late=len(shipped_late),
        unshipped_past_promise=len(unshipped),
        late_order_ids=listed[:LATE_ORDER_IDS_CAP],
        late_order_ids_truncated=len(listed) > LATE_ORDER_IDS_CAP,
        by_carrier=by_carrier[:CARRIERS_CAP],
        carriers=len(by_carrier),
        lateness_unknown=len(unknown),
    )


def _late_by_carrier(shipments: Sequence[_Shipment], day: ReportDay) -> list[CarrierLateness]:
    """The late orders of each carrier, counted as the totals are (an order once per carrier): an order is counted
    with a carrier when one of its shipments with that carrier is due this day or late on it, and late with it
    when one of those is late (and left out when one of those may be late and none is)."""
    counted: dict[str, set[str]] = defaultdict(set)
    late: dict[str, set[str]] = defaultdict(set)
    unknown: dict[str, set[str]] = defaultdict(set)
    for s in shipments:
        if s.carrier is None:
            continue
        is_late = _shipped_late(s, day) or _unshipped_past_promise(s, day)
        if is_late or day.contains(s.due):
            counted[s.carrier].add(s.order_id)
        if is_late:
            late[s.carrier].add(s.order_id)
        if _lateness_unknown(s, day):
            unknown[s.carrier].add(s.order_id)
    known = {c: orders - (unknown[c] - late[c]) for c, orders in counted.items()}
    rows = [
        CarrierLateness(carrier=c, counted=len(orders), late=len(late[c]), late_rate=len(late[c]) / len(orders))
        for c, orders in known.items()
        if orders
    ]
    return sorted(rows, key=lambda row: (-row.late, -row.late_rate, row.carrier))


def _backlog(orders: Sequence[_Order], day: ReportDay) -> Backlog:
    open_orders: dict[str, _Order] = {}
    for order in orders:
        if order.created_at < day.end and (order.shipped_at is None or order.shipped_at >= day.end):
            open_orders.setdefault(order.order_id, order)
    # An age needs the time of creation: an order created on a date alone is counted open, and named apart.
    timed = [order.created_at for order in open_orders.values() if order.created.time_known]
    dates_alone = [day.local(order.created_at).date() for order in open_orders.values() if not order.created.time_known]
    oldest = min(timed, default=None)
    earliest_date = min(dates_alone, default=None)
    counts = [order.line_count for order in open_orders.values()]
    return Backlog(
        orders=len(open_orders),
        lines=None if any(count is None for count in counts) else sum(c for c in counts if c is not None),
        overdue=sum(1 for o in open_orders.values() if o.promise is not None and o.promise.missed_by(day.end)),
        oldest_created_at=day.local(oldest) if oldest else None,
        oldest_age_hours=round((day.end - oldest).total_seconds() / 3600, 2) if oldest else 0.0,
        without_time_of_day=len(dates_alone),
        earliest_date_without_time=earliest_date,
        earliest_date_age_at_least=_age_at_least(earliest_date, day),
    )


def _age_at_least(created_on: date | None, day: ReportDay) -> float:
    """Hours from the end of `created_on` (local) to the end of the report day: the least age an order created
    on that date alone can have. An order created ten days ago is certainly over a 48-hour limit, time or not."""
    if created_on is None:
        return 0.0
    try:
        latest_creation = report_day(created_on, day.timezone).utc_bounds[1]
    except ValueError:  # a date by year 1, which the zone cannot place: UTC's reading is within hours of it
        latest_creation = datetime.combine(created_on, time(0), tzinfo=UTC) + timedelta(days=1)
    # In UTC: two datetimes of the same zone subtract as wall clocks, a clock change between them not counted (an
    # order dated the Saturday before the spring change was "at least 48 h" old at the end of Monday, not 47 h).
    report_end = day.utc_bounds[1]
    return max(0.0, round((report_end - latest_creation).total_seconds() / 3600, 2))


def _throughput(
    picks: Sequence[_Pick], shipments: Sequence[_Shipment], orders: Sequence[_Order], day: ReportDay
) -> Throughput:
    return Throughput(
        orders_received=len({order.order_id for order in orders if day.contains(order.created_at)}),
        orders_shipped=len({s.order_id for s in shipments if day.contains(s.shipped_at)}),
        lines_picked=len(picks),
        units_picked=sum(pick.qty for pick in picks),
        lines_without_time_of_day=sum(1 for pick in picks if not pick.picked_at.time_known),
    )


# --- anomalies --------------------------------------------------------------------------------------


def _severity_above(value: float, limit: float) -> Severity:
    return "critical" if value >= limit * CRITICAL_FACTOR and value > 0 else "warning"


def _severity_below(value: float, limit: float) -> Severity:
    return "critical" if value <= limit / CRITICAL_FACTOR else "warning"


def _late_anomalies(late: LateOrders, limits: Thresholds) -> list[Anomaly]:
    if late.late_count == 0 or late.late_rate <= limits.max_late_rate:
        return []
    return [
        Anomaly(
            code="LATE_RATE_HIGH",
            metric="late_rate",
            value=late.late_rate,
            threshold=limits.max_late_rate,
            severity=_severity_above(late.late_rate, limits.max_late_rate),
            message=(
                f"{late.late_count:,} late orders of {late.rate_base:,} counted, {late.late_rate:.1%} "
                f"(limit {limits.max_late_rate:.1%})"
            ),
        )
    ]


def _picker_anomalies(pickers: Iterable[PickerRate], limits: Thresholds) -> list[Anomaly]:
    slow = [
        (p, p.lines_per_hour, p.active_hours)
        for p in pickers
        if p.lines >= limits.min_picker_lines_for_rating
        and p.lines_per_hour is not None
        and p.active_hours is not None
        and p.lines_per_hour < limits.min_picker_lines_per_hour
    ]
    return [
        Anomaly(
            code="PICKER_SLOW",
            metric="picker_lines_per_hour",
            value=rate,
            threshold=limits.min_picker_lines_per_hour,
            subject=p.picker_id,
            severity=_severity_below(rate, limits.min_picker_lines_per_hour),
            message=(
                f"Picker {p.picker_id}{f' ({p.picker_name})' if p.picker_name else ''} picked "
                f"{rate:.1f} lines/hour over {hours:.1f} h "
                f"(minimum {limits.min_picker_lines_per_hour:.1f})"
            ),
        )
        for p, rate, hours in slow
    ]


def _backlog_anomalies(backlog: Backlog, limits: Thresholds) -> list[Anomaly]:
    anomalies = []
    if backlog.orders > limits.max_backlog_orders:
        anomalies.append(
            Anomaly(
                code="BACKLOG_ORDERS_HIGH",
                metric="backlog_orders",
                value=backlog.orders,
                threshold=limits.max_backlog_orders,
                severity=_severity_above(backlog.orders, limits.max_backlog_orders),
                message=f"{backlog.orders:,} orders open at end of day (limit {limits.max_backlog_orders:,})",
            )
        )
    if backlog.earliest_date_age_at_least > max(limits.max_backlog_age_hours, backlog.oldest_age_hours):
        at_least = backlog.earliest_date_age_at_least
        anomalies.append(
            Anomaly(
                code="BACKLOG_AGE_HIGH",
                metric="backlog_oldest_age_hours",
                value=at_least,
                threshold=limits.max_backlog_age_hours,
                severity=_severity_above(at_least, limits.max_backlog_age_hours),
                message=(
                    f"An open order created on {backlog.earliest_date_without_time:%Y-%m-%d} (a date with no time of "
                    f"day) is at least {at_least:.1f} h old at end of day (limit {limits.max_backlog_age_hours:.1f} h)"
                ),
            )
        )
    elif backlog.oldest_age_hours > limits.max_backlog_age_hours:
        anomalies.append(
            Anomaly(
                code="BACKLOG_AGE_HIGH",
                metric="backlog_oldest_age_hours",
                value=backlog.oldest_age_hours,
                threshold=limits.max_backlog_age_hours,
                severity=_severity_above(backlog.oldest_age_hours, limits.max_backlog_age_hours),
                message=(
                    f"Oldest open order is {backlog.oldest_age_hours:.1f} h old at end of day "
                    f"(limit {limits.max_backlog_age_hours:.1f} h)"
                ),
            )
        )
    return anomalies


def _hourly_anomalies(
    hourly: Sequence[HourlyPicks], limits: Thresholds, day: ReportDay, untimed_lines: int = 0
) -> list[Anomaly]:
    """Hours whose lines dip below the median hour's. `untimed_lines` (picks of the day with a date and no time of
    day) could belong to any hour: an hour is flagged only if it is still a dip with all of them counted in it."""
    active = [h.hour for h in hourly if h.lines > 0]
    if len(active) < 3:
        return []
    # A DST spring-forward day has no 01:00 or 02:00 hour to flag; an hour a change shortens (Lord Howe's 30
    # minutes) or repeats is compared by its lines per hour, not its total.
    lengths = day.hour_lengths()
    window = [h for h in hourly[active[0] : active[-1] + 1] if h.hour in lengths]
    per_hour = {h.hour: h.lines / lengths[h.hour] for h in window}
    anomalies = []
    for h in window[1:-1]:  # the first and last hours are usually partial
        at_most = h.lines + untimed_lines
        median = statistics.median({**per_hour, h.hour: at_most / lengths[h.hour]}.values())
        if median == 0:  # most hours of the window idle (sparse picking): no typical hour to compare with
            return []
        ratio = at_most / lengths[h.hour] / median
        if ratio < limits.min_hourly_pick_ratio:
            anomalies.append(_hourly_dip(h, ratio, median, limits, untimed_lines))
    return anomalies


def _hourly_dip(h: HourlyPicks, ratio: float, median: float, limits: Thresholds, untimed_lines: int) -> Anomaly:
    share = f"{ratio:.0%} of the median hour"
    if untimed_lines:
        share = f"at most {share} even if all {untimed_lines:,} picks with no time of day were in it"
    return Anomaly(
        code="HOURLY_PICK_DIP",
        metric="hourly_pick_ratio",
        value=round(ratio, 4),
        threshold=limits.min_hourly_pick_ratio,
        subject=f"{h.hour:02d}:00",
        severity=_severity_below(ratio, limits.min_hourly_pick_ratio),
        message=(
            f"{h.hour:02d}:00-{h.hour + 1:02d}:00: {h.lines:,} lines picked, {share} ({median:,.0f} lines; "
            f"minimum {limits.min_hourly_pick_ratio:.0%})"
        ),
    )


def _data_anomalies(
    day: ReportDay,
    quality: Sequence[DatasetQuality],
    throughput: Throughput,
    late: LateOrders,
    limits: Thresholds,
    picks_provided: bool = True,
) -> list[Anomaly]:
    anomalies = []
    fetched = sum(q.rows for q in quality)
    if sum(q.in_day for q in quality) == 0:
        around = (
            f"the queries returned {fetched:,} rows (open orders, rows of the days around it) but none falls on it"
            if fetched
            else "the queries returned no rows at all"
        )
        anomalies.append(
            Anomaly(
                code="NO_DATA",
                metric="rows_on_day",
                value=0,
                threshold=1,
                severity="critical",
                message=(
                    f"No data for {day.day:%Y-%m-%d} ({day.timezone}): {around}. No figure in this report "
                    "describes a real day. Check the source: that the local agent reads the right database, that "
                    "the day's export or sync ran, and that the warehouse time zone is right"
                ),
            )
        )
    elif picks_provided and throughput.lines_picked == 0 and (late.orders_due or throughput.orders_shipped):
        anomalies.append(
            Anomaly(
                code="NO_PICKS",
                metric="lines_picked",
                value=0,
                threshold=1,
                severity="critical",
                message=(
                    f"No picks recorded all day although {late.orders_due:,} orders were due and "
                    f"{throughput.orders_shipped:,} shipped: check that picking is being recorded and the picks "
                    "table is being filled"
                ),
            )
        )
    for q in quality:
        if q.skipped and q.skipped_share >= limits.max_unreadable_share:
            parts = [
                f"{q.unreadable:,} with a timestamp or number that could not be read" if q.unreadable else "",
                f"{q.outside_window:,} far outside the requested window" if q.outside_window else "",
            ]
            examples = "; ".join(q.examples)
            # Name the cause: a timestamp form the report does not read is one the database's window cannot
            # compare either, and fixing how it is stored is the remedy.
            remedy = (
                f" {q.unreadable_timestamps:,} of them have a timestamp that is missing or not stored as ISO-8601 "
                "(e.g. '2026-11-20 08:05:00', with an optional offset) or as a native timestamp: such values can be "
                "neither read nor compared with the report's window, so store them in that form."
                if q.unreadable_timestamps
                else ""
            )
            anomalies.append(
                Anomaly(
                    code="DATA_QUALITY",
                    metric="unusable_row_share",
                    value=round(q.skipped_share, 4),
                    threshold=limits.max_unreadable_share,
                    subject=q.dataset,
                    severity=_severity_above(q.skipped_share, limits.max_unreadable_share),
                    message=(
                        f"{q.skipped:,} of {q.rows:,} {q.dataset} rows ({q.skipped_share:.1%}) were left out of "
                        f"every figure: {', '.join(p for p in parts if p)} (e.g. {examples}).{remedy} The "
                        f"figures that use {q.dataset} may be understated"
                    ),
                )
            )
    return anomalies


# --- entry point ------------------------------------------------------------------------------------


def _dataset_warnings(datasets: dict[str, TabularData], quality: Sequence[DatasetQuality]) -> list[str]:
    warnings = []
    for name in DATASETS:
        data = datasets.get(name)
        if data is None:
            warnings.append(f"Dataset '{name}' was not provided: the figures it feeds are shown as 0.")
        elif data.truncated:
            warnings.append(
                f"Dataset '{name}' was truncated at {len(data.rows):,} rows by the query row cap: "
                "the figures it feeds are lower bounds."
            )
        elif data.row_count != len(data.rows):
            warnings.append(f"Dataset '{name}' reports {data.row_count:,} rows but carries {len(data.rows):,}.")
    for q in quality:
        if q.skipped:
            warnings.append(
                f"{q.skipped:,} of {q.rows:,} rows of '{q.dataset}' were skipped "
                f"({q.unreadable:,} unreadable, {q.outside_window:,} far outside the requested window): "
                + "; ".join(q.examples)
            )
    return warnings


# What a date with no time of day in each event-time column still counts in, and what it is left out of.
_WITHOUT_TIME_OF_DAY = {
    ("picks", "picked_at"): (
        "they count as lines and units of their day, but not in the picks per hour (an hour is a dip only if it would "
        "still be one with all of them in it) nor in their pickers' first and last pick and rate"
    ),
    ("shipments", "shipped_at"): (
        "they count as shipped on their day; against a promise with a time of day they are late if shipped on a "
        "later date, on time if on an earlier one, and neither on the promise's own date"
    ),
    ("orders", "created_at"): "they count as received and open on their day, but not in the oldest open order's age",
    ("orders", "shipped_at"): "they count as shipped on their day (no figure needs the time)",
}


def _time_of_day_notes(quality: Sequence[DatasetQuality], late: LateOrders, backlog: Backlog) -> list[str]:
    """A data note per event-time column that gave dates with no time of day: how many rows, and what they are left
    out of, so that no figure that needs the time of day is silently off."""
    notes = []
    for q in quality:
        for column, count in q.without_time_of_day.items():
            note = (
                f"{count:,} of {q.rows:,} rows of '{q.dataset}' give {column} as a date with no time of day: "
                + _WITHOUT_TIME_OF_DAY.get((q.dataset, column), "they count on their day only")
            )
            if (q.dataset, column) == ("shipments", "shipped_at") and late.lateness_unknown:
                unknown = late.lateness_unknown
                note += f" (left out of the late rate: {unknown:,} order{'s' if unknown != 1 else ''} due this day)"
            if (q.dataset, column) == ("orders", "created_at") and backlog.earliest_date_without_time:
                note += (
                    f" ({backlog.without_time_of_day:,} open at the end of the day, the earliest created on "
                    f"{backlog.earliest_date_without_time:%Y-%m-%d})"
                )
            notes.append(note + ".")
    return notes


def _dataset(datasets: dict[str, TabularData], name: str) -> TabularData:
    return datasets.get(name) or TabularData(columns=list(REQUIRED_COLUMNS[name]), rows=[])


def compute_kpis(
    day: ReportDay | date, datasets: dict[str, TabularData], thresholds: Thresholds, *, windowed: bool = True
) -> WarehouseKpis:
    """All figures of one report day (a plain date is a UTC day). Unreadable rows are skipped and counted;
    raises ValueError naming the dataset when a dataset lacks a required column. `windowed`: the datasets are
    the window the queries fetch, so rows far outside it are a data problem; False for whole exports (files),
    whose rows of other days are simply not the day's."""
    if not isinstance(day, ReportDay):
        day = report_day(day)
    picks_read = _picks(_dataset(datasets, "picks"), day, windowed)
    shipments_read = _shipments(_dataset(datasets, "shipments"), day, windowed)
    orders_read = _orders(_dataset(datasets, "orders"), day, windowed)
    quality = [r.quality for r in (orders_read, picks_read, shipments_read) if r.quality is not None]
    picks = [pick for pick in picks_read.items if day.contains(pick.picked_at.at)]
    shipments, orders = shipments_read.items, orders_read.items
    hourly = _hourly(picks, day)
    pickers = _picker_rates(picks, thresholds.min_picker_active_hours, day)
    late = _late_orders(shipments, day)
    backlog = _backlog(orders, day)
    throughput = _throughput(picks, shipments, orders, day)
    anomalies = (
        _data_anomalies(day, quality, throughput, late, thresholds, "picks" in datasets)
        + _late_anomalies(late, thresholds)
        + _picker_anomalies(pickers, thresholds)
        + _backlog_anomalies(backlog, thresholds)
        + _hourly_anomalies(hourly, thresholds, day, throughput.lines_without_time_of_day)
    )
    return WarehouseKpis(
        day=day.day,
        timezone=day.timezone,
        period_start=day.start,
        period_end=day.end,
        throughput=throughput,
        hourly=hourly,
        pickers=pickers,
        late=late,
        backlog=backlog,
        anomalies=anomalies,
        data_quality=quality,
        data_warnings=_dataset_warnings(datasets, quality) + _time_of_day_notes(quality, late, backlog),
        thresholds=thresholds,
    )
