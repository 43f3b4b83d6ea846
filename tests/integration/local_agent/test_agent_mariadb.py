"""`db.query` against a real MariaDB server (Debian's mariadb-server, through PyMySQL as the README says): the
session's time limit uses MariaDB's own variable, and TIMESTAMP columns (instants) arrive as UTC instants while
DATETIME columns (wall-clock times) arrive zone-less, so the cloud reads both right whatever the session's zone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from phi.workflows.timeframes import parse_timestamp
from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.results import build_output
from phi_agent.tools.db_query import DbQueryTool
from tests.support.mariadb import MariaDb, running_mariadb

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def mariadb() -> Iterator[MariaDb]:
    with running_mariadb() as server:
        yield server


@contextmanager
def _database_with_reader(mariadb: MariaDb, prefix: str) -> Iterator[tuple[str, Any]]:
    """A database of its own with a SELECT-only login: its name and an admin cursor to fill it; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = mariadb.admin()
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE {name}")
    cursor.execute(f"CREATE USER 'r_{name}'@'localhost' IDENTIFIED BY 'pw'")
    cursor.execute(f"GRANT SELECT ON {name}.* TO 'r_{name}'@'localhost'")
    try:
        yield name, cursor
    finally:
        cursor.execute(f"DROP DATABASE {name}")
        cursor.execute(f"DROP USER 'r_{name}'@'localhost'")
        admin.close()


@pytest.fixture
def warehouse(mariadb: MariaDb) -> Iterator[str]:
    """A database with a reader login; the application wrote its rows from a session in Berlin's offset."""
    with _database_with_reader(mariadb, "wh") as (name, cursor):
        cursor.execute(f"CREATE TABLE {name}.picks (pick_id INT PRIMARY KEY, picked_at TIMESTAMP NULL, noted DATETIME)")
        cursor.execute(f"CREATE TABLE {name}.digits (d INT)")
        cursor.execute(f"INSERT INTO {name}.digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)")
        cursor.execute("SET time_zone = '+01:00'")
        cursor.execute(
            f"INSERT INTO {name}.picks VALUES (1, '2026-11-20 08:05:00', '2026-11-20 08:05:00'), "
            "(2, '2026-11-20 23:30:00', '2026-11-20 23:30:00')"
        )
        yield mariadb.url(f"r_{name}", "pw", name)


@pytest.fixture
def tool(warehouse: str) -> Iterator[DbQueryTool]:
    db = DbQueryTool(DbQuerySettings(url_env="X", statement_timeout_seconds=30), warehouse, 1)
    yield db
    db.dispose()


def _rows(tool: DbQueryTool, sql: str, timeout: float | None = None) -> list[list[Any]]:
    with tool.open({"sql": sql}, timeout) as result:
        output = build_output("call", result, 131_072, None)
    return list(output["result"]["rows"])


def test_queries_run_on_mariadb_read_only_and_time_limited(tool: DbQueryTool) -> None:
    # MySQL's max_execution_time does not exist on MariaDB: every query failed on it ("Unknown system variable").
    assert _rows(tool, "SELECT pick_id FROM picks ORDER BY pick_id") == [[1], [2]]
    assert "read-only transactions" in tool.check()
    privileges = tool.privileges()
    assert privileges is not None and privileges.dangerous == []


def test_regexp_runs_on_mariadb_which_has_no_regexp_like(tool: DbQueryTool) -> None:
    """The guard writes a checked query back out; sqlglot writes MySQL's `a REGEXP b` as MySQL 8's REGEXP_LIKE(a, b),
    which MariaDB does not have ("execute command denied … for routine REGEXP_LIKE")."""
    assert _rows(tool, "SELECT pick_id FROM picks WHERE CAST(noted AS CHAR) REGEXP '^2026-11' ORDER BY 1") == [[1], [2]]
    assert _rows(tool, "SELECT pick_id FROM picks WHERE noted NOT REGEXP '23:30' ORDER BY 1") == [[1]]
    assert _rows(tool, "SELECT pick_id FROM picks WHERE noted RLIKE '08:05' ORDER BY 1") == [[1]]


def test_a_runaway_query_on_mariadb_stops_at_its_time_limit(tool: DbQueryTool) -> None:
    # 10^10 combinations (MariaDB cuts recursive CTEs short by itself, so a cross join it is).
    endless = "SELECT COUNT(*) FROM " + ", ".join(f"digits d{i}" for i in range(10))
    with pytest.raises(ToolError) as caught:
        _rows(tool, endless, timeout=1)
    assert caught.value.error == "Tool.Timeout"


