from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from phi.definitions.values import number_in_text
from phi.workflows.timeframes import ReportDay, report_day
from phi.workflows.warehouse.kpis import TabularData, Thresholds, compute_kpis
from phi.workflows.warehouse.report import render_report

DAY = date(2026, 11, 20)
PICK_COLUMNS = ["picker_id", "picker_name", "picker_shift", "qty", "picked_at"]
SHIPMENT_COLUMNS = ["order_id", "promised_at", "shipped_at"]
ORDER_COLUMNS = ["order_id", "created_at", "promised_ship_at", "shipped_at", "line_count"]


def picks(*rows: tuple[str, Any, str]) -> TabularData:
    return TabularData(
        columns=PICK_COLUMNS, rows=[[picker, f"Name {picker}", "early", qty, at] for picker, qty, at in rows]
    )


def table(columns: list[str], rows: list[list[Any]], **extra: Any) -> TabularData:
    return TabularData(columns=columns, rows=rows, **extra)


def hourly_picks(per_hour: dict[int, int]) -> TabularData:
    rows = [
        ("P1", 1.0, f"2026-11-20T{hour:02d}:{minute * 60 // count:02d}:00")
        for hour, count in per_hour.items()
        for minute in range(count)
    ]
    return picks(*rows)


SHIPMENTS = table(
    SHIPMENT_COLUMNS,
    [
        ["A", "2026-11-20T10:00:00", "2026-11-20T09:00:00"],  # due, on time
        ["B", "2026-11-20T12:00:00", "2026-11-20T13:00:00"],  # due, shipped late
        ["C", "2026-11-20T20:00:00", None],  # due, not shipped by the end of the day
        ["D", "2026-11-19T21:30:00", "2026-11-20T08:00:00"],  # overdue from yesterday, shipped late today
        ["E", "2026-11-21T21:30:00", "2026-11-20T16:00:00"],  # due tomorrow, shipped early today
    ],
)
ORDERS = table(
    ORDER_COLUMNS,
    [
        ["C", "2026-11-19T10:00:00", "2026-11-20T20:00:00", None, 2],
        ["F", "2026-11-20T23:00:00", "2026-11-21T21:30:00", None, 3],
        ["G", "2026-11-20T15:00:00", "2026-11-20T21:30:00", "2026-11-21T10:00:00", 1],
        ["H", "2026-11-20T06:00:00", "2026-11-20T21:30:00", "2026-11-20T16:00:00", 4],
        ["I", "2026-11-21T01:00:00", "2026-11-22T21:30:00", None, 1],
    ],
)
PICKS = picks(
    ("P1", 2, "2026-11-20T08:00:00"),
    ("P1", 1, "2026-11-20T08:30:00"),
    ("P1", 3, "2026-11-20T09:00:00"),
    ("P1", 1, "2026-11-20T10:00:00"),
    ("P2", 5, "2026-11-20T14:15:00"),
)


def test_known_day_gives_known_figures() -> None:
    # Given a hand-made day
    datasets = {"picks": PICKS, "shipments": SHIPMENTS, "orders": ORDERS}
    # When the KPIs are computed
    kpis = compute_kpis(DAY, datasets, Thresholds())
    # Then throughput counts the day's shipments and picks
    assert kpis.throughput.orders_shipped == 4  # A, B, D, E
    assert kpis.throughput.lines_picked == 5
    assert kpis.throughput.units_picked == 12
    assert kpis.throughput.orders_received == 3  # F, G, H
    # and pick rates use the first-to-last span, at least one hour
    p1, p2 = kpis.pickers
    assert (p1.picker_id, p1.lines, p1.units, p1.active_hours, p1.lines_per_hour) == ("P1", 4, 7, 2.0, 2.0)
    assert (p2.picker_id, p2.lines, p2.active_hours, p2.lines_per_hour) == ("P2", 1, 1.0, 1.0)
    assert p1.first_pick_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    # and the hourly series covers 24 clock hours
    assert [h.lines for h in kpis.hourly][8:11] == [2, 1, 1]
    assert kpis.hourly[14].units == 5
    assert sum(h.lines for h in kpis.hourly) == 5


def test_late_orders_count_shipped_late_and_unshipped_past_promise() -> None:
    late = compute_kpis(DAY, {"shipments": SHIPMENTS}, Thresholds()).late
    assert late.orders_due == 3  # A, B, C
    assert late.late_count == 3  # B, C, D
    assert (late.shipped_late, late.unshipped_past_promise) == (2, 1)
    assert late.late_rate == pytest.approx(3 / 4)  # over A, B, C and the overdue D
    assert (late.promised_earlier_shipped_late, late.rate_base) == (1, 4)
    assert late.late_order_ids == ["D", "B", "C"]  # by promise time


def test_backlog_counts_orders_created_by_the_end_and_not_shipped_by_it() -> None:
    backlog = compute_kpis(DAY, {"orders": ORDERS}, Thresholds()).backlog
    assert backlog.orders == 3  # C, F, G (G ships tomorrow); H shipped, I created tomorrow
    assert backlog.lines == 6
    assert backlog.overdue == 2  # C and G were promised before the end of the day
    assert backlog.oldest_created_at == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert backlog.oldest_age_hours == 38.0


def test_each_threshold_crossing_raises_its_anomaly() -> None:
    # Given tight thresholds that every figure of the hand-made day crosses
    thresholds = Thresholds(
        max_late_rate=0.10,
        min_picker_lines_per_hour=3.0,
        min_picker_lines_for_rating=2,
        max_backlog_orders=2,
        max_backlog_age_hours=12.0,
        min_hourly_pick_ratio=0,
    )
    kpis = compute_kpis(DAY, {"picks": PICKS, "shipments": SHIPMENTS, "orders": ORDERS}, thresholds)
    by_code = {anomaly.code: anomaly for anomaly in kpis.anomalies}
    # Then each anomaly names its metric, value, threshold and severity
    assert set(by_code) == {"LATE_RATE_HIGH", "PICKER_SLOW", "BACKLOG_ORDERS_HIGH", "BACKLOG_AGE_HIGH"}
    assert (by_code["LATE_RATE_HIGH"].value, by_code["LATE_RATE_HIGH"].severity) == (0.75, "critical")
    assert by_code["PICKER_SLOW"].subject == "P1"  # P2 has too few lines to be rated
    assert by_code["PICKER_SLOW"].severity == "warning"  # 2.0 lines/h against 3.0
    assert (by_code["BACKLOG_ORDERS_HIGH"].value, by_code["BACKLOG_ORDERS_HIGH"].threshold) == (3, 2)
    assert by_code["BACKLOG_AGE_HIGH"].severity == "critical"  # 38 h against 12 h
    assert "38.0 h" in by_code["BACKLOG_AGE_HIGH"].message


