"""`db.query`: one read-only SQL query against the database named by an environment variable.

Layers, each enough on its own for what it covers:
1. the statement check (`sql_guard`): one SELECT-like statement of allow-listed parts, re-generated from the
   checked tree before it runs;
2. the session: PostgreSQL sessions start with `default_transaction_read_only=on` (and
   `standard_conforming_strings=on`, which the guard's reading of string literals assumes) and each query runs in a
   read-only transaction with a statement timeout, and the session is reset (`DISCARD ALL`) before the
   pooled connection is reused; SQLite files are opened read-only (`mode=ro`), `query_only`, with an
   authorizer that allows only reads and allow-listed functions and a cap on the size of any value;
3. the agent's own wall-clock deadline, which cancels the query (and the fetch) whatever the server's
   settings say; rows are capped by count and by bytes;
4. the login: `run` refuses a superuser or a login holding server-file / signal roles (see `privileges`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError, SQLAlchemyError, StatementError

from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.logs import log_fields, redact
from phi_agent.tools.base import CappedRows, TabularResult, effective_max_rows, parse_args
from phi_agent.tools.params import check_short_texts, decode_params, match_placeholders
from phi_agent.tools.postgres_types import load_infinity_as_text
from phi_agent.tools.sql_guard import MAX_SEARCHED_TEXT_CHARS, SqlGuard

logger = logging.getLogger(__name__)
# Rows the driver may hold before the agent has measured them: it loads a whole fetch before any cap is
# checked, so the fetch is sized from the byte limits (see rows_per_fetch), never above this.
MAX_ROWS_PER_FETCH = 1_000
# JSON values from the database nesting more lists and objects than this are refused here, with a reason that says
# what to do: parsing and measuring them recurse, and the cloud reads a value of a row nested at most this deep
# (phi.definitions.table_format.MAX_VALUE_DEPTH), inline or uploaded.
MAX_JSON_DEPTH = 61
# SQLite builds its table-valued JSON functions on first use by declaring a virtual table, which the
# authorizer (rightly) sees as a schema write; built once at connect, before the authorizer is set.
_SQLITE_TABLE_FUNCTIONS = "SELECT 1 FROM json_each('[]'), json_tree('[]')"
_SQLITE_PROGRESS_STEPS = 10_000
# Predefined PostgreSQL roles that reach the server's files or other sessions.
DANGEROUS_PG_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend")


# The SQLAlchemy dialect names a `sql_variants` key may carry: `mariadb` is what a `mariadb://` URL gives (a
# MariaDB server behind a `mysql://` URL is `mysql`); the two speak the same SQL, so each falls back to the other.
SqlDialect = Literal["sqlite", "postgresql", "mysql", "mariadb", "mssql"]
SqlText = Annotated[str, Field(min_length=1, max_length=200_000)]


class DbQueryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: SqlText
    sql_variants: dict[SqlDialect, SqlText] | None = None
    params: dict[str, Any] | None = None
    max_rows: int | None = Field(default=None, ge=0)

    def sql_for(self, dialect: str) -> str:
        """The variant written for this database (SQLAlchemy's dialect name), else the portable `sql`."""
        variants: dict[str, str] = {str(name): text for name, text in (self.sql_variants or {}).items()}
        for name in _DIALECT_FALLBACKS.get(dialect, (dialect,)):
            if name in variants:
                return variants[name]
        return self.sql


_DIALECT_FALLBACKS = {"mysql": ("mysql", "mariadb"), "mariadb": ("mariadb", "mysql")}


@dataclass
class Privileges:
    """What the database login may do, as `phi-agent check` reports it."""

    login: str
    dangerous: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"login {self.login}"]
        if self.dangerous:
            parts.append("DANGEROUS: " + ", ".join(self.dangerous))
        parts.extend(self.notes)
        return "; ".join(parts)


class PrivilegedLoginError(ToolError):
    def __init__(self, privileges: Privileges) -> None:
        super().__init__(
            "Tool.NotAllowed",
            f"the database login {privileges.login} is privileged ({', '.join(privileges.dangerous)}); "
            "phi-agent refuses to run queries with it. Use a read-only login (see the README), or start "
            "phi-agent run with --allow-privileged-db-login if you accept the risk.",
        )
        self.privileges = privileges


