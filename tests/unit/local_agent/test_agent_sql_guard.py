from __future__ import annotations

import pytest

from phi_agent.errors import ToolError
from phi_agent.tools.sql_guard import check_read_only, dialect_for

PG = dialect_for("postgresql")
MYSQL = dialect_for("mysql")
SQLITE = dialect_for("sqlite")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select * from stock where sku = :sku;",
        "  (SELECT 1) UNION (SELECT 2)",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "VALUES (1, 2)",
        "TABLE stock",
        "SELECT 'delete from t; drop table x' AS text",
        'SELECT "update", "insert" FROM "t"',
        "SELECT 1 -- ; DELETE FROM t\n",
        "SELECT /* ; drop table t; */ 1",
        "SELECT $$ ; DELETE FROM t $$",
        "SELECT $tag$ it's ; INSERT $tag$",
        "SELECT replace(name, 'a', 'b'), '10:30'::time FROM t",
        "SELECT o.id FROM orders o FOR_NOTHING",
    ],
)
def test_read_only_queries_pass(sql: str) -> None:
    check_read_only(sql, PG)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM stock", "DELETE is not a read-only statement"),
        ("UPDATE stock SET qty = 0", "UPDATE is not a read-only statement"),
        ("INSERT INTO stock VALUES (1)", "INSERT is not a read-only statement"),
        ("DROP TABLE stock", "DROP is not a read-only statement"),
        ("CREATE TABLE x (a int)", "CREATE is not a read-only statement"),
        ("ALTER TABLE stock ADD c int", "ALTER is not a read-only statement"),
        ("TRUNCATE stock", "TRUNCATE is not a read-only statement"),
        ("GRANT ALL ON stock TO bob", "GRANT is not a read-only statement"),
        ("COPY stock TO '/tmp/x'", "COPY is not a read-only statement"),
        ("SET ROLE postgres", "SET is not a read-only statement"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT 1; DELETE FROM stock", "2 statements"),
        ("WITH gone AS (DELETE FROM stock RETURNING *) SELECT * FROM gone", "contains DELETE"),
        ("WITH x AS (UPDATE stock SET qty = 1 RETURNING 1) SELECT 1", "contains UPDATE"),
        ("WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1", "contains INSERT"),
        ("SELECT * INTO new_table FROM stock", "contains INTO"),
        ("SELECT * FROM stock FOR UPDATE", "row locks (FOR UPDATE)"),
        ("SELECT * FROM stock FOR SHARE", "row locks"),
        ("SELECT nextval('seq')", "nextval()"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file()"),
        ("SELECT dblink_exec('x', 'drop table t')", "dblink_exec()"),
        ("SELECT E'\\'' ; DELETE FROM t; -- '", "2 statements"),
    ],
)
def test_writes_ddl_and_multiple_statements_are_refused(sql: str, reason: str) -> None:
    with pytest.raises(ToolError) as caught:
        check_read_only(sql, PG)
    assert caught.value.error == "Tool.ReadOnlyViolation"
    assert reason in caught.value.cause


def test_mysql_backslash_escape_cannot_hide_a_second_statement() -> None:
    # In MySQL '\'' is one quote inside a string: the DELETE below is real code there.
    sql = "SELECT '\\'' ; DELETE FROM t; -- '"
    with pytest.raises(ToolError, match="2 statements"):
        check_read_only(sql, MYSQL)


def test_sqlite_load_extension_refused_and_brackets_understood() -> None:
    check_read_only("SELECT [delete] FROM [update]", SQLITE)
    with pytest.raises(ToolError, match="load_extension"):
        check_read_only("SELECT load_extension('evil.so')", SQLITE)
    with pytest.raises(ToolError, match="not a read-only statement"):
        check_read_only("ATTACH DATABASE 'x.db' AS x", SQLITE)
    with pytest.raises(ToolError, match="not a read-only statement"):
        check_read_only("PRAGMA query_only = OFF", SQLITE)


def test_empty_and_unterminated_sql() -> None:
    with pytest.raises(ToolError) as empty:
        check_read_only("  -- nothing\n ; ", PG)
    assert empty.value.error == "Tool.BadRequest"
    with pytest.raises(ToolError) as open_string:
        check_read_only("SELECT 'abc", PG)
    assert open_string.value.error == "Tool.SqlError"
