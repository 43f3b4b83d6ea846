"""`db.query` attacked as an attacker holding the cloud side would: the corpus runs against SQLite and the
embedded PostgreSQL, as a superuser login (the guard is the only barrier: started with the override) and as
a read-only login created here. Every attack is refused, or harmless because the database refuses it; the
queries a warehouse report needs still work."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from phi_agent.app import privileged_logins
from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.results import build_output
from phi_agent.tools.db_query import DbQueryTool
from phi_agent.tools.registry import ToolRegistry

READER = "phi_reader"
FILES = "phi_files_reader"


@dataclass
class Target:
    kind: str  # sqlite | pg_superuser | pg_readonly
    tool: DbQueryTool
    url: str

    @property
    def postgres(self) -> bool:
        return self.kind.startswith("pg_")


def _settings(**overrides: Any) -> DbQuerySettings:
    values: dict[str, Any] = {"url_env": "X", "statement_timeout_seconds": 5, "max_rows": 1000} | overrides
    return DbQuerySettings(**values)


def _raw_url(url: str) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL."""
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or ""
    return psycopg.conninfo.make_conninfo(
        dbname=parsed.database, user=parsed.username, password=parsed.password or None, host=host, port=parsed.port
    )


@pytest.fixture(scope="module")
def reader_url(postgres_url: str) -> str:
    with psycopg.connect(_raw_url(postgres_url), autocommit=True) as admin:
        for role in (READER, FILES):
            admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {READER} LOGIN PASSWORD 'reader-pw'")
        admin.execute(f"GRANT SELECT ON stock TO {READER}")
        admin.execute(f"CREATE ROLE {FILES} LOGIN PASSWORD 'files-pw'")
        admin.execute(f"GRANT pg_read_server_files TO {FILES}")
    return make_url(postgres_url).set(username=READER, password="reader-pw").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "pg_superuser", "pg_readonly"])