def database_url(raw: str) -> URL:
    """Parse the URL; a bare `postgresql://` uses psycopg 3 when psycopg2 is not installed."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    url = make_url(raw)
    if url.host and "@" in url.host:
        # A password with a raw '@' (not written %40): the part after it would be taken for the host, and that
        # part of the password would show in every connection error
        raise ValueError("the database URL has an '@' after the login: write an '@' in the password as %40")
    if (
        url.drivername == "postgresql"
        and importlib.util.find_spec("psycopg2") is None
        and importlib.util.find_spec("psycopg") is not None
    ):
        url = url.set(drivername="postgresql+psycopg")
    return url


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def _sqlite_creator(path: Path | None) -> Callable[[], sqlite3.Connection]:
    def connect() -> sqlite3.Connection:
        if path is None:
            return sqlite3.connect(":memory:", check_same_thread=False)
        if not path.is_file():
            # mode=ro never creates a file; say plainly what is wrong instead of "unable to open".
            raise sqlite3.OperationalError(f"the SQLite database file {path} does not exist")
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return connect


# MySQL's field type code for TIMESTAMP columns (the client protocol's, the same for every driver).
_MYSQL_TIMESTAMP_FIELD = 7


def _mysql_conversions(driver: str) -> dict[Any, Any]:
    """The driver's result conversions, with TIMESTAMP values made UTC-aware: MySQL stores a TIMESTAMP as an
    instant and returns it as wall-clock time of the session's zone, which every session here sets to
    '+00:00'. Left zone-less, the cloud would read it as the warehouse's wall-clock time (the rule for DATETIME
    and other zone-less values) and shift it by the warehouse's offset."""
    if driver == "pymysql":
        from pymysql.converters import conversions, convert_datetime
    elif driver == "mysqldb":
        from MySQLdb.converters import (  # type: ignore[import-not-found,no-redef,unused-ignore]
            DateTime_or_None as convert_datetime,
        )
        from MySQLdb.converters import conversions  # type: ignore[import-not-found,no-redef,unused-ignore]
    else:
        raise ValueError(
            f"the MySQL driver {driver!r} is not supported: use mysql+pymysql:// (or mysql+mysqldb://), whose "
            "TIMESTAMP values the agent can read as UTC instants"
        )

    def utc_timestamp(value: Any) -> Any:
        moment = convert_datetime(value)
        # A zero date ('0000-00-00 00:00:00') stays text: the cloud reads it as MySQL's "no date".
        return moment.replace(tzinfo=UTC) if isinstance(moment, datetime) else moment

    return {**conversions, _MYSQL_TIMESTAMP_FIELD: utc_timestamp}


