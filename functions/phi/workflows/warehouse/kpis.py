"""Deterministic warehouse KPIs for one report day, computed from the `db.query` results.

Definitions (the report day is the half-open UTC interval [day 00:00, next day 00:00)):
- throughput: orders with a shipment shipped during the day; pick lines (rows of `picks`) and units
  picked during the day; orders received (created) during the day.
- pick rate per picker: lines / active hours, active hours = first to last pick of the day, at least
  `Thresholds.min_picker_active_hours`.
- late orders: shipped during the day after their promise, plus promised during the day and not
  shipped by its end. The rate is over the orders due that day, i.e. promised during the day, together
  with the overdue orders that shipped late that day (so it stays within 0-100%).
- backlog: orders created by the end of the day and not shipped by it; age of the oldest in hours.
- hourly dip: an hour strictly inside the picking window (first to last hour with picks) whose lines
  fall below `min_hourly_pick_ratio` times the median hour of that window.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from phi.workflows.warehouse.queries import DATASETS, day_bounds

LATE_ORDER_IDS_CAP = 50
CRITICAL_FACTOR = 2.0  # a crossing this many times beyond its threshold is critical

Severity = Literal["warning", "critical"]


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
    max_late_rate: float = Field(default=0.05, ge=0, le=1, description="late orders / orders due")
    min_picker_lines_per_hour: float = Field(default=10.0, ge=0)
    min_picker_lines_for_rating: int = Field(default=20, ge=0, description="fewer lines: picker not rated")
    min_picker_active_hours: float = Field(default=1.0, gt=0, description="shortest active span used")
    max_backlog_orders: int = Field(default=200, ge=0)
    max_backlog_age_hours: float = Field(default=24.0, ge=0)
    min_hourly_pick_ratio: float = Field(default=0.5, ge=0, le=1, description="hour's lines / median hour")


class Throughput(BaseModel):
    orders_received: int
    orders_shipped: int
    lines_picked: int
    units_picked: float


class HourlyPicks(BaseModel):
    hour: int
    lines: int
    units: float


class PickerRate(BaseModel):
    picker_id: str
    picker_name: str | None
    shift: str | None
    lines: int
    units: float
    first_pick_at: datetime
    last_pick_at: datetime
    active_hours: float
    lines_per_hour: float


class LateOrders(BaseModel):
    orders_due: int
    late_count: int
    late_rate: float
    shipped_late: int
    unshipped_past_promise: int
    late_order_ids: list[str]
    late_order_ids_truncated: bool


class Backlog(BaseModel):
    orders: int
    lines: int | None
    overdue: int
    oldest_created_at: datetime | None
    oldest_age_hours: float


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
    period_start: datetime
    period_end: datetime
    throughput: Throughput
    hourly: list[HourlyPicks]
    pickers: list[PickerRate]
    late: LateOrders
    backlog: Backlog
    anomalies: list[Anomaly]
    data_warnings: list[str]
    thresholds: Thresholds

    def picker_lines(self) -> dict[str, int]:
        return {picker.picker_id: picker.lines for picker in self.pickers}


# --- reading rows -----------------------------------------------------------------------------------

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "created_at", "shipped_at"),
    "picks": ("picker_id", "qty", "picked_at"),
    "shipments": ("order_id", "promised_at", "shipped_at"),
}


@dataclass(frozen=True)
class _Row:
    dataset: str
    index: int
    values: dict[str, Any]

    def _fail(self, column: str, problem: str) -> ValueError:
        return ValueError(f"dataset {self.dataset!r}, row {self.index}, column {column!r}: {problem}")

    def text(self, column: str) -> str:
        value = self.values.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise self._fail(column, "missing value")
        return str(value)

    def optional_text(self, column: str) -> str | None:
        value = self.values.get(column)
        return None if value is None else str(value)

    def number(self, column: str) -> float:
        value = self.values.get(column)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise self._fail(column, f"expected a number, got {value!r}")
        try:
            return float(value)
        except ValueError:
            raise self._fail(column, f"expected a number, got {value!r}") from None

    def optional_int(self, column: str) -> int | None:
        return None if self.values.get(column) is None else int(self.number(column))

    def timestamp(self, column: str) -> datetime:
        moment = self.optional_timestamp(column)
        if moment is None:
            raise self._fail(column, "missing timestamp")
        return moment

    def optional_timestamp(self, column: str) -> datetime | None:
        value = self.values.get(column)
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return _as_naive_utc(value)
        if not isinstance(value, str):
            raise self._fail(column, f"expected an ISO-8601 timestamp, got {value!r}")
        try:
            return _as_naive_utc(datetime.fromisoformat(value))
        except ValueError:
            raise self._fail(column, f"invalid ISO-8601 timestamp {value!r}") from None


def _as_naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _rows(name: str, data: TabularData) -> Iterator[_Row]:
    missing = [column for column in REQUIRED_COLUMNS[name] if column not in data.columns]
    if missing:
        raise ValueError(
            f"dataset {name!r} lacks column(s) {', '.join(missing)} (has: {', '.join(data.columns)})"
        )
    width = len(data.columns)
    for index, values in enumerate(data.rows):
        if len(values) != width:
            raise ValueError(f"dataset {name!r}, row {index}: {len(values)} values for {width} columns")
        yield _Row(name, index, dict(zip(data.columns, values, strict=True)))


@dataclass(frozen=True)
class _Pick:
    picker_id: str
    picker_name: str | None
    shift: str | None
    qty: float
    picked_at: datetime


@dataclass(frozen=True)
class _Shipment:
    order_id: str
    promised_at: datetime
    shipped_at: datetime | None


@dataclass(frozen=True)
class _Order:
    order_id: str
    created_at: datetime
    promised_at: datetime | None
    shipped_at: datetime | None
    line_count: int | None


def _picks(data: TabularData) -> list[_Pick]:
    return [
        _Pick(
            row.text("picker_id"),
            row.optional_text("picker_name"),
            row.optional_text("picker_shift"),
            row.number("qty"),
            row.timestamp("picked_at"),
        )
        for row in _rows("picks", data)
    ]


def _shipments(data: TabularData) -> list[_Shipment]:
    return [
        _Shipment(row.text("order_id"), row.timestamp("promised_at"), row.optional_timestamp("shipped_at"))
        for row in _rows("shipments", data)
    ]


def _orders(data: TabularData) -> list[_Order]:
    return [
        _Order(
            row.text("order_id"),
            row.timestamp("created_at"),
            row.optional_timestamp("promised_ship_at"),
            row.optional_timestamp("shipped_at"),
            row.optional_int("line_count"),
        )
        for row in _rows("orders", data)
    ]


# --- figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def _hourly(picks: Sequence[_Pick]) -> list[HourlyPicks]:
    lines, units = [0] * 24, [0.0] * 24
    for pick in picks:
        lines[pick.picked_at.hour] += 1
        units[pick.picked_at.hour] += pick.qty
    return [HourlyPicks(hour=hour, lines=lines[hour], units=units[hour]) for hour in range(24)]


def _picker_rates(picks: Sequence[_Pick], min_active_hours: float) -> list[PickerRate]:
    by_picker: dict[str, list[_Pick]] = defaultdict(list)
    for pick in picks:
        by_picker[pick.picker_id].append(pick)
    return [
        _picker_rate(picker_id, by_picker[picker_id], min_active_hours) for picker_id in sorted(by_picker)
    ]


def _picker_rate(picker_id: str, picks: list[_Pick], min_active_hours: float) -> PickerRate:
    first = min(pick.picked_at for pick in picks)
    last = max(pick.picked_at for pick in picks)
    active_hours = max((last - first).total_seconds() / 3600, min_active_hours)
    named = next((pick for pick in picks if pick.picker_name), picks[0])
    return PickerRate(
        picker_id=picker_id,
        picker_name=named.picker_name,
        shift=named.shift,
        lines=len(picks),
        units=sum(pick.qty for pick in picks),
        first_pick_at=first,
        last_pick_at=last,
        active_hours=round(active_hours, 3),
        lines_per_hour=round(len(picks) / active_hours, 2),
    )


def _late_orders(shipments: Sequence[_Shipment], period: _Period) -> LateOrders:
    shipped_late = {
        s.order_id: s.promised_at
        for s in shipments
        if s.shipped_at in period and s.shipped_at is not None and s.shipped_at > s.promised_at
    }
    unshipped = {
        s.order_id: s.promised_at
        for s in shipments
        if s.promised_at in period and (s.shipped_at is None or s.shipped_at >= period.end)
    }
    due = {s.order_id for s in shipments if s.promised_at in period}
    late = shipped_late | unshipped
    considered = len(due | late.keys())
    listed = sorted(late, key=lambda order_id: (late[order_id], order_id))
    return LateOrders(
        orders_due=len(due),
        late_count=len(late),
        late_rate=len(late) / considered if considered else 0.0,
        shipped_late=len(shipped_late),
        unshipped_past_promise=len(unshipped),
        late_order_ids=listed[:LATE_ORDER_IDS_CAP],
        late_order_ids_truncated=len(listed) > LATE_ORDER_IDS_CAP,
    )


def _backlog(orders: Sequence[_Order], period: _Period) -> Backlog:
    open_orders: dict[str, _Order] = {}
    for order in orders:
        if order.created_at < period.end and (order.shipped_at is None or order.shipped_at >= period.end):
            open_orders.setdefault(order.order_id, order)
    oldest = min((order.created_at for order in open_orders.values()), default=None)
    counts = [order.line_count for order in open_orders.values()]
    return Backlog(
        orders=len(open_orders),
        lines=None if any(count is None for count in counts) else sum(c for c in counts if c is not None),
        overdue=sum(
            1 for o in open_orders.values() if o.promised_at is not None and o.promised_at < period.end
        ),
        oldest_created_at=oldest,
        oldest_age_hours=round((period.end - oldest).total_seconds() / 3600, 2) if oldest else 0.0,
    )


def _throughput(
    picks: Sequence[_Pick], shipments: Sequence[_Shipment], orders: Sequence[_Order], period: _Period
) -> Throughput:
    return Throughput(
        orders_received=len({order.order_id for order in orders if order.created_at in period}),
        orders_shipped=len({s.order_id for s in shipments if s.shipped_at in period}),
        lines_picked=len(picks),
        units_picked=sum(pick.qty for pick in picks),
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
                f"{late.late_count:,} late orders, {late.late_rate:.1%} of orders due "
                f"(limit {limits.max_late_rate:.1%})"
            ),
        )
    ]


def _picker_anomalies(pickers: Iterable[PickerRate], limits: Thresholds) -> list[Anomaly]:
    slow = [
        p
        for p in pickers
        if p.lines >= limits.min_picker_lines_for_rating
        and p.lines_per_hour < limits.min_picker_lines_per_hour
    ]
    return [
        Anomaly(
            code="PICKER_SLOW",
            metric="picker_lines_per_hour",
            value=p.lines_per_hour,
            threshold=limits.min_picker_lines_per_hour,
            subject=p.picker_id,
            severity=_severity_below(p.lines_per_hour, limits.min_picker_lines_per_hour),
            message=(
                f"Picker {p.picker_id}{f' ({p.picker_name})' if p.picker_name else ''} picked "
                f"{p.lines_per_hour:.1f} lines/hour over {p.active_hours:.1f} h "
                f"(minimum {limits.min_picker_lines_per_hour:.1f})"
            ),
        )
        for p in slow
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
    if backlog.oldest_age_hours > limits.max_backlog_age_hours:
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


def _hourly_anomalies(hourly: Sequence[HourlyPicks], limits: Thresholds) -> list[Anomaly]:
    active = [h.hour for h in hourly if h.lines > 0]
    if len(active) < 3:
        return []
    window = hourly[active[0] : active[-1] + 1]
    median = statistics.median(h.lines for h in window)
    anomalies = []
    for h in window[1:-1]:  # the first and last hours are usually partial
        ratio = h.lines / median
        if ratio < limits.min_hourly_pick_ratio:
            anomalies.append(
                Anomaly(
                    code="HOURLY_PICK_DIP",
                    metric="hourly_pick_ratio",
                    value=round(ratio, 4),
                    threshold=limits.min_hourly_pick_ratio,
                    subject=f"{h.hour:02d}:00",
                    severity=_severity_below(ratio, limits.min_hourly_pick_ratio),
                    message=(
                        f"{h.hour:02d}:00-{h.hour + 1:02d}:00: {h.lines:,} lines picked, {ratio:.0%} of the "
                        f"median hour ({median:,.0f} lines; minimum {limits.min_hourly_pick_ratio:.0%})"
                    ),
                )
            )
    return anomalies


# --- entry point ------------------------------------------------------------------------------------


def _dataset_warnings(datasets: dict[str, TabularData]) -> list[str]:
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
            warnings.append(
                f"Dataset '{name}' reports {data.row_count:,} rows but carries {len(data.rows):,}."
            )
    return warnings


def _dataset(datasets: dict[str, TabularData], name: str) -> TabularData:
    return datasets.get(name) or TabularData(columns=list(REQUIRED_COLUMNS[name]), rows=[])


def compute_kpis(day: date, datasets: dict[str, TabularData], thresholds: Thresholds) -> WarehouseKpis:
    """All figures of one report day; raises ValueError naming the dataset and column of a bad row."""
    period = _Period(*day_bounds(day))
    all_picks = _picks(_dataset(datasets, "picks"))
    picks = [pick for pick in all_picks if pick.picked_at in period]
    shipments = _shipments(_dataset(datasets, "shipments"))
    orders = _orders(_dataset(datasets, "orders"))
    warnings = _dataset_warnings(datasets)
    if len(all_picks) > len(picks):
        warnings.append(f"{len(all_picks) - len(picks):,} picks outside the report day were ignored.")
    hourly = _hourly(picks)
    pickers = _picker_rates(picks, thresholds.min_picker_active_hours)
    late = _late_orders(shipments, period)
    backlog = _backlog(orders, period)
    anomalies = (
        _late_anomalies(late, thresholds)
        + _picker_anomalies(pickers, thresholds)
        + _backlog_anomalies(backlog, thresholds)
        + _hourly_anomalies(hourly, thresholds)
    )
    return WarehouseKpis(
        day=day,
        period_start=period.start,
        period_end=period.end,
        throughput=_throughput(picks, shipments, orders, period),
        hourly=hourly,
        pickers=pickers,
        late=late,
        backlog=backlog,
        anomalies=anomalies,
        data_warnings=warnings,
        thresholds=thresholds,
    )
