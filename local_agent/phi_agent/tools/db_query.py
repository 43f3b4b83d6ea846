"""`db.query`: one read-only SQL query against the database named by an environment variable."""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError, SQLAlchemyError, StatementError

from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.tools.base import CappedRows, TabularResult, effective_max_rows, parse_args
from phi_agent.tools.sql_guard import check_read_only, dialect_for

ParamValue = bool | int | float | str | None
# Typed parameters: {"$datetime": "<ISO-8601 with offset>"} binds a time-zone-aware timestamp (ISO text for
# SQLite, which has no timestamp type); {"$date": "YYYY-MM-DD"} binds a date.
TypedParam = dict[Literal["$datetime", "$date"], str]
STREAM_BATCH_ROWS = 1_000
_SQLITE_PROGRESS_STEPS = 10_000


class DbQueryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, max_length=200_000)
    params: dict[str, ParamValue | TypedParam] | None = None
    max_rows: int | None = Field(default=None, ge=0)


def database_url(raw: str) -> URL:
    """Parse the URL; a bare `postgresql://` uses psycopg 3 when psycopg2 is not installed."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    url = make_url(raw)
    if (
        url.drivername == "postgresql"
        and importlib.util.find_spec("psycopg2") is None
        and importlib.util.find_spec("psycopg") is not None
    ):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _enable_sqlite_query_only(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _query_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only = ON")
        cursor.close()


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
        or ("max_execution_time" in lowered)
    ):
        return ToolError("Tool.Timeout", f"the query ran longer than its time limit ({message})")
    if sqlstate == "25006" or "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return ToolError("Tool.ReadOnlyViolation", f"the database refused a write: {message}")
    if isinstance(error, StatementError) and isinstance(original, InvalidRequestError | ArgumentError):
        return ToolError("Tool.BadRequest", f"args.params: {message}")
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return ToolError("Tool.SqlError", f"lost the database connection: {message}")
    return ToolError("Tool.SqlError", message)


class DbQueryTool:
    key = "db.query"

    def __init__(self, settings: DbQuerySettings, url: str, pool_size: int) -> None:
        self._settings = settings
        self._url = database_url(url)
        self._engine = self._create_engine(pool_size)
        self._dialect = dialect_for(self._engine.dialect.name)

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    def safe_url(self) -> str:
        return self._url.render_as_string(hide_password=True)

    def _create_engine(self, pool_size: int) -> Engine:
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self._url.get_backend_name() != "sqlite":
            options.update(pool_size=pool_size, max_overflow=1, pool_recycle=1800)
        engine = create_engine(self._url, **options)
        if engine.dialect.name == "sqlite":
            _enable_sqlite_query_only(engine)
        return engine

    def dispose(self) -> None:
        self._engine.dispose()

    def _start_read_only(self, connection: Connection, timeout_seconds: float) -> None:
        """Make the current transaction read-only and time-limited where the database supports it."""
        milliseconds = max(1, math.ceil(timeout_seconds * 1000))
        name = self._engine.dialect.name
        if name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        elif name in {"mysql", "mariadb"}:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET SESSION max_execution_time = {milliseconds}")

    @contextmanager
    def _sqlite_deadline(self, connection: Connection, timeout_seconds: float) -> Iterator[None]:
        if self._engine.dialect.name != "sqlite":
            yield
            return
        raw = connection.connection.dbapi_connection
        deadline = time.monotonic() + timeout_seconds
        # SQLite has no statement timeout: its progress handler aborts the query ("interrupted").
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_PROGRESS_STEPS)  # type: ignore[union-attr]
        try:
            yield
        finally:
            raw.set_progress_handler(None, _SQLITE_PROGRESS_STEPS)  # type: ignore[union-attr]

    def _timeout(self, timeout_seconds: float | None) -> float:
        configured = self._settings.statement_timeout_seconds
        return configured if timeout_seconds is None else max(0.001, min(configured, timeout_seconds))

    @contextmanager
    def open(self, args: dict[str, Any], timeout_seconds: float | None) -> Iterator[TabularResult]:
        request = parse_args(DbQueryArgs, args)
        check_read_only(request.sql, self._dialect)
        timeout = self._timeout(timeout_seconds)
        limit = effective_max_rows(request.max_rows, self._settings.max_rows)
        try:
            with self._engine.connect() as connection:
                transaction = connection.begin()
                try:
                    self._start_read_only(connection, timeout)
                    with self._sqlite_deadline(connection, timeout):
                        streaming = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH_ROWS)
                        result = streaming.execute(text(request.sql), _bind(request.params, self._engine.dialect.name))
                        if not result.returns_rows:
                            raise ToolError("Tool.ReadOnlyViolation", "the statement returned no rows")
                        yield TabularResult(list(result.keys()), CappedRows(result, limit))
                        result.close()
                finally:
                    transaction.rollback()
        except SQLAlchemyError as error:
            raise map_database_error(error) from None

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

    def _read_only_mode(self) -> str:
        name = self._engine.dialect.name
        if name in {"postgresql", "mysql", "mariadb"}:
            return "read-only transactions + statement check"
        if name == "sqlite":
            return "query_only connection + statement check"
        return "statement check only: use a read-only database login"


def _typed(name: str, value: TypedParam, dialect: str) -> object:
    if len(value) != 1:
        raise ToolError("Tool.BadRequest", f"args.params.{name}: give exactly one of $datetime or $date")
    (kind, raw), = value.items()
    try:
        if kind == "$date":
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ToolError("Tool.BadRequest", f"args.params.{name}: {raw[:40]!r} is not an ISO-8601 {kind[1:]}") from None
    if moment.tzinfo is None:
        raise ToolError("Tool.BadRequest", f"args.params.{name}: a $datetime needs an offset or Z")
    return moment.isoformat() if dialect == "sqlite" else moment


def _bind(params: Mapping[str, ParamValue | TypedParam] | None, dialect: str) -> dict[str, object]:
    return {
        name: _typed(name, value, dialect) if isinstance(value, dict) else value
        for name, value in (params or {}).items()
    }