def rows_per_fetch(max_result_bytes: int, max_row_bytes: int) -> int:
    """How many rows one fetch may bring: rows within the per-row limit then fill at most the result limit.

    The driver loads a whole fetch before the agent measures a row, so a fixed batch of large rows would
    take (batch x row size) of memory before any limit is checked.
    """
    return max(1, min(MAX_ROWS_PER_FETCH, max_result_bytes // max_row_bytes))


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, walked without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def load_bounded_json(data: str | bytes) -> Any:
    """json.loads for the driver's json/jsonb values, refusing nesting the agent could not measure or send."""
    try:
        value = json.loads(data)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = json_depth(value) > MAX_JSON_DEPTH
    if too_deep:
        raise ToolError(
            "Tool.ResultTooLarge",
            f"a JSON value is nested more than {MAX_JSON_DEPTH} levels deep; select a part of it "
            "(e.g. column->'key') or cast it to text",
        )
    return value


def _error_text(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None)
    message = str(original) if original is not None else str(error)
    # Drivers append the SQL and bound values ("[SQL: ...]"); the caller already has the SQL.
    return message.split("\n[SQL:")[0].split("\n(Background on this error")[0].strip()


def map_database_error(error: SQLAlchemyError) -> ToolError:
    original = getattr(error, "orig", None)
    message = _error_text(error)
    lowered = message.lower()
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if (
        sqlstate == "57014"
        or "statement timeout" in lowered
        or lowered == "interrupted"
        or "max_execution_time" in lowered
        or "max_statement_time" in lowered
    ):
        return ToolError("Tool.Timeout", f"the query ran longer than its time limit ({message})")
    if sqlstate == "25006" or "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return ToolError("Tool.ReadOnlyViolation", f"the database refused a write: {message}")
    if "not authorized" in lowered or "prohibited" in lowered:
        return ToolError("Tool.NotAllowed", f"the database refused the query: {message}")
    if "string or blob too big" in lowered:
        return ToolError("Tool.ResultTooLarge", f"a value is larger than the per-row byte limit ({message})")
    if isinstance(error, StatementError) and isinstance(original, InvalidRequestError | ArgumentError):
        return ToolError("Tool.BadRequest", f"args.params: {message}")
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return ToolError("Tool.SqlError", f"lost the database connection: {message}")
    return ToolError("Tool.SqlError", message)


class _Watchdog:
    """Cancels the running query when the wall-clock deadline passes, whatever the server settings say."""

    def __init__(self, seconds: float, cancel: Callable[[], None]) -> None:
        self.expired = False
        self._cancel = cancel
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.expired = True
        try:
            self._cancel()
        except Exception as error:  # the query may have just finished; nothing to cancel
            logger.debug("query cancel failed", extra=log_fields(problem=str(error)))

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()


class DbQueryTool:
    key = "db.query"

    def __init__(
        self, settings: DbQuerySettings, url: str, pool_size: int, *, allow_privileged_login: bool = False
    ) -> None:
        self._settings = settings
        self._url = database_url(url)
        self._allow_privileged = allow_privileged_login
        self._engine = self._create_engine(pool_size)
        self._guard = SqlGuard(self._engine.dialect.name, default_schema=self._url.database)

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    @property
    def guard(self) -> SqlGuard:
        return self._guard

    def safe_url(self) -> str:
        """The URL as shown by `check` and in refusals: its password hidden, also one given in its query
        (`?password=…`, which SQLAlchemy passes to the driver as a keyword and would otherwise render as is)."""
        return redact(self._url.render_as_string(hide_password=True))

    # -- engine and session set-up ------------------------------------------------------------------
    def _create_engine(self, pool_size: int) -> Engine:
        options: dict[str, Any] = {"pool_pre_ping": True}
        backend = self._url.get_backend_name()
        if backend == "sqlite":
            options["creator"] = _sqlite_creator(sqlite_path(self._url))
            engine = create_engine(self._url.set(query={}), **options)
            self._prepare_sqlite(engine)
            return engine
        options.update(pool_size=pool_size, max_overflow=1, pool_recycle=1800)
        if backend == "postgresql":
            existing = self._url.query.get("options", "")
            existing = " ".join(existing) if isinstance(existing, tuple) else existing
            # standard_conforming_strings pinned on: with it off (a database's or role's setting) '\' would end a
            # string where the guard's parser, and the SQL it re-generates, see a backslash inside one — what
            # follows would run as code.
            pinned = "-c default_transaction_read_only=on -c standard_conforming_strings=on"
            options["connect_args"] = {"options": f"{existing} {pinned}".strip()}
            options["pool_reset_on_return"] = None  # the reset event below rolls back and discards
        if backend in {"mysql", "mariadb"}:
            options["connect_args"] = {"conv": _mysql_conversions(self._url.get_driver_name())}
        engine = create_engine(self._url, **options)
        if engine.dialect.name == "postgresql":
            self._prepare_postgresql(engine)
        elif engine.dialect.name in {"mysql", "mariadb"}:
            self._prepare_mysql(engine)
        return engine

    def _prepare_sqlite(self, engine: Engine) -> None:
        max_value = self._settings.max_row_bytes

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only = ON")
            # A SQLite built without JSON has no such functions: nothing to build then.
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute(_SQLITE_TABLE_FUNCTIONS).fetchall()
            cursor.close()
            # No string or blob larger than one row's budget can even be built, and nothing can be attached.
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(1_024, max_value))
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)

    def _prepare_postgresql(self, engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _refuse_privileged(dbapi_connection: Any, _record: Any) -> None:
            if self._allow_privileged:
                return
            privileges = _postgres_privileges(dbapi_connection)
            if privileges.dangerous:
                dbapi_connection.close()
                raise PrivilegedLoginError(privileges)

        @event.listens_for(engine, "connect")
        def _result_loaders(dbapi_connection: Any, _record: Any) -> None:
            _install_postgres_loaders(dbapi_connection)

        @event.listens_for(engine, "reset")
        def _reset_session(dbapi_connection: Any, _record: Any, reset_state: Any) -> None:
            # Whatever the query left behind (settings, advisory locks, prepared plans, LISTEN, temp
            # tables) is gone before the connection serves the next call.
            dbapi_connection.rollback()
            if reset_state.terminate_only:
                return
            previous = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                cursor = dbapi_connection.cursor()
                cursor.execute("DISCARD ALL")
                cursor.close()
            finally:
                dbapi_connection.autocommit = previous

    def _prepare_mysql(self, engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _session(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("SET time_zone = '+00:00'")
            cursor.close()

    def dispose(self) -> None:
        self._engine.dispose()

    def _start_read_only(self, connection: Connection, timeout_seconds: float) -> None:
        """Make the current transaction read-only and time-limited where the database supports it."""
        milliseconds = max(1, math.ceil(timeout_seconds * 1000))
        name = self._engine.dialect.name
        if name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
            connection.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
        elif name in {"mysql", "mariadb"}:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            if getattr(self._engine.dialect, "is_mariadb", False):  # MariaDB's name and unit (seconds)
                connection.exec_driver_sql(f"SET SESSION max_statement_time = {milliseconds / 1000:.3f}")
            else:
                connection.exec_driver_sql(f"SET SESSION max_execution_time = {milliseconds}")
        elif name == "mssql":
            raw = connection.connection.dbapi_connection
            if raw is not None and hasattr(raw, "timeout"):
                raw.timeout = max(1, math.ceil(timeout_seconds))

    # -- cancellation -------------------------------------------------------------------------------
    def _canceller(self, connection: Connection) -> Callable[[], None]:
        raw: Any = connection.connection.dbapi_connection
        name = self._engine.dialect.name
        if name == "sqlite":
            return lambda: raw.interrupt()
        if name == "postgresql" and hasattr(raw, "cancel"):
            return lambda: raw.cancel()
        if name in {"mysql", "mariadb"} and hasattr(raw, "thread_id"):
            thread_id = raw.thread_id()
            return lambda: self._kill_mysql_query(thread_id)
        return lambda: None

    def _kill_mysql_query(self, thread_id: int) -> None:
        helper = self._engine.raw_connection()
        try:
            cursor = helper.cursor()
            cursor.execute(f"KILL QUERY {int(thread_id)}")
            cursor.close()
        finally:
            helper.close()

    @contextmanager
    def _sqlite_session(self, connection: Connection, deadline: float) -> Iterator[None]:
        if self._engine.dialect.name != "sqlite":
            yield
            return
        raw: Any = connection.connection.dbapi_connection
        allowed = self._guard.allowed_functions

        def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
            if action in {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}:
                return sqlite3.SQLITE_OK
            if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in allowed:
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY

        # SQLite has no statement timeout: its progress handler aborts the query ("interrupted").
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_PROGRESS_STEPS)
        raw.set_authorizer(authorize)
        try:
            yield
        finally:
            raw.set_authorizer(None)
            raw.set_progress_handler(None, _SQLITE_PROGRESS_STEPS)

    def _timeout(self, timeout_seconds: float | None) -> float:
        configured = self._settings.statement_timeout_seconds
        return configured if timeout_seconds is None else max(0.001, min(configured, timeout_seconds))

    # -- the tool -----------------------------------------------------------------------------------
    @contextmanager
    def open(self, args: dict[str, Any], timeout_seconds: float | None) -> Iterator[TabularResult]:
        request = parse_args(DbQueryArgs, args)
        checked = self._guard.check(request.sql_for(self._engine.dialect.name))
        params = decode_params(request.params, self._engine.dialect.name)
        match_placeholders(params, checked.parameters)
        check_short_texts(params, checked.bounded_parameters, MAX_SEARCHED_TEXT_CHARS)
        timeout = self._timeout(timeout_seconds)
        deadline = time.monotonic() + timeout
        limit = effective_max_rows(request.max_rows, self._settings.max_rows)
        watchdog: _Watchdog | None = None
        try:
            with self._engine.connect() as connection:
                transaction = connection.begin()
                try:
                    self._start_read_only(connection, timeout)
                    with (
                        self._sqlite_session(connection, deadline),
                        _Watchdog(max(0.001, deadline - time.monotonic()), self._canceller(connection)) as watchdog,
                    ):
                        streaming = connection.execution_options(
                            stream_results=True,
                            max_row_buffer=rows_per_fetch(
                                self._settings.max_result_bytes, self._settings.max_row_bytes
                            ),
                        )
                        try:
                            result = streaming.execute(text(checked.text_sql), params)
                        except OverflowError as error:  # a driver that cannot hold a value raises it unwrapped
                            raise ToolError(
                                "Tool.BadRequest", f"args.params: a value is out of range for this database ({error})"
                            ) from None
                        if not result.returns_rows:
                            raise ToolError("Tool.NotAllowed", "the statement returned no rows")
                        rows = CappedRows(
                            result,
                            limit,
                            max_bytes=self._settings.max_result_bytes,
                            max_row_bytes=self._settings.max_row_bytes,
                            deadline=deadline,
                        )
                        yield TabularResult(list(result.keys()), rows)
                        result.close()
                finally:
                    transaction.rollback()
        except SQLAlchemyError as error:
            if watchdog is not None and watchdog.expired:
                raise ToolError("Tool.Timeout", f"the query ran longer than its time limit ({timeout:g} s)") from None
            raise map_database_error(error) from None
        except ToolError:
            raise
        except sqlite3.Error as error:  # raised by the SQLite driver outside SQLAlchemy's wrapping
            raise ToolError("Tool.SqlError", str(error)) from None

    def check(self) -> str:
        try:
            with self._engine.connect() as connection:
                transaction = connection.begin()
                try:
                    self._start_read_only(connection, self._settings.statement_timeout_seconds)
                    connection.execute(text("SELECT 1")).scalar_one()
                finally:
                    transaction.rollback()
        except SQLAlchemyError as error:
            raise map_database_error(error) from None
        return f"{self.dialect_name} at {self.safe_url()} ({self._read_only_mode()})"

    def privileges(self) -> Privileges | None:
        """The login's privileges (None where the database has no logins or cannot tell)."""
        name = self._engine.dialect.name
        try:
            if name == "postgresql":
                raw = self._engine.raw_connection()
                try:
                    return _postgres_privileges(raw.dbapi_connection)
                finally:
                    raw.close()
            if name in {"mysql", "mariadb"}:
                with self._engine.connect() as connection:
                    grants = [str(row[0]) for row in connection.exec_driver_sql("SHOW GRANTS")]
                    login = str(connection.exec_driver_sql("SELECT CURRENT_USER()").scalar_one())
                return mysql_privileges(login, grants)
            if name == "mssql":
                with self._engine.connect() as connection:
                    row = connection.exec_driver_sql(
                        "SELECT SUSER_NAME(), IS_SRVROLEMEMBER('sysadmin'), IS_SRVROLEMEMBER('bulkadmin')"
                    ).one()
                dangerous = [role for role, member in (("sysadmin", row[1]), ("bulkadmin", row[2])) if member == 1]
                return Privileges(str(row[0]), dangerous)
        except PrivilegedLoginError as error:
            return error.privileges
        except SQLAlchemyError as error:
            raise map_database_error(error) from None
        return None

    def temp_file_limit(self) -> str | None:
        """PostgreSQL's `temp_file_limit` for this login ("-1" is unlimited; None on other databases).

        Only a superuser can set it, so the agent cannot bound the temporary files a sort or a hash writes on
        the server; the login's own setting (`ALTER ROLE … SET temp_file_limit`) does.
        """
        if self._engine.dialect.name != "postgresql":
            return None
        try:
            with self._engine.connect() as connection:
                return str(connection.exec_driver_sql("SHOW temp_file_limit").scalar_one())
        except SQLAlchemyError as error:
            raise map_database_error(error) from None

    def _read_only_mode(self) -> str:
        name = self._engine.dialect.name
        if name == "postgresql":
            return "read-only sessions and transactions + statement check"
        if name in {"mysql", "mariadb"}:
            return "read-only transactions + statement check"
        if name == "sqlite":
            return "read-only file (mode=ro), query_only, authorizer + statement check"
        return "statement check only: use a read-only database login"


def _install_postgres_loaders(dbapi_connection: Any) -> None:
    """How a connection loads values: json/jsonb through `load_bounded_json` (psycopg 3 or psycopg2), and, on
    psycopg 3, 'infinity' timestamps and dates as text (one of them would otherwise fail the whole query)."""
    if type(dbapi_connection).__module__.startswith("psycopg2"):
        import psycopg2.extras

        psycopg2.extras.register_default_json(dbapi_connection, loads=load_bounded_json)
        psycopg2.extras.register_default_jsonb(dbapi_connection, loads=load_bounded_json)
        return
    from psycopg.types.json import set_json_loads

    set_json_loads(load_bounded_json, dbapi_connection)
    load_infinity_as_text(dbapi_connection)


# Functions outside the system schemas that the login may execute and that take one row (a table's
# composite type, or a pseudo-type such as record/anyelement) and nothing else without a default:
# PostgreSQL's functional notation calls them as `alias.name`, which reads like a column.
_ROW_FUNCTIONS_SQL = """
SELECT p.oid::regprocedure::text
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type t ON t.oid = p.proargtypes[0]
WHERE p.pronargs >= 1 AND p.pronargs - p.pronargdefaults <= 1 AND p.prokind = 'f'
  AND (t.typtype = 'p' OR t.typrelid <> 0)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
  )
  AND has_function_privilege(p.oid, 'EXECUTE')
ORDER BY 1
"""


def _postgres_privileges(dbapi_connection: Any) -> Privileges:
    roles = ", ".join(f"'{role}'" for role in DANGEROUS_PG_ROLES)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(
            "SELECT current_user::text, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, "
            "ARRAY(SELECT b.rolname::text FROM pg_roles b WHERE b.rolname IN (" + roles + ") "
            "AND pg_has_role(current_user, b.oid, 'MEMBER') ORDER BY 1), "
            "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' "
            "AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
        row = cursor.fetchone()
        cursor.execute(_ROW_FUNCTIONS_SQL)
        row_functions = [str(name) for (name,) in cursor.fetchall()]
    finally:
        cursor.close()
        dbapi_connection.rollback()
    login, superuser, createrole, createdb, replication, bypassrls, roles_held, writable = row
    # A superuser holds every role; naming it is enough.
    dangerous = ["superuser"] if superuser else list(roles_held or [])
    notes = [
        f"can {what}"
        for what, flag in (
            ("create roles", createrole),
            ("create databases", createdb),
            ("replicate", replication),
            ("bypass row security", bypassrls),
        )
        if flag
    ]
    notes.append(f"may write to {writable} table(s)" if writable else "no write privilege on any table")
    if row_functions:
        shown = ", ".join(row_functions[:5]) + (f" and {len(row_functions) - 5} more" if len(row_functions) > 5 else "")
        notes.append(
            f"WARNING: may execute {len(row_functions)} function(s) of a table row ({shown}); PostgreSQL runs "
            "f(row) for `alias.f`, which the statement check cannot tell from a column: REVOKE EXECUTE on "
            "them FROM PUBLIC and from this login"
        )
    return Privileges(str(login), dangerous, notes)


def mysql_privileges(login: str, grants: list[str]) -> Privileges:
    """Dangerous global privileges in MySQL `SHOW GRANTS` lines (FILE reads server files, SUPER…)."""
    dangerous: list[str] = []
    for line in grants:
        upper = line.upper()
        if " ON *.* " not in upper:
            continue
        for privilege in ("ALL PRIVILEGES", "SUPER", "FILE", "PROCESS", "SHUTDOWN", "RELOAD", "CONNECTION_ADMIN"):
            if privilege in upper and privilege.lower() not in dangerous:
                dangerous.append(privilege.lower())
    writes = any(word in line.upper() for line in grants for word in ("INSERT", "UPDATE", "DELETE", "ALL PRIVILEGES"))
    return Privileges(login, dangerous, ["may write to some tables" if writes else "no write privilege found"])
