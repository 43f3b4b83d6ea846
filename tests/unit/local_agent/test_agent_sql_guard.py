"""The SQL guard on its own: parsing, allow-lists and the SQL it hands to the database, per dialect."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

from phi_agent.errors import ToolError
from phi_agent.tools.sql_guard import SqlGuard, decode_unicode_escapes

PG = SqlGuard("postgresql")
SQLITE = SqlGuard("sqlite")
MYSQL = SqlGuard("mysql")
MSSQL = SqlGuard("mssql")


def _refused(guard: SqlGuard, sql: str) -> ToolError:
    with pytest.raises(ToolError) as caught:
        guard.check(sql)
    return caught.value


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
        "SELECT date_trunc('hour', ts) AS h, count(*) FROM t WHERE ts >= :start AND ts < :end GROUP BY 1 ORDER BY 1",
        "SELECT h, coalesce(c, 0) FROM generate_series(0, 23) AS h LEFT JOIN counts USING (h)",
        "SELECT sku, sum(qty) OVER (PARTITION BY sku ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) FROM t",
        "SELECT payload->>'carrier', jsonb_build_object('n', count(*)) FROM t GROUP BY 1",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY qty), count(*) FILTER (WHERE qty > 1) FROM t",
        "SELECT * FROM t LEFT JOIN LATERAL (SELECT max(x) AS m FROM u WHERE u.id = t.id) l ON true",
        "SELECT pg_catalog.lower(sku), extract(epoch FROM ts), ts AT TIME ZONE 'UTC', interval '1 day' FROM t",
    ],
)
def test_read_only_queries_pass_on_postgresql(sql: str) -> None:
    checked = PG.check(sql)
    assert checked.sql  # re-generated, comments dropped
    assert "--" not in checked.sql and "/*" not in checked.sql


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM stock", "DELETE is not a read-only query"),
        ("UPDATE stock SET qty = 0", "UPDATE is not a read-only query"),
        ("INSERT INTO stock VALUES (1)", "INSERT is not a read-only query"),
        ("DROP TABLE stock", "DROP is not a read-only query"),
        ("CREATE TABLE x (a int)", "CREATE is not a read-only query"),
        ("TRUNCATE stock", "TRUNCATE is not a read-only query"),
        ("COPY stock TO '/tmp/x'", "COPY is not a read-only query"),
        ("COPY (SELECT 1) TO PROGRAM 'id'", "COPY"),
        ("SET ROLE postgres", "is not a read-only query"),
        ("SET statement_timeout = 0", "SET is not a read-only query"),
        ("CALL do_things()", "CALL is not a read-only query"),
        ("DO $$ BEGIN PERFORM 1; END $$", "DO is not a read-only query"),
        ("LISTEN x", "is not a read-only query"),
        ("SHOW data_directory", "SHOW is not a read-only query"),
        ("EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN is not a read-only query"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT 1; DELETE FROM stock", "2 statements"),
        ("WITH gone AS (DELETE FROM stock RETURNING *) SELECT * FROM gone", "data-modifying"),
        ("WITH x AS (UPDATE stock SET qty = 1 RETURNING 1) SELECT 1", "data-modifying"),
        ("WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1", "data-modifying"),
        ("SELECT * INTO new_table FROM stock", "INTO"),
        ("SELECT * FROM stock FOR UPDATE", "locking clauses"),
        ("SELECT * FROM stock FOR SHARE SKIP LOCKED", "locking clauses"),
        ("SELECT nextval('seq')", "nextval()"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file()"),
        ("SELECT \"pg_read_file\"('/etc/hostname')", "pg_read_file()"),
        ("SELECT \"PG_READ_FILE\"('/etc/hostname')", "PG_READ_FILE()"),
        ("SELECT U&\"\\0070g_read_file\"('/etc/hostname')", "pg_read_file"),
        ("SELECT u&\"\\+000070g_read_file\"('/etc/hostname')", "pg_read_file"),
        ("SELECT pg_catalog.pg_read_file('/etc/hostname')", "pg_catalog.pg_read_file()"),
        ('SELECT "pg_catalog"."pg_read_binary_file"(\'/etc/hostname\')', "pg_catalog.pg_read_binary_file()"),
        ("SELECT public.lower('A')", "public.lower()"),
        ("SELECT * FROM public.generate_series(1, 2) AS g", "public."),
        ("SELECT * FROM evil.unnest(ARRAY[1]) AS u", "evil."),
        ("SELECT * FROM pg_ls_dir('.')", "pg_ls_dir()"),
        ("SELECT * FROM t, LATERAL pg_ls_dir('.') AS f", "pg_ls_dir()"),
        ("SELECT pg_ls_waldir()", "pg_ls_waldir()"),
        ("SELECT \"lo_export\"(1, '/tmp/x')", "lo_export()"),
        ("SELECT lo_get(1)", "lo_get()"),
        ("SELECT lo_import('/etc/passwd')", "lo_import()"),
        ("SELECT \"set_config\"('statement_timeout', '0', true)", "set_config()"),
        ("SELECT current_setting('data_directory')", "current_setting()"),
        ("SELECT CASE WHEN qty > 1 THEN pg_sleep(8) END FROM stock", "pg_sleep()"),
        ("SELECT qty FROM stock ORDER BY pg_sleep(1)", "pg_sleep()"),
        ("SELECT sum(qty) OVER (ORDER BY pg_sleep(1)) FROM stock", "pg_sleep()"),
        ("SELECT * FROM stock WHERE qty IN (SELECT pg_sleep(1))", "pg_sleep()"),
        ("SELECT (SELECT (SELECT pg_terminate_backend(qty)) FROM stock LIMIT 1)", "pg_terminate_backend()"),
        ('SELECT "pg_terminate_backend"(1)', "pg_terminate_backend()"),
        ("SELECT pg_cancel_backend(1)", "pg_cancel_backend()"),
        ("SELECT pg_try_advisory_lock(1)", "pg_try_advisory_lock()"),
        ("SELECT pg_advisory_lock_shared(1)", "pg_advisory_lock_shared()"),
        ("SELECT pg_notify('c', 'x')", "pg_notify()"),
        ("SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", "dblink()"),
        ("SELECT query_to_xml('DELETE FROM t', true, true, '')", "query_to_xml()"),
        ("SELECT repeat('x', 1000000000)", "repeat()"),
        ("SELECT sneaky_write()", "sneaky_write()"),
        ("SELECT * FROM pg_authid", "pg_authid"),
        ("SELECT passwd FROM pg_catalog.pg_shadow", "pg_shadow"),
        ("SELECT E'\\\\'' FROM t", "could not be parsed"),
        ("SELECT * FROM t WHERE a = ?", "named parameters"),
    ],
)
def test_attacks_are_refused_on_postgresql(sql: str, reason: str) -> None:
    error = _refused(PG, sql)
    assert error.error in {"Tool.NotAllowed", "Tool.BadRequest"}
    assert reason in error.cause


def test_sqlite_quoting_comments_and_functions() -> None:
    assert SQLITE.check("SELECT [sku], `qty` FROM [stock]").sql
    assert SQLITE.check("SELECT strftime('%Y-%m-%d %H', ts), json_extract(j, '$.a'), ifnull(a, 0) FROM t").sql
    for sql, reason in [
        ("SELECT \"fts3_tokenizer\"('simple')", "fts3_tokenizer()"),
        ("SELECT load_extension('evil.so')", "load_extension()"),
        ("SELECT zeroblob(200000000)", "zeroblob()"),
        ("SELECT randomblob(200000000)", "randomblob()"),
        ("SELECT readfile('/etc/passwd')", "readfile()"),
        ("SELECT 1 #, load_extension('evil.so')", "could not be parsed"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "ATTACH"),
        ("PRAGMA writable_schema = 1", "PRAGMA"),
        ("SELECT * FROM pragma_database_list", "pragma_database_list"),
        ("SELECT * FROM pragma_table_info('stock')", "pragma_table_info()"),
        ("VACUUM INTO '/tmp/copy.db'", "not"),
    ]:
        error = _refused(SQLITE, sql)
        assert error.error == "Tool.NotAllowed" and reason in error.cause, (sql, error.cause)


def test_mysql_executable_comments_and_escapes_cannot_hide_code() -> None:
    # MySQL runs the body of /*! … */: the re-generated SQL drops comments, so it cannot run.
    assert MYSQL.check("SELECT 1 /*!50000 , sleep(5) */").sql == "SELECT 1"
    # In MySQL '\'' is one quote inside a string: the sleep below is real code there, and is seen.
    assert "sleep()" in _refused(MYSQL, "SELECT '\\'' , sleep(1) -- '").cause
    assert "load_file()" in _refused(MYSQL, "SELECT load_file('/etc/passwd')").cause
    assert _refused(MYSQL, "SELECT * FROM t LOCK IN SHARE MODE").error == "Tool.NotAllowed"
    assert _refused(MYSQL, "SELECT * FROM t INTO OUTFILE '/tmp/x'").error == "Tool.NotAllowed"
    assert _refused(MYSQL, "SELECT benchmark(100000000, md5('x'))").error == "Tool.NotAllowed"
    assert _refused(MYSQL, "SELECT get_lock('x', 10)").error == "Tool.NotAllowed"


def test_sql_server_refusals() -> None:
    assert MSSQL.check("SELECT TOP 5 * FROM t WHERE a = :a").sql == "SELECT TOP 5 * FROM t WHERE a = :a"
    assert "openrowset()" in _refused(MSSQL, "SELECT * FROM OPENROWSET('SQLNCLI', 'x', 'SELECT 1')").cause
    assert _refused(MSSQL, "EXEC xp_cmdshell 'dir'").error == "Tool.NotAllowed"
    assert "UPDLOCK" in _refused(MSSQL, "SELECT * FROM t WITH (UPDLOCK)").cause
    assert MSSQL.check("SELECT a FROM t WITH (NOLOCK)").sql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT /*+ INDEX(t i) SET_VAR(max_execution_time=0) */ a FROM t",
        "SELECT /*+ NO_INDEX(t i) SET_VAR(join_buffer_size=4294967295) */ a FROM t",
        "SELECT /*+ MAX_EXECUTION_TIME(86400000) NO_ICP(t i) */ a FROM t",
        "SELECT /*+ RESOURCE_GROUP(rg1) INDEX(t i) */ a FROM t",
        "SELECT /*+ BKA(t) */ a FROM t",
        "SELECT a FROM (SELECT /*+ SET_VAR(sort_buffer_size=1) */ a FROM t) AS s",
    ],
)
def test_mysql_optimizer_hints_are_refused_since_some_change_server_settings(sql: str) -> None:
    assert "optimizer hints" in _refused(MYSQL, sql).cause


@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT a FROM t ORDER BY a FETCH FIRST 5 ROWS ONLY"),
        (PG, "SELECT a FROM t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS WITH TIES"),
        (MSSQL, "SELECT a FROM t ORDER BY a OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY"),
    ],
)
def test_standard_paging_passes(guard: SqlGuard, sql: str) -> None:
    assert "FETCH NEXT 5 ROWS" in guard.check(sql).sql.replace("FIRST", "NEXT")
    assert "pg_sleep" in _refused(PG, "SELECT a FROM t FETCH FIRST (SELECT pg_sleep(1)) ROWS ONLY").cause


def test_named_parameters_survive_the_round_trip() -> None:
    checked = PG.check("SELECT * FROM stock WHERE qty = :qty AND updated >= :since")
    assert checked.sql == "SELECT * FROM stock WHERE qty = :qty AND updated >= :since"
    assert SQLITE.check("SELECT * FROM t WHERE a = :a").sql == "SELECT * FROM t WHERE a = :a"


def test_what_runs_is_the_checked_tree_without_comments() -> None:
    checked = PG.check("SELECT 1 /* ; DROP TABLE t */ AS one -- trailing")
    assert checked.sql == "SELECT 1 AS one"


def test_empty_query_is_a_bad_request() -> None:
    assert _refused(PG, "   ").error == "Tool.BadRequest"
    assert _refused(PG, ";").error == "Tool.BadRequest"


def test_unicode_escape_decoding() -> None:
    assert decode_unicode_escapes("\\0070g_read_file") == "pg_read_file"
    assert decode_unicode_escapes("\\+000070g") == "pg"
    assert decode_unicode_escapes("a\\\\b") == "a\\b"


# --- only real placeholders are parameters ---------------------------------------------------------------
# psycopg2 and PyMySQL are not installed here; SQLAlchemy ships their dialects, which compile the statement
# exactly as those drivers then receive it (client-side binding pastes each value where its marker stands).
CLIENT_SIDE_BINDING = [PGDialect_psycopg2(), MySQLDialect_pymysql()]


@pytest.mark.parametrize("dialect", CLIENT_SIDE_BINDING, ids=lambda dialect: dialect.driver)
@pytest.mark.parametrize(
    ("sql", "literal"),
    [
        ("SELECT ':p' AS a", "':p'"),
        ("SELECT 'status :open' AS s, qty FROM stock WHERE sku = :sku", "'status :open'"),
        ('SELECT "a:b" FROM t WHERE c = :c', ":b"),
        ("SELECT 'a%(p)s' LIKE :pattern AS m", "'a%%(p)s'"),
    ],
)
def test_a_colon_inside_a_literal_is_never_a_bind_parameter(dialect: Any, sql: str, literal: str) -> None:
    guard = MYSQL if dialect.name == "mysql" else PG
    checked = guard.check(sql.replace('"', "`") if dialect.name == "mysql" else sql)
    compiled = text(checked.text_sql).compile(dialect=dialect)
    assert set(compiled.params) == checked.parameters
    assert literal in str(compiled), str(compiled)


def test_placeholders_are_the_names_outside_literals() -> None:
    checked = PG.check("""SELECT ':x' AS a, '{"qty":1}'::jsonb ->> 'qty' AS q, "t:z" AS b FROM t WHERE c = :y""")
    assert checked.parameters == {"y"}
    assert (
        checked.sql == """SELECT ':x' AS a, CAST('{"qty":1}' AS JSONB) ->> 'qty' AS q, "t:z" AS b FROM t WHERE c = :y"""
    )
    assert SQLITE.check("SELECT json_extract('{\"a\":1}', '$.a') AS a").parameters == frozenset()


# --- crashes and lossy re-generation are refusals ----------------------------------------------------------
@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT levenshtein_less_equal()"),
        (SQLITE, "SELECT var_map(1)"),
        (MYSQL, "SELECT date_add(1)"),
        (MSSQL, "SELECT datediff(1, 2)"),
        (PG, "SELECT combined_parameterized_agg(1, 2, 3)"),
        (MSSQL, "SELECT SPLIT_PART(sku, ',', 1) FROM t"),
    ],
)
def test_inputs_the_parser_cannot_handle_are_readable_refusals(guard: SqlGuard, sql: str) -> None:
    error = _refused(guard, sql)
    assert error.error == "Tool.NotAllowed" and "db.query runs one read-only query" in error.cause


# --- system schemas --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT option_value FROM information_schema.user_mapping_options"),
        (PG, "SELECT setconfig FROM pg_db_role_setting"),
        (PG, "SELECT name, setting FROM pg_settings"),
        (PG, "SELECT prosrc FROM pg_catalog.pg_proc"),
        (PG, "SELECT query FROM pg_stat_statements"),
        (PG, 'SELECT * FROM "pg_catalog"."pg_class"'),
        (PG, "SELECT * FROM postgres.pg_toast.pg_toast_1255"),
        (PG, "SELECT * FROM pg_temp_3.t"),
        (PG, "SELECT * FROM stock JOIN information_schema.tables t ON true"),
        (MYSQL, "SELECT * FROM mysql.global_priv"),
        (MYSQL, "SELECT * FROM `MySQL`.slave_master_info"),
        (MYSQL, "SELECT * FROM performance_schema.events_statements_history"),
        (MYSQL, "SELECT * FROM sys.session"),
        (MYSQL, "SELECT * FROM information_schema.processlist"),
        (MSSQL, "SELECT * FROM sys.dm_exec_requests"),
        (MSSQL, "SELECT * FROM [sys].[sql_logins]"),
        # SQL Server compares names by collation: trailing spaces do not count, nor width or accents in some
        (MSSQL, "SELECT * FROM [sys ].[objects]"),
        (MSSQL, "SELECT * FROM [\uff53\uff59\uff53].[objects]"),  # full-width
        (MSSQL, "SELECT * FROM [sÿs].[objects]"),
        (MSSQL, "SELECT * FROM [INFORMATION_SCHEMA  ].[TABLES]"),
        (MSSQL, "SELECT * FROM [master ].dbo.spt_values"),
        (MSSQL, "SELECT * FROM [dbo].[sysprocesses ]"),
        (MSSQL, "SELECT * FROM [dbo].[sýslogins]"),
        (MSSQL, "SELECT * FROM [Sýsobjects]"),
        (MSSQL, "SELECT * FROM INFORMATION_SCHEMA.TABLES"),
        (MSSQL, "SELECT * FROM sysprocesses"),
        (MSSQL, "SELECT * FROM dbo.sysprocesses"),  # compatibility views are found from other schemas too
        (MSSQL, "SELECT * FROM [dbo].[SysLogins]"),
        (MSSQL, "SELECT name FROM x.sysusers"),
        (MSSQL, "SELECT * FROM otherdb.dbo.sysobjects"),
        (MSSQL, "SELECT * FROM master.dbo.spt_values"),
        (MSSQL, "SELECT * FROM msdb..backupset"),
        (MSSQL, "SELECT * FROM otherdb.sys.objects"),
        (MSSQL, "SELECT * FROM linkedsrv.otherdb.dbo.customers"),
        (SQLITE, "SELECT * FROM main.pragma_database_list"),
    ],
)
def test_relations_of_system_schemas_are_refused(guard: SqlGuard, sql: str) -> None:
    error = _refused(guard, sql)
    assert error.error == "Tool.NotAllowed" and "is not allowed" in error.cause, error.cause


@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (MYSQL, "SELECT * FROM shop.user"),
        (MYSQL, "SELECT * FROM user"),
        (MYSQL, "SELECT * FROM processlist_copy"),
        (PG, "SELECT * FROM public.pg_import_log"),
        (PG, "SELECT * FROM reporting.stock"),
        (MSSQL, "SELECT * FROM dbo.system_log"),
        (MSSQL, "SELECT * FROM warehouse.dbo.stock"),
        (MSSQL, "SELECT * FROM [dbo].[café sales ]"),
        (MYSQL, "SELECT * FROM `ínformation_schema`.tables"),  # MariaDB does not find it (checked)
        (SQLITE, "SELECT name, sql FROM sqlite_master"),
        (SQLITE, "SELECT name FROM sqlite_schema"),
    ],
)
def test_customer_relations_with_system_like_names_pass(guard: SqlGuard, sql: str) -> None:
    assert guard.check(sql).sql


def test_unqualified_mysql_names_are_refused_when_the_default_database_is_a_system_one() -> None:
    assert "reading user" in _refused(SqlGuard("mysql", default_schema="mysql"), "SELECT * FROM user").cause
    assert SqlGuard("mysql", default_schema="shop").check("SELECT * FROM user").sql


# --- functional notation and width functions ---------------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    ["SELECT (s).label FROM stock s", "SELECT (s.address).street FROM stock s", "SELECT (ROW(1, 2)).f1"],
)
def test_field_selection_on_a_row_value_is_refused(sql: str) -> None:
    assert "selecting a field of a row value" in _refused(PG, sql).cause


@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT format('%150000000s', 'x')"),
        (PG, "SELECT pg_catalog.format('%s', 'x')"),
        (MYSQL, "SELECT format(1234.5, 2)"),
        (MSSQL, "SELECT FORMAT(1, 'D9')"),
        (SQLITE, "SELECT printf('%.*c', 100000000, 'x')"),
        (SQLITE, "SELECT format('%100000000d', 1)"),
    ],
)
def test_width_functions_are_refused_on_every_database(guard: SqlGuard, sql: str) -> None:
    error = _refused(guard, sql)
    assert error.error == "Tool.NotAllowed", error.cause
    assert "format()" in error.cause or "printf()" in error.cause, error.cause


def test_an_accepted_query_is_checked_once_and_kept_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = SqlGuard("sqlite")
    parses: list[str] = []
    original = guard._parse_one

    def counting(sql: str) -> Any:
        parses.append(sql)
        return original(sql)

    monkeypatch.setattr(guard, "_parse_one", counting)
    first = guard.check("SELECT sku, qty FROM stock WHERE qty < :low")
    assert len(parses) == 2  # the query, then its re-generated text
    assert guard.check("SELECT sku, qty FROM stock WHERE qty < :low") is first
    assert len(parses) == 2
    # Another text is another check, even when it means the same.
    guard.check("select sku, qty from stock where qty < :low")
    assert len(parses) == 4
    # At most _CACHED_QUERIES are kept: the oldest is checked again after that many others.
    from phi_agent.tools import sql_guard

    for number in range(sql_guard._CACHED_QUERIES):
        guard.check(f"SELECT {number} AS n")
    parses.clear()
    guard.check("SELECT sku, qty FROM stock WHERE qty < :low")
    assert len(parses) == 2


def test_a_refused_query_stays_refused_and_a_long_one_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = SqlGuard("sqlite")
    for _ in range(2):
        assert "load_extension" in _refused(guard, "SELECT load_extension('x')").cause
    from phi_agent.tools import sql_guard

    long_sql = "SELECT '" + "x" * sql_guard._CACHEABLE_SQL_CHARS + "' AS n"
    assert len(long_sql) > sql_guard._CACHEABLE_SQL_CHARS
    guard.check(long_sql)
    assert long_sql not in guard._accepted


@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT strpos(h.hay, nd.needle) AS p FROM h, nd"),
        (PG, "SELECT position(n IN h) FROM t"),
        (PG, "SELECT replace(h, other, '') FROM t"),
        (PG, "SELECT split_part(h, sep, 2) FROM t"),
        (MYSQL, "SELECT instr(h, n) FROM t"),
        (MYSQL, "SELECT locate(concat(left(h, 200000), 'b'), h) FROM t"),
        (SQLITE, "SELECT instr(hay, substr(hay, 1, 1000000) || 'b') FROM t"),
        (MSSQL, "SELECT charindex(n, h) FROM t"),
    ],
)
def test_a_substring_search_for_a_computed_text_is_refused(guard: SqlGuard, sql: str) -> None:
    """Searching one long text for another costs their lengths multiplied inside one function call, which no
    statement timeout interrupts (PostgreSQL ignored pg_cancel_backend for two minutes on 1.2M and 600k characters)."""
    assert "must be a quoted text written in the query" in _refused(guard, sql).cause


@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT strpos(name, 'x'), position('ab' IN name), replace(name, ' ', '') FROM t"),
        (PG, "SELECT split_part(name, ',', 2) FROM t"),
        (PG, "SELECT strpos(name, NULL) FROM t"),
        (MYSQL, "SELECT instr(h, 'x'), locate('x', h), replace(h, '-', '') FROM t"),
        (SQLITE, "SELECT instr(h, 'T'), replace(h, 'T', ' ') FROM t"),
        (MSSQL, "SELECT charindex('x', h), replace(h, 'x', 'y') FROM t"),
    ],
)
def test_a_substring_search_for_a_quoted_text_passes(guard: SqlGuard, sql: str) -> None:
    guard.check(sql)


def test_a_searched_text_longer_than_the_limit_is_refused() -> None:
    refusal = _refused(SQLITE, f"SELECT instr(h, '{'x' * 1001}') FROM t")
    assert "is 1,001 characters long (at most 1,000)" in refusal.cause


def test_a_searched_text_may_be_a_parameter_whose_value_is_bounded_when_it_runs() -> None:
    assert PG.check("SELECT strpos(h, :needle), replace(h, :old, 'x') FROM t").bounded_parameters == {"needle", "old"}


@pytest.mark.parametrize(
    ("guard", "sql"),
    [
        (PG, "SELECT a FROM t WHERE a LIKE b"),
        (PG, "SELECT a FROM t WHERE a NOT LIKE '%' || repeat('a', 40000) || 'b' ESCAPE '!'"),
        (PG, "SELECT a FROM t WHERE a ILIKE lower(b)"),
        (PG, "SELECT a FROM t WHERE a ~~ b"),
        (PG, "SELECT a FROM t WHERE a !~~* b"),
        (PG, "SELECT a FROM t WHERE a LIKE ANY (ARRAY['x%', b])"),
        (PG, "SELECT a FROM t WHERE a LIKE ALL (SELECT p FROM q)"),
        (SQLITE, "SELECT like(b, a) FROM t"),
        (SQLITE, "SELECT a FROM t WHERE a GLOB '*' || b"),
        (SQLITE, "SELECT glob(b, a) FROM t"),
        (MYSQL, "SELECT a FROM t WHERE a LIKE CONCAT('%', b)"),
        (MSSQL, "SELECT a FROM t WHERE a LIKE 'x' + b"),
    ],
)
def test_a_like_or_glob_pattern_that_is_computed_is_refused(guard: SqlGuard, sql: str) -> None:
    """LIKE costs the text's length times the pattern's inside one call: PostgreSQL ran a 40,000-character computed
    pattern against a 4,000,000-character text for 174 s past a 1 s statement_timeout."""
    refusal = _refused(guard, sql)
    assert "must be a quoted text written in the query or a :parameter" in refusal.cause, refusal.cause


@pytest.mark.parametrize(
    ("guard", "sql", "bounded"),
    [
        (PG, "SELECT a FROM t WHERE a LIKE 'x%' AND a NOT ILIKE '%y' ESCAPE '!'", set()),
        (PG, "SELECT a FROM t WHERE a LIKE ANY (ARRAY['x%', 'y%', NULL])", set()),
        (PG, "SELECT a FROM t WHERE a LIKE E'x\\\\%'", set()),
        (PG, "SELECT a FROM t WHERE a LIKE ('x%')", set()),
        (PG, "SELECT a FROM t WHERE a LIKE :prefix OR a ILIKE :other", {"prefix", "other"}),
        (PG, "SELECT a FROM t WHERE a SIMILAR TO b", set()),  # a regular expression: stopped at the timeout
        (SQLITE, "SELECT a FROM t WHERE a NOT GLOB '[0-9]*' OR like('x%', a)", set()),
        (MYSQL, "SELECT a FROM t WHERE a LIKE 'x%' OR a LIKE :p", {"p"}),
        (MSSQL, "SELECT a FROM t WHERE a LIKE N'x%'", set()),
    ],
)
def test_a_like_pattern_written_in_the_query_or_given_as_a_parameter_passes(
    guard: SqlGuard, sql: str, bounded: set[str]
) -> None:
    assert guard.check(sql).bounded_parameters == bounded


def test_a_like_pattern_longer_than_the_limit_is_refused() -> None:
    assert (
        "the pattern of LIKE is 1,001 characters long" in _refused(PG, f"SELECT 1 WHERE 'a' LIKE '{'%' * 1001}'").cause
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT g::oid::regclass::text FROM generate_series(1, 20000) AS g",
        "SELECT CAST(g AS regrole) FROM t",
        "SELECT 'x'::REGNAMESPACE",
        "SELECT 'pg_class'::pg_catalog.regclass",
        'SELECT g::"regtype" FROM t',
    ],
)
def test_casts_to_catalog_lookup_types_are_refused_on_postgresql(sql: str) -> None:
    assert "look names up in the system catalogs" in _refused(PG, sql).cause


def test_a_type_of_yours_whose_name_starts_like_one_passes() -> None:
    PG.check("SELECT r::region, a::text FROM t")


def test_a_function_is_named_from_its_head_without_writing_its_arguments_out() -> None:
    """Checking a function wrote its whole subtree, at every function of a deep query: 22,000 ORs took minutes."""
    import sqlglot

    node = sqlglot.parse_one("SELECT lower(" + " || ".join(["a"] * 500) + ") FROM t", read="postgres").expressions[0]
    assert PG._render_head(node) == "LOWER(phi_argument)"
    big_or = sqlglot.parse_one("SELECT 1 WHERE " + " OR ".join(["a = 1"] * 300), read="postgres").find(sqlglot.exp.Or)
    assert PG._render_head(big_or) == "phi_argument OR phi_argument"


@pytest.mark.parametrize(
    ("guard", "sql", "what"),
    [
        (PG, "SELECT ltrim(a, b) FROM t", "the characters trim() removes"),
        (PG, "SELECT btrim(a, b || 'x') FROM t", "the characters trim() removes"),
        (PG, "SELECT trim(both b from a) FROM t", "the characters trim() removes"),
        (PG, "SELECT rtrim(a, string_agg(b, '')) FROM t GROUP BY a", "the characters trim() removes"),
        (PG, "SELECT translate(a, b, '') FROM t", "the characters translate() replaces"),
        (SQLITE, "SELECT trim(a, b), ltrim(a, b || 'x') FROM t", "the characters trim() removes"),
        (SQLITE, "SELECT rtrim(a, (SELECT group_concat(b, '') FROM u)) FROM t", "the characters rtrim() removes"),
        (MYSQL, "SELECT trim(both b from a) FROM t", "the characters trim() removes"),
        (MSSQL, "SELECT ltrim(a, b) FROM t", "the characters trim() removes"),
    ],
)
def test_trimming_or_translating_by_a_computed_set_of_characters_is_refused(
    guard: SqlGuard, sql: str, what: str
) -> None:
    """Each character is looked up in the set, inside one call no timeout interrupts: PostgreSQL's ltrim and translate
    of a computed 200,000-character text by a set as long ran 214 s and 313 s past a 1 s statement_timeout."""
    refusal = _refused(guard, sql)
    assert f"{what} must be a quoted text written in the query or a :parameter" in refusal.cause, refusal.cause


@pytest.mark.parametrize(
    ("guard", "sql", "bounded"),
    [
        (PG, "SELECT trim(a), btrim(a, ' '), ltrim(a, '0'), translate(a, 'abc', 'xyz') FROM t", set()),
        (PG, "SELECT trim(both :chars from a), translate(a, :old, :new) FROM t", {"chars", "old"}),
        (SQLITE, "SELECT trim(a), trim(a, ' '), rtrim(a, :x) FROM t", {"x"}),
        (MYSQL, "SELECT trim(a), trim(leading '0' from a) FROM t", set()),
        (MSSQL, "SELECT ltrim(a), rtrim(a), trim(a), ltrim(a, '0') FROM t", set()),
    ],
)
def test_trimming_or_translating_by_written_characters_passes(guard: SqlGuard, sql: str, bounded: set[str]) -> None:
    assert guard.check(sql).bounded_parameters == bounded


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a && b FROM t",
        "SELECT a @> b, a <@ b FROM t",
        "SELECT payload @> other FROM t",
        "SELECT j ?| keys FROM t",
        "SELECT j ?& array_agg(k) FROM t GROUP BY j",
        "SELECT a @> ARRAY(SELECT x FROM u) FROM t",
        "SELECT a @> ARRAY[b] FROM t",  # b may itself be an array: ARRAY[b] holds all of its elements
        "SELECT a @> CAST(b AS INT[]) FROM t",
    ],
)
def test_array_and_json_containment_of_two_computed_values_is_refused(sql: str) -> None:
    """Containment and overlap compare every element of one side with the other's inside one operator call: `a && b`
    of two computed 60,000-element arrays ran 15 s past a 1 s statement_timeout, jsonb `a @> a` of 30,000 14 s."""
    refusal = _refused(PG, sql)
    assert "must be written in the query" in refusal.cause and "far past the time limit" in refusal.cause


def test_array_and_json_containment_with_one_side_written_in_the_query_passes() -> None:
    checked = PG.check(
        "SELECT tags && ARRAY['x', 'y'], ARRAY[1, -2, :id] <@ ids, payload @> '{\"status\": \"late\"}'::jsonb, "
        "'{\"a\": 1}' <@ payload, j ?| ARRAY['a', 'b'], ids @> CAST(:wanted AS INT[]), ids @> '{1,2}' FROM t"
    )
    assert checked.bounded_parameters == {"id", "wanted"}
    long_text = "'" + "x" * 1001 + "'"
    assert "must be written in the query" in _refused(PG, f"SELECT j @> {long_text}::jsonb FROM t").cause
