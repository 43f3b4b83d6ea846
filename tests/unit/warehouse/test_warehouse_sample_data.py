from __future__ import annotations

import hashlib
import re
import sqlite3
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from phi.workflows.warehouse.sample_data import SampleSummary, generate_sample_warehouse, main

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def _digest(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()
    finally:
        connection.close()


def _scalar(path: Path, sql: str, *params: object) -> object:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchone()[0]
    finally:
        connection.close()


def _rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def test_same_seed_gives_the_same_database_and_another_seed_does_not(tmp_path: Path) -> None:
    # Given two generations with seed 7 and one with seed 8
    end = date(2026, 3, 10)
    generate_sample_warehouse(tmp_path / "a.sqlite", days=2, end_date=end, seed=7)
    generate_sample_warehouse(tmp_path / "b.sqlite", days=2, end_date=end, seed=7)
    generate_sample_warehouse(tmp_path / "c.sqlite", days=2, end_date=end, seed=8)
    # Then the seed alone decides the content
    assert _digest(tmp_path / "a.sqlite") == _digest(tmp_path / "b.sqlite")
    assert _digest(tmp_path / "a.sqlite") != _digest(tmp_path / "c.sqlite")


def test_seven_days_generate_in_under_three_seconds(tmp_path: Path) -> None:
    started = time.perf_counter()
    summary = generate_sample_warehouse(tmp_path / "w.sqlite", days=7, end_date=date(2026, 1, 31), seed=3)
    assert time.perf_counter() - started < 3.0
    assert summary.days == 7
    assert summary.first_day == date(2026, 1, 25)


def test_summary_counts_match_the_tables(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    for table, count in summary.row_counts.items():
        assert _scalar(path, f"SELECT COUNT(*) FROM {table}") == count
    assert {event.kind for event in summary.events} == {"late_spike", "slow_picker", "pick_outage"}


def test_orders_per_day_and_lines_per_order_are_in_range(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    per_day = dict(_rows(path, "SELECT substr(created_at, 1, 10), COUNT(*) FROM orders GROUP BY 1"))
    covered = [str(summary.first_day + timedelta(days=n)) for n in range(summary.days)]
    assert all(300 <= per_day[day] <= 600 for day in covered)
    lines = [n for (n,) in _rows(path, "SELECT COUNT(*) FROM order_lines GROUP BY order_id")]
    assert min(lines) == 1
    assert max(lines) == 5


def test_a_few_orders_are_carried_over_from_before_the_window(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    before = _scalar(path, "SELECT COUNT(*) FROM orders WHERE created_at < ?", f"{summary.first_day}T00:00:00")
    assert before == summary.orders_carried_over
    assert 0 < before < 100


def test_pickers_work_two_shifts_at_different_speeds(sample_db: tuple[Path, SampleSummary]) -> None:
    path, _ = sample_db
    shifts = dict(_rows(path, "SELECT shift, COUNT(*) FROM pickers GROUP BY shift"))
    assert set(shifts) == {"early", "late"}
    assert 8 <= sum(shifts.values()) <= 12
    totals = [n for (n,) in _rows(path, "SELECT COUNT(*) FROM picks GROUP BY picker_id")]
    assert max(totals) > 1.2 * min(totals)


def test_the_slow_picker_day_has_one_clearly_slow_picker(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    event = next(e for e in summary.events if e.kind == "slow_picker")
    slow_id = event.detail.split()[0]
    counts = dict(
        _rows(path, "SELECT picker_id, COUNT(*) FROM picks WHERE date(picked_at) = ? GROUP BY 1", str(event.day))
    )
    others = [n for picker, n in counts.items() if picker != slow_id]
    assert counts[slow_id] < 0.6 * statistics.median(others)


def test_hourly_picks_dip_over_lunch(sample_db: tuple[Path, SampleSummary]) -> None:
    path, _ = sample_db
    hourly = dict(_rows(path, "SELECT CAST(substr(picked_at, 12, 2) AS INTEGER), COUNT(*) FROM picks GROUP BY 1"))
    assert set(hourly) <= set(range(6, 22))
    morning = statistics.mean([hourly[8], hourly[9], hourly[10]])
    assert hourly[11] < 0.9 * morning


def test_late_shipments_spike_on_one_day(sample_db: tuple[Path, SampleSummary]) -> None:
    path, summary = sample_db
    spike = next(e for e in summary.events if e.kind == "late_spike").day
    late = dict(
        _rows(
            path,
            "SELECT date(promised_at), COUNT(*) FROM shipments "
            "WHERE shipped_at IS NULL OR shipped_at > promised_at GROUP BY 1",
        )
    )
    normal = [late.get(str(summary.first_day + timedelta(days=n)), 0) for n in range(summary.days - 1)]
    assert late[str(spike)] >= 3 * statistics.median(normal)
    assert late[str(spike)] == max(normal)


def test_every_day_ends_with_a_backlog_and_the_last_day_leaves_orders_unshipped(
    sample_db: tuple[Path, SampleSummary],
) -> None:
    path, summary = sample_db
    for offset in range(summary.days):
        day_end = f"{summary.first_day + timedelta(days=offset + 1)}T00:00:00"
        open_orders = _scalar(
            path,
            "SELECT COUNT(*) FROM orders o JOIN shipments s USING (order_id) "
            "WHERE o.created_at < ? AND (s.shipped_at IS NULL OR s.shipped_at >= ?)",
            day_end,
            day_end,
        )
        assert isinstance(open_orders, int) and open_orders > 0
    assert isinstance(count := _scalar(path, "SELECT COUNT(*) FROM shipments WHERE shipped_at IS NULL"), int)
    assert count > 0


def test_timestamps_are_utc_iso_and_causal(sample_db: tuple[Path, SampleSummary]) -> None:
    path, _ = sample_db
    stamps = _rows(path, "SELECT created_at, promised_ship_at FROM orders")
    stamps += _rows(path, "SELECT picked_at, shipped_at FROM picks JOIN shipments USING (order_id)")
    assert all(ISO.match(value) for row in stamps for value in row if value is not None)
    assert (
        _scalar(
            path,
            "SELECT COUNT(*) FROM picks p JOIN orders o USING (order_id) WHERE p.picked_at < o.created_at",
        )
        == 0
    )
    last_pick = "(SELECT MAX(picked_at) FROM picks p WHERE p.order_id = s.order_id)"
    assert _scalar(path, f"SELECT COUNT(*) FROM shipments s WHERE s.shipped_at < {last_pick}") == 0


def test_timestamp_columns_are_indexed(sample_db: tuple[Path, SampleSummary]) -> None:
    path, _ = sample_db
    indexed = {
        (table, column)
        for table, column in _rows(
            path,
            "SELECT m.name, i.name FROM sqlite_master m, pragma_index_list(m.name) l, "
            "pragma_index_info(l.name) i WHERE m.type = 'table' AND i.seqno = 0",
        )
    }
    expected = {
        ("orders", "created_at"),
        ("picks", "picked_at"),
        ("shipments", "promised_at"),
        ("shipments", "shipped_at"),
    }
    assert expected <= indexed


def test_cli_writes_the_database_and_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.sqlite"
    assert main(["--out", str(out), "--days", "1", "--end-date", "2026-02-02", "--seed", "5"]) == 0
    summary = SampleSummary.model_validate_json(capsys.readouterr().out)
    assert summary.last_day == date(2026, 2, 2)
    assert _scalar(out, "SELECT COUNT(*) FROM orders") == summary.row_counts["orders"]


def test_days_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="days"):
        generate_sample_warehouse(tmp_path / "x.sqlite", days=0)
