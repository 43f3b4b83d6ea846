"""Rows whose timestamps a database cannot compare with the report's window (SQLite: any text not shaped like
an ISO date, numbers, NULL; every database: NULL) still reach the cloud and are counted as unreadable."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import make_url

from phi.workflows.timeframes import report_day
from phi.workflows.warehouse.kpis import Thresholds, WarehouseKpis, compute_kpis
from tests.support.warehouse_forms import DAY, EXPECTED, SQLITE_FORMS, run_report_queries, write_postgres, write_sqlite

ZONE = ZoneInfo("Europe/Berlin")
ODD_FORMS: dict[str, Any] = {
    "us_text": "11/20/2026 08:05",
    "dotted": "20.11.2026 08:05",
    "rfc_2822": "Fri, 20 Nov 2026 07:05:00 +0000",
    "month_name": "Nov 20 2026 08:05",
    "epoch_int": 1_763_625_900,
    "julian_real": 2_461_364.8,
    "null": None,
    "not_a_date": "n/a",
}
READER = "wh_null_reader"  # the local agent refuses a superuser login
GOOD = "2026-11-20 09:30:00"  # a timestamp of the day in the stored ISO form
LONG_AGO = "2026-10-01 09:00:00"


def odd_rows(value: Any) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """Per case: the dataset the odd row must be counted in, and the rows to add (table and values)."""
    return {
        "picks.picked_at": ("picks", [("picks", (99, "A", 1, "S1", "P1", 7, value))]),
        "shipments.promised_at": ("shipments", [("shipments", ("S-Z", "Z", "DHL", value, None))]),
        # promised long before the window: only its shipping time can bring it into the report
        "shipments.shipped_at": ("shipments", [("shipments", ("S-Y", "Y", "DHL", LONG_AGO, value))]),
        "orders.created_at": ("orders", [("orders", ("X", value, GOOD, "normal", "Acme"))]),
        "orders.shipped_at": (
            "orders",
            [("orders", ("Y", GOOD, GOOD, "normal", "Acme")), ("shipments", ("S-Y", "Y", "DHL", GOOD, value))],
        ),
    }


def add_rows(path: Path, extra: list[tuple[str, tuple[Any, ...]]]) -> None:
    connection = sqlite3.connect(path)
    try:
        for table, values in extra:
            connection.execute(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in values)})", values)
        connection.commit()
    finally:
        connection.close()


def assert_good_rows_counted(kpis: WarehouseKpis) -> None:
    assert kpis.throughput.lines_picked == EXPECTED["lines_picked"]
    assert kpis.throughput.units_picked == EXPECTED["units_picked"]
    assert kpis.throughput.orders_shipped == EXPECTED["orders_shipped"]
    assert kpis.throughput.orders_received == EXPECTED["orders_received"]
    assert kpis.late.late_count == EXPECTED["late_count"]
    assert kpis.backlog.orders == EXPECTED["backlog_orders"]


def assert_counted_as_unreadable(kpis: WarehouseKpis, dataset: str) -> None:
    quality = next(q for q in kpis.data_quality if q.dataset == dataset)
    assert quality.unreadable == 1 and quality.unreadable_timestamps == 1
    flagged = [a for a in kpis.anomalies if a.code == "DATA_QUALITY" and a.subject == dataset]
    assert flagged, kpis.anomalies
    assert "ISO-8601" in flagged[0].message and "1 of" in flagged[0].message


# Pairs a window comparison never dropped: SQLite sorts numbers and digit-leading text below any ISO text (so
# `created_at < :window_end` holds) and letter-leading text above it (so `shipped_at >= :window_start` holds).
ALWAYS_FETCHED = {
    ("orders.created_at", "us_text"), ("orders.created_at", "dotted"), ("orders.created_at", "epoch_int"),
    ("orders.shipped_at", "rfc_2822"), ("orders.shipped_at", "month_name"), ("orders.shipped_at", "not_a_date"),
    ("orders.shipped_at", "julian_real"),  # a real stored in a TEXT column becomes the text '2461364.8'
}  # fmt: skip
DROPPED_BY_THE_WINDOW = [
    (case, form)
    for case in odd_rows(None)
    for form in ODD_FORMS
    if (case, form) not in ALWAYS_FETCHED
    # a NULL shipped_at is an order not shipped yet, not an unreadable row
    and not (case.endswith("shipped_at") and ODD_FORMS[form] is None)
]


# Forms the window cannot compare but the cloud reads (`parse_timestamp`): such a row must reach the report.
READABLE_FORMS = {"dotted", "rfc_2822", "month_name"}


@pytest.mark.parametrize(("case", "form"), [(c, f) for c, f in DROPPED_BY_THE_WINDOW if f not in READABLE_FORMS])
def test_one_odd_sqlite_timestamp_among_good_rows_is_counted_as_unreadable(
    tmp_path: Path, case: str, form: str
) -> None:
    value = ODD_FORMS[form]
    # Given the known day stored as ISO text in SQLite, plus one row whose timestamp is in another form
    path = write_sqlite(tmp_path / "wh.sqlite", ZONE, SQLITE_FORMS["sqlite_space_naive"](ZONE))
    dataset, extra = odd_rows(value)[case]
    add_rows(path, extra)
    # When the report's queries run through the local agent's db.query tool and the KPIs are computed
    day = report_day(DAY, "Europe/Berlin")
    kpis = compute_kpis(day, run_report_queries(f"sqlite:///{path}", day), Thresholds())
    # Then the odd row reached the cloud and is counted as unreadable, named in a DATA_QUALITY anomaly,
    # and every good row is still counted
    assert_counted_as_unreadable(kpis, dataset)
    assert_good_rows_counted(kpis)


@pytest.mark.parametrize(("case", "form"), [(c, f) for c, f in DROPPED_BY_THE_WINDOW if f in READABLE_FORMS])
def test_one_readable_odd_sqlite_timestamp_reaches_the_report_and_is_counted_on_its_day(
    tmp_path: Path, case: str, form: str
) -> None:
    # Given the known day stored as ISO text in SQLite, and the report's figures for it
    path = write_sqlite(tmp_path / "wh.sqlite", ZONE, SQLITE_FORMS["sqlite_space_naive"](ZONE))
    day = report_day(DAY, "Europe/Berlin")
    before = compute_kpis(day, run_report_queries(f"sqlite:///{path}", day), Thresholds())
    # When one row of the day is added with its timestamp in a form the window cannot compare
    dataset, extra = odd_rows(ODD_FORMS[form])[case]
    add_rows(path, extra)
    after = compute_kpis(day, run_report_queries(f"sqlite:///{path}", day), Thresholds())
    # Then the row reached the cloud, was read, and counts among the day's rows of its dataset
    old, new = (next(q for q in kpis.data_quality if q.dataset == dataset) for kpis in (before, after))
    assert (new.rows, new.in_day) == (old.rows + 1, old.in_day + 1)
    assert (new.unreadable, new.outside_window) == (old.unreadable, old.outside_window) == (0, 0)


# --- NULL timestamps on PostgreSQL ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    from phi.embedded.postgres import scratch_database

    with scratch_database("phi_warehouse_nulls", migrate=False) as url:
        yield url


@pytest.mark.parametrize("case", ["picks.picked_at", "shipments.promised_at", "orders.created_at"])
def test_a_null_timestamp_on_postgresql_is_counted_as_unreadable(postgres_url: str, case: str) -> None:
    # Given the known day in TIMESTAMPTZ columns plus one row whose timestamp is NULL
    name = "wh_null_" + case.replace(".", "_")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone() is None:
            admin.execute(f"CREATE ROLE {READER} LOGIN")
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    dataset, extra = odd_rows(None)[case]
    with psycopg.connect(url, autocommit=True) as connection:
        write_postgres(connection, ZONE, "TIMESTAMPTZ")
        for table, values in extra:
            connection.execute(f"INSERT INTO {table} VALUES ({', '.join('%s' for _ in values)})", values)
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
    # When the report's queries run through the local agent's db.query tool (the portable SQL: no variant)
    day = report_day(DAY, "Europe/Berlin")
    reader = make_url(url).set(drivername="postgresql+psycopg", username=READER, password=None)
    agent_url = reader.render_as_string(hide_password=False)
    kpis = compute_kpis(day, run_report_queries(agent_url, day), Thresholds())
    # Then the NULL row is counted as unreadable and every good row is still counted
    assert_counted_as_unreadable(kpis, dataset)
    assert_good_rows_counted(kpis)
