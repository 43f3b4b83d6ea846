"""`db.query` against real databases: embedded PostgreSQL (pgserver) and SQLite files."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.results import build_output
from phi_agent.tools.db_query import DbQueryTool
from phi_agent.tools.sql_guard import CheckedQuery


@pytest.fixture
def pg_tool(postgres_url: str) -> Iterator[DbQueryTool]:
    # The embedded server's only login is a superuser: allowed explicitly (the attack tests use a reader too).
    settings = DbQuerySettings(url_env="X", statement_timeout_seconds=1, max_rows=20)
    tool = DbQueryTool(settings, postgres_url, 2, allow_privileged_login=True)
    yield tool
    tool.dispose()


def _run(tool: DbQueryTool, args: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    with tool.open(args, timeout) as result:
        output = build_output("call", result, 131_072, None)
    return dict(output["result"])


def _error(tool: DbQueryTool, args: dict[str, Any]) -> ToolError:
    with pytest.raises(ToolError) as caught:
        _run(tool, args)
    return caught.value


def test_postgres_types_params_and_row_cap(pg_tool: DbQueryTool) -> None:
    result = _run(pg_tool, {"sql": "SELECT * FROM stock WHERE qty = :qty", "params": {"qty": 4}})
    assert result["columns"] == ["sku", "qty", "price", "updated", "day", "blob", "id"]
    assert result["rows"] == [
        ["SKU-4", 4, 5.0, "2026-01-02T03:04:05+00:00", "2026-01-02", "AP8=", "00000000-0000-0000-0000-000000000001"]
    ]
    capped = _run(pg_tool, {"sql": "SELECT qty FROM stock ORDER BY qty"})
    assert capped["row_count"] == 20 and capped["truncated"] is True
    assert _run(pg_tool, {"sql": "SELECT qty FROM stock ORDER BY qty", "max_rows": 3})["rows"] == [[1], [2], [3]]
    assert _run(pg_tool, {"sql": "SELECT qty FROM stock", "max_rows": 500})["row_count"] == 20
    exact = _run(pg_tool, {"sql": "SELECT qty FROM stock WHERE qty <= 20"})
    assert exact["row_count"] == 20 and exact["truncated"] is False


def test_postgres_refusals(pg_tool: DbQueryTool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _error(pg_tool, {"sql": "UPDATE stock SET qty = 0"}).error == "Tool.NotAllowed"
    assert _error(pg_tool, {"sql": "SELECT 1; DROP TABLE stock"}).error == "Tool.NotAllowed"
    assert _error(pg_tool, {"sql": "WITH d AS (DELETE FROM stock RETURNING 1) SELECT * FROM d"}).error == (
        "Tool.NotAllowed"
    )
    # A function that writes is not on the allow-list…
    assert "sneaky_write()" in _error(pg_tool, {"sql": "SELECT sneaky_write()"}).cause
    # …and were the statement check bypassed, the read-only transaction would stop it.
    monkeypatch.setattr(
        pg_tool.guard,
        "check",
        lambda sql: CheckedQuery(sql=sql, text_sql=sql, parameters=frozenset(), functions=frozenset()),
    )
    refused = _error(pg_tool, {"sql": "SELECT sneaky_write()"})
    assert refused.error == "Tool.ReadOnlyViolation" and "read-only transaction" in refused.cause
    assert _run(pg_tool, {"sql": "SELECT count(*) FROM stock WHERE sku = 'sneaky'"})["rows"] == [[0]]
    assert _error(pg_tool, {"sql": "SELECT * FROM stock WHERE qty = :q"}).error == "Tool.BadRequest"
    assert _error(pg_tool, {"sql": "SELECT nothing FROM nowhere"}).error == "Tool.SqlError"


def test_postgres_like_patterns_are_written_or_bounded_parameters(pg_tool: DbQueryTool) -> None:
    """A LIKE pattern is a text in the query or a parameter of at most 1,000 characters: a computed one costs the
    text's length times its own in one call that PostgreSQL does not interrupt at the statement timeout."""
    sql = "SELECT sku FROM stock WHERE sku LIKE :pattern AND qty < 3 ORDER BY sku"
    assert _run(pg_tool, {"sql": sql, "params": {"pattern": "SKU-%"}})["rows"] == [["SKU-1"], ["SKU-2"]]
    too_long = _error(pg_tool, {"sql": sql, "params": {"pattern": "%" * 1001}})
    assert too_long.error == "Tool.BadRequest" and too_long.cause.startswith("args.params.pattern: it stands for")
    computed = _error(pg_tool, {"sql": "SELECT 1 WHERE repeat('a', 400) LIKE '%' || repeat('a', 40) || 'b'"})
    assert computed.error == "Tool.NotAllowed" and "the pattern of LIKE must be a quoted text" in computed.cause


def test_postgres_statement_timeout(pg_tool: DbQueryTool) -> None:
    error = _error(pg_tool, {"sql": "SELECT count(*) FROM generate_series(1, 20000000000)"})
    assert error.error == "Tool.Timeout"
    # The pool's connection is healthy afterwards.
    assert _run(pg_tool, {"sql": "SELECT 1 AS one"})["rows"] == [[1]]