def test_default_thresholds_leave_a_healthy_day_alone() -> None:
    datasets = {
        "picks": hourly_picks({h: 60 for h in range(6, 22)}),
        "shipments": SHIPMENTS.model_copy(update={"rows": SHIPMENTS.rows[:1]}),
    }
    kpis = compute_kpis(DAY, datasets, Thresholds())
    assert kpis.anomalies == []
    assert kpis.pickers[0].lines_per_hour == pytest.approx(960 / (15 + 59 / 60), abs=0.01)  # 06:00 to 21:59


def test_an_hour_far_below_the_median_is_a_dip() -> None:
    # Given steady picking with one hour at a fifth of the rest
    per_hour = {8: 10, 9: 10, 10: 10, 11: 2, 12: 10, 13: 10, 14: 10}
    kpis = compute_kpis(DAY, {"picks": hourly_picks(per_hour)}, Thresholds(min_picker_lines_per_hour=0))
    # Then only that hour is reported, as critical (0.2 is below half of 0.5)
    dips = [a for a in kpis.anomalies if a.code == "HOURLY_PICK_DIP"]
    assert [(d.subject, d.value, d.threshold, d.severity) for d in dips] == [("11:00", 0.2, 0.5, "critical")]


def test_a_low_first_or_last_hour_is_not_a_dip() -> None:
    per_hour = {6: 1, 7: 10, 8: 10, 9: 10, 10: 1}
    kpis = compute_kpis(DAY, {"picks": hourly_picks(per_hour)}, Thresholds(min_picker_lines_per_hour=0))
    assert kpis.anomalies == []


def test_an_empty_day_gives_zeros_and_a_critical_no_data_anomaly() -> None:
    datasets = {
        "picks": picks(),
        "shipments": table(SHIPMENT_COLUMNS, []),
        "orders": table(ORDER_COLUMNS, []),
    }
    kpis = compute_kpis(DAY, datasets, Thresholds())
    assert kpis.throughput.lines_picked == 0
    assert kpis.pickers == []
    assert all(h.lines == 0 for h in kpis.hourly)
    assert (kpis.late.late_count, kpis.late.late_rate) == (0, 0.0)
    assert (kpis.backlog.orders, kpis.backlog.oldest_age_hours) == (0, 0.0)
    assert [(a.code, a.severity) for a in kpis.anomalies] == [("NO_DATA", "critical")]
    assert kpis.data_warnings == []


def test_missing_and_truncated_datasets_are_warned_about() -> None:
    truncated = table(PICK_COLUMNS, PICKS.rows, row_count=5, truncated=True)
    kpis = compute_kpis(DAY, {"picks": truncated}, Thresholds())
    assert kpis.throughput.lines_picked == 5
    assert any("'picks' was truncated" in w and "lower bounds" in w for w in kpis.data_warnings)
    assert any("'orders' was not provided" in w for w in kpis.data_warnings)
    assert any("'shipments' was not provided" in w for w in kpis.data_warnings)


def test_picks_of_the_window_outside_the_day_are_not_counted() -> None:
    day_and_next = picks(("P1", 1, "2026-11-21T00:00:00"), ("P1", 1, "2026-11-20T23:59:59"))
    kpis = compute_kpis(DAY, {"picks": day_and_next}, Thresholds())
    assert kpis.throughput.lines_picked == 1
    assert kpis.data_quality[1].model_dump() == {
        "dataset": "picks", "rows": 2, "unreadable": 0, "unreadable_timestamps": 0, "outside_window": 0, "in_day": 1,
        "without_time_of_day": {}, "examples": [],
    }  # fmt: skip
    assert not any("picks" in w for w in kpis.data_warnings)


def test_offset_timestamps_are_read_as_utc() -> None:
    offsets = picks(("P1", 1, "2026-11-20T09:30:00+02:00"), ("P1", 1, "2026-11-20T12:00Z"))
    kpis = compute_kpis(DAY, {"picks": offsets}, Thresholds())
    assert [h.hour for h in kpis.hourly if h.lines] == [7, 12]


def test_the_day_and_its_hours_are_the_warehouses_local_ones() -> None:
    # Given picks stored as UTC instants and as zone-less local times, for a warehouse in New York (UTC-5)
    stored = picks(
        ("P1", 1, "2026-11-20T04:59:00Z"),  # 23:59 on the 19th in New York: not the day
        ("P1", 1, "2026-11-20T05:30:00Z"),  # 00:30 in New York
        ("P1", 1, "2026-11-20 00:45:00"),  # zone-less: 00:45 in New York
        ("P1", 1, "2026-11-21T03:00:00+00:00"),  # 22:00 in New York
        ("P1", 1, "2026-11-21 00:00:00"),  # zone-less: the next day
    )
    kpis = compute_kpis(report_day(DAY, "America/New_York"), {"picks": stored}, Thresholds())
    # Then the day runs from New York midnight to midnight, and the hours are New York hours
    assert kpis.throughput.lines_picked == 3
    assert {h.hour: h.lines for h in kpis.hourly if h.lines} == {0: 2, 22: 1}
    assert f"{kpis.pickers[0].first_pick_at:%Y-%m-%d %H:%M %z}" == "2026-11-20 00:30 -0500"


def test_the_hour_a_dst_change_skips_is_not_a_dip() -> None:
    # Given steady picking through the night London's clocks jump from 01:00 to 02:00
    stored = hourly_picks({0: 10, 2: 10, 3: 10, 4: 10}).model_copy()
    stored.rows = [[*row[:4], row[4].replace("2026-11-20", "2026-03-29")] for row in stored.rows]
    kpis = compute_kpis(report_day(date(2026, 3, 29), "Europe/London"), {"picks": stored}, Thresholds())
    # Then the day is 23 hours long and the missing 01:00 hour raises nothing
    assert kpis.throughput.lines_picked == 40
    assert {h.hour: h.lines for h in kpis.hourly if h.lines} == {0: 10, 2: 10, 3: 10, 4: 10}
    assert "HOURLY_PICK_DIP" not in {a.code for a in kpis.anomalies}