def target(request: pytest.FixtureRequest, warehouse_sqlite: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        url = f"sqlite:///{warehouse_sqlite}"
        tool = DbQueryTool(_settings(), url, 2)
    elif request.param == "pg_superuser":
        url = request.getfixturevalue("postgres_url")
        tool = DbQueryTool(_settings(), url, 2, allow_privileged_login=True)
    else:
        url = request.getfixturevalue("reader_url")
        tool = DbQueryTool(_settings(), url, 2)
    yield Target(request.param, tool, url)
    tool.dispose()


def _run(tool: DbQueryTool, args: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    with tool.open(args, timeout) as result:
        output = build_output("call", result, 131_072, None)
    return dict(output["result"])


def _drain(tool: DbQueryTool, args: dict[str, Any]) -> int:
    """Read every row as the result builder would, without its inline-size limit."""
    with tool.open(args, None) as result:
        return sum(1 for _ in result.rows)


def _error(tool: DbQueryTool, sql: str, **args: Any) -> ToolError:
    with pytest.raises(ToolError) as caught:
        _run(tool, {"sql": sql, **args})
    return caught.value


# --- attacks --------------------------------------------------------------------------------------------
COMMON_ATTACKS = [
    "DELETE FROM stock",
    "UPDATE stock SET qty = 0",
    "SELECT 1; DELETE FROM stock",
    "WITH gone AS (DELETE FROM stock RETURNING *) SELECT * FROM gone",
    "SELECT * INTO stolen FROM stock",
    "SELECT * FROM stock FOR UPDATE",
    "CREATE TABLE stolen AS SELECT * FROM stock",
    "DROP TABLE stock",
]
POSTGRES_ATTACKS = [
    "SELECT \"pg_read_file\"('/etc/hostname')",
    "SELECT U&\"\\0070g_read_file\"('/etc/hostname')",
    "SELECT pg_catalog.pg_read_file('/etc/hostname')",
    "SELECT \"pg_read_binary_file\"('/etc/hostname')",
    "SELECT * FROM \"pg_ls_dir\"('.')",
    "SELECT pg_ls_waldir()",
    "SELECT lo_get(1)",
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT current_setting('data_directory')",
    "SELECT pg_notify('phi', 'x')",
    "SELECT \"set_config\"('statement_timeout', '0', true) AS s, CASE WHEN g > 1000 THEN pg_sleep(8) END "
    "FROM generate_series(1, 1001) g",
    "SELECT pg_sleep(8)",
    "SELECT pg_try_advisory_lock(42)",
    "SELECT pg_advisory_lock_shared(42)",
    "SELECT count(*) FROM stock WHERE qty IN (SELECT pg_advisory_lock(42))",
    "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)",
    "SELECT query_to_xml('DELETE FROM stock RETURNING 1', true, true, '')",
    "SELECT sneaky_write()",
    "SELECT public.sneaky_write()",
    "SELECT nextval('s')",
    "COPY stock TO PROGRAM 'id'",
    "CALL anything()",
    "DO $$ BEGIN DELETE FROM stock; END $$",
    "SET default_transaction_read_only = off",
    "SELECT * FROM pg_authid",
    "SELECT x FROM stock, LATERAL (SELECT pg_sleep(1)) AS l(x)",
    "SELECT qty FROM stock ORDER BY CASE WHEN qty > 0 THEN pg_sleep(1) END",
]
SQLITE_ATTACKS = [
    "SELECT \"fts3_tokenizer\"('simple')",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT zeroblob(200000000) FROM stock",
    "SELECT 1 #, load_extension('/tmp/evil.so')",
    "ATTACH DATABASE '/tmp/phi-attack.db' AS x",
    "PRAGMA query_only = OFF",
    "SELECT * FROM pragma_database_list",
    "VACUUM INTO '/tmp/phi-attack-copy.db'",
]


def test_attack_corpus_is_refused(target: Target) -> None:
    attacks = COMMON_ATTACKS + (POSTGRES_ATTACKS if target.postgres else SQLITE_ATTACKS)
    for sql in attacks:
        error = _error(target.tool, sql)
        assert error.error in {"Tool.NotAllowed", "Tool.BadRequest"}, (target.kind, sql, error.error, error.cause)
    # Nothing changed, nothing leaked into the session.
    assert _run(target.tool, {"sql": "SELECT count(*) FROM stock WHERE qty > 0"})["rows"][0][0] > 0
    assert not Path("/tmp/phi-attack.db").exists() and not Path("/tmp/phi-attack-copy.db").exists()


def test_lo_export_and_terminate_backend_do_nothing(target: Target, tmp_path: Path) -> None:
    if not target.postgres:
        pytest.skip("PostgreSQL functions")
    written = tmp_path / f"lo-{uuid.uuid4().hex}"
    assert _error(target.tool, f"SELECT \"lo_export\"(1, '{written}')").error == "Tool.NotAllowed"
    assert not written.exists()
    with psycopg.connect(_raw_url(target.url)) as bystander:
        pid = bystander.info.backend_pid
        assert _error(target.tool, f'SELECT "pg_terminate_backend"({pid})').error == "Tool.NotAllowed"
        assert _error(target.tool, f"SELECT pg_cancel_backend({pid})").error == "Tool.NotAllowed"
        assert bystander.execute("SELECT 1").fetchone() == (1,)


# --- allowed queries ------------------------------------------------------------------------------------
POSTGRES_ALLOWED: list[tuple[dict[str, Any], list[list[Any]]]] = [
    (
        {"sql": "SELECT count(*), sum(qty), min(qty), max(qty), round(avg(qty), 2) FROM stock"},
        [[50, 1275, 1, 50, 25.5]],
    ),
    ({"sql": "SELECT count(*) FROM stock a JOIN stock b ON a.qty = b.qty + 1"}, [[49]]),
    (
        {"sql": "SELECT sku, row_number() OVER (ORDER BY qty DESC) AS rn FROM stock ORDER BY qty DESC LIMIT 2"},
        [["SKU-50", 1], ["SKU-49", 2]],
    ),
    ({"sql": "WITH big AS (SELECT qty FROM stock WHERE qty > 45) SELECT count(*) FROM big"}, [[5]]),
    (
        {
            "sql": "SELECT (updated AT TIME ZONE 'UTC')::date, extract(hour FROM updated AT TIME ZONE 'UTC'), "
            "date_trunc('hour', updated AT TIME ZONE 'UTC') FROM stock WHERE qty = 1"
        },
        [["2026-01-02", 3, "2026-01-02T03:00:00"]],
    ),
    ({"sql": "SELECT CAST(qty AS text) || '-' || price::text FROM stock WHERE qty = 2"}, [["2-2.50"]]),
    ({"sql": "SELECT jsonb_build_object('sku', sku, 'qty', qty)->>'sku' FROM stock WHERE qty = 3"}, [["SKU-3"]]),
    ({"sql": "SELECT count(*) FROM generate_series(0, 23) AS h"}, [[24]]),
    (
        {
            "sql": "SELECT h, count(s.sku) FROM generate_series(2, 3) AS h "
            "LEFT JOIN stock s ON extract(hour FROM s.updated AT TIME ZONE 'UTC') = h GROUP BY h ORDER BY h"
        },
        [[2, 0], [3, 50]],
    ),
    (
        {
            "sql": "SELECT count(*) FROM stock WHERE updated >= :start AND updated < :end",
            "params": {
                "start": {"$datetime": "2026-01-02T04:00:00+01:00"},
                "end": {"$datetime": "2026-01-02T03:04:06Z"},
            },
        },
        [[50]],
    ),
    ({"sql": "SELECT count(*) FROM stock WHERE day = :d", "params": {"d": {"$date": "2026-01-02"}}}, [[50]]),
    (
        {"sql": "TABLE stock LIMIT 1"},
        [["SKU-1", 1, 1.25, "2026-01-02T03:04:05+00:00", "2026-01-02", "AP8=", "00000000-0000-0000-0000-000000000001"]],
    ),
]
SQLITE_ALLOWED: list[tuple[dict[str, Any], list[list[Any]]]] = [
    ({"sql": "SELECT count(*), sum(qty), min(qty), max(qty), avg(qty) FROM stock"}, [[100, 5050, 1, 100, 50.5]]),
    ({"sql": "SELECT count(*) FROM stock a JOIN stock b ON a.qty = b.qty + 1"}, [[99]]),
    (
        {"sql": "SELECT sku, row_number() OVER (ORDER BY qty DESC) AS rn FROM stock ORDER BY qty DESC LIMIT 2"},
        [["SKU-0100", 1], ["SKU-0099", 2]],
    ),
    ({"sql": "WITH big AS (SELECT qty FROM stock WHERE qty > 95) SELECT count(*) FROM big"}, [[5]]),
    ({"sql": "SELECT strftime('%H', updated), date(updated) FROM stock WHERE qty = 1"}, [["07", "2026-01-01"]]),
    ({"sql": "SELECT CAST(qty AS TEXT) || '-' || sku FROM stock WHERE qty = 2"}, [["2-SKU-0002"]]),
    ({"sql": "SELECT json_extract(json_object('sku', sku), '$.sku') FROM stock WHERE qty = 3"}, [["SKU-0003"]]),
    (
        {"sql": "WITH RECURSIVE h(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM h WHERE n < 23) SELECT count(*) FROM h"},
        [[24]],
    ),
    (
        {
            "sql": "SELECT count(*) FROM stock WHERE updated >= :start",
            "params": {"start": {"$datetime": "2026-01-01T06:00:00Z"}},
        },
        [[100]],
    ),
    ({"sql": "SELECT count(*) FROM stock WHERE date(updated) = :d", "params": {"d": {"$date": "2026-01-01"}}}, [[100]]),
]


def test_allowed_queries_work(target: Target) -> None:
    for args, rows in POSTGRES_ALLOWED if target.postgres else SQLITE_ALLOWED:
        assert _run(target.tool, args)["rows"] == rows, (target.kind, args["sql"])


# --- the login ------------------------------------------------------------------------------------------
def test_privileged_logins_are_reported_and_refused(postgres_url: str, reader_url: str) -> None:
    superuser = DbQueryTool(_settings(), postgres_url, 1)
    files_url = make_url(reader_url).set(username=FILES, password="files-pw").render_as_string(hide_password=False)
    files = DbQueryTool(_settings(), files_url, 1)
    reader = DbQueryTool(_settings(), reader_url, 1)
    try:
        privileges = superuser.privileges()
        assert privileges is not None and privileges.dangerous == ["superuser"]
        assert "may write to" in privileges.describe()
        refused = _error(superuser, "SELECT 1")
        assert refused.error == "Tool.NotAllowed" and "superuser" in refused.cause
        assert "--allow-privileged-db-login" in refused.cause
        files_privileges = files.privileges()
        assert files_privileges is not None and files_privileges.dangerous == ["pg_read_server_files"]
        assert _error(files, "SELECT 1").error == "Tool.NotAllowed"
        reader_privileges = reader.privileges()
        assert reader_privileges is not None and reader_privileges.dangerous == []
        assert "no write privilege on any table" in reader_privileges.describe()
        assert _run(reader, {"sql": "SELECT 1 AS one"})["rows"] == [[1]]
        problems = privileged_logins(ToolRegistry({"db.query": superuser}))
        assert len(problems) == 1 and "superuser" in problems[0] and "***" in problems[0]
        assert privileged_logins(ToolRegistry({"db.query": reader})) == []
    finally:
        for tool in (superuser, files, reader):
            tool.dispose()


# --- defence in depth -----------------------------------------------------------------------------------
def test_postgres_sessions_are_read_only_and_reset_after_each_call(postgres_url: str) -> None:
    tool = DbQueryTool(_settings(), postgres_url, 1, allow_privileged_login=True)
    try:
        # Whatever a call might leave on its pooled connection (a bypass of the guard, simulated here)…
        with tool._engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
            connection.exec_driver_sql("SET SESSION statement_timeout = 123456")
            connection.exec_driver_sql("SELECT pg_advisory_lock(4242)")
            connection.commit()
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        # …is gone before the connection is used again.
        with tool._engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar_one() != "123456"
            assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
            held = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
            ).scalar_one()
            assert held == 0
        assert _run(tool, {"sql": "SELECT 1 AS one"})["rows"] == [[1]]
    finally:
        tool.dispose()


def test_a_backslash_ends_no_string_even_where_the_database_turns_standard_strings_off(postgres_url: str) -> None:
    # Given a login whose sessions default to standard_conforming_strings = off (a role's or database's setting the
    # agent does not choose), where '\' would be an escaped quote and the rest of the text code
    role = f"legacy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_raw_url(postgres_url), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'legacy-pw'")
        admin.execute(f"ALTER ROLE {role} SET standard_conforming_strings = off")
        admin.execute(f"GRANT SELECT ON stock TO {role}")
        with psycopg.connect(
            _raw_url(
                make_url(postgres_url).set(username=role, password="legacy-pw").render_as_string(hide_password=False)
            )
        ) as plain:
            assert plain.execute("SHOW standard_conforming_strings").fetchone() == ("off",)
    url = make_url(postgres_url).set(username=role, password="legacy-pw").render_as_string(hide_password=False)
    tool = DbQueryTool(_settings(), url, 1)
    try:
        # When a query the guard reads as two plain strings runs through the agent
        sql = "SELECT '\\' AS a, ', pg_backend_pid() --' AS b FROM stock LIMIT 1"
        result = _run(tool, {"sql": sql})
        # Then the database read them as the guard did: two strings, no function call
        assert result["rows"] == [["\\", ", pg_backend_pid() --"]]
    finally:
        tool.dispose()


