from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from phi.workflows.timeframes import report_day
from phi.workflows.warehouse.kpis import TabularData, Thresholds, WarehouseKpis, compute_kpis
from phi.workflows.warehouse.queries import default_queries
from phi.workflows.warehouse.sample_data import SampleSummary
from tests.support.warehouse_forms import run_report_queries
from tests.support.warehouse_reference import reference_figures


def run_queries(path: Path, day: date) -> dict[str, TabularData]:
    """What the local agent's db.query tool returns for the default queries."""
    return run_report_queries(f"sqlite:///{path}", report_day(day))


def kpis_for(path: Path, day: date) -> WarehouseKpis:
    return compute_kpis(day, run_queries(path, day), Thresholds())


def test_queries_bind_a_typed_window_around_the_day() -> None:
    # The Europe/London day of 2026-11-20 is fetched with a window of aware instants around it
    queries = default_queries(report_day(date(2026, 11, 20), "Europe/London"))
    assert set(queries) == {"orders", "picks", "shipments"}
    for spec in queries.values():
        assert spec.params == {
            "window_start": {"$datetime": "2026-11-18T23:59:59+00:00"},
            "window_end": {"$datetime": "2026-11-22T00:00:00+00:00"},
        }
        assert set(re.findall(r":(\w+)", spec.sql)) == set(spec.params)
        assert "?" not in spec.sql


@pytest.mark.parametrize("offset", range(7))
def test_kpis_from_the_queries_equal_the_reference_figures(sample_db: tuple[Path, SampleSummary], offset: int) -> None:
    # Given the sample warehouse and the default queries run through sqlite3
    path, summary = sample_db
    day = summary.first_day + timedelta(days=offset)
    # When the KPIs are computed from the query results
    kpis = kpis_for(path, day)
    # Then they equal the figures computed independently with SQL
    reference = reference_figures(path, day)
    assert kpis.throughput.orders_shipped == reference["orders_shipped"]
    assert kpis.throughput.lines_picked == reference["lines_picked"]
    assert kpis.throughput.units_picked == reference["units_picked"]
    assert kpis.late.late_count == reference["late_orders"]
    assert kpis.backlog.orders == reference["backlog_orders"]
    assert kpis.picker_lines() == reference["picker_lines"]
    assert reference["lines_picked"] > 0
    assert kpis.data_warnings == []
    assert not {a.code for a in kpis.anomalies} & {"NO_DATA", "NO_PICKS", "DATA_QUALITY"}


def test_picks_dataset_holds_the_window_around_the_day(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    picks = run_queries(path, summary.last_day)["picks"]
    stamps = [row["picked_at"] for row in picks.iter_dicts()]
    days = {(summary.last_day + timedelta(days=n)).isoformat() for n in (-1, 0)}  # the sample ends that day
    assert stamps and {stamp[:10] for stamp in stamps} == days
    assert {"picker_id", "picker_name", "zone_id", "qty", "order_id"} <= set(picks.columns)


def test_orders_dataset_is_bounded_to_orders_open_during_the_day(
    sample_db: tuple[Path, SampleSummary],
) -> None:
    path, summary = sample_db
    orders = run_queries(path, summary.last_day)["orders"]
    total = summary.row_counts["orders"]
    assert 0 < orders.row_count < total / 2  # the window's open orders, not the history
    assert all(
        row["shipped_at"] is None or row["shipped_at"] >= f"{summary.last_day - timedelta(days=1)}T00:00:00"
        for row in orders.iter_dicts()
    )


def test_scripted_events_show_up_as_anomalies(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    expected = {
        "late_spike": "LATE_RATE_HIGH",
        "slow_picker": "PICKER_SLOW",
        "pick_outage": "HOURLY_PICK_DIP",
    }
    for event in summary.events:
        codes = {anomaly.code for anomaly in kpis_for(path, event.day).anomalies}
        assert expected[event.kind] in codes, event
    slow = next(e for e in summary.events if e.kind == "slow_picker")
    flagged = [a.subject for a in kpis_for(path, slow.day).anomalies if a.code == "PICKER_SLOW"]
    assert flagged == [slow.detail.split()[0]]


def test_an_ordinary_day_has_no_picker_or_hourly_anomaly(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    event_days = {event.day for event in summary.events}
    days = [summary.first_day + timedelta(days=n) for n in range(summary.days)]
    quiet = [day for day in days if day not in event_days]
    for day in quiet:
        codes = {anomaly.code for anomaly in kpis_for(path, day).anomalies}
        assert not codes & {"PICKER_SLOW", "HOURLY_PICK_DIP"}, day