def test_postgres_rows_are_streamed_not_materialised(pg_tool: DbQueryTool) -> None:
    # A billion-row series cannot be built within the 1 s timeout: only a server-side cursor answers.
    result = _run(pg_tool, {"sql": "SELECT generate_series(1, 1000000000) AS i", "max_rows": 5})
    assert result["rows"] == [[1], [2], [3], [4], [5]] and result["truncated"] is True


def test_postgres_check_describes_the_connection_without_password(pg_tool: DbQueryTool) -> None:
    description = pg_tool.check()
    assert description.startswith("postgresql at postgresql+psycopg://")
    assert "read-only sessions and transactions" in description


def test_postgres_infinite_timestamps_and_dates_arrive_as_text(pg_tool: DbQueryTool) -> None:
    # PostgreSQL's 'infinity' has no Python datetime: one such value used to fail the whole query.
    sql = (
        "SELECT v.id, v.at::timestamp AS at, v.at::timestamptz AS at_tz, v.on_day::date AS on_day FROM (VALUES "
        "(1, 'infinity', 'infinity'), (2, '-infinity', '-infinity'), (3, '2026-11-20 08:05:00+00', '2026-11-20')"
        ") AS v (id, at, on_day) ORDER BY v.id"
    )
    assert _run(pg_tool, {"sql": sql})["rows"] == [
        [1, "infinity", "infinity", "infinity"],
        [2, "-infinity", "-infinity", "-infinity"],
        [3, "2026-11-20T08:05:00", "2026-11-20T08:05:00+00:00", "2026-11-20"],
    ]


def test_postgres_numeric_ids_stay_distinct_and_nan_arrives_as_text(pg_tool: DbQueryTool) -> None:
    sql = (
        "SELECT v.id::numeric(20) AS id, v.amount::numeric(30,10) AS amount, v.ratio::float8 AS ratio FROM (VALUES "
        "('12345678901234567891', '12345678901234.5678', 'NaN'), ('12345678901234567892', '2.5', 'Infinity')"
        ") AS v (id, amount, ratio) ORDER BY v.id"
    )
    assert _run(pg_tool, {"sql": sql})["rows"] == [
        [12345678901234567891, "12345678901234.5678000000", "NaN"],
        [12345678901234567892, 2.5, "Infinity"],
    ]


def test_postgres_infinite_values_load_as_text_in_binary_results_too(postgres_url: str) -> None:
    import psycopg

    from phi_agent.tools.postgres_types import load_infinity_as_text

    with psycopg.connect(postgres_url) as connection:
        load_infinity_as_text(connection)
        cursor = connection.cursor(binary=True)
        cursor.execute(
            "SELECT 'infinity'::timestamp, '-infinity'::timestamptz, 'infinity'::date, '-infinity'::date, "
            "'2026-11-20 08:05'::timestamp, '2026-11-20'::date"
        )
        row = cursor.fetchone()
    assert row is not None
    assert list(row[:4]) == ["infinity", "-infinity", "infinity", "-infinity"]
    assert (row[4].isoformat(), row[5].isoformat()) == ("2026-11-20T08:05:00", "2026-11-20")


@pytest.fixture
def sqlite_tool(warehouse_sqlite: Path) -> Iterator[DbQueryTool]:
    settings = DbQuerySettings(url_env="X", statement_timeout_seconds=0.5, max_rows=10)
    tool = DbQueryTool(settings, f"sqlite:///{warehouse_sqlite}", 2)
    yield tool
    tool.dispose()


def test_sqlite_query_params_and_cap(sqlite_tool: DbQueryTool) -> None:
    result = _run(sqlite_tool, {"sql": "SELECT sku, price FROM stock WHERE sku = :s", "params": {"s": "SKU-0002"}})
    assert result == {"columns": ["sku", "price"], "rows": [["SKU-0002", 3]], "row_count": 1, "truncated": False}
    assert _run(sqlite_tool, {"sql": "SELECT * FROM stock"})["truncated"] is True


def test_sqlite_refusals_and_read_only_connection(sqlite_tool: DbQueryTool, warehouse_sqlite: Path) -> None:
    assert _error(sqlite_tool, {"sql": "DELETE FROM stock"}).error == "Tool.NotAllowed"
    assert _error(sqlite_tool, {"sql": "ATTACH DATABASE '/tmp/x.db' AS x"}).error == "Tool.NotAllowed"
    assert _error(sqlite_tool, {"sql": "SELECT 1; SELECT 2"}).error == "Tool.NotAllowed"
    # Even a write that bypassed the statement check would meet a query_only connection.
    with sqlite_tool._engine.connect() as connection, pytest.raises(Exception, match="readonly"):
        connection.exec_driver_sql("DELETE FROM stock")
    with sqlite3.connect(warehouse_sqlite) as check:
        assert check.execute("SELECT count(*) FROM stock").fetchone() == (100,)


def test_sqlite_timeout(sqlite_tool: DbQueryTool) -> None:
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    started = time.monotonic()
    assert _error(sqlite_tool, {"sql": endless}).error == "Tool.Timeout"
    assert time.monotonic() - started < 60  # an endless query, cut short at the 0.5 s timeout


def test_unsupported_argument_is_a_bad_request(sqlite_tool: DbQueryTool) -> None:
    error = _error(sqlite_tool, {"sql": "SELECT 1", "params": {"x": {"nested": 1}}})
    assert error.error == "Tool.BadRequest" and "args.params.x" in error.cause
