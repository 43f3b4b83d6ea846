"""`db.query` against a real MariaDB server (Debian's mariadb-server, through PyMySQL as the README says): the
session's time limit uses MariaDB's own variable, and TIMESTAMP columns (instants) arrive as UTC instants while
DATETIME columns (wall-clock times) arrive zone-less, so the cloud reads both right whatever the session's zone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
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


@pytest.fixture
def warehouse(mariadb: MariaDb) -> Iterator[str]:
    """A database with a reader login; the application wrote its rows from a session in Berlin's offset."""
    name = f"wh_{uuid.uuid4().hex[:10]}"
    admin = mariadb.admin()
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE {name}")
    cursor.execute(f"CREATE USER 'r_{name}'@'localhost' IDENTIFIED BY 'pw'")
    cursor.execute(f"GRANT SELECT ON {name}.* TO 'r_{name}'@'localhost'")
    cursor.execute(f"CREATE TABLE {name}.picks (pick_id INT PRIMARY KEY, picked_at TIMESTAMP NULL, noted DATETIME)")
    cursor.execute(f"CREATE TABLE {name}.digits (d INT)")
    cursor.execute(f"INSERT INTO {name}.digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)")
    cursor.execute("SET time_zone = '+01:00'")
    cursor.execute(
        f"INSERT INTO {name}.picks VALUES (1, '2026-11-20 08:05:00', '2026-11-20 08:05:00'), "
        "(2, '2026-11-20 23:30:00', '2026-11-20 23:30:00')"
    )
    try:
        yield mariadb.url(f"r_{name}", "pw", name)
    finally:
        cursor.execute(f"DROP DATABASE {name}")
        cursor.execute(f"DROP USER 'r_{name}'@'localhost'")
        admin.close()


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