def _picks_every(minutes: int, day: date, zone_name: str) -> tuple[TabularData, ReportDay]:
    """One line every `minutes` through the whole local day, stepped in UTC, written with a UTC offset."""
    bounds = report_day(day, zone_name)
    moment, rows = bounds.start.astimezone(UTC), []
    while moment < bounds.end:
        rows.append(("P1", 1.0, moment.isoformat()))
        moment += timedelta(minutes=minutes)
    return picks(*rows), bounds


@pytest.mark.parametrize(
    ("day", "zone_name", "hour", "lengths", "row"),
    [
        # London springs from 01:00 to 02:00: that hour did not exist, and is no hour nobody picked in
        (date(2026, 3, 29), "Europe/London", 1, (0.0, 0), "01:00-02:00 | — | — | skipped: the clocks went forward"),
        # New York falls back from 02:00 to 01:00: the 01:00 hour ran twice and holds two hours' lines
        (date(2026, 11, 1), "America/New_York", 1, (2.0, 12), "01:00-02:00 | 12 | 12 | 2 h long: the clocks went back"),
        # Lord Howe Island's 30-minute changes
        (date(2026, 10, 4), "Australia/Lord_Howe", 2, (0.5, 3),
         "02:00-03:00 | 3 | 3 | 30 min long: the clocks went forward"),
        (date(2026, 4, 5), "Australia/Lord_Howe", 1, (1.5, 9),
         "01:00-02:00 | 9 | 9 | 1 h 30 min long: the clocks went back"),
    ],
)  # fmt: skip
def test_the_picks_per_hour_say_which_hour_a_clock_change_skipped_or_repeated(
    day: date, zone_name: str, hour: int, lengths: tuple[float, int], row: str
) -> None:
    stored, bounds = _picks_every(10, day, zone_name)
    kpis = compute_kpis(bounds, {"picks": stored}, Thresholds())
    changed = kpis.hourly[hour]
    assert (changed.length_hours, changed.lines) == lengths
    assert all(h.length_hours == 1.0 and h.lines == 6 for h in kpis.hourly if h.hour != hour)
    markdown = render_report(kpis, narrative=None, agent_name="Wanda").markdown
    assert f"| {row} |" in markdown
    assert "| 00:00-01:00 | 6 | 6 |  |" in markdown  # an ordinary hour says nothing


def test_an_hour_a_thirty_minute_change_shortens_is_compared_by_its_rate_not_flagged() -> None:
    """Lord Howe Island's clocks go from 02:00 to 02:30: steady picking gives that hour half the lines of the others,
    which is no dip."""
    tz = report_day(date(2026, 10, 4), "Australia/Lord_Howe")
    moment, rows = tz.start.astimezone(UTC), []  # stepped in UTC: aware arithmetic in a zone steps its wall clock
    while moment < tz.end:  # one pick every 6 minutes, all day
        rows.append(("P1", 1.0, moment.isoformat()))
        moment += timedelta(minutes=6)
    kpis = compute_kpis(tz, {"picks": picks(*rows)}, Thresholds())
    assert {h.hour: h.lines for h in kpis.hourly}[2] == 5  # 02:30-03:00 only
    assert "HOURLY_PICK_DIP" not in {a.code for a in kpis.anomalies}
    # and a real dip in that short hour is still one: 1 line in its half hour is 2 an hour against 10
    thinned = [r for r in rows if not ("T15:3" in r[2] or "T15:4" in r[2] or "T15:5" in r[2])] + [
        ("P1", 1.0, "2026-10-03T15:45:00+00:00")
    ]
    dips = compute_kpis(tz, {"picks": picks(*thinned)}, Thresholds()).anomalies
    assert [a.subject for a in dips if a.code == "HOURLY_PICK_DIP"] == ["02:00"]