def test_timestamp_columns_arrive_as_utc_instants_and_datetime_columns_as_wall_clock(tool: DbQueryTool) -> None:
    rows = _rows(tool, "SELECT pick_id, picked_at, noted FROM picks ORDER BY pick_id")
    # 08:05 written in a +01:00 session is the instant 07:05 UTC; DATETIME keeps the wall-clock text it was given.
    assert rows[0] == [1, "2026-11-20T07:05:00+00:00", "2026-11-20T08:05:00"]
    for _, picked_at, noted in rows:
        # What the cloud makes of them for a Berlin warehouse: the same instant both ways.
        assert parse_timestamp(picked_at, BERLIN) == parse_timestamp(noted, BERLIN)
    assert parse_timestamp(rows[1][1], BERLIN) == datetime(2026, 11, 20, 22, 30, tzinfo=UTC)


def test_an_unsupported_mysql_driver_is_refused_with_the_reason(warehouse: str) -> None:
    with pytest.raises(ValueError, match="mysql\\+pymysql://"):
        DbQueryTool(DbQuerySettings(url_env="X"), warehouse.replace("+pymysql", "+mysqlconnector"), 1)


@pytest.fixture
def zero_dated(mariadb: MariaDb) -> Iterator[str]:
    """The daily report's tables as a MySQL application that writes '0000-00-00 00:00:00' for "no date" keeps them:
    order Z not shipped yet, shipment s-Y without a promise, pick 2 without a time. The columns are nullable: in a
    NOT NULL one MySQL finds a zero date with IS NULL too, in a nullable one it does not."""
    with _database_with_reader(mariadb, "zd") as (name, cursor):
        cursor.execute("SET SESSION sql_mode = ''")  # as such applications run (NO_ZERO_DATE off)
        for table in (
            "orders (order_id VARCHAR(20), created_at DATETIME NULL, promised_ship_at DATETIME NULL,"
            " priority VARCHAR(10), customer VARCHAR(20))",
            "shipments (shipment_id VARCHAR(20), order_id VARCHAR(20), carrier VARCHAR(20),"
            " promised_at DATETIME NULL, shipped_at DATETIME NULL)",
            "order_lines (order_id VARCHAR(20))",
            "picks (pick_id INT, order_id VARCHAR(20), line_no INT, sku_id VARCHAR(20), picker_id VARCHAR(20),"
            " qty INT, picked_at DATETIME NULL)",
            "pickers (picker_id VARCHAR(20), name VARCHAR(20), shift VARCHAR(10))",
            "skus (sku_id VARCHAR(20), zone_id VARCHAR(10))",
        ):
            cursor.execute(f"CREATE TABLE {name}.{table}")
        zero = "0000-00-00 00:00:00"
        cursor.execute(
            f"INSERT INTO {name}.orders VALUES ('Z', '2026-11-20 09:00:00', '2026-11-20 15:00:00', 'std', 'c'), "
            "('S', '2026-11-20 09:30:00', '2026-11-20 15:00:00', 'std', 'c')"
        )
        cursor.execute(
            f"INSERT INTO {name}.shipments VALUES ('s-Z', 'Z', 'DHL', '2026-11-20 15:00:00', '{zero}'), "
            f"('s-S', 'S', 'DHL', '2026-11-20 15:00:00', '2026-11-20 14:00:00'), "
            f"('s-Y', 'Y', 'DHL', '{zero}', '{zero}')"
        )
        cursor.execute(
            f"INSERT INTO {name}.picks VALUES (1, 'S', 1, 'K', 'P1', 2, '2026-11-20 10:00:00'), "
            f"(2, 'S', 2, 'K', 'P1', 1, '{zero}')"
        )
        yield mariadb.url(f"r_{name}", "pw", name)


def test_the_daily_reports_mysql_queries_return_rows_with_mysqls_zero_date(zero_dated: str) -> None:
    """MySQL sorts its zero date before every date: a window condition alone dropped an order not shipped yet
    (the backlog missed it) and the rows without a promise or a time (instead of counting them)."""
    from phi.workflows.timeframes import report_day
    from phi.workflows.warehouse.kpis import Thresholds, compute_kpis

    day = report_day(datetime(2026, 11, 20).date(), "UTC")
    tables = _report_tables(zero_dated, day)

    assert sorted(row[0] for row in tables["orders"].rows) == ["S", "Z"]
    assert sorted(row[0] for row in tables["shipments"].rows) == ["s-S", "s-Y", "s-Z"]
    assert sorted(row[0] for row in tables["picks"].rows) == [1, 2]
    kpis = compute_kpis(day, tables, Thresholds())
    assert kpis.backlog.orders == 1 and kpis.late.late_order_ids == ["Z"]  # Z: due at 15:00, not shipped
    quality = {q.dataset: (q.rows, q.unreadable) for q in kpis.data_quality}
    assert quality["shipments"] == (3, 1) and quality["picks"] == (2, 1)  # no promise, no time: counted


