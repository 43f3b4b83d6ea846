"""The sample warehouse's tables for the other seeded roles: shifts and their exceptions (ops_manager), safety
incidents and corrective actions (safety_officer)."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from phi.workflows.safety.sample_data import DUE_DAYS, HISTORY_DAYS
from phi.workflows.warehouse import sample_data
from phi.workflows.warehouse.sample_data import generate_sample_warehouse

ORIGINAL_TABLES = ("zones", "skus", "pickers", "orders", "order_lines", "picks", "shipments")
ROLE_TABLES = ("shifts", "shift_exceptions", "safety_incidents", "corrective_actions")
LAST_DAY = date(2026, 11, 20)


def _digest(path: Path, tables: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(path) as db:
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    path = tmp_path_factory.mktemp("role-sample") / "warehouse.sqlite"
    return path, generate_sample_warehouse(path, days=7, end_date=LAST_DAY, seed=7)


def test_the_role_tables_change_nothing_in_the_warehouse_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same seed generated with and without the role tables
    generate_sample_warehouse(tmp_path / "with.sqlite", days=3, end_date=LAST_DAY, seed=11)
    monkeypatch.setattr(sample_data, "_write_role_tables", lambda *args: {})
    generate_sample_warehouse(tmp_path / "without.sqlite", days=3, end_date=LAST_DAY, seed=11)
    # Then the warehouse tables (and so the daily report's figures) are identical
    assert _digest(tmp_path / "with.sqlite", ORIGINAL_TABLES) == _digest(tmp_path / "without.sqlite", ORIGINAL_TABLES)
    assert _rows(tmp_path / "without.sqlite", "SELECT name FROM sqlite_master WHERE name = 'shifts'") == []


def test_the_role_tables_are_decided_by_the_seed(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_sample_warehouse(tmp_path / f"{name}.sqlite", days=2, end_date=LAST_DAY, seed=seed)
    assert _digest(tmp_path / "a.sqlite", ROLE_TABLES) == _digest(tmp_path / "b.sqlite", ROLE_TABLES)
    assert _digest(tmp_path / "a.sqlite", ROLE_TABLES) != _digest(tmp_path / "c.sqlite", ROLE_TABLES)


def test_two_shifts_a_day_with_their_crews(sample: tuple[Path, Any]) -> None:
    path, summary = sample
    shifts = _rows(
        path, "SELECT shift_date, shift, starts_at, ends_at, pickers_on_shift FROM shifts ORDER BY starts_at"
    )
    assert len(shifts) == 2 * summary.days == summary.row_counts["shifts"]
    for day, shift, starts, ends, crew in shifts:
        clock = ("06:00:00", "14:00:00") if shift == "early" else ("14:00:00", "22:00:00")
        assert (starts, ends) == (f"{day}T{clock[0]}", f"{day}T{clock[1]}")
        assert crew >= 1


def test_exceptions_follow_the_scripted_incidents(sample: tuple[Path, Any]) -> None:
    path, summary = sample
    spike = next(e.day for e in summary.events if e.kind == "late_spike")
    outage = next(e.day for e in summary.events if e.kind == "pick_outage")
    missed = _rows(path, "SELECT raised_at, carrier FROM shift_exceptions WHERE kind = 'missed_pickup' ORDER BY 1")
    # every wave from 13:00 on the late-spike day: 13:00, 16:00, 19:00, 21:30, logged 15 minutes later
    assert missed == [(f"{spike}T{t}:00", "DHL") for t in ("13:15", "16:15", "19:15", "21:45")]
    faults = _rows(path, "SELECT substr(raised_at, 1, 10) FROM shift_exceptions WHERE kind = 'equipment_fault'")
    assert faults == [(outage.isoformat(),)]
    assert _rows(
        path,
        """SELECT COUNT(*) FROM shift_exceptions e WHERE (e.order_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = e.order_id))
           OR e.resolved_at < e.raised_at OR e.resolved_at >= ?""",
        f"{LAST_DAY + timedelta(days=1)}T00:00:00",
    ) == [(0,)]
    assert _rows(path, "SELECT COUNT(*) FROM shift_exceptions WHERE resolved_at IS NULL")[0][0] > 0


def test_incidents_and_actions_over_six_weeks_with_some_overdue(sample: tuple[Path, Any]) -> None:
    path, summary = sample
    first, last = _rows(path, "SELECT MIN(substr(occurred_at, 1, 10)), MAX(occurred_at) FROM safety_incidents")[0]
    assert date.fromisoformat(first) >= LAST_DAY - timedelta(days=HISTORY_DAYS - 1)
    assert last < f"{LAST_DAY + timedelta(days=1)}T00:00:00"
    assert _rows(path, "SELECT COUNT(*) FROM safety_incidents WHERE zone_id NOT IN (SELECT zone_id FROM zones)") == [
        (0,)
    ]
    actions = _rows(
        path,
        """SELECT i.occurred_at, i.severity, a.due_date, a.completed_at FROM corrective_actions a
           JOIN safety_incidents i ON i.incident_id = a.incident_id""",
    )
    assert len(actions) == summary.row_counts["corrective_actions"] > 0
    for occurred, severity, due, completed in actions:
        assert date.fromisoformat(due) == datetime.fromisoformat(occurred).date() + timedelta(days=DUE_DAYS[severity])
        assert completed is None or occurred < completed < f"{LAST_DAY + timedelta(days=1)}T00:00:00"
    overdue = [a for a in actions if a[2] <= LAST_DAY.isoformat() and a[3] is None]
    late = [a for a in actions if a[3] is not None and a[3][:10] > a[2]]
    assert overdue and late