@pytest.mark.parametrize(
    ("dataset", "data", "message"),
    [
        ("orders", table(["order_id", "created_at"], []), r"dataset 'orders' lacks column\(s\) shipped_at"),
        ("orders", table(ORDER_COLUMNS, [["A", "2026-11-20T08:00:00"]]), r"'orders', row 0: 2 values for 5"),
    ],
)
def test_a_dataset_of_the_wrong_shape_raises_a_clear_error(dataset: str, data: TabularData, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_kpis(DAY, {dataset: data}, Thresholds())


@pytest.mark.parametrize(
    ("dataset", "data", "example"),
    [
        ("picks", picks(("P1", 1, "yesterday-ish")), "row 0, picked_at: 'yesterday-ish' is not a readable date"),
        ("picks", picks(("P1", 1, 1763625600)), "row 0, picked_at: the number 1763625600 is not read as a timestamp"),
        ("picks", picks(("P1", "two", "2026-11-20T08:00:00")), "row 0, qty: expected a number, got 'two'"),
        ("picks", picks(("", 1, "2026-11-20T08:00:00")), "row 0, picker_id: missing value"),
        ("shipments", table(SHIPMENT_COLUMNS, [["A", None, None]]), "row 0, promised_at: missing timestamp"),
        ("picks", picks(("P1", "NaN", "2026-11-20T08:00:00")), "row 0, qty: expected a finite number, got 'NaN'"),
        ("picks", picks(("P1", float("inf"), "2026-11-20T08:00:00")), "row 0, qty: expected a finite number"),
        ("picks", picks(("P1", Decimal("NaN"), "2026-11-20T08:00:00")), "row 0, qty: expected a finite number"),
        ("picks", picks(("P1", 10**400, "2026-11-20T08:00:00")), "row 0, qty: expected a number"),
        (
            "orders",
            table(ORDER_COLUMNS, [["A", "2026-11-20T08:00:00", None, None, "inf"]]),
            "row 0, line_count: expected a finite number",
        ),
        # Python's fromisoformat would read it as the date 2026-11-20 (its hour dropped): refused, so counted
        ("picks", picks(("P1", 1, "2026112023")), "row 0, picked_at: '2026112023' is not a readable date"),
    ],
)
def test_a_row_that_cannot_be_read_is_skipped_counted_and_raised(dataset: str, data: TabularData, example: str) -> None:
    kpis = compute_kpis(DAY, {dataset: data}, Thresholds())
    quality = next(q for q in kpis.data_quality if q.dataset == dataset)
    assert (quality.rows, quality.unreadable, len(quality.examples)) == (1, 1, 1)
    assert quality.examples[0].startswith(example)
    anomaly = next(a for a in kpis.anomalies if a.code == "DATA_QUALITY")
    assert (anomaly.subject, anomaly.value, anomaly.severity) == (dataset, 1.0, "critical")


def test_a_placeholder_instant_a_zone_west_of_utc_cannot_show_is_an_unreadable_row_not_a_failed_report() -> None:
    # .NET's DateTime.MinValue as UTC: in New York it falls in year 0, where the backlog's age could not be told
    orders = table(
        ORDER_COLUMNS, [["A", "0001-01-01T00:00:00Z", None, None, 1], ["B", "2026-11-20 09:00", None, None, 1]]
    )
    kpis = compute_kpis(report_day(DAY, "America/New_York"), {"orders": orders}, Thresholds())
    quality = next(q for q in kpis.data_quality if q.dataset == "orders")
    assert (quality.rows, quality.unreadable) == (2, 1)
    assert quality.examples[0].startswith("row 0, created_at: '0001-01-01T00:00:00Z' is out of the range of instants")
    assert kpis.backlog.orders == 1


@pytest.mark.parametrize(
    ("dataset", "column", "row"),
    [
        ("picks", "picked_at", ["P1", "Name P1", "early", 1, "9999-12-31T24:00"]),
        ("picks", "picked_at", ["P1", "Name P1", "early", 1, "99991231T24"]),
        ("shipments", "promised_at", ["A", "9999/12/31 24:00", None]),
        ("shipments", "shipped_at", ["A", "2026-11-20T10:00", "9999-12-31T23:00-05:00"]),
        ("orders", "created_at", ["A", "0001-01-01T00:00+05:00", None, None, 1]),
        ("orders", "promised_ship_at", ["A", "2026-11-20 09:00", "9999-12-31", None, 1]),
    ],
)
def test_a_timestamp_past_the_calendars_ends_is_an_unreadable_row_not_a_failed_report(
    dataset: str, column: str, row: list[Any]
) -> None:
    columns = {"picks": PICK_COLUMNS, "shipments": SHIPMENT_COLUMNS, "orders": ORDER_COLUMNS}[dataset]
    kpis = compute_kpis(DAY, {dataset: table(columns, [row])}, Thresholds())
    quality = next(q for q in kpis.data_quality if q.dataset == dataset)
    assert (quality.rows, quality.unreadable, quality.unreadable_timestamps) == (1, 1, 1)
    value = row[columns.index(column)]
    assert quality.examples == [f"row 0, {column}: {value!r} is out of the range of instants"]


@pytest.mark.parametrize("day", [date(1, 1, 3), date(9999, 12, 28)])
def test_a_report_day_near_the_calendars_ends_is_computed(day: date) -> None:
    # the window widened for far-out rows reaches past year 1 or 9999: it stops at the calendar's ends
    kpis = compute_kpis(day, {"picks": picks(("P1", 1, f"{day.isoformat()}T08:00:00"))}, Thresholds())
    assert kpis.throughput.lines_picked == 1


def test_a_few_unreadable_rows_among_many_are_a_data_note_not_an_anomaly() -> None:
    many = picks(*[("P1", 1, f"2026-11-20T{h:02d}:{m:02d}:00") for h in range(8, 16) for m in range(0, 60, 2)],
                 ("P1", 1, "garbage"))  # fmt: skip
    kpis = compute_kpis(DAY, {"picks": many}, Thresholds(min_picker_lines_per_hour=0))
    assert kpis.throughput.lines_picked == 240
    assert "DATA_QUALITY" not in {a.code for a in kpis.anomalies}  # 1 of 241 is below the 1% threshold
    assert any("1 of 241 rows of 'picks' were skipped" in w for w in kpis.data_warnings)


def test_rows_far_outside_the_requested_window_are_counted() -> None:
    stray = picks(("P1", 1, "2026-11-20T08:00:00"), ("P1", 1, "2026-10-01T08:00:00"))
    kpis = compute_kpis(DAY, {"picks": stray}, Thresholds())
    assert kpis.data_quality[1].outside_window == 1
    assert "1 far outside the requested window" in next(a.message for a in kpis.anomalies if a.code == "DATA_QUALITY")


def test_orders_due_and_no_pick_all_day_is_flagged() -> None:
    kpis = compute_kpis(DAY, {"picks": picks(), "shipments": SHIPMENTS}, Thresholds())
    assert [(a.code, a.severity) for a in kpis.anomalies][:1] == [("NO_PICKS", "critical")]


def test_tabular_data_iterates_rows_as_dicts_and_defaults_the_row_count() -> None:
    data = TabularData(columns=["a", "b"], rows=[[1, 2], [3, 4]])
    assert list(data.iter_dicts()) == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert (data.row_count, data.truncated) == (2, False)


def _date_promised_shipments(as_date: Any) -> TabularData:
    return table(
        SHIPMENT_COLUMNS,
        [
            ["A", as_date(20), "2026-11-20T09:00:00"],  # shipped on its promised day: on time
            ["B", as_date(20), "2026-11-20T23:59:59"],  # the last second of it: on time
            ["C", as_date(20), "2026-11-21T00:30:00"],  # after it: late, unshipped at the day's end
            ["D", as_date(20), None],  # due, not shipped: late
            ["E", as_date(19), "2026-11-20T08:00:00"],  # promised yesterday, shipped today: late
            ["F", as_date(21), "2026-11-20T11:00:00"],  # promised tomorrow, shipped today: early
            ["G", datetime(2026, 11, 20), "2026-11-20T09:00:00"],  # a timestamp at midnight stays one: late
            ["H", "2026-11-20T00:00:00", "2026-11-20T09:00:00"],  # late
        ],
    )


@pytest.mark.parametrize(
    "as_date",
    [lambda day: f"2026-11-{day}", lambda day: date(2026, 11, day), lambda day: f"{day}.11.2026"],
    ids=["iso text", "native date", "dotted text"],
)
def test_a_promise_of_a_date_alone_is_kept_by_shipping_before_the_next_local_midnight(as_date: Any) -> None:
    # Given promises stored as dates (a DATE column, or text without a time) for a warehouse in Berlin
    datasets = {
        "shipments": _date_promised_shipments(as_date),
        "orders": table(
            ORDER_COLUMNS,
            [
                ["D", "2026-11-19T10:00:00", as_date(20), None, 1],  # open at the end, promised today: overdue
                ["G", "2026-11-20T10:00:00", as_date(21), None, 1],  # open, promised tomorrow: not overdue
            ],
        ),
    }
    kpis = compute_kpis(report_day(DAY, "Europe/Berlin"), datasets, Thresholds())
    # Then a shipment on the promised day is on time, and a promise of the day is still due on it
    late = kpis.late
    assert sorted(late.late_order_ids) == ["C", "D", "E", "G", "H"]
    assert (late.orders_due, late.shipped_late, late.unshipped_past_promise) == (6, 3, 2)  # A-D G H; E G H; C D
    assert (late.promised_earlier_shipped_late, late.rate_base) == (1, 7)
    assert (kpis.backlog.orders, kpis.backlog.overdue) == (2, 1)
    assert kpis.throughput.orders_shipped == 6  # A, B, E, F, G, H


def test_a_date_promise_on_a_dst_day_lasts_until_its_local_midnight() -> None:
    # Given Berlin's 25-hour day of 25 October 2026 (CEST until 03:00, then CET)
    shipments = table(
        SHIPMENT_COLUMNS,
        [
            ["A", "2026-10-25", "2026-10-25T23:30:00+01:00"],  # 23:30 local: on time
            ["B", "2026-10-24", "2026-10-25T00:30:00+02:00"],  # the day after its promise: late
            ["C", "2026-10-25", "2026-10-26T00:00:00+01:00"],  # the next local midnight: late
        ],
    )
    late = compute_kpis(report_day(date(2026, 10, 25), "Europe/Berlin"), {"shipments": shipments}, Thresholds()).late
    assert sorted(late.late_order_ids) == ["B", "C"]
    assert (late.orders_due, late.shipped_late, late.unshipped_past_promise) == (2, 1, 1)


@pytest.mark.parametrize("endless", ["infinity", "-infinity"])
def test_an_infinite_promise_is_no_promise(endless: str) -> None:
    # Given PostgreSQL's endless promise (as the local agent hands it over) on a shipment and an open order
    shipments = table(SHIPMENT_COLUMNS, [["A", endless, "2026-11-20T09:00:00"], ["B", endless, None]])
    orders = table(ORDER_COLUMNS, [["B", "2026-11-19T10:00:00", endless, None, 1]])
    kpis = compute_kpis(DAY, {"shipments": shipments, "orders": orders}, Thresholds())
    # Then the rows are read: the shipment counts as shipped, nothing is due or late, the open order not overdue
    assert [q.unreadable for q in kpis.data_quality] == [0, 0, 0]
    assert kpis.throughput.orders_shipped == 1
    assert (kpis.late.orders_due, kpis.late.late_count) == (0, 0)
    assert (kpis.backlog.orders, kpis.backlog.overdue) == (1, 0)


@pytest.mark.parametrize(
    ("dataset", "data", "example"),
    [
        ("picks", picks(("P1", 1, "infinity")), "row 0, picked_at: 'infinity' (PostgreSQL's endless value) is not a"),
        ("orders", table(ORDER_COLUMNS, [["A", "-infinity", None, None, 1]]), "row 0, created_at: '-infinity' (Pos"),
        ("shipments", table(SHIPMENT_COLUMNS, [["A", "2026-11-20", "infinity"]]), "row 0, shipped_at: 'infinity' "),
    ],
)
def test_an_infinite_instant_is_an_unreadable_row_with_its_reason(
    dataset: str, data: TabularData, example: str
) -> None:
    kpis = compute_kpis(DAY, {dataset: data}, Thresholds())
    quality = next(q for q in kpis.data_quality if q.dataset == dataset)
    assert (quality.rows, quality.unreadable) == (1, 1)
    assert quality.examples[0].startswith(example)


def test_a_readable_timestamp_the_window_cannot_compare_is_read_not_flagged_as_far_outside() -> None:
    # The SQLite variants return every row whose timestamp text is not shaped like an ISO date, whatever its
    # date: one from a year before is simply not the day's, while a row with an ISO date that far out is flagged
    compact = picks(("P1", 1, "2026-11-20T08:00:00"), ("P1", 1, "20251120T080000"), ("P1", 1, " 2025-11-20 08:00"))
    quality = compute_kpis(DAY, {"picks": compact}, Thresholds()).data_quality[1]
    assert (quality.outside_window, quality.unreadable, quality.in_day) == (0, 0, 1)
    iso = picks(("P1", 1, "2026-11-20T08:00:00"), ("P1", 1, "2025-11-20T08:00:00"))
    assert compute_kpis(DAY, {"picks": iso}, Thresholds()).data_quality[1].outside_window == 1


def test_mysqls_zero_date_is_no_date() -> None:
    # Given a MySQL export that stores "not shipped yet" and "no promise" as its zero date
    zero = "0000-00-00 00:00:00"
    shipments = table(
        SHIPMENT_COLUMNS, [["A", "2026-11-20 10:00:00", zero], ["B", "2026-11-20 12:00:00", "2026-11-20 11:00:00"]]
    )
    orders = table(
        ORDER_COLUMNS,
        [["A", "2026-11-19 10:00:00", "0000-00-00", zero, 2], ["Z", zero, "2026-11-20 12:00:00", None, 1]],
    )
    kpis = compute_kpis(DAY, {"shipments": shipments, "orders": orders}, Thresholds())
    # Then an optional zero date reads as none (A not shipped: late; its order open, with no promise), and a
    # required one is a row with a missing timestamp, not a failed report
    assert kpis.late.late_order_ids == ["A"] and kpis.throughput.orders_shipped == 1
    order_quality = next(q for q in kpis.data_quality if q.dataset == "orders")
    assert (order_quality.rows, order_quality.unreadable) == (2, 1)
    assert order_quality.examples == ["row 1, created_at: missing timestamp"]
    assert (kpis.backlog.orders, kpis.backlog.overdue) == (1, 0)
    shipment_quality = next(q for q in kpis.data_quality if q.dataset == "shipments")
    assert shipment_quality.unreadable == 0


def test_year_first_slash_dates_and_oracle_dates_are_read_in_a_report() -> None:
    shipments = table(
        SHIPMENT_COLUMNS,
        [["A", "2026/11/20 10:00", "2026/11/20 9:00"], ["B", "20-Nov-2026 12:00", "2026-11-20 1:00:00 PM"]],
    )
    kpis = compute_kpis(DAY, {"shipments": shipments}, Thresholds())
    assert next(q for q in kpis.data_quality if q.dataset == "shipments").unreadable == 0
    assert kpis.late.late_order_ids == ["B"] and (kpis.late.orders_due, kpis.late.shipped_late) == (2, 1)


def _with_carriers(carriers: list[Any]) -> TabularData:
    return table([*SHIPMENT_COLUMNS, "carrier"], [[*row, c] for row, c in zip(SHIPMENTS.rows, carriers, strict=True)])


def test_late_orders_by_carrier_count_as_the_totals_do_most_late_first() -> None:
    # A on time, B late, C unshipped, D late from yesterday, E due tomorrow (not counted), with their carriers
    late = compute_kpis(DAY, {"shipments": _with_carriers(["DHL", "UPS", "UPS", "  DHL ", "UPS"])}, Thresholds()).late
    by_carrier = [(c.carrier, c.counted, c.late, c.late_rate) for c in late.by_carrier]
    assert by_carrier == [("UPS", 2, 2, 1.0), ("DHL", 2, 1, 0.5)]  # blanks around a name do not split it
    assert sum(c.counted for c in late.by_carrier) == late.rate_base
    assert sum(c.late for c in late.by_carrier) == late.late_count


def test_without_a_carrier_column_there_is_no_breakdown_and_an_empty_carrier_is_said_so() -> None:
    assert compute_kpis(DAY, {"shipments": SHIPMENTS}, Thresholds()).late.by_carrier == []
    late = compute_kpis(DAY, {"shipments": _with_carriers([None, "", "UPS", None, "UPS"])}, Thresholds()).late
    assert [(c.carrier, c.counted, c.late) for c in late.by_carrier] == [
        ("(no carrier given)", 3, 2),
        ("UPS", 1, 1),
    ]


def test_an_order_shipped_in_parts_by_two_carriers_counts_once_with_each() -> None:
    shipments = table(
        [*SHIPMENT_COLUMNS, "carrier"],
        [
            ["K", "2026-11-20T10:00:00", "2026-11-20T09:00:00", "DHL"],  # the first part on time
            ["K", "2026-11-20T10:00:00", "2026-11-20T11:00:00", "UPS"],  # the second late
            ["K", "2026-11-20T10:00:00", "2026-11-20T12:00:00", "UPS"],  # and a third, late too
        ],
    )
    late = compute_kpis(DAY, {"shipments": shipments}, Thresholds()).late
    assert (late.rate_base, late.late_count) == (1, 1)
    assert [(c.carrier, c.counted, c.late) for c in late.by_carrier] == [("UPS", 1, 1), ("DHL", 1, 0)]


def test_a_carrier_column_of_thousands_of_names_lists_the_most_late_and_counts_the_rest() -> None:
    """A carrier column that holds tracking numbers must not grow the task's output without bound."""
    shipped = "2026-11-20T12:00:00"  # after the promise, or not shipped: every order is late
    rows = [[f"O{i}", "2026-11-20T10:00:00", shipped if i % 3 else None, f"T{i:05d}"] for i in range(3000)]
    kpis = compute_kpis(DAY, {"shipments": table([*SHIPMENT_COLUMNS, "carrier"], rows)}, Thresholds())
    assert kpis.late.carriers == 3000 and len(kpis.late.by_carrier) == 50
    assert all(c.late == 1 for c in kpis.late.by_carrier)
    report = render_report(kpis, narrative=None, agent_name="Wanda").markdown
    assert "2,980 more carriers with fewer late orders are not listed." in report


# --- event times given as a date alone: on their day, out of what needs the time of day ---------------------


@pytest.mark.parametrize("picked_on", ["2026-11-20", date(2026, 11, 20), "20.11.2026", "20261120"])
def test_a_picks_column_of_dates_alone_counts_on_its_day_but_not_per_hour_nor_per_picker_rate(picked_on: Any) -> None:
    # Given 40 picks dated 2026-11-20 with no time of day (a DATE column, a date-only cell, a native date)
    forty = picks(*[(f"P{n % 2}", 2, picked_on) for n in range(40)])
    kpis = compute_kpis(
        DAY, {"picks": forty}, Thresholds(min_picker_lines_per_hour=1000, min_picker_lines_for_rating=1)
    )
    # Then they are the day's lines and units
    assert (kpis.throughput.lines_picked, kpis.throughput.units_picked) == (40, 80)
    assert kpis.throughput.lines_without_time_of_day == 40
    # but not in hour 0 (no false HOURLY_PICK_DIP), and no picker is given a rate from made-up times
    assert sum(h.lines for h in kpis.hourly) == 0
    assert [(p.picker_id, p.lines, p.lines_per_hour, p.first_pick_at) for p in kpis.pickers] == [
        ("P0", 20, None, None),
        ("P1", 20, None, None),
    ]
    assert not [a for a in kpis.anomalies if a.code in ("HOURLY_PICK_DIP", "PICKER_SLOW")]
    # and the data notes say how many rows of which column had no time of day
    assert (
        "40 of 40 rows of 'picks' give picked_at as a date with no time of day: they count as lines and units of "
        "their day, but not in the picks per hour"
    ) in "\n".join(kpis.data_warnings)
    report = render_report(kpis, narrative=None, agent_name="Wanda").markdown
    assert "40 of the day's 40 lines were picked on a date with no time of day and are not in this table." in report
    assert "| n/a (20 with no time of day) |" in report


def test_an_hour_is_a_dip_only_if_it_still_is_with_every_pick_without_a_time_in_it() -> None:
    per_hour = {8: 20, 9: 20, 10: 20, 11: 20, 12: 2, 13: 20, 14: 20}
    timed = hourly_picks(per_hour).rows

    def dips(dates_alone: int) -> list[str]:
        rows = timed + [["P1", "Name P1", "early", 1.0, "2026-11-20"]] * dates_alone
        kpis = compute_kpis(DAY, {"picks": table(PICK_COLUMNS, rows)}, Thresholds(min_picker_lines_per_hour=0))
        assert sum(h.lines for h in kpis.hourly) == sum(per_hour.values())  # none of them in hour 0
        return [a.message for a in kpis.anomalies if a.code == "HOURLY_PICK_DIP"]

    assert dips(0) == ["12:00-13:00: 2 lines picked, 10% of the median hour (20 lines; minimum 50%)"]
    assert dips(5) == [
        "12:00-13:00: 2 lines picked, at most 35% of the median hour even if all 5 picks with no time of day were in "
        "it (20 lines; minimum 50%)"
    ]
    assert dips(10) == []  # 12 lines in that hour would be no dip: the report cannot tell


SHIPPED_ON_DATES = table(
    SHIPMENT_COLUMNS,
    [
        ["A", "2026-11-20T10:00:00", "2026-11-20"],  # shipped on the promise's date, time unknown: neither
        ["B", "2026-11-19T10:00:00", "2026-11-20"],  # shipped on a later date than promised: late
        ["C", "2026-11-20", "2026-11-20"],  # a whole-day promise kept on its day: on time
        ["D", "2026-11-20T10:00:00", date(2026, 11, 21)],  # shipped the next day: late (not shipped by the end)
        ["E", "2026-11-20T10:00:00", "2026-11-19"],  # shipped on an earlier date: on time
        ["F", "2026-11-20T10:00:00", "2026-11-20T09:00:00"],  # a time of day: on time
    ],
)


def test_a_shipping_date_alone_is_late_or_on_time_only_when_the_dates_decide() -> None:
    kpis = compute_kpis(DAY, {"shipments": SHIPPED_ON_DATES}, Thresholds())
    late = kpis.late
    assert kpis.throughput.orders_shipped == 4  # A, B, C, F: on the day, time or no time
    assert (late.orders_due, late.lateness_unknown, late.promised_earlier_shipped_late) == (5, 1, 1)
    assert late.late_order_ids == ["B", "D"]
    assert (late.late_count, late.rate_base) == (2, 5)  # A is neither late nor counted on time
    assert late.late_rate == pytest.approx(2 / 5)
    assert (
        "5 of 6 rows of 'shipments' give shipped_at as a date with no time of day: they count as shipped on their "
        "day; against a promise with a time of day they are late if shipped on a later date, on time if on an "
        "earlier one, and neither on the promise's own date (left out of the late rate: 1 order due this day)."
    ) in kpis.data_warnings
    report = render_report(kpis, narrative=None, agent_name="Wanda").markdown
    assert "| Left out: shipped on the promise's date, with no time of day | 1 |" in report


def test_a_shipping_date_alone_leaves_an_order_out_of_its_carriers_rate_too() -> None:
    shipments = table(
        [*SHIPMENT_COLUMNS, "carrier"],
        [[*row, carrier] for row, carrier in zip(SHIPPED_ON_DATES.rows, "XXYYYY", strict=True)],
    )
    by_carrier = {
        c.carrier: (c.counted, c.late)
        for c in compute_kpis(DAY, {"shipments": shipments}, Thresholds()).late.by_carrier
    }
    assert by_carrier == {"X": (1, 1), "Y": (4, 1)}  # A (carrier X) is left out; B is late with X, D with Y


def test_an_order_created_on_a_date_alone_is_open_but_not_in_the_oldest_age() -> None:
    orders = table(
        ORDER_COLUMNS,
        [
            ["A", "2026-11-17", None, None, 1],  # open, created on a date with no time of day
            ["B", "2026-11-20T08:00:00", None, None, 1],  # open, 16 h old at the end of the day
            ["C", "2026-11-20", None, "2026-11-20", 1],  # received and shipped on the day
            ["D", date(2026, 11, 19), None, date(2026, 11, 21), 1],  # shipped the next day: open at the end
        ],
    )
    kpis = compute_kpis(DAY, {"orders": orders}, Thresholds(max_backlog_age_hours=24))
    backlog = kpis.backlog
    assert (kpis.throughput.orders_received, backlog.orders) == (2, 3)  # B, C; A, B, D
    assert (backlog.oldest_age_hours, backlog.oldest_created_at) == (16.0, datetime(2026, 11, 20, 8, tzinfo=UTC))
    assert (backlog.without_time_of_day, backlog.earliest_date_without_time) == (2, date(2026, 11, 17))
    # Not a made-up 96 h (from 2026-11-17's midnight): at least 72 h (from its end), certain and over the limit
    [alarm] = [a for a in kpis.anomalies if a.code == "BACKLOG_AGE_HIGH"]
    assert (alarm.value, backlog.earliest_date_age_at_least) == (72.0, 72.0)
    notes = "\n".join(kpis.data_warnings)
    assert "3 of 4 rows of 'orders' give created_at as a date with no time of day" in notes
    assert "(2 open at the end of the day, the earliest created on 2026-11-17)" in notes
    assert "2 of 4 rows of 'orders' give shipped_at as a date with no time of day" in notes
    report = render_report(kpis, narrative=None, agent_name="Wanda")
    assert (
        "oldest 16.0 h of those with a time of creation (2 created on a date with no time of day, the earliest "
        "2026-11-17)" in report.summary
    )


# --- quantities and counts: read as the table ops read numeric text ------------------------------------------


@pytest.mark.parametrize(
    ("qty", "units"),
    [
        ("1,234.5", 1234.5),  # a thousands comma before a decimal point
        ("1,234,567", 1234567),  # two thousands commas
        (" 12 ", 12),
        ("-3", -3),  # a reversal
        ("1e3", 1000),
        ("1.500", 1.5),  # a decimal point, as the table ops read it (see number_in_text)
        (Decimal("2.5"), 2.5),
        (7, 7),
    ],
)
def test_a_quantity_is_read_as_the_table_ops_read_it(qty: Any, units: float) -> None:
    kpis = compute_kpis(DAY, {"picks": picks(("P1", qty, "2026-11-20T08:00:00"))}, Thresholds())
    assert (kpis.throughput.lines_picked, kpis.throughput.units_picked) == (1, units)
    if isinstance(qty, str):
        assert number_in_text(qty) == units  # the same number the table ops' sum would add


@pytest.mark.parametrize(
    ("qty", "reason"),
    [
        ("1,500", "'1,500' is ambiguous: 1500 with a thousands comma, or 1.5 with a decimal comma"),
        ("0,250", "'0,250' is ambiguous: 250 with a thousands comma, or 0.25 with a decimal comma"),
        ("-2,000", "'-2,000' is ambiguous: -2000 with a thousands comma, or -2 with a decimal comma"),
        ("1,5", "expected a number, got '1,5'"),
        ("12 units", "expected a number, got '12 units'"),
        ("  ", "missing value"),
        ("1e999", "expected a finite number, got '1e999'"),
        ("-Infinity", "expected a finite number, got '-Infinity'"),
        # the local agent sends a NaN or infinite float or NUMERIC as text ("NaN", "Infinity"); older ones as null
        ("NaN", "expected a finite number, got 'NaN'"),
        ("Infinity", "expected a finite number, got 'Infinity'"),
        (None, "no number (null: none was given, or a NaN or infinity from an older local agent)"),
    ],
)
def test_a_quantity_that_is_no_number_or_is_ambiguous_is_refused_naming_row_and_value(qty: Any, reason: str) -> None:
    kpis = compute_kpis(DAY, {"picks": picks(("P0", 1, "2026-11-20T07:00:00"), ("P1", qty, "2026-11-20T08:00:00"))},
                        Thresholds())  # fmt: skip
    quality = next(q for q in kpis.data_quality if q.dataset == "picks")
    assert (quality.unreadable, quality.unreadable_timestamps, kpis.throughput.units_picked) == (1, 0, 1)
    assert quality.examples == [f"row 1, qty: {reason}"]
    if isinstance(qty, str) and qty.strip():
        assert number_in_text(qty) is None or not math.isfinite(number_in_text(qty) or 0)  # the table ops refuse it too


def test_a_line_count_with_thousands_commas_is_read() -> None:
    orders = table(ORDER_COLUMNS, [["A", "2026-11-20T08:00:00", None, None, "1,234,567"]])
    assert compute_kpis(DAY, {"orders": orders}, Thresholds()).backlog.lines == 1234567


@pytest.mark.parametrize("line_count", [2.5, "2.5", "1,234.5"])
def test_a_line_count_that_is_not_a_whole_number_is_refused_not_cut(line_count: object) -> None:
    orders = table(ORDER_COLUMNS, [["A", "2026-11-20T08:00:00", None, None, line_count]])
    kpis = compute_kpis(DAY, {"orders": orders}, Thresholds())
    quality = next(q for q in kpis.data_quality if q.dataset == "orders")
    assert quality.unreadable == 1 and kpis.backlog.lines == 0
    assert quality.examples == [f"row 0, line_count: expected a whole number, got {str(line_count)!r}"]


def test_an_open_order_created_on_a_date_alone_long_ago_still_raises_the_backlog_age_alarm() -> None:
    # Left out of the oldest order's age (its time of creation is unknown), it had silenced the alarm: an order
    # created ten days before is at least 240 h old at the end of the day, whatever its time.
    orders = table(ORDER_COLUMNS, [["OLD", "2026-11-10", None, None, 1], ["NEW", "2026-11-20T18:00:00", None, None, 1]])
    kpis = compute_kpis(DAY, {"orders": orders}, Thresholds(max_backlog_age_hours=48))
    assert (kpis.backlog.oldest_age_hours, kpis.backlog.earliest_date_age_at_least) == (6.0, 240.0)
    [alarm] = [a for a in kpis.anomalies if a.code == "BACKLOG_AGE_HIGH"]
    assert alarm.value == 240.0 and "created on 2026-11-10 (a date with no time of day) is at least 240.0 h" in (
        alarm.message
    )
    recent = table(ORDER_COLUMNS, [["D", "2026-11-20", None, None, 1]])
    assert not [
        a for a in compute_kpis(DAY, {"orders": recent}, Thresholds()).anomalies if a.code == "BACKLOG_AGE_HIGH"
    ]


@pytest.mark.parametrize(
    ("report_date", "created_on", "hours"),
    [
        # New York springs forward on Sunday 2026-03-08 (a 23-hour day): from the end of Saturday to the end of
        # Monday is 47 hours, not the 48 the wall clocks show
        (date(2026, 3, 9), "2026-03-07", 47.0),
        # and falls back on Sunday 2026-11-01 (25 hours): 49 hours
        (date(2026, 11, 2), "2026-10-31", 49.0),
    ],
)
def test_the_least_age_of_an_order_created_on_a_date_alone_counts_the_clock_change_between(
    report_date: date, created_on: str, hours: float
) -> None:
    orders = table(ORDER_COLUMNS, [["OLD", created_on, None, None, 1]])
    day = report_day(report_date, "America/New_York")
    kpis = compute_kpis(day, {"orders": orders}, Thresholds(max_backlog_age_hours=40))
    assert kpis.backlog.earliest_date_age_at_least == hours
    [alarm] = [a for a in kpis.anomalies if a.code == "BACKLOG_AGE_HIGH"]
    assert f"is at least {hours:.1f} h old at end of day" in alarm.message


@pytest.mark.parametrize("qty", ["1,500e999999", "1,500e-999999", "1,500e99"])
def test_a_quantity_with_a_huge_exponent_is_an_unreadable_row_quoted_briefly(qty: str) -> None:
    # "1,500e999999" had failed the whole report with decimal.Overflow's class list as its cause.
    picks = table(
        ["picker_id", "qty", "picked_at"], [["P1", qty, "2026-11-20T10:00:00"], ["P1", 1, "2026-11-20T10:00:00"]]
    )
    kpis = compute_kpis(DAY, {"picks": picks}, Thresholds())
    [quality] = [q for q in kpis.data_quality if q.dataset == "picks"]
    assert quality.unreadable == 1 and kpis.throughput.units_picked == 1
    assert len(quality.examples[0]) < 200