def _report_tables(url: str, day: Any) -> dict[str, Any]:
    """The daily report's three datasets as its MySQL queries return them from `url`, for `day`."""
    from phi.definitions.templates import get_template
    from phi.workflows.warehouse.kpis import TabularData

    nodes = {node["id"]: node["settings"] for node in get_template("daily_warehouse_report").definition["nodes"]}
    params = {
        "window_start": {"$datetime": day.query_start.isoformat()},
        "window_end": {"$datetime": day.query_end.isoformat()},
    }
    db = DbQueryTool(DbQuerySettings(url_env="X", statement_timeout_seconds=30), url, 1)
    tables: dict[str, TabularData] = {}
    try:
        for dataset in ("orders", "shipments", "picks"):
            with db.open({"sql": nodes[dataset]["sql_variants"]["mysql"], "params": params}, None) as result:
                output = build_output("call", result, 131_072, None)["result"]
            tables[dataset] = TabularData(columns=output["columns"], rows=output["rows"])
    finally:
        db.dispose()
    return tables


@pytest.fixture
def text_dated(mariadb: MariaDb) -> Iterator[str]:
    """A legacy application's tables whose timestamps are text in the forms it wrote (VARCHAR), and one whose pick
    times are Unix epoch numbers (BIGINT). Compared as text with the window, '20.11.2026 10:05' sorts before
    '2026-11-18' and 'Nov 20, 2026' after '2026-11-22': a window condition alone dropped them without a word."""
    with _database_with_reader(mariadb, "td") as (name, cursor):
        for table in (
            "orders (order_id VARCHAR(20), created_at VARCHAR(40), promised_ship_at VARCHAR(40),"
            " priority VARCHAR(10), customer VARCHAR(20))",
            "shipments (shipment_id VARCHAR(20), order_id VARCHAR(20), carrier VARCHAR(20),"
            " promised_at VARCHAR(40), shipped_at VARCHAR(40))",
            "order_lines (order_id VARCHAR(20))",
            "picks (pick_id INT, order_id VARCHAR(20), line_no INT, sku_id VARCHAR(20), picker_id VARCHAR(20),"
            " qty INT, picked_at VARCHAR(40))",
            "pickers (picker_id VARCHAR(20), name VARCHAR(20), shift VARCHAR(10))",
            "skus (sku_id VARCHAR(20), zone_id VARCHAR(10))",
        ):
            cursor.execute(f"CREATE TABLE {name}.{table}")
        cursor.execute(
            f"INSERT INTO {name}.orders VALUES ('A', '20.11.2026 09:00', '20.11.2026 15:00', 'std', 'c'), "
            "('B', 'Nov 20, 2026 9:30 AM', 'Nov 20, 2026 3:00 PM', 'std', 'c')"
        )
        cursor.execute(
            f"INSERT INTO {name}.shipments VALUES ('s-A', 'A', 'DHL', '20.11.2026 15:00', NULL), "
            "('s-B', 'B', 'UPS', 'Nov 20, 2026 3:00 PM', 'Nov 20, 2026 4:00 PM')"
        )
        forms = [
            "2026-11-20 08:05:00",
            "2026-11-20T09:05:00Z",
            "20.11.2026 10:05",
            "Nov 20, 2026 11:05 AM",
            "2026/11/20 12:05",
            "20 Nov 2026 13:05",
            "Fri, 20 Nov 2026 14:05:00 +0000",
            "11/20/2026 15:05",  # ambiguous: month or day first? unreadable, counted
            "1763650000",  # a bare number: unreadable, counted
        ]
        values = ", ".join(f"({i}, 'B', {i}, 'K', 'P1', 1, '{form}')" for i, form in enumerate(forms, 1))
        cursor.execute(f"INSERT INTO {name}.picks VALUES {values}")
        yield mariadb.url(f"r_{name}", "pw", name)


def test_the_daily_reports_mysql_queries_return_text_timestamps_in_any_form(text_dated: str) -> None:
    from phi.workflows.timeframes import report_day
    from phi.workflows.warehouse.kpis import Thresholds, compute_kpis

    day = report_day(datetime(2026, 11, 20).date(), "UTC")
    tables = _report_tables(text_dated, day)

    assert len(tables["picks"].rows) == 9 and len(tables["shipments"].rows) == 2 and len(tables["orders"].rows) == 2
    kpis = compute_kpis(day, tables, Thresholds())
    assert kpis.throughput.lines_picked == 7  # every readable form, on the day
    quality = {q.dataset: (q.rows, q.unreadable) for q in kpis.data_quality}
    assert quality["picks"] == (9, 2)  # the ambiguous date and the bare number: counted, with their reasons
    assert kpis.late.late_order_ids == ["A", "B"] and kpis.late.shipped_late == 1  # B shipped at 16:00, due 15:00
    assert kpis.backlog.orders == 1  # A, not shipped