def test_the_agent_cancels_a_query_whatever_the_server_timeout(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = DbQueryTool(_settings(statement_timeout_seconds=1), postgres_url, 1, allow_privileged_login=True)
    # As if the server's statement timeout had been switched off: only the agent's own deadline is left.
    monkeypatch.setattr(tool, "_start_read_only", lambda connection, seconds: None)
    try:
        error = _error(tool, "SELECT count(*) FROM generate_series(1, 20000000000)")
        assert error.error == "Tool.Timeout"
        assert _run(tool, {"sql": "SELECT 1 AS one"})["rows"] == [[1]]
    finally:
        tool.dispose()


def test_the_deadline_covers_the_fetch(postgres_url: str) -> None:
    settings = _settings(statement_timeout_seconds=1, max_rows=10**9, max_result_bytes=10**12)
    tool = DbQueryTool(settings, postgres_url, 1, allow_privileged_login=True)
    try:
        with (
            pytest.raises(ToolError) as caught,
            tool.open({"sql": "SELECT i FROM generate_series(1, 1000000000) i"}, None) as result,
        ):
            for _ in result.rows:
                pass
        assert caught.value.error == "Tool.Timeout"
    finally:
        tool.dispose()


def test_results_are_capped_by_bytes(target: Target) -> None:
    settings = _settings(max_row_bytes=100_000, max_result_bytes=1_000_000, statement_timeout_seconds=60)
    tool = DbQueryTool(settings, target.url, 1, allow_privileged_login=True)
    try:
        if target.postgres:
            huge_value = "SELECT string_agg(sku, ',') FROM stock, generate_series(1, 20000)"
            many_rows = (
                "SELECT (SELECT string_agg(s.sku, ',') FROM stock s, generate_series(1, 100) a) || g "
                "FROM generate_series(1, 3000) g"
            )
        else:
            huge_value = (
                "WITH RECURSIVE s(x) AS (SELECT 'xxxxxxxxxx' UNION ALL SELECT x || x FROM s "
                "WHERE length(x) < 200000000) SELECT max(x) FROM s"
            )
            many_rows = (
                "SELECT substr(group_concat(a.sku, ''), 1, 60000) FROM stock AS a, stock AS b, stock AS c "
                "GROUP BY b.qty"
            )
        with pytest.raises(ToolError) as value:
            _drain(tool, {"sql": huge_value})
        assert value.value.error == "Tool.ResultTooLarge" and "limit" in value.value.cause, value.value.cause
        with pytest.raises(ToolError) as total:
            _drain(tool, {"sql": many_rows, "max_rows": 1000})
        assert total.value.error == "Tool.ResultTooLarge" and "1000000 bytes" in total.value.cause, total.value.cause
    finally:
        tool.dispose()


def test_sqlite_is_opened_read_only_and_check_never_creates_a_file(tmp_path: Path, warehouse_sqlite: Path) -> None:
    missing = tmp_path / "missing.db"
    tool = DbQueryTool(_settings(), f"sqlite:///{missing}", 1)
    with pytest.raises(ToolError) as caught:
        tool.check()
    assert "does not exist" in caught.value.cause
    assert not missing.exists()
    tool.dispose()
    tool = DbQueryTool(_settings(), f"sqlite:///{warehouse_sqlite}", 1)
    try:
        assert "mode=ro" in tool.check()
        # Even with the guard bypassed and query_only switched off, the file is read-only…
        with tool._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA query_only = OFF")
            with pytest.raises(Exception, match="readonly"):
                connection.exec_driver_sql("DELETE FROM stock")
        # …and the authorizer refuses functions that are not allowed.
        with tool._engine.connect() as connection, tool._sqlite_session(connection, time.monotonic() + 5):
            with pytest.raises(Exception, match="not authorized"):
                connection.exec_driver_sql("SELECT zeroblob(10)")
            with pytest.raises(Exception, match="not authorized"):
                connection.exec_driver_sql("ATTACH DATABASE ':memory:' AS x")
    finally:
        tool.dispose()


# --- parameters: only real placeholders ------------------------------------------------------------------
def test_colons_in_literals_and_quoted_names_are_text(target: Target) -> None:
    if target.postgres:
        sql = (
            "SELECT '{\"qty\":1}'::jsonb ->> 'qty' AS q, 'status :open' AS s, 1 AS \":n\", '10:30'::time AS t "
            "FROM stock WHERE sku = :sku"
        )
        expected = [["1", "status :open", 1, "10:30:00"]]
        sku = "SKU-1"
    else:
        sql = (
            "SELECT json_extract('{\"a\":1}', '$.a') AS a, 'status :open' AS s, 1 AS \":n\" FROM stock WHERE sku = :sku"
        )
        expected = [[1, "status :open", 1]]
        sku = "SKU-0001"
    result = _run(target.tool, {"sql": sql, "params": {"sku": sku}})
    assert result["rows"] == expected and result["columns"][2] == ":n"


def test_a_value_for_a_colon_inside_a_literal_is_refused_and_never_spliced(target: Target) -> None:
    before = _run(target.tool, {"sql": "SELECT count(*) FROM stock"})["rows"]
    payload = " AS z; COMMIT; BEGIN READ WRITE; DELETE FROM stock; COMMIT; SELECT $$x$$ AS a, "
    error = _error(target.tool, "SELECT ':p' AS a", params={"p": payload})
    assert error.error == "Tool.BadRequest" and error.cause.startswith("args.params.p: the query has no placeholder :p")
    assert _run(target.tool, {"sql": "SELECT ':p' AS a"})["rows"] == [[":p"]]
    missing = _error(target.tool, "SELECT count(*) FROM stock WHERE qty > :low AND qty < :high", params={"low": 1})
    assert missing.error == "Tool.BadRequest" and ":high" in missing.cause
    assert _run(target.tool, {"sql": "SELECT count(*) FROM stock"})["rows"] == before


def test_an_integer_sqlite_cannot_hold_is_a_bad_request(target: Target) -> None:
    if target.postgres:
        pytest.skip("SQLite integers")
    error = _error(target.tool, "SELECT :n AS n", params={"n": 10**30})
    assert error.error == "Tool.BadRequest" and error.cause.startswith("args.params.n: ")


# --- system catalogs, functional notation, width functions -----------------------------------------------
def test_secrets_in_postgres_system_catalogs_are_refused(target: Target) -> None:
    if not target.postgres:
        pytest.skip("PostgreSQL catalogs")
    for sql in [
        "SELECT option_name, option_value FROM information_schema.user_mapping_options",
        "SELECT setconfig FROM pg_db_role_setting",
        "SELECT name, setting FROM pg_settings",
        "SELECT prosrc FROM pg_proc WHERE proname = 'sneaky_write'",
        "SELECT count(*) FROM pg_catalog.pg_class",
        "SELECT table_name FROM information_schema.tables",
    ]:
        error = _error(target.tool, sql)
        assert error.error == "Tool.NotAllowed" and "system relations" in error.cause, (sql, error.cause)


def test_sqlite_schema_table_stays_readable(target: Target) -> None:
    if target.postgres:
        pytest.skip("SQLite")
    assert _run(target.tool, {"sql": "SELECT name FROM sqlite_master WHERE type = 'table'"})["rows"] == [["stock"]]


def test_functions_of_a_table_row_are_refused_in_field_syntax_and_reported(postgres_url: str, reader_url: str) -> None:
    function = f"row_label_{uuid.uuid4().hex[:8]}"
    reader = DbQueryTool(_settings(), reader_url, 1)
    with psycopg.connect(_raw_url(postgres_url), autocommit=True) as admin:
        admin.execute(f"CREATE FUNCTION {function}(s stock) RETURNS text LANGUAGE sql AS $$ SELECT s.sku $$")
        try:
            error = _error(reader, f"SELECT (s).{function} FROM stock s")
            assert error.error == "Tool.NotAllowed" and "field of a row value" in error.cause
            privileges = reader.privileges()
            assert privileges is not None and f"{function}(stock)" in privileges.describe()
            assert "REVOKE EXECUTE" in privileges.describe()
            admin.execute(f"REVOKE EXECUTE ON FUNCTION {function}(stock) FROM PUBLIC")
            privileges = reader.privileges()
            assert privileges is not None and function not in privileges.describe()
        finally:
            admin.execute(f"DROP FUNCTION {function}(stock)")
            reader.dispose()


def test_format_cannot_build_a_huge_value(target: Target) -> None:
    function = "format('%150000000s', 'x')" if target.postgres else "printf('%150000000s', 'x')"
    error = _error(target.tool, f"SELECT length({function})")
    assert error.error == "Tool.NotAllowed" and "()" in error.cause


def test_quadratic_set_lookups_of_computed_values_are_refused_before_they_run(target: Target) -> None:
    """Trimming or translating a computed text by a computed set of characters, and (PostgreSQL) containment or
    overlap of two computed arrays or JSON values, cost one size times the other inside one call that neither the
    statement timeout nor a cancel interrupts: at 200,000 characters PostgreSQL's ltrim ran 214 s and translate 313 s
    past a 1 s limit, holding the agent's worker and a database backend all that time. They are refused unrun."""
    texts = (
        "(SELECT string_agg('a', '') AS a, string_agg('b', '') AS b FROM generate_series(1, 30000))"
        if target.postgres
        else "(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30000) "
        "SELECT group_concat('a', '') AS a, group_concat('b', '') AS b FROM r)"
    )
    attacks = [f"SELECT length(trim(s.a, s.b || 'a')) FROM {texts} AS s"]
    if target.postgres:
        series = "(SELECT array_agg(g) AS a, jsonb_agg(g) AS j FROM generate_series(1, 30000) AS g)"
        attacks += [
            f"SELECT length(ltrim(s.a, s.b || 'a')) FROM {texts} AS s",
            f"SELECT length(translate(s.a, s.b || 'a', '')) FROM {texts} AS s",
            f"SELECT s.a && s.a, s.a @> s.a FROM {series} AS s",
            f"SELECT s.j @> s.j FROM {series} AS s",
        ]
    for sql in attacks:
        started = time.monotonic()
        error = _error(target.tool, sql)
        assert error.error == "Tool.NotAllowed" and "written in the query" in error.cause, (sql, error.cause)
        assert time.monotonic() - started < 1, sql
    # Sets written in the query still work.
    sku, number = ("SKU-7", "7") if target.postgres else ("SKU-0007", "0007")
    trimmed = _run(target.tool, {"sql": "SELECT trim(sku, 'SKU-') FROM stock WHERE sku = :sku", "params": {"sku": sku}})
    assert trimmed["rows"] == [[number]]
    if target.postgres:
        overlap = _run(target.tool, {"sql": "SELECT ARRAY[1, 2, 3] && ARRAY[3, :n]", "params": {"n": 9}})
        assert overlap["rows"] == [[True]]


def test_a_password_in_the_urls_query_is_never_shown(reader_url: str) -> None:
    """libpq and SQLAlchemy take `?password=…` as the login's password (this login connects with it); `phi-agent
    check` and the privileged-login refusal print the URL, which showed it in clear."""
    url = make_url(reader_url).set(password=None).update_query_dict({"password": "reader-pw"})
    tool = DbQueryTool(_settings(), url.render_as_string(hide_password=False), 1)
    try:
        assert tool.check().startswith("postgresql at ")  # connected with the password from the query
        assert "reader-pw" not in tool.safe_url() and "reader-pw" not in tool.check()
        assert "password=***" in tool.safe_url()
    finally:
        tool.dispose()
