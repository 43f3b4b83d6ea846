"""The daily report's figures on a hand-made day with known answers, whatever form the database stores its
timestamps in and whatever the warehouse's time zone: real SQLite files (ISO `T` or SQLite's space form,
zone-less or with an offset or `Z`) and the embedded PostgreSQL (TIMESTAMP and TIMESTAMPTZ in a database whose
time zone is America/New_York). The queries run through the local agent's real `db.query` tool."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import make_url

from phi.workflows.timeframes import report_day
from phi.workflows.warehouse.kpis import Thresholds, WarehouseKpis, compute_kpis
from phi.workflows.warehouse.queries import template_sql
from phi.workflows.warehouse.report import render_report
from tests.support.warehouse_forms import (
    DAY,
    EXPECTED,
    SQLITE_FORMS,
    run_report_queries,
    write_postgres,
    write_sqlite,
)

ZONES = ["UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York"]
SESSION_ZONE = "America/New_York"


def kpis_from(url: str, timezone: str, day: date = DAY) -> WarehouseKpis:
    report = report_day(day, timezone)
    return compute_kpis(report, run_report_queries(url, report), Thresholds())


def assert_known_answers(kpis: WarehouseKpis) -> None:
    t, late, backlog = kpis.throughput, kpis.late, kpis.backlog
    assert (t.lines_picked, t.units_picked) == (EXPECTED["lines_picked"], EXPECTED["units_picked"])
    assert {h.hour: h.lines for h in kpis.hourly if h.lines} == EXPECTED["hourly"]
    assert kpis.picker_lines() == EXPECTED["picker_lines"]
    first_last = {p.picker_id: (f"{p.first_pick_at:%H:%M}", f"{p.last_pick_at:%H:%M}") for p in kpis.pickers}
    assert first_last == EXPECTED["picker_first_last"]
    assert (t.orders_received, t.orders_shipped) == (EXPECTED["orders_received"], EXPECTED["orders_shipped"])
    assert (late.orders_due, late.promised_earlier_shipped_late, late.rate_base) == (
        EXPECTED["orders_due"], EXPECTED["promised_earlier_shipped_late"], EXPECTED["rate_base"],
    )  # fmt: skip
    assert (late.late_count, late.late_order_ids) == (EXPECTED["late_count"], EXPECTED["late_order_ids"])
    assert late.late_rate == pytest.approx(EXPECTED["late_count"] / EXPECTED["rate_base"])
    assert (backlog.orders, backlog.lines, backlog.overdue) == (
        EXPECTED["backlog_orders"], EXPECTED["backlog_lines"], EXPECTED["backlog_overdue"],
    )  # fmt: skip
    assert backlog.oldest_age_hours == EXPECTED["backlog_oldest_age_hours"]
    assert all(q.skipped == 0 for q in kpis.data_quality), kpis.data_quality
    assert not {a.code for a in kpis.anomalies} & {"NO_DATA", "NO_PICKS", "DATA_QUALITY"}


# --- SQLite files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("timezone", ZONES)
@pytest.mark.parametrize("form", sorted(SQLITE_FORMS))
def test_sqlite_text_in_every_form_gives_the_known_figures(tmp_path: Path, form: str, timezone: str) -> None:
    # Given the hand-made day stored as SQLite text in one form, for a warehouse in `timezone`
    zone = ZoneInfo(timezone)
    path = write_sqlite(tmp_path / f"{form}.sqlite", zone, SQLITE_FORMS[form](zone))
    # When the report's queries run through the local agent's db.query tool and the KPIs are computed
    kpis = kpis_from(f"sqlite:///{path}", timezone)
    # Then every figure is the known answer
    assert_known_answers(kpis)
    assert kpis.timezone == timezone and kpis.period_start == datetime(2026, 11, 20, tzinfo=zone)


@pytest.mark.parametrize(
    "bound_text",
    [
        lambda m: m.isoformat(),  # '2026-11-18T23:59:59+00:00'
        lambda m: m.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda m: m.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),  # SQLite's own form
    ],
    ids=["iso_offset", "iso_z", "sqlite_space"],
)
@pytest.mark.parametrize("form", sorted(SQLITE_FORMS))
def test_the_sqlite_window_holds_every_pick_of_the_day_however_the_bounds_are_written(
    tmp_path: Path, form: str, bound_text: object
) -> None:
    # Given the day in Asia/Tokyo (its UTC texts fall on the day before) stored in one text form
    zone = ZoneInfo("Asia/Tokyo")
    path = write_sqlite(tmp_path / "wh.sqlite", zone, SQLITE_FORMS[form](zone))
    day = report_day(DAY, "Asia/Tokyo")
    # When the picks query runs with its window bounds written as text in any ISO form a driver might use
    connection = sqlite3.connect(path)
    params = {"window_start": bound_text(day.query_start), "window_end": bound_text(day.query_end)}  # type: ignore[operator]
    picked = [row[-1] for row in connection.execute(template_sql("picks"), params)]
    connection.close()
    # Then all eleven picks of the day are among the rows returned
    from phi.workflows.timeframes import parse_timestamp

    assert sum(day.contains(parse_timestamp(value, zone)) for value in picked) == EXPECTED["lines_picked"]


def test_unreadable_timestamps_are_counted_and_raise_a_data_quality_anomaly_no_reader_can_miss(
    tmp_path: Path,
) -> None:
    # Given the known day plus picks whose timestamps no parser should guess at
    zone = ZoneInfo("Europe/Berlin")
    bad = [(90, "A", 1, "S1", "P1", 1, "11/20/2026 8:05:00"), (91, "A", 1, "S1", "P1", 1, "2026-11-20T08:00:00 CET"),
           (92, "A", 1, "S1", "P1", 1, "2026-11-20 08:00:00 +01:00 (Berlin)")]  # fmt: skip
    path = write_sqlite(tmp_path / "wh.sqlite", zone, SQLITE_FORMS["sqlite_space_naive"](zone), extra_picks=bad)
    # When the report runs
    kpis = kpis_from(f"sqlite:///{path}", "Europe/Berlin")
    report = render_report(kpis, narrative=None, agent_name="Wanda")
    # Then the readable rows still give the known figures, and the unreadable ones are counted, not guessed
    assert kpis.throughput.lines_picked == EXPECTED["lines_picked"]
    picks_quality = next(q for q in kpis.data_quality if q.dataset == "picks")
    assert (picks_quality.rows, picks_quality.unreadable) == (18, 3)
    anomaly = next(a for a in kpis.anomalies if a.code == "DATA_QUALITY")
    assert (anomaly.subject, anomaly.severity) == ("picks", "critical")
    assert anomaly.value == pytest.approx(3 / 18, abs=1e-4)
    assert "'11/20/2026 8:05:00' is not a readable date or timestamp" in anomaly.message
    # and the warning stands above every figure and leads the executive summary
    head = report.markdown.split("## Executive summary")[0]
    assert "**⚠ DATA QUALITY: 3 of 18 picks rows (16.7%) were left out of every figure" in head
    assert report.summary.splitlines()[3].startswith("- 3 anomalies")
    assert "DATA_QUALITY" not in report.summary.splitlines()[4] and "were left out" in report.summary.splitlines()[4]


def test_a_day_with_no_rows_raises_no_data_and_never_reads_as_a_quiet_day(tmp_path: Path) -> None:
    # Given a database whose tables are empty (the sync that fills them did not run)
    zone = ZoneInfo("UTC")
    path = write_sqlite(tmp_path / "wh.sqlite", zone, SQLITE_FORMS["iso_t_naive"](zone))
    with sqlite3.connect(path) as connection:
        connection.executescript("DELETE FROM picks; DELETE FROM shipments; DELETE FROM orders;")
    # When the report runs, then NO_DATA is critical and tells the user what to check
    empty = kpis_from(f"sqlite:///{path}", "UTC")
    no_data = [a for a in empty.anomalies if a.code == "NO_DATA"]
    assert len(no_data) == 1 and no_data[0].severity == "critical"
    assert "the queries returned no rows at all" in no_data[0].message and "Check the source" in no_data[0].message
    report = render_report(empty, narrative=None, agent_name="Wanda")
    assert "No anomalies" not in report.markdown and "every figure is within" not in report.markdown
    assert "**⚠ NO DATA: No data for 2026-11-20 (UTC)" in report.markdown.split("## Executive summary")[0]
    assert "Critical: No data for 2026-11-20" in report.summary


def test_a_day_beside_real_rows_with_none_on_it_raises_no_data(tmp_path: Path) -> None:
    # Given the known day's database, and a report for a day weeks later (only the old open orders reach it)
    zone = ZoneInfo("UTC")
    path = write_sqlite(tmp_path / "wh.sqlite", zone, SQLITE_FORMS["iso_t_naive"](zone))
    kpis = kpis_from(f"sqlite:///{path}", "UTC", date(2026, 12, 24))
    message = next(a.message for a in kpis.anomalies if a.code == "NO_DATA")
    assert "returned 3 rows (open orders, rows of the days around it) but none falls on it" in message
    assert kpis.backlog.orders == 3  # C, H and J are still open


def test_orders_due_with_no_pick_all_day_are_flagged(tmp_path: Path) -> None:
    # Given the known day with its picks table emptied
    zone = ZoneInfo("UTC")
    path = write_sqlite(tmp_path / "wh.sqlite", zone, SQLITE_FORMS["iso_t_naive"](zone))
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM picks")
    # When the report runs, then NO_PICKS is critical and names what was due
    kpis = kpis_from(f"sqlite:///{path}", "UTC")
    anomaly = next(a for a in kpis.anomalies if a.code == "NO_PICKS")
    assert anomaly.severity == "critical"
    assert "although 4 orders were due and 4 shipped" in anomaly.message
    assert "NO_DATA" not in {a.code for a in kpis.anomalies}


# --- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    from phi.embedded.postgres import scratch_database

    with scratch_database("phi_warehouse_forms", migrate=False) as url:
        yield url


READER = "wh_reader"


def _database(server_url: str, name: str) -> str:
    """A fresh database whose time zone (for every session the local agent opens) is New York's."""
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
        admin.execute(f"ALTER DATABASE {name} SET timezone TO '{SESSION_ZONE}'")
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone() is None:
            admin.execute(f"CREATE ROLE {READER} LOGIN")
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _reader_url(url: str) -> str:
    """The same database through a read-only login, as the local agent should connect."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
    reader = make_url(url).set(drivername="postgresql+psycopg", username=READER, password=None)
    return reader.render_as_string(hide_password=False)


@pytest.mark.parametrize("timezone", ZONES)
@pytest.mark.parametrize("column_type", ["TIMESTAMPTZ", "TIMESTAMP"])
def test_postgresql_timestamps_in_a_new_york_database_give_the_known_figures(
    postgres_server: str, column_type: str, timezone: str
) -> None:
    # Given the hand-made day in TIMESTAMP or TIMESTAMPTZ columns of a database whose time zone is New York
    zone = ZoneInfo(timezone)
    url = _database(postgres_server, f"wh_{column_type.lower()}_{timezone.replace('/', '_').lower()}")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"SET TIME ZONE '{SESSION_ZONE}'")
        write_postgres(connection, zone, column_type)
    agent_url = _reader_url(url)
    with psycopg.connect(url) as fresh:  # every new session, the local agent's included, runs in New York time
        assert fresh.execute("SHOW TimeZone").fetchone() == (SESSION_ZONE,)
    # When the report's queries run through the local agent's db.query tool
    report = report_day(DAY, timezone)
    datasets = run_report_queries(agent_url, report)
    # Then TIMESTAMPTZ values arrive as New York times, and every figure is the known answer
    stamps = [row["picked_at"] for row in datasets["picks"].iter_dicts()]
    if column_type == "TIMESTAMPTZ":
        assert stamps and all(stamp.endswith("-05:00") for stamp in stamps)
    else:
        assert stamps and all(len(stamp) == 19 for stamp in stamps)  # zone-less 'YYYY-MM-DDTHH:MM:SS'
    assert_known_answers(compute_kpis(report, datasets, Thresholds()))


def test_postgresql_infinite_promises_are_none_and_infinite_instants_are_counted_unreadable(
    postgres_server: str,
) -> None:
    # Given the known day in TIMESTAMPTZ columns plus a shipment promised 'infinity' (no promise) that shipped
    # on the day, and an open order created '-infinity'
    zone = ZoneInfo("Europe/Berlin")
    url = _database(postgres_server, "wh_infinity")
    with psycopg.connect(url, autocommit=True) as connection:
        write_postgres(connection, zone, "TIMESTAMPTZ")
        connection.execute("INSERT INTO shipments VALUES ('S-X', 'X', 'DHL', 'infinity', '2026-11-20 10:00+01')")
        connection.execute("INSERT INTO orders VALUES ('Y', '-infinity', '2026-11-20 12:00+01', 'normal', 'Acme')")
    # When the report's queries run through the local agent's db.query tool
    report = report_day(DAY, "Europe/Berlin")
    kpis = compute_kpis(report, run_report_queries(_reader_url(url), report), Thresholds())
    # Then the report runs: the endless promise is no promise (shipped, neither due nor late) …
    assert kpis.throughput.orders_shipped == EXPECTED["orders_shipped"] + 1
    assert (kpis.late.orders_due, kpis.late.late_count) == (EXPECTED["orders_due"], EXPECTED["late_count"])
    shipments = next(q for q in kpis.data_quality if q.dataset == "shipments")
    assert shipments.unreadable == 0
    # … and the order created at '-infinity' is an unreadable row, with the reason
    orders = next(q for q in kpis.data_quality if q.dataset == "orders")
    assert orders.unreadable == 1
    assert "created_at: '-infinity' (PostgreSQL's endless value) is not a real instant" in orders.examples[0]
    assert kpis.backlog.orders == EXPECTED["backlog_orders"]


def test_postgresql_date_promises_are_kept_by_shipping_on_the_promised_day(postgres_server: str) -> None:
    # Given the known day with shipments' promises in a DATE column (the promised day only)
    zone = ZoneInfo("Europe/Berlin")
    url = _database(postgres_server, "wh_date_promise")
    with psycopg.connect(url, autocommit=True) as connection:
        write_postgres(connection, zone, "TIMESTAMP")
        connection.execute("ALTER TABLE shipments ALTER COLUMN promised_at TYPE DATE")
    # When the report's queries run through the local agent's db.query tool
    report = report_day(DAY, "Europe/Berlin")
    datasets = run_report_queries(_reader_url(url), report)
    assert {row["promised_at"] for row in datasets["shipments"].iter_dicts()} >= {"2026-11-20", "2026-11-19"}
    kpis = compute_kpis(report, datasets, Thresholds())
    # Then an order shipped on its promised day is on time: only C (never shipped) and D (promised the 19th)
    # are late; A, B, C and F are due on the day
    late = kpis.late
    assert (late.orders_due, late.late_count, late.rate_base) == (4, 2, 5)
    assert late.late_order_ids == ["D", "C"]
    assert (late.shipped_late, late.unshipped_past_promise) == (1, 1)
